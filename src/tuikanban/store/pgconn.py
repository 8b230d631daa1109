"""How tuikanban connects to PostgreSQL with psycopg directly, without importing SQLAlchemy.

The board's first read (store.fastread_pg) connects before the ORM is imported, so the connection string is
built here; store.pg adds the lock timeout its writes need and builds its own from the same parts.
"""

from __future__ import annotations

from typing import Any

from tuikanban.domain.targets import Target

# A client that opens a transaction and then hangs is cut off after this long (a DBA may set it lower).
IDLE_IN_TRANSACTION_MS = 60_000
CONNECT_TIMEOUT_S = 10


def base_options(target: Target) -> str:
    """libpq `options`: the user's own (from the URL) and the idle-in-transaction timeout."""
    own = dict(target.query).get("options", "")
    return f"{own} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}".strip()


def make_conninfo(target: Target, *, options: str, application_name: str) -> str:
    """A libpq connection string for `target` (with its password, if it has one: never show it)."""
    from psycopg.conninfo import make_conninfo as join

    parts: dict[str, Any] = {k: v for k, v in target.query if k not in ("options", "password")}
    parts.update(host=target.host, port=target.port, user=target.user, password=target.password,
                 dbname=target.database, options=options, application_name=application_name,
                 connect_timeout=CONNECT_TIMEOUT_S)
    return join(**{k: v for k, v in parts.items() if v is not None})


__all__ = ["CONNECT_TIMEOUT_S", "IDLE_IN_TRANSACTION_MS", "base_options", "make_conninfo"]
