"""Which database and user a command means, and a read of it without the ORM: what every command needs before
its output, in a module that imports neither Rich nor Typer (`cli.review_early` uses it on a thread while the
output's modules are imported; `cli.common` re-exports it)."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tuikanban.domain.text import display

if TYPE_CHECKING:
    from tuikanban.store.uow import Unit

T = TypeVar("T")
ENV_USER = "TUIKANBAN_USER"


def current_user(explicit: str | None = None) -> str:
    """--user, else TUIKANBAN_USER, else the login name."""
    if explicit and explicit.strip():
        return display(explicit)[:200]
    env = os.environ.get(ENV_USER, "").strip()
    if env:
        return display(env)[:200]
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment
        return "unknown"


def db_target(explicit: str | None, *, strict: bool = True) -> str | None:
    """The database target: --db / TUIKANBAN_DB (given), else the config file's `db` key, else None (default).

    A file path or a postgresql:// URL, as the user wrote it; domain.targets parses it when it is opened. A config
    file whose `db` is refused (a URL holding a password) is one sentence (SettingsError), not the default file
    in its place; `strict=False` (the config commands, which show and fix the file) gives the default instead.
    """
    target, refused = db_choice(explicit, strict=strict)
    if refused is not None:
        from tuikanban.settings import SettingsError

        raise SettingsError(refused)
    return target


def db_choice(explicit: str | None, *, strict: bool = True) -> tuple[str | None, str | None]:
    """`db_target`'s target, and in place of raising, the sentence that refuses the config file's `db` (None when
    it is not refused). A `State` keeps the sentence and says it only when the command needs the database, so
    that `--help` and the commands that need none still work with such a file."""
    if explicit is not None and explicit.strip():
        return explicit, None
    from tuikanban.settings import load_settings

    settings = load_settings()
    if strict and settings.db_refused and settings.problem:
        return None, settings.problem.replace("; the defaults apply and", "; nothing was opened and")
    return settings.db, None



def read_plain(db_path: Path | str | None, read: Callable[[Unit], T], *, twin: bool = False) -> T | None:
    """`read` run in one snapshot on a driver connection of its own (no ORM), or None when the database does not
    allow it (`State.read_plain`). With `twin`, a file's unit carries a second connection on the same snapshot
    when one can be had and a core is free for it (`store.twin.read_apart`)."""
    from tuikanban.store.twin import read_apart

    return read_apart(db_path, read, twin=twin)


__all__ = ["ENV_USER", "current_user", "db_choice", "db_target", "read_plain"]
