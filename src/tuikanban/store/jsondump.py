"""The JSON export's rows written by SQLite itself: one JSON object per row, as UTF-8 bytes, the bytes that
`json.dumps(item, ensure_ascii=False)` gives for the dicts of `services.io.json_export`.

Why: a pipeline of 100,000 deals has about a million events; converting each row to Python values, a dict and
JSON text took about 20 s, against about 2 s when SQLite builds the text (docs/PERFORMANCE.md, Big files).
SQLite's `json_quote` escapes text exactly as Python's json does (a test compares every code point up to
U+3000 and the edges), integers print alike, and stored times are rewritten to what `datetime.isoformat()` prints
for them. A row with a stored time that is not in the form SQLAlchemy writes (`YYYY-MM-DD HH:MM:SS.ffffff`) comes
as its id instead: the caller converts that row in Python as before.

SQLite only: on another database `rows` and `deal_rows` return None.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tuikanban.store.tables import DELETED

# Rows of one pipeline, in id order. The unary `+` keeps SQLite from driving the query by an index (which made it
# sort a million rows afterwards): a scan in rowid order is already in id order.
_LIVE = f"SELECT id FROM deal WHERE pipeline_id = ? AND status != '{DELETED}'"
WHERE = {
    "deal": f"+pipeline_id = ? AND status != '{DELETED}'",
    "event": f"+pipeline_id = ? AND (deal_id IS NULL OR +deal_id IN ({_LIVE}))",
    "stay": f"+pipeline_id = ? AND +deal_id IN ({_LIVE})",
    "activity": f"+pipeline_id = ? AND +deal_id IN ({_LIVE})",
}
# The same rows when the pipeline has no deleted deal: every row of the pipeline (its rows name only its own deals),
# without looking each deal up (a million lookups cost about a second).
WHERE_ALL = {"deal": "+pipeline_id = ?", "event": "+pipeline_id = ?", "stay": "+pipeline_id = ?",
             "activity": "+pipeline_id = ?"}
CHUNK = 5000

# (key, column, kind): kind "v" any value (json_quote), "t" a time, "d" a date, "b" a boolean
_Field = tuple[str, str, str]
FIELDS: dict[str, list[_Field]] = {
    "event": [("id", "id", "v"), ("deal_id", "deal_id", "v"), ("kind", "kind", "v"), ("at", "at", "t"),
              ("user", '"user"', "v"), ("from_stage_id", "from_stage_id", "v"), ("to_stage_id", "to_stage_id", "v"),
              ("field", "field", "v"), ("old_value", "old_value", "v"), ("new_value", "new_value", "v"),
              ("reason", "reason", "v"), ("ref_id", "ref_id", "v")],
    "stay": [("id", "id", "v"), ("deal_id", "deal_id", "v"), ("stage_id", "stage_id", "v"),
             ("entered_at", "entered_at", "t"), ("left_at", "left_at", "t"), ("outcome", "outcome", "v")],
    "activity": [("id", "id", "v"), ("deal_id", "deal_id", "v"), ("kind", "kind", "v"), ("subject", "subject", "v"),
                 ("at", "at", "t"), ("user", '"user"', "v"), ("due", "due", "d"), ("done", "done", "b")],
}
# A deal's value is a JSON number in major units (domain.money): the text before it and after it come from SQL.
DEAL_HEAD: list[_Field] = [("id", "id", "v"), ("title", "title", "v"), ("company", "company", "v"),
                           ("contact", "contact", "v")]
DEAL_TAIL: list[_Field] = [
    ("currency", "currency", "v"), ("owner", "owner", "v"), ("type_id", "type_id", "v"),
    ("expected_close", "expected_close", "d"), ("notes", "notes", "v"), ("stage_id", "stage_id", "v"),
    ("status", "status", "v"), ("lost_reason", "lost_reason", "v"), ("created_at", "created_at", "t"),
    ("stage_entered_at", "stage_entered_at", "t"), ("closed_at", "closed_at", "t"),
    ("last_activity_at", "last_activity_at", "t"), ("rank", "rank", "v"), ("version", "version", "v"),
]


def _value(column: str, kind: str) -> str:
    """The SQL of one value's JSON text. A time or date not in the form rewritten here (see `_FORM`) gives NULL,
    which makes the whole row's text NULL: the caller converts that row in Python."""
    if kind == "t":  # isoformat() of the aware UTC time: "T" between date and time, no fraction when it is zero
        return (f"CASE WHEN {column} IS NULL THEN 'null' WHEN NOT ({_FORM['t'].format(c=column)}) THEN NULL "
                f"WHEN substr({column}, 20) = '.000000' "
                f"THEN '\"' || replace(substr({column}, 1, 19), ' ', 'T') || '+00:00\"' "
                f"ELSE '\"' || replace({column}, ' ', 'T') || '+00:00\"' END")
    if kind == "d":
        return (f"CASE WHEN {column} IS NULL THEN 'null' WHEN {_FORM['d'].format(c=column)} "
                f"THEN json_quote({column}) END")
    if kind == "b":
        return f"CASE WHEN {column} THEN 'true' ELSE 'false' END"
    return f"json_quote({column})"


