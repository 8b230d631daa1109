"""A small libpq client through ctypes: what the command line's and the first paint's PostgreSQL reads and writes
need of a connection, without importing psycopg.

Why: `import psycopg` costs more than a whole `deal list` on SQLite (its package imports asyncio, logging,
importlib.metadata, ctypes.util and every adapter: about 150 ms of CPU on the loaded 2-core machine against 8 ms
for loading libpq with ctypes, connecting and running a query; docs/PERFORMANCE.md, Commands). libpq itself does
everything about the connection (TLS, authentication, ~/.pgpass, PG* variables, service files), as it does under
psycopg; this module only sends statements and reads their rows.

It speaks psycopg's dialect where its callers see it, so `store.uow.PgWriter` and `store.fastread_pg.PgConnection`
run the same code on either: `execute(sql, params)` with `%s` placeholders (`%%` for a percent sign) returning a
cursor (`fetchone`, `fetchall`, iteration), `transaction()`, `closed`, `broken`, `close()`; parameters typed as
psycopg types them (str as unknown, int as the smallest integer type, bool, naive and aware datetime, date,
float, Decimal); rows loaded as psycopg loads them (int, bool, str, float, Decimal, naive or aware datetime,
date; a column of any other type is refused, never read as other values than psycopg's). Errors carry
`sqlstate` and the server's message, which is what `store.pg.describe_pg_error` reads. Rows are read in text
format and all at once: the results it serves are small (a board's window, one pipeline's deals); the ORM and
the change feed keep psycopg.

`available()` is False when psycopg is not installed (PostgreSQL support is its extra: the ORM path then says so)
or no libpq can be loaded; the callers then use psycopg.
"""

from __future__ import annotations

import ctypes
import importlib.util
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

# libpq's enums and type oids (libpq-fe.h, pg_type.dat)
CONNECTION_OK = 0
PGRES_COMMAND_OK, PGRES_TUPLES_OK = 1, 2
PQTRANS_IDLE = 0
PG_DIAG_SQLSTATE, PG_DIAG_MESSAGE_PRIMARY = ord("C"), ord("M")
CHAR, NAME, BOOL, INT8, INT2, INT4, TEXT, OID, REGCLASS, VOID = 18, 19, 16, 20, 21, 23, 25, 26, 2205, 2278
FLOAT4, FLOAT8, BPCHAR, VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ, NUMERIC = 700, 701, 1042, 1043, 1082, 1114, 1184, 1700


