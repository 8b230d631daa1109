"""The JSON export's rows written by PostgreSQL itself: the PostgreSQL half of `store.jsondump`, the same bytes
(`json.dumps(item, ensure_ascii=False, separators=(",", ":"))` of the dicts of `services.io.json_export`).

Why: converting each row to Python values, a dict and JSON text took about 6-7 times the SQLite export's time on
the big board (docs/PERFORMANCE.md, Big files, round 6). Here the server builds each row's text with
`row_to_json` (no spaces between the members, keys in the order given, text escaped as Python's json escapes it:
`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`, any other control character as `\\u00xx`, everything else as it is), a
time with `to_char` as `datetime.isoformat()` prints the aware UTC time, and each range of ids comes back as one
text (`string_agg`), so Python touches a range once, not each row, as the UTF-8 bytes the server sent.

The server built the text on one backend, one range after the other; a second backend now builds ranges beside it
on the same snapshot (`pg_export_snapshot()` in the export's REPEATABLE READ transaction, `SET TRANSACTION SNAPSHOT`
on a second connection: `SecondReader`), each taking the next range not yet taken, as SQLite's second connection
does (docs/PERFORMANCE.md, Big files, round 7).

A deal whose value is not in the pipeline's currency, negative, or too large for a float to hold its digits comes
as its id instead: the caller converts that row in Python, as before.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from tuikanban.store.jsondump import FIELDS, SEPARATOR, where_clauses
from tuikanban.store.tables import DELETED

_EXACT_FLOAT = 10**15  # below it a float holds a value's digits exactly (domain.money.json_number_text)


def _value(column: str, kind: str, money: tuple[str, int]) -> str:
    """The SQL of one member's value (NULL is JSON's null; a `json` value is written as it is)."""
    c = f"t.{column}"
    if kind == "t":  # isoformat(): "T" between date and time, the fraction only when it is not zero, the offset
        return (f"to_char({c}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {c}) = {c} "
                f"THEN '' ELSE to_char({c}, '.US') END || '+00:00'")
    if kind == "m":  # json_number_text: the whole number, or the digits with the fraction's zeros cut
        _currency, exp = money
        if exp == 0:
            return c
        unit = 10**exp
        return (f"(CASE WHEN {c} BETWEEN 0 AND {_EXACT_FLOAT - 1} THEN CASE WHEN {c} % {unit} = 0 "
                f"THEN ({c} / {unit})::text ELSE rtrim(({c} / {unit})::text || '.' || "
                f"lpad(({c} % {unit})::text, {exp}, '0'), '0') END END)::json")
    return c  # a number, text, a date (ISO 8601 in JSON whatever the DateStyle) or a boolean, as row_to_json writes it


def _check(fields: list[tuple[str, str, str]], money: tuple[str, int]) -> str | None:
    """The condition under which the row's text is the server's (None: always): a deal's value in the pipeline's
    currency, 0 to 10^15 - 1 minor units (or none)."""
    if not any(kind == "m" for _key, _column, kind in fields):
        return None
    currency, _exp = money
    quoted = currency.replace("'", "''")
    return (f"(t.value_minor IS NULL OR (t.currency = '{quoted}' "
            f"AND t.value_minor BETWEEN 0 AND {_EXACT_FLOAT - 1}))")


def _quoted(key: str) -> str:
    return '"' + key.replace('"', '""') + '"'


RANGE = 20_000  # ids per range: each range's rows come as one text


def rows(conn: Any, table: str, pipeline_id: int, twin: Any = None, *,
         money: tuple[str, int] = ("", 2)) -> Iterator[list[bytes | int]]:
    """The rows of `table` the pipeline's export holds, ordered by id, in chunks, as `store.jsondump.rows` gives
    them: each item the UTF-8 text of a range of rows joined by `separator`, or a row's id (a row the caller
    converts in Python). With `twin` (from `snapshot_pair`) a second backend builds every other range on the same
    snapshot, read on a thread beside this one (`store.jsondump._two_at_once`, as SQLite's ranges are)."""
    from tuikanban.store.jsondump import _two_at_once

    fields = FIELDS[table]
    main = conn.connection.driver_connection  # psycopg's, inside the SQLAlchemy transaction
    pid = int(pipeline_id)
    deleted = _one(main, f"SELECT 1 FROM deal WHERE pipeline_id = {pid} AND status = '{DELETED}' LIMIT 1")
    where = where_clauses(str(pid), scan="t.", column="t.")[0 if deleted else 1][table]
    members = ", ".join(f"{_value(column, kind, money)} AS {_quoted(key)}"
                        for key, column, kind in fields)
    check = _check(fields, money)
    row = "row_to_json(r)::text" if check is None else f"CASE WHEN {check} THEN row_to_json(r)::text END"
    ranged = (f"FROM {table} t CROSS JOIN LATERAL (SELECT {members}) r "
              f"WHERE {where} AND t.id BETWEEN {{low}} AND {{high}} ORDER BY t.id")
    separator = SEPARATOR.decode().replace("\n", "' || chr(10) || '")
    # string_agg takes the rows in the order the subquery gives them, the order of the primary key's index: an
    # ORDER BY inside the aggregate sorted each range again, on disk past work_mem (a third of the server's time)
    whole = f"SELECT string_agg(j, '{separator}'), count(*) - count(j) FROM (SELECT {row} AS j {ranged}) x"
    each = f"SELECT t.id, {row} {ranged}"
    low, high = _one(main, f"SELECT min(t.id), max(t.id) FROM {table} t WHERE {where}")
    if low is None or high is None:
        return iter(())
    ranges = [(start, min(start + RANGE - 1, high)) for start in range(low, high + 1, RANGE)]

    def read(c: Any, start: int, end: int) -> list[bytes | int]:
        with _driver_errors(whole), c.cursor() as cur:
            cur.adapters.register_loader("text", _utf8_loader())
            joined, left = cur.execute(whole.format(low=start, high=end)).fetchone()
            if not left:  # every row written by the server: the range is one text (none when it holds no row)
                return [] if joined is None else [joined]
            return [row_id if j is None else j for row_id, j in cur.execute(each.format(low=start, high=end))]

    second = twin.connection() if twin is not None and len(ranges) > 1 else None
    if second is None:
        return (read(main, start, end) for start, end in ranges)
    return _two_at_once(main, second, read, ranges)


def _one(con: Any, sql: str) -> Any:
    """The first row of `sql` on psycopg's connection `con`, or None."""
    with _driver_errors(sql), con.cursor() as cur:
        return cur.execute(sql).fetchone()


@contextlib.contextmanager
def _driver_errors(sql: str) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy raises them (`DBAPIError`), which `PgDatabase.read` turns into one sentence."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


_LOADER: Any = None


def _utf8_loader() -> Any:
    """psycopg's loader of text columns as the UTF-8 bytes the file gets: the text as the server sent it when the
    connection's encoding is UTF-8 (no `str` of a range's megabytes decoded and encoded again), else decoded and
    encoded."""
    global _LOADER
    if _LOADER is None:
        from psycopg.adapt import Loader

        class Utf8Loader(Loader):
            def load(self, data: Any) -> bytes:
                encoding = self.connection.info.encoding if self.connection is not None else "utf-8"
                raw = bytes(data)
                # (SQL_ASCII, "ascii" here, has no encoding to decode: its bytes as they are, as psycopg's own)
                return raw if encoding in ("utf-8", "ascii") else raw.decode(encoding).encode()

        _LOADER = Utf8Loader
    return _LOADER


class SecondReader:
    """A second connection to the server on the snapshot of the export's transaction, opened when a table first
    has two ranges to read (a small board never opens it). `connection()` is None when it cannot be had: the
    transaction is not REPEATABLE READ (its snapshot would not be the reads'), the server is a standby in recovery,
    it refuses another connection, or the snapshot cannot be imported; the export then reads on one connection."""

    def __init__(self, conn: Any, target: Any) -> None:
        self._conn, self._target = conn, target
        self._con: Any = None
        self._tried = False

    def connection(self) -> Any:
        if not self._tried:
            self._tried = True
            self._con = self._open()
        return self._con

    def _open(self) -> Any:
        import psycopg

        from tuikanban.store.pg import conninfo

        main = self._conn.connection.driver_connection
        level, standby = _one(main, "SELECT current_setting('transaction_isolation'), pg_is_in_recovery()")
        if level not in ("repeatable read", "serializable") or standby:
            return None
        try:
            twin = psycopg.connect(conninfo(self._target, application_name="tuikanban-export"))
        except psycopg.Error:
            return None
        try:
            (snapshot,) = _one(main, "SELECT pg_export_snapshot()")
            if not _SNAPSHOT.fullmatch(snapshot):
                raise ValueError(snapshot)
            twin.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            twin.read_only = True
            twin.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the first statement of its transaction
        except (psycopg.Error, ValueError):
            twin.close()
            return None
        return twin

    def close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.close()  # (its read-only transaction ends with it)
            self._con = None


_SNAPSHOT = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")  # what pg_export_snapshot() returns: 00000003-0000001B-1


@contextlib.contextmanager
def snapshot_pair(conn: Any, target: Any) -> Iterator[SecondReader]:
    """A `SecondReader` on the snapshot of `conn` (a SQLAlchemy connection inside the export's REPEATABLE READ
    transaction, `PgDatabase.read`) to the server of `target`, closed at the end of the block."""
    twin = SecondReader(conn, target)
    try:
        yield twin
    finally:
        twin.close()
