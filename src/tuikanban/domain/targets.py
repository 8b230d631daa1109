"""Where the data lives: an SQLite file path or a PostgreSQL URL, parsed once into a `Target`.

Every place that names a database (`--db`, TUIKANBAN_DB, the config file's `db` key) goes through
`parse_target`, so that a URL is never mistaken for a path (a path would collapse `//` and put an SQLite file in
a folder called `postgresql:`). A target's `display` form never holds the password: it is what messages, logs and
the config file show. The full URL (with any password) stays inside the target, for connecting only.

Kept free of SQLAlchemy and psycopg: the board's fast first paint parses its target before those are imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from tuikanban.domain.errors import DatabaseError

POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
INSTALL_HINT = 'pip install "tuikanban[postgres]"'
# Query keys that may carry a secret: never shown, never stored in the display form.
_SECRET_KEYS = frozenset({"password", "passfile", "sslpassword", "sslkey"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_USERINFO_PASSWORD = re.compile(r"(//[^/@:]*):[^/@]*@")


class TargetError(DatabaseError):
    """A database target that cannot be understood (an unknown scheme, a URL without a database name)."""


@dataclass(frozen=True, repr=False)  # its own __repr__ below
class Target:
    """A parsed database target. `str(target)` and `repr(target)` are the display form (no password)."""

    kind: Literal["sqlite", "postgresql"]
    display: str
    path: Path | None = None
    # PostgreSQL only: the connection parts. `password` is kept out of repr and every display.
    user: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    password: str | None = field(default=None, repr=False)
    query: tuple[tuple[str, str], ...] = ()

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"Target({self.display!r})"

    def redact(self, text: str) -> str:
        """`text` with this target's password (if any) replaced by ***, for messages from a driver."""
        return redact(text if not self.password else text.replace(self.password, "***"))


def redact(text: str) -> str:
    """Any `scheme://user:password@` in `text` shown as `scheme://user@` (for text that may quote a raw URL)."""
    return _USERINFO_PASSWORD.sub(r"\1@", text)


def is_url(raw: str) -> bool:
    return _SCHEME.match(raw.strip()) is not None


def parse_target(raw: str | Path | Target) -> Target:
    """A file path (anything without `scheme://`) or a PostgreSQL URL; any other scheme is one sentence."""
    if isinstance(raw, Target):
        return raw
    if isinstance(raw, Path):
        return sqlite_target(raw)
    text = raw.strip()
    match = _SCHEME.match(text)
    if match is None:
        return sqlite_target(Path(raw))
    scheme = match.group(1).lower()
    if scheme == "sqlite":  # SQLAlchemy's form, sqlite:///relative or sqlite:////absolute
        return sqlite_target(Path(unquote(text[len("sqlite:///"):])))
    if scheme not in POSTGRES_SCHEMES:
        raise TargetError(
            f"The database target {redact(text)} uses the unknown scheme '{scheme}'; give a file path or a "
            "postgresql://user@host/dbname URL."
        )
    return _postgres_target(text)


def sqlite_target(path: Path) -> Target:
    path = path.expanduser()
    return Target(kind="sqlite", display=str(path), path=path)


def _postgres_target(text: str) -> Target:
    parts = urlsplit(text)
    database = unquote(parts.path.lstrip("/"))
    query = tuple(parse_qsl(parts.query, keep_blank_values=True))
    shown_host = _host_display(parts.hostname, parts.port if _valid_port(parts) else None)
    user = unquote(parts.username) if parts.username else None
    display = f"postgresql://{user + '@' if user else ''}{shown_host}/{database}"
    if not _valid_port(parts):
        raise TargetError(f"The database URL {display} has a port that is not a number.")
    if not database:
        raise TargetError(f"The database URL {display} names no database; add one, as in postgresql://user@host/dbname.")
    password = unquote(parts.password) if parts.password else None
    query_password = dict(query).get("password")
    return Target(
        kind="postgresql", display=display, user=user, host=parts.hostname or None, port=parts.port,
        database=database, password=password or query_password,
        query=tuple((k, v) for k, v in query if k not in _SECRET_KEYS or k == "passfile"),
    )


def _valid_port(parts: object) -> bool:
    try:
        _ = parts.port  # type: ignore[attr-defined]
    except ValueError:
        return False
    return True


def _host_display(host: str | None, port: int | None) -> str:
    if not host:
        return ""
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


__all__ = ["INSTALL_HINT", "POSTGRES_SCHEMES", "Target", "TargetError", "is_url", "parse_target", "redact",
           "sqlite_target"]