class Error(Exception):
    """A failed statement or connection: the server's message, and its SQLSTATE when the server sent one."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class OperationalError(Error):
    """The connection failed or was lost (as psycopg.OperationalError)."""


_lib: ctypes.CDLL | None = None
_tried = False


def _candidates() -> list[str]:
    """The libpq psycopg's binary package ships (the one psycopg itself would use), then the system's."""
    found: list[str] = []
    spec = importlib.util.find_spec("psycopg_binary")
    if spec is not None and spec.origin is not None:
        package = Path(spec.origin).parent
        for folder in (package.parent / "psycopg_binary.libs", package / ".dylibs"):
            found += sorted(str(p) for p in folder.glob("libpq*") if ".so" in p.name or p.suffix == ".dylib")
    return [*found, "libpq.so.5", "libpq.5.dylib"]


def library() -> ctypes.CDLL | None:
    """libpq, loaded once per process with the signatures used here; None when there is none (or no psycopg)."""
    global _lib, _tried
    if not _tried:
        _tried = True
        if importlib.util.find_spec("psycopg") is not None:
            for name in _candidates():
                try:
                    _lib = _declare(ctypes.CDLL(name))
                    break
                except (OSError, AttributeError):
                    continue
    return _lib


def available() -> bool:
    return library() is not None


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i, s, u = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint
    for name, restype, argtypes in (
        ("PQconnectdbParams", p, [ctypes.POINTER(s), ctypes.POINTER(s), i]),
        ("PQstatus", i, [p]), ("PQerrorMessage", s, [p]), ("PQfinish", None, [p]),
        ("PQtransactionStatus", i, [p]),
        ("PQsetNoticeProcessor", p, [p, p, p]),
        ("PQexec", p, [p, s]),
        ("PQexecParams", p, [p, s, i, ctypes.POINTER(u), ctypes.POINTER(s), p, p, i]),
        ("PQresultStatus", i, [p]), ("PQresultErrorField", s, [p, i]), ("PQresultErrorMessage", s, [p]),
        ("PQntuples", i, [p]), ("PQnfields", i, [p]), ("PQftype", u, [p, i]),
        ("PQgetvalue", s, [p, i, i]), ("PQgetisnull", i, [p, i, i]), ("PQclear", None, [p]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


_FAST: dict[str, Any] = {}


def _fast(lib: ctypes.CDLL, name: str) -> Any:
    """A second handle on a libpq accessor of (result, int, int), without argtypes: for the per-value loop."""
    found = _FAST.get(name)
    if found is None:
        found = _FAST[name] = lib[name]
        found.restype = ctypes.c_char_p if name == "PQgetvalue" else ctypes.c_int
    return found


# libpq writes the server's notices to stderr unless told otherwise; psycopg logs them, this drops them
_NOTICE_PROCESSOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)(lambda _arg, _message: None)


def connect(params: dict[str, str]) -> Connection:
    """A connection in autocommit (each statement its own transaction unless inside `transaction()`)."""
    lib = library()
    if lib is None:
        raise OperationalError("libpq is not available")
    keys = [*params, "client_encoding"]
    values = [*params.values(), "UTF8"]
    keywords = (ctypes.c_char_p * (len(keys) + 1))(*[k.encode() for k in keys], None)
    settings = (ctypes.c_char_p * (len(values) + 1))(*[v.encode() for v in values], None)
    handle = lib.PQconnectdbParams(keywords, settings, 0)
    if not handle:
        raise OperationalError("out of memory while connecting")
    if lib.PQstatus(handle) != CONNECTION_OK:
        message = _text(lib.PQerrorMessage(handle))
        lib.PQfinish(handle)
        raise OperationalError(message)
    lib.PQsetNoticeProcessor(handle, ctypes.cast(_NOTICE_PROCESSOR, ctypes.c_void_p), None)
    return Connection(lib, handle)


class Cursor:
    """The rows of one statement, read at once (psycopg's cursor calls that the callers use)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._next = 0

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest = self._rows[self._next:]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row


class Connection:
    def __init__(self, lib: ctypes.CDLL, handle: int) -> None:
        self._lib = lib
        self._handle: int | None = handle

    @property
    def closed(self) -> bool:
        return self._handle is None

    @property
    def broken(self) -> bool:
        """The connection was lost (the server went away): psycopg's `broken`."""
        return self._handle is not None and self._lib.PQstatus(self._handle) != CONNECTION_OK

    def execute(self, sql: str, params: Any = None) -> Cursor:
        """Run one statement (`%s` placeholders, as psycopg; with no parameters, as psycopg, the simple protocol)."""
        lib, handle = self._lib, self._handle
        if handle is None:
            raise OperationalError("the connection is closed")
        if params is None:
            result = lib.PQexec(handle, sql.encode())
        else:
            query, count = _numbered(sql)
            values = list(params)
            if len(values) != count:
                raise Error(f"the query has {count} placeholders but {len(values)} parameters were passed")
            typed = [_dump(v) for v in values]
            oids = (ctypes.c_uint * max(1, count))(*[t[0] for t in typed])
            texts = (ctypes.c_char_p * max(1, count))(*[t[1] for t in typed])
            result = lib.PQexecParams(handle, query.encode(), count, oids, texts, None, None, 0)
        try:
            return Cursor(self._rows(result))
        finally:
            if result:
                lib.PQclear(result)

    def _rows(self, result: int | None) -> list[tuple[Any, ...]]:
        lib = self._lib
        status = lib.PQresultStatus(result) if result else -1
        if status == PGRES_COMMAND_OK:
            return []
        if status != PGRES_TUPLES_OK:
            raise self._error(result)
        width = lib.PQnfields(result)
        loaders = [(c, _loader(oid), oid in _TEXTS) for c in range(width) for oid in (lib.PQftype(result, c),)]
        # The one loop that runs per value: the accessors without argtypes (ctypes converts the two ints itself
        # and takes the result pointer as it is), about twice as fast as with them. A NULL comes back empty: in a
        # column of numbers, dates or booleans empty is NULL; only a text column has to ask.
        getvalue, isnull, res = _fast(lib, "PQgetvalue"), _fast(lib, "PQgetisnull"), ctypes.c_void_p(result)
        rows: list[tuple[Any, ...]] = []
        try:
            for r in range(lib.PQntuples(result)):
                row = []
                for c, load, text in loaders:
                    raw = getvalue(res, r, c)
                    row.append(load(raw) if raw or (text and not isnull(res, r, c)) else None)
                rows.append(tuple(row))
        except ValueError as exc:  # (a value Python cannot hold: 'infinity', a year after 9999)
            raise Error(f"a value cannot be read: {exc}", "22000") from None
        return rows

    def _error(self, result: int | None) -> Error:
        lib = self._lib
        code = _text(lib.PQresultErrorField(result, PG_DIAG_SQLSTATE)) if result else ""
        message = _text(lib.PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)) if result else ""
        if not message:
            message = _text(lib.PQresultErrorMessage(result)) if result else ""
        if not message and self._handle is not None:
            message = _text(lib.PQerrorMessage(self._handle))
        lost = self.broken or code.startswith(("08", "57P"))
        return (OperationalError if lost else Error)(message.strip() or "the statement failed", code or None)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """BEGIN ... COMMIT, or ROLLBACK when the block raises (as psycopg's `transaction()` in autocommit)."""
        self.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if self._handle is not None and not self.broken:
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    @property
    def idle(self) -> bool:
        """No transaction open."""
        return self._handle is not None and self._lib.PQtransactionStatus(self._handle) == PQTRANS_IDLE

    def close(self) -> None:
        if self._handle is not None:
            self._lib.PQfinish(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


_PLACEHOLDER = re.compile(r"%(s|%)|%")


def _numbered(sql: str) -> tuple[str, int]:
    """psycopg's `%s` placeholders as libpq's `$1, $2, ...` (and `%%` as `%`); any other `%` is refused, as
    psycopg refuses it."""
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        if match.group(1) != "s":
            raise Error("only '%s' placeholders are supported (write '%%' for a percent sign)")
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(swap, sql), count


def _dump(value: Any) -> tuple[int, bytes | None]:
    """(type oid, text) of a parameter, typed as psycopg types it (0: unknown, for the server to infer)."""
    if value is None:
        return 0, None
    if isinstance(value, bool):
        return BOOL, b"t" if value else b"f"
    if isinstance(value, int):
        oid = INT2 if -(2**15) <= value < 2**15 else INT4 if -(2**31) <= value < 2**31 else \
            INT8 if -(2**63) <= value < 2**63 else NUMERIC
        return oid, str(value).encode()
    if isinstance(value, str):
        if "\x00" in value:
            raise Error("PostgreSQL text fields cannot contain NUL (0x00) bytes", "22021")
        return 0, value.encode()
    if isinstance(value, datetime):
        return (TIMESTAMP if value.tzinfo is None else TIMESTAMPTZ), value.isoformat(" ").encode()
    if isinstance(value, date):
        return DATE, value.isoformat().encode()
    if isinstance(value, float):
        text = "NaN" if value != value else "Infinity" if value == float("inf") else \
            "-Infinity" if value == float("-inf") else repr(value)
        return FLOAT8, text.encode()
    from decimal import Decimal

    if isinstance(value, Decimal):
        return NUMERIC, str(value).encode()
    raise Error(f"cannot send a {type(value).__name__} to PostgreSQL here")


_load_text = bytes.decode  # (UTF-8: the connection's client_encoding)


def _load_numeric(raw: bytes) -> Any:
    from decimal import Decimal

    return Decimal(raw.decode())


def _load_timestamp(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode())


_TEXTS = frozenset((TEXT, VARCHAR, BPCHAR, NAME, CHAR, REGCLASS, VOID))  # (the types whose text may be '')


def _loader(oid: int) -> Callable[[bytes], Any]:
    """How a column of type `oid` is read; a type psycopg would read as something this module does not build
    (interval, json, arrays, ...) is refused rather than read as other Python values than psycopg's."""
    found = _LOADERS.get(oid)
    if found is None:
        raise Error(f"a column of type oid {oid} is not read here (use psycopg)", "0A000")
    return found


_LOADERS: dict[int, Callable[[bytes], Any]] = {
    BOOL: lambda raw: raw == b"t",
    INT2: int, INT4: int, INT8: int, OID: int,
    FLOAT4: float, FLOAT8: float,
    NUMERIC: _load_numeric,
    TEXT: _load_text, VARCHAR: _load_text, BPCHAR: _load_text, NAME: _load_text, CHAR: _load_text,
    REGCLASS: _load_text, VOID: _load_text,  # (psycopg reads these as text too: a void is '')
    DATE: lambda raw: date.fromisoformat(raw.decode()),
    TIMESTAMP: _load_timestamp, TIMESTAMPTZ: _load_timestamp,
}

__all__ = ["Connection", "Cursor", "Error", "OperationalError", "available", "connect", "library"]