def _object(fields: list[_Field], *, opening: bool = True, closing: bool = True) -> str:
    parts = [f"'{', ' if i or not opening else '{'}\"{key}\": ' || {_value(column, kind)}"
             for i, (key, column, kind) in enumerate(fields)]
    return " || ".join(parts) + (" || '}'" if closing else "")


# The stored forms the SQL above rewrites: a time as `YYYY-MM-DD HH:MM:SS` with or without `.ffffff` (the one
# space is the separator), a date as `YYYY-MM-DD`. Lengths and separators are compared rather than a GLOB pattern,
# which costs five times as long; a value that is not text never has a space (or a '-') where these look for one,
# and a blob never equals text. Checked on every row as its text is built (a separate pass over the pipeline's rows
# first cost about a second on a million events).
_FORM = {
    "t": ("length({c}) IN (19, 26) AND substr({c}, 11, 1) = ' ' AND substr({c}, 5, 1) = '-' "
          "AND substr({c}, 14, 1) = ':' AND instr(substr({c}, 12), ' ') = 0"),
    "d": "length({c}) = 10 AND substr({c}, 5, 1) = '-' AND substr({c}, 8, 1) = '-' AND typeof({c}) = 'text'",
}


def _where(con: Any, table: str, pipeline_id: int) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause selecting the rows of the export, and its parameters."""
    deleted = con.execute(f"SELECT 1 FROM deal WHERE pipeline_id = ? AND status = '{DELETED}' LIMIT 1",
                          (pipeline_id,)).fetchone()
    where = (WHERE if deleted else WHERE_ALL)[table]
    return where, (pipeline_id,) * where.count("?")


def _driver(conn: Any) -> Any:
    """The sqlite3 connection under a SQLAlchemy connection (the same transaction), or None on another engine."""
    if conn.dialect.name != "sqlite":
        return None
    return conn.connection.driver_connection


def _chunks(cursor: Any) -> Iterator[list[Any]]:
    while rows := cursor.fetchmany(CHUNK):
        yield rows


def rows(conn: Any, table: str, pipeline_id: int, twin: sqlite3.Connection | None = None
         ) -> Iterator[list[bytes | int]] | None:
    """The rows of `table` the pipeline's export holds (none of a deleted deal), ordered by id, as JSON text in
    UTF-8 (SQLite's own bytes: no decoding and encoding again), in chunks; None on another engine (convert them
    in Python). A row whose time or date is not in the form the SQL rewrites comes as its id (an int) instead of
    its text: the caller converts that one row in Python.

    With `twin` (a connection reading the same snapshot, from `snapshot_twin`), the rows are read in ranges of
    ids, every other range on a thread of its own through the twin: SQLite builds the text of two ranges at once."""
    con = _driver(conn)
    if con is None:
        return None
    where, params = _where(con, table, pipeline_id)
    select = f"SELECT coalesce(CAST({_object(FIELDS[table])} AS BLOB), id) FROM {table} WHERE {where}"
    if twin is not None:
        low, high = con.execute(f"SELECT min(id), max(id) FROM {table}").fetchone()  # the ends of the rowids
        if low is not None and high - low >= 2 * RANGE:
            return _two_at_once(con, twin, f"{select} AND id BETWEEN ? AND ? ORDER BY id", params, low, high)
    cursor = con.execute(f"{select} ORDER BY id", params)
    return ([r[0] for r in chunk] for chunk in _chunks(cursor))


RANGE = 20_000  # ids per range read by one of the two connections


def _two_at_once(con: sqlite3.Connection, twin: sqlite3.Connection, sql: str, params: tuple[Any, ...], low: int,
                 high: int) -> Iterator[list[bytes | int]]:
    """The rows of ranges of ids in order: the even ranges read here, the odd ones on a thread through `twin`."""
    ranges = [(start, min(start + RANGE - 1, high)) for start in range(low, high + 1, RANGE)]
    done: queue.Queue[list[bytes | int] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def hand(item: list[bytes | int] | BaseException) -> bool:
        """Give the reader `item` unless it stopped reading (then False)."""
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                done.put(item, timeout=0.1)
                return True
        return False

    def read_odd() -> None:
        try:
            for start, end in ranges[1::2]:
                if stop.is_set() or not hand([r[0] for r in twin.execute(sql, (*params, start, end))]):
                    return
        except BaseException as exc:  # handed to the reader below
            hand(exc)

    thread = threading.Thread(target=read_odd, name="tuikanban-export", daemon=True)
    thread.start()
    try:
        for i, (start, end) in enumerate(ranges):
            if i % 2 == 0:
                yield [r[0] for r in con.execute(sql, (*params, start, end))]
                continue
            got = done.get()
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                done.get(timeout=0.1)
        thread.join()


@contextlib.contextmanager
def snapshot_twin(conn: Any, path: str | None) -> Iterator[sqlite3.Connection | None]:
    """A second read-only connection to the file that reads the same snapshot as `conn`, which must not have read
    yet in its transaction; None when that cannot be had (another engine, a read-only file, a writer holding the
    lock). How: the write lock is taken for a moment, so that no commit can fall between the two snapshots'
    starts; no write waits on it for more than that moment."""
    con = _driver(conn)
    if con is None or path is None:
        yield None
        return
    twin: sqlite3.Connection | None = None
    uri = "file:" + quote(str(Path(path).absolute()), safe="/")
    try:
        lock = sqlite3.connect(uri + "?mode=rw", uri=True, timeout=0.2, isolation_level=None)
    except sqlite3.Error:
        lock = None
    if lock is not None:
        try:
            lock.execute("BEGIN IMMEDIATE")
            try:
                con.execute("SELECT count(*) FROM pipeline").fetchone()  # this transaction's snapshot starts here
                twin = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
                twin.execute("BEGIN")
                twin.execute("SELECT count(*) FROM pipeline").fetchone()  # and the twin's, before anyone commits
            finally:
                lock.execute("ROLLBACK")
        except sqlite3.Error:
            if twin is not None:
                twin.close()
            twin = None
        finally:
            lock.close()
    try:
        yield twin
    finally:
        if twin is not None:
            twin.close()


DealRow = tuple[bytes, int | None, str, bytes | int]


def deal_rows(conn: Any, pipeline_id: int) -> Iterator[list[DealRow]] | None:
    """The pipeline's deals but deleted ones, ordered by id, in chunks of (UTF-8 text before the value,
    value_minor, currency, UTF-8 text after it); None on another engine (convert them in Python). A deal whose
    time or date is not in the form the SQL rewrites has its id (an int) in place of the text after the value."""
    con = _driver(conn)
    if con is None:
        return None
    head = _object(DEAL_HEAD, closing=False) + " || ', \"value\": '"
    tail = _object(DEAL_TAIL, opening=False)
    cursor = con.execute(f"SELECT CAST({head} AS BLOB), value_minor, currency, coalesce(CAST({tail} AS BLOB), id) "
                         f"FROM deal WHERE {WHERE['deal']} ORDER BY id", (pipeline_id,))
    return _chunks(cursor)
