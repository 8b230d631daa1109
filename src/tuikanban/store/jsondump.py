"""The JSON export's rows written by SQLite itself: one JSON object per row, as UTF-8 bytes, the bytes that
`json.dumps(item, ensure_ascii=False, separators=(",", ":"))` gives for the dicts of `services.io.json_export`.

Why: a pipeline of 100,000 deals has about a million events; converting each row to Python values, a dict and
JSON text took about 20 s, against about 2 s when SQLite builds the text (docs/PERFORMANCE.md, Big files).
SQLite's `json_object` escapes text exactly as Python's json does (a test compares every code point up to
U+3000 and the edges), integers print alike, and stored times are rewritten to what `datetime.isoformat()` prints
for them. A row with a stored time that is not in the form SQLAlchemy writes (`YYYY-MM-DD HH:MM:SS.ffffff`) comes
as its id instead: the caller converts that row in Python as before. A range of rows SQLite wrote whole comes as
one text (`group_concat`), so that Python touches a range once, not each row, and two threads can build ranges
at once (sqlite3 lets go of the GIL while SQLite works).

On PostgreSQL `rows` is `store.jsondump_pg.rows` (the server builds the text); on another database it
returns None.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tuikanban.store import fastread
from tuikanban.store.tables import DELETED
from tuikanban.store.twin import paired_snapshot


def where_clauses(pid: str, *, scan: str = "+", column: str = "") -> tuple[dict[str, str], dict[str, str]]:
    """(WHERE, WHERE_ALL): per table, the condition selecting the rows of one pipeline's export (none of a deleted
    deal), and the same rows when the pipeline has no deleted deal: every row of the pipeline (its rows name only
    its own deals), without looking each deal up (a million lookups cost about a second on SQLite). `pid` is the
    pipeline id's placeholder; `scan` goes before the pipeline and deal columns of the table read (SQLite's unary
    `+` keeps it from driving the query by an index, which made it sort a million rows afterwards: a scan in rowid
    order is already in id order), `column` before its other columns (PostgreSQL's table alias). One map for both
    engines (`store.jsondump_pg` asks for its own marks)."""
    live = f"SELECT id FROM deal WHERE pipeline_id = {pid} AND status != '{DELETED}'"
    of_pipeline = f"{scan}pipeline_id = {pid}"
    where = {
        "deal": f"{of_pipeline} AND {column}status != '{DELETED}'",
        "event": f"{of_pipeline} AND ({column}deal_id IS NULL OR {scan}deal_id IN ({live}))",
        "stay": f"{of_pipeline} AND {scan}deal_id IN ({live})",
        "activity": f"{of_pipeline} AND {scan}deal_id IN ({live})",
    }
    return where, dict.fromkeys(where, of_pipeline)


# Rows of one pipeline, in id order, on SQLite
WHERE, WHERE_ALL = where_clauses("?")

# (key, column, kind): kind "v" any value (as json_object writes it), "t" a time, "d" a date, "b" a boolean,
# "m" a deal's value (a JSON number in major units)
_Field = tuple[str, str, str]
FIELDS: dict[str, list[_Field]] = {
    "deal": [("id", "id", "v"), ("title", "title", "v"), ("company", "company", "v"), ("contact", "contact", "v"),
             ("value", "value_minor", "m"), ("currency", "currency", "v"), ("owner", "owner", "v"),
             ("type_id", "type_id", "v"), ("expected_close", "expected_close", "d"), ("notes", "notes", "v"),
             ("stage_id", "stage_id", "v"), ("status", "status", "v"), ("lost_reason", "lost_reason", "v"),
             ("created_at", "created_at", "t"), ("stage_entered_at", "stage_entered_at", "t"),
             ("closed_at", "closed_at", "t"), ("last_activity_at", "last_activity_at", "t"), ("rank", "rank", "v"),
             ("version", "version", "v"), ("snoozed_until", "snoozed_until", "d")],
    "event": [("id", "id", "v"), ("deal_id", "deal_id", "v"), ("kind", "kind", "v"), ("at", "at", "t"),
              ("user", '"user"', "v"), ("from_stage_id", "from_stage_id", "v"), ("to_stage_id", "to_stage_id", "v"),
              ("field", "field", "v"), ("old_value", "old_value", "v"), ("new_value", "new_value", "v"),
              ("reason", "reason", "v"), ("ref_id", "ref_id", "v")],
    "stay": [("id", "id", "v"), ("deal_id", "deal_id", "v"), ("stage_id", "stage_id", "v"),
             ("entered_at", "entered_at", "t"), ("left_at", "left_at", "t"), ("outcome", "outcome", "v")],
    "activity": [("id", "id", "v"), ("deal_id", "deal_id", "v"), ("kind", "kind", "v"), ("subject", "subject", "v"),
                 ("at", "at", "t"), ("user", '"user"', "v"), ("due", "due", "d"), ("done", "done", "b")],
}


def _value(column: str, kind: str, money: tuple[str, int]) -> str:
    """The SQL of one value as json_object's argument (NULL is JSON's null). A time is rewritten to what
    `datetime.isoformat()` prints for the aware UTC time: "T" between date and time, no fraction when it is zero."""
    if kind == "t":  # (in the form `_FORM` checks, a time ends in '.000000' exactly when its fraction is zero)
        return (f"CASE WHEN {column} LIKE '%.000000' THEN replace(substr({column}, 1, 19), ' ', 'T') "
                f"ELSE replace({column}, ' ', 'T') END || '+00:00'")
    if kind == "b":
        return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"
    if kind == "m":  # json_number_text: the whole number, or the digits with the fraction's zeros cut
        _currency, exp = money
        if exp == 0:
            return column
        unit = 10**exp
        return (f"CASE WHEN {column} IS NULL OR {column} % {unit} = 0 THEN {column} / {unit} "
                f"ELSE json(rtrim(printf('%d.%0{exp}d', {column} / {unit}, {column} % {unit}), '0')) END")
    return column


def _form(column: str, kind: str, money: tuple[str, int]) -> str | None:
    """The SQL condition under which `_value` writes what Python would (None: always). A deal's value in another
    currency than the pipeline's, negative, or too large for a float to hold its digits is Python's."""
    if kind in ("t", "d"):
        return f"({column} IS NULL OR {_FORM[kind].format(c=column)})"
    if kind == "m":
        currency, _exp = money
        quoted = currency.replace("'", "''")
        return (f"({column} IS NULL OR (currency = '{quoted}' AND typeof({column}) = 'integer' "
                f"AND {column} BETWEEN 0 AND {_EXACT_FLOAT - 1}))")
    return None


_EXACT_FLOAT = 10**15  # below it a float holds a value's digits exactly (domain.money.json_number_text)


def _object(table: str, money: tuple[str, int]) -> str:
    """The SQL of one row's JSON text (json_object: no spaces between the members), or NULL when one of its
    values is in a form the SQL does not rewrite (see `_form`): that row is converted in Python."""
    fields = FIELDS[table]
    members = ", ".join(f"'{key}', {_value(column, kind, money)}" for key, column, kind in fields)
    checks = [c for c in (_form(column, kind, money) for _key, column, kind in fields) if c is not None]
    text = f"json_object({members})"
    return f"CASE WHEN {' AND '.join(checks)} THEN {text} END" if checks else text


# The stored forms the SQL above rewrites: a time as `YYYY-MM-DD HH:MM:SS` with or without `.ffffff` (the one
# space is the separator), a date as `YYYY-MM-DD`. Checked on every row as its text is built (a separate pass over
# the pipeline's rows first cost about a second on a million events). For a time: text of one of the two lengths
# with its separators where LIKE's `_` leave them (the fraction's '.' too), and no second space; LIKE costs about
# half of comparing each separator with `substr` (0.28 s against 0.48 s on a million events; a GLOB pattern costs
# five times as long).
_FORM = {
    "t": ("typeof({c}) = 'text' AND ({c} LIKE '____-__-__ __:__:__' OR {c} LIKE '____-__-__ __:__:__.______') "
          "AND {c} NOT LIKE '% % %'"),
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


RANGE = 20_000  # ids per range: each range's rows are one text, built by SQLite while it holds no GIL
AHEAD = 3  # ranges read ahead of the one the caller takes next (memory: a range's text is about 4 MB of events)
SEPARATOR = b",\n  "  # between two rows of a section, in the range's text as in the caller's


def rows(conn: Any, table: str, pipeline_id: int, twin: sqlite3.Connection | None = None, *,
         money: tuple[str, int] = ("", 2)) -> Iterator[list[bytes | int]] | None:
    """The rows of `table` the pipeline's export holds (none of a deleted deal), ordered by id, as JSON text in
    UTF-8 (SQLite's own bytes: no decoding and encoding again), in chunks; None on an engine other than SQLite and
    PostgreSQL (convert them in Python). Each item of a chunk is the text of one row or of several, joined by
    `SEPARATOR` (a range of ids that SQLite wrote whole, as one text); a row whose time or date is not in the form
    the SQL rewrites (or, for a deal, whose value is not in `money`: the pipeline's currency and its minor unit's
    exponent) comes as its id (an int) instead: the caller converts that one row in Python. On PostgreSQL the
    server builds the text (`store.jsondump_pg`).

    The rows are read in ranges of ids; with `twin` (a connection reading the same snapshot, from
    `snapshot_pair`) a thread reads ranges through it beside this one, each taking the next range not yet taken:
    SQLite builds the text of two ranges at once."""
    con = _driver(conn)
    if con is None:
        if conn.dialect.name == "postgresql":
            from tuikanban.store import jsondump_pg

            return jsondump_pg.rows(conn, table, pipeline_id, twin, money=money)  # (twin: its SecondReader)
        return None
    where, params = _where(con, table, pipeline_id)
    row = _object(table, money)
    # group_concat joins the rows in the order the subquery gives them: SQLite does not flatten a subquery with an
    # ORDER BY into an aggregate, and the range is read along the rowid, in id order (a test compares the bytes
    # with the rows converted one by one in Python).
    ranged = f"FROM {table} WHERE {where} AND id BETWEEN ? AND ? ORDER BY id"
    whole = (f"SELECT CAST(group_concat(j, '{SEPARATOR.decode()}') AS BLOB), count(*) - count(j) "
             f"FROM (SELECT {row} AS j {ranged})")
    each = f"SELECT coalesce(CAST({row} AS BLOB), id) {ranged}"
    low, high = con.execute(f"SELECT min(id), max(id) FROM {table}").fetchone()  # the ends of the rowids
    if low is None:
        return iter(())
    ranges = [(start, min(start + RANGE - 1, high)) for start in range(low, high + 1, RANGE)]

    def read(c: sqlite3.Connection, start: int, end: int) -> list[bytes | int]:
        text, left = c.execute(whole, (*params, start, end)).fetchone()
        if not left:  # every row written by SQLite: the range is one text (none when it holds no row)
            return [] if text is None else [text]
        return [r[0] for r in c.execute(each, (*params, start, end))]

    if twin is None or len(ranges) < 2:
        return (read(con, start, end) for start, end in ranges)
    return _two_at_once(con, twin, read, ranges)


_Read = Callable[[sqlite3.Connection, int, int], list[bytes | int]]


def _two_at_once(con: sqlite3.Connection, twin: sqlite3.Connection, read: _Read, ranges: list[tuple[int, int]]
                 ) -> Iterator[list[bytes | int]]:
    """The ranges' rows in order, read by this thread through `con` and by another through `twin`, each taking
    the next range not yet taken (at most AHEAD past the one the caller takes next): the two stay busy whatever
    the caller does with each range between its reads."""
    cond = threading.Condition()
    done: dict[int, list[bytes | int] | BaseException] = {}
    state = {"taken": 0, "given": 0, "stop": False}
    count = len(ranges)

    def take() -> int | None:
        """The next range to read (under `cond`), or None when none may be taken now."""
        i = state["taken"]
        if i >= count or i > state["given"] + AHEAD:
            return None
        state["taken"] = i + 1
        return i

    def run(c: sqlite3.Connection, i: int) -> None:
        try:
            got: list[bytes | int] | BaseException = read(c, *ranges[i])
        except BaseException as exc:  # handed to the caller with the range
            got = exc
        with cond:
            done[i] = got
            cond.notify_all()

    def second() -> None:
        while True:
            with cond:
                i = take()
                while i is None and not state["stop"] and state["taken"] < count:
                    cond.wait(0.1)
                    i = take()
                if i is None or state["stop"]:
                    return
            run(twin, i)

    thread = threading.Thread(target=second, name="tuikanban-export", daemon=True)
    thread.start()
    try:
        while state["given"] < count:
            with cond:
                got = done.pop(state["given"], None)
                mine = None if got is not None else take()
                if got is None and mine is None:
                    cond.wait(0.1)
                    continue
                if got is not None:
                    state["given"] += 1
                    cond.notify_all()
            if mine is not None:
                run(con, mine)
                continue
            if isinstance(got, BaseException):
                raise got
            assert got is not None
            yield got
    finally:
        with cond:
            state["stop"] = True
            cond.notify_all()
        thread.join()


def snapshot_pair(conn: Any, path: Path | None) -> contextlib.AbstractContextManager[sqlite3.Connection | None]:
    """A second read-only connection to the file at `path` on the snapshot of `conn` (a SQLAlchemy connection whose
    transaction has begun and not read yet: its snapshot starts here), for `rows` to read ranges through beside
    it; None when there is none to be had (another engine, no path, a commit between the two starts: see
    `store.twin.paired_snapshot`, which this is)."""
    con = _driver(conn)
    if con is None or path is None:
        return contextlib.nullcontext(None)
    return paired_snapshot(con, lambda: fastread.connect(path), begun=True)
