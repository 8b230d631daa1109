"""The JSON export's rows written by PostgreSQL itself: the PostgreSQL half of `store.jsondump`, the same bytes
(`json.dumps(item, ensure_ascii=False, separators=(",", ":"))` of the dicts of `services.io.json_export`).

Why: converting each row to Python values, a dict and JSON text took about 6-7 times the SQLite export's time on
the big board (docs/PERFORMANCE.md, Big files, round 6). Here the server builds each row's text with
`row_to_json` (no spaces between the members, keys in the order given, text escaped as Python's json escapes it:
`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`, any other control character as `\\u00xx`, everything else as it is), a
time with `to_char` as `datetime.isoformat()` prints the aware UTC time, and each range of ids comes back as one
text (`string_agg`), so Python touches a range once, not each row.

A deal whose value is not in the pipeline's currency, negative, or too large for a float to hold its digits comes
as its id instead: the caller converts that row in Python, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import text

from tuikanban.store.tables import DELETED

_LIVE = f"SELECT d.id FROM deal d WHERE d.pipeline_id = :pid AND d.status != '{DELETED}'"
WHERE = {
    "deal": f"t.pipeline_id = :pid AND t.status != '{DELETED}'",
    "event": f"t.pipeline_id = :pid AND (t.deal_id IS NULL OR t.deal_id IN ({_LIVE}))",
    "stay": f"t.pipeline_id = :pid AND t.deal_id IN ({_LIVE})",
    "activity": f"t.pipeline_id = :pid AND t.deal_id IN ({_LIVE})",
}
# The same rows when the pipeline has no deleted deal: every row of the pipeline (its rows name only its deals).
WHERE_ALL = {"deal": "t.pipeline_id = :pid", "event": "t.pipeline_id = :pid", "stay": "t.pipeline_id = :pid",
             "activity": "t.pipeline_id = :pid"}

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


def rows(conn: Any, table: str, pipeline_id: int, *, money: tuple[str, int] = ("", 2)
         ) -> Iterator[list[bytes | int]]:
    """The rows of `table` the pipeline's export holds, ordered by id, in chunks, as `store.jsondump.rows` gives
    them: each item the UTF-8 text of a range of rows joined by `separator`, or a row's id (a row the caller
    converts in Python)."""
    from tuikanban.store.jsondump import FIELDS, SEPARATOR

    fields = FIELDS[table]
    deleted = conn.execute(text(f"SELECT 1 FROM deal WHERE pipeline_id = :pid AND status = '{DELETED}' LIMIT 1"),
                           {"pid": pipeline_id}).first()
    where = (WHERE if deleted else WHERE_ALL)[table]
    members = ", ".join(f"{_value(column, kind, money)} AS {_quoted(key)}"
                        for key, column, kind in fields)
    check = _check(fields, money)
    row = "row_to_json(r)::text" if check is None else f"CASE WHEN {check} THEN row_to_json(r)::text END"
    ranged = (f"FROM {table} t CROSS JOIN LATERAL (SELECT {members}) r "
              f"WHERE {where} AND t.id BETWEEN :low AND :high")
    separator = SEPARATOR.decode().replace("\n", "' || chr(10) || '")
    whole = text(f"SELECT string_agg(j, '{separator}' ORDER BY id), count(*) - count(j) "
                 f"FROM (SELECT t.id AS id, {row} AS j {ranged}) x")
    each = text(f"SELECT t.id, {row} {ranged} ORDER BY t.id")
    low, high = conn.execute(text(f"SELECT min(t.id), max(t.id) FROM {table} t WHERE {where}"),
                             {"pid": pipeline_id}).one()
    if low is None:
        return iter(())
    ranges = [(start, min(start + RANGE - 1, high)) for start in range(low, high + 1, RANGE)]

    def read(start: int, end: int) -> list[bytes | int]:
        params = {"pid": pipeline_id, "low": start, "high": end}
        joined, left = conn.execute(whole, params).one()
        if not left:  # every row written by the server: the range is one text (none when it holds no row)
            return [] if joined is None else [joined.encode()]
        return [row_id if j is None else j.encode() for row_id, j in conn.execute(each, params)]

    return (read(start, end) for start, end in ranges)
