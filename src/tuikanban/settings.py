"""The user's settings: a small TOML file in the user config directory (no Textual here).

    theme = "nord-pipeline"

    [last_pipeline]
    "/home/ana/.local/share/tuikanban/tuikanban.db" = "SMB"

    [view."/home/ana/.local/share/tuikanban/tuikanban.db".ana.SMB]   # the rep's view of a pipeline
    lanes = true
    filter = "owner:me"
    focus = 42

Read with tomllib, written by the tiny writer below (no extra dependency), atomically (temp file + rename).
A file that cannot be read gives one sentence of warning, the defaults are used, and it is never overwritten
silently: saving over it is refused until the user fixes or deletes it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tuikanban.domain.errors import TuikanbanError

APP_NAME = "tuikanban"
CONFIG_FILE = "config.toml"
THEMES_FOLDER = "themes"
KNOWN_KEYS = ("theme", "last_pipeline", "db")


class SettingsError(TuikanbanError):
    """The config file cannot be read or written."""


def config_dir() -> Path:
    """`<user config dir>/tuikanban` (for example ~/.config/tuikanban on Linux)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def user_themes_dir() -> Path:
    """Where user theme files (*.toml) are looked for."""
    return config_dir() / THEMES_FOLDER


@dataclass
class Settings:
    theme: str | None = None
    db: str | None = None  # the database target when neither --db nor TUIKANBAN_DB names one
    last_pipeline: dict[str, str] = field(default_factory=dict)  # database path -> pipeline name
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as they were
    problem: str | None = None  # why the file could not be used (the defaults are in effect)
    db_refused: bool = False  # the file names a database it may not name (a URL with a password), or names one
    # but cannot be read (broken TOML): no default file in its place
    path: Path | None = None  # the file these settings came from

    def pipeline_for(self, db_path: Path | str | None) -> str | None:
        if db_path is None:
            return None
        return self.last_pipeline.get(_db_key(db_path))

    def set_pipeline(self, db_path: Path | str, pipeline: str | None) -> None:
        key = _db_key(db_path)
        if pipeline:
            self.last_pipeline[key] = pipeline
        else:
            self.last_pipeline.pop(key, None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        if self.theme:
            data["theme"] = self.theme
        if self.db:
            data["db"] = self.db
        if self.last_pipeline:
            data["last_pipeline"] = dict(sorted(self.last_pipeline.items()))
        return data


def _db_key(db_path: Path | str) -> str:
    from tuikanban.domain.targets import is_url, parse_target

    if isinstance(db_path, str) and is_url(db_path):  # a URL is remembered by its display form (no password)
        try:
            return parse_target(db_path).display
        except TuikanbanError:
            return db_path
    try:
        return str(Path(db_path).expanduser().resolve())
    except OSError:
        return str(Path(db_path).expanduser().absolute())


def load_settings(path: Path | None = None) -> Settings:
    """The settings; defaults when there is no file; defaults plus a `problem` sentence when it is broken."""
    target = path or config_path()
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return Settings(path=target)
    except IsADirectoryError:
        return Settings(path=target, problem=_broken(target, "it is a folder"))
    except OSError as exc:
        return Settings(path=target, problem=_broken(target, f"it cannot be read ({exc.strerror or exc})"))
    names_db = _DB_LINE.search(raw) is not None  # a file that cannot be read may still name the team's database
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Settings(path=target, db_refused=names_db, problem=_broken(target, "it is not UTF-8 text"))
    except tomllib.TOMLDecodeError as exc:
        return Settings(path=target, db_refused=names_db, problem=_broken(target, f"it is not valid TOML ({exc})"))
    theme = data.get("theme")
    if theme is not None and not (isinstance(theme, str) and theme.strip()):
        return Settings(path=target, problem=_broken(target, "its 'theme' is not a theme name in quotes"))
    pipes = data.get("last_pipeline", {})
    if not isinstance(pipes, dict) or not all(isinstance(v, str) for v in pipes.values()):
        return Settings(path=target, problem=_broken(target, "its [last_pipeline] table does not map files to names"))
    db = data.get("db")
    if db is not None and not (isinstance(db, str) and db.strip()):
        return Settings(path=target, db_refused=True,
                        problem=_broken(target, "its 'db' is not a file path or URL in quotes"))
    if isinstance(db, str) and _has_password(db):
        return Settings(path=target, db_refused=True, problem=_broken(
            target, "its 'db' URL holds a password (keep passwords in ~/.pgpass or PGPASSWORD instead)"))
    extra = {k: v for k, v in data.items() if k not in KNOWN_KEYS}
    return Settings(theme=theme.strip() if theme else None, db=db.strip() if db else None,
                    last_pipeline=dict(pipes), extra=extra, path=target)


# A top-level `db = ...` line. A broken file that has one would otherwise open the default file in place of the
# database it names (a rep's work written where the team cannot see it): it is refused like a password URL.
_DB_LINE = re.compile(rb'^\s*(?:db|"db"|\'db\')\s*=', re.MULTILINE)


def _has_password(db: str) -> bool:
    from tuikanban.domain.targets import is_url, parse_target

    if not is_url(db):
        return False
    try:
        return parse_target(db).password is not None
    except TuikanbanError:
        return False


def _broken(path: Path, why: str) -> str:
    return f"The config file {path} was not used because {why}; the defaults apply and the file was left as it is."


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically. Refuses (SettingsError) to replace a file that could not be read."""
    target = path or settings.path or config_path()
    if settings.problem is not None:
        raise SettingsError(
            f"The config file {target} could not be read, so it was not overwritten; fix or delete it first."
        )
    if target.exists():
        current = load_settings(target)
        if current.problem is not None:
            raise SettingsError(
                f"The config file {target} could not be read, so it was not overwritten; fix or delete it first."
            )
    text = dumps_toml(settings.to_dict())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise SettingsError(f"The config file {target} could not be written ({exc.strerror or exc}).") from None
    settings.path = target
    return target


_CHANGING = threading.RLock()


@contextlib.contextmanager
def changing(path: Path | None = None) -> Iterator[None]:
    """Hold while loading, changing and saving the settings file: a board saves the rep's view on the UI thread while
    a job on its writes lane saves the last pipeline or the density, and two boards of one user may save at once;
    without this, one load-change-save would overwrite the other's change (the lost update of a view). A lock
    between threads, and between processes a lock on a file beside the settings file (best effort: where that file
    cannot be made, the lock between threads still holds)."""
    with _CHANGING:
        target = path or config_path()
        fd = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target.parent / ".config.lock", os.O_RDWR | os.O_CREAT, 0o600)
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (OSError, ImportError):
            pass
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)  # (closing releases the lock)


_UNSET: Any = object()


def remember(*, theme: str | None = _UNSET, db_path: Path | str | None = None, pipeline: str | None = _UNSET,
             path: Path | None = None) -> str | None:
    """Load, change and save in one call; never raises. Returns a sentence when the change was not saved.

    `remember(theme="nord-pipeline")`; `remember(db_path=db.path, pipeline="SMB")`.
    """
    with changing(path):
        settings = load_settings(path)
        if settings.problem is not None:
            return settings.problem
        if theme is not _UNSET:
            settings.theme = theme or None
        if pipeline is not _UNSET and db_path is not None:
            settings.set_pipeline(db_path, pipeline)
        try:
            save_settings(settings, path)
        except TuikanbanError as exc:
            return str(exc)
        return None


# -- the rep's view of each pipeline: swimlanes, filter, sort, density, focused deal -------------------------

VIEW_KEY = "view"  # kept in `Settings.extra`: [view.<database>.<user>.<pipeline>]


@dataclass(frozen=True, slots=True)
class SavedView:
    lanes_on: bool = True
    query: str = ""
    focus_deal: int | None = None
    sort: str = "rank"  # the order within a column (the board checks the name)
    density: str | None = None  # "compact" or "normal"; None: the user's density of every pipeline


def saved_view(settings: Settings, db_path: Path | str, user: str, pipeline: str) -> SavedView | None:
    """The view this user left this pipeline of this database in (None if never, or if the entry is not valid)."""
    table = settings.extra.get(VIEW_KEY)
    entry = table.get(_db_key(db_path), {}).get(user, {}).get(pipeline) if isinstance(table, dict) else None
    if not isinstance(entry, dict):
        return None
    lanes, query, focus = entry.get("lanes", True), entry.get("filter", ""), entry.get("focus")
    sort, density = entry.get("sort", "rank"), entry.get("density")
    if not isinstance(lanes, bool) or not isinstance(query, str) or not (focus is None or type(focus) is int):
        return None
    return SavedView(lanes, query, focus, sort if isinstance(sort, str) else "rank",
                     density if density in ("compact", "normal") else None)


def remember_view(db_path: Path | str, user: str, pipeline: str, view: SavedView, *,
                  path: Path | None = None) -> str | None:
    """Save the view (never raises; like `remember`, a sentence when it was not saved)."""
    with changing(path):
        return _remember_view(db_path, user, pipeline, view, path)


def _remember_view(db_path: Path | str, user: str, pipeline: str, view: SavedView, path: Path | None) -> str | None:
    settings = load_settings(path)
    if settings.problem is not None:
        return settings.problem
    table = settings.extra.setdefault(VIEW_KEY, {})
    if not isinstance(table, dict):
        return f"The config file's [{VIEW_KEY}] is not a table; the view was not saved."
    entry: dict[str, Any] = {"lanes": view.lanes_on, "filter": view.query, "sort": view.sort}
    if view.density is not None:
        entry["density"] = view.density
    if view.focus_deal is not None:
        entry["focus"] = view.focus_deal
    table.setdefault(_db_key(db_path), {}).setdefault(user, {})[pipeline] = entry
    try:
        save_settings(settings, path)
    except TuikanbanError as exc:
        return str(exc)
    return None


# -- a tiny TOML writer -----------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    """Serialise a dict of scalars, lists and (nested) tables; tomllib.loads(dumps_toml(d)) == d."""
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).strip("\n") + "\n"


def _table(data: dict[str, Any], prefix: tuple[str, ...], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    if prefix and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in prefix) + "]")
    for k, v in scalars:
        lines.append(f"{_key(str(k))} = {_value(v)}")
    for k, v in tables:
        _table(v, (*prefix, str(k)), lines)


__all__ = [
    "SavedView", "Settings", "SettingsError", "config_dir", "config_path", "dumps_toml", "load_settings", "remember",
    "remember_view", "save_settings", "saved_view", "user_themes_dir",
]
