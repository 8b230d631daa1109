"""How tuikanban connects to PostgreSQL without importing SQLAlchemy, and on the fast paths without psycopg.

The board's first read (store.fastread_pg) and the command line's fast writes (store.uow.PgWriter) connect before
the ORM is imported, so the connection settings are built here; store.pg adds the lock timeout its writes need
and builds its own from the same parts. `connect` gives those fast paths libpq through ctypes (store.libpq) when
it loads, psycopg otherwise (docs/PERFORMANCE.md, Commands).
"""

from __future__ import annotations

from typing import Any

from tuikanban.domain.errors import DatabaseError
from tuikanban.domain.targets import INSTALL_HINT, Target

# A client that opens a transaction and then hangs is cut off after this long (a DBA may set it lower).
IDLE_IN_TRANSACTION_MS = 60_000
CONNECT_TIMEOUT_S = 10


def base_options(target: Target) -> str:
    """libpq `options`: the user's own (from the URL) and the idle-in-transaction timeout."""
    own = dict(target.query).get("options", "")
    return f"{own} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}".strip()


def conninfo_params(target: Target, *, options: str, application_name: str) -> dict[str, str]:
    """libpq's connection keywords for `target` (with its password, if it has one: never show them)."""
    parts: dict[str, Any] = {k: v for k, v in target.query if k not in ("options", "password")}
    parts.update(host=target.host, port=target.port, user=target.user, password=target.password,
                 dbname=target.database, options=options, application_name=application_name,
                 connect_timeout=CONNECT_TIMEOUT_S)
    return {k: str(v) for k, v in parts.items() if v is not None}


def make_conninfo(target: Target, *, options: str, application_name: str) -> str:
    """A libpq connection string for `target` (with its password, if it has one: never show it)."""
    from psycopg.conninfo import make_conninfo as join

    return join(**conninfo_params(target, options=options, application_name=application_name))


def _psycopg() -> Any:
    """psycopg, or one sentence when it is not installed (the fast paths need it whenever libpq cannot be used)."""
    try:
        import psycopg
    except ImportError:
        raise DatabaseError(f"PostgreSQL support is not installed; install it with: {INSTALL_HINT}") from None
    return psycopg


def errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(any failure, a failed or lost connection) of the drivers `connect` may have used in this process."""
    import sys

    from tuikanban.store import libpq

    failures: list[type[Exception]] = [libpq.Error]
    lost: list[type[Exception]] = [libpq.OperationalError]
    if "psycopg" in sys.modules or not libpq.available():
        psycopg = _psycopg()
        failures.append(psycopg.Error)
        lost.append(psycopg.OperationalError)
    return tuple(failures), tuple(lost)


def connect(target: Target, *, options: str, application_name: str, libpq_ok: bool = True) -> Any:
    """An autocommit connection for the fast paths: store.libpq's when it loads (and `libpq_ok`), else psycopg's
    (the same calls: `execute` with `%s` placeholders, `transaction()`, `closed`, `broken`, `close`). Raises one
    of the first of `errors()` on failure."""
    from tuikanban.store import libpq

    if libpq_ok and libpq.available():
        # DateStyle ISO: the text form libpq.Connection parses (psycopg reads any DateStyle)
        return libpq.connect(conninfo_params(target, options=f"{options} -c DateStyle=ISO",
                                             application_name=application_name))
    psycopg = _psycopg()
    return psycopg.connect(make_conninfo(target, options=options, application_name=application_name),
                           autocommit=True)


__all__ = ["CONNECT_TIMEOUT_S", "IDLE_IN_TRANSACTION_MS", "base_options", "connect", "conninfo_params", "errors",
           "make_conninfo"]
