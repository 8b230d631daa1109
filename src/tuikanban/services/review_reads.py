"""The review's plain reads (`services.review_core`): each deal changed since the first of some moments, its row as it
is now and what rewinds it to each moment, in plain SQL on a `store.uow.Unit` (no ORM: `changes` reads without
it). The rewind's rules are in `services.review_bridge`.

Only the events after `since` are read, in one GROUP BY per deal over a covering index (the earliest event of a
kind is found as MIN of its fixed-width time followed by its payload), and deals without such events are taken as
they are now. The value changes of a deal created after the last moment are left out of that GROUP BY (half of the
period's events on a busy board): such a deal did not exist at any of the moments, so its value then is never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from tuikanban.store.twin import Beside, Pending, rows_at_once
from tuikanban.store.uow import Unit

SORTABLE_AT_WIDTH = 26  # store.sqlfuncs.SORTABLE_AT_WIDTH (which imports SQLAlchemy): `YYYY-MM-DD HH:MM:SS.ffffff`
_CHUNK = 500  # ids per IN (...)


# -- reading the log ---------------------------------------------------------------------------------
# The rules of services.changes' SQLAlchemy expressions (_OPENS, _CLOSES, ...), spelled as SQL text: every event
# kind that changes a field the rewind reads (docs/RULES.md, Event log and Undo). An undo or a redo of an edit is a
# field change like the edit (`field`, `old_value` the text before, `new_value` the text after); the undo of a
# close (`old_value` won/lost) or of a delete (`new_value` the status set back) and a restore (`new_value`) open a
# deal again; a redo of a close (a stage, no status) or of a delete of an open deal (`old_value` open) closes it; a
# delete closes only an open deal (`old_value` the status before). Kinds and fields are constants of this module,
# never user text, so they are written into the SQL.

_UNDO_CLOSE = "(kind = 'undo' AND old_value IN ('won', 'lost'))"
_UNDO_DELETE = "(kind = 'undo' AND field IS NULL AND old_value IS NULL AND new_value IN ('open', 'won', 'lost'))"
_OPENS = (f"(kind IN ('create', 'reopen') OR {_UNDO_CLOSE}"
          f" OR (({_UNDO_DELETE} OR kind = 'restored') AND new_value = 'open'))")
_REDO_CLOSE = "(kind = 'redo' AND field IS NULL AND to_stage_id IS NULL AND from_stage_id IS NOT NULL)"
# The status a deal had before an event that changes it from a closed one (a reopening, a restore, a delete or its
# redo of a won or lost deal): the first such event after a moment says what a deal closed then was.
_FROM_CLOSED = (f"(kind IN ('reopen', 'restored') OR {_UNDO_CLOSE} OR {_UNDO_DELETE}"
                " OR (kind IN ('deleted', 'redo') AND field IS NULL AND old_value IN ('won', 'lost')))")
_BEFORE = "CASE WHEN kind IN ('restored', 'undo') AND old_value IS NULL THEN 'deleted' ELSE old_value END"
_CLOSES = ("(kind IN ('won', 'lost') OR (kind = 'deleted' AND coalesce(old_value, 'open') = 'open')"
           f" OR ({_REDO_CLOSE} AND coalesce(old_value, 'open') = 'open'))")
_STAGE_LEFT = "(kind IN ('move', 'won', 'lost') OR (kind IN ('undo', 'redo') AND from_stage_id IS NOT NULL))"
_KINDS = "('create', 'reopen', 'won', 'lost', 'deleted', 'restored', 'undo', 'redo', 'move', 'edit')"


def _edit(field_name: str) -> str:
    """A change of one field: an edit (one deal or a bulk edit) or the undo or redo of one."""
    return f"(kind IN ('edit', 'undo', 'redo') AND field = '{field_name}')"


def _sortable_at(u: Unit) -> str:
    """The event's time as fixed-width text that sorts like the time (`YYYY-MM-DD HH:MM:SS.ffffff`): SQLite stores
    exactly that text already."""
    return "to_char(at, 'YYYY-MM-DD HH24:MI:SS.US')" if u.postgres else "CAST(at AS TEXT)"


# The events the review reads, but value changes: a partial covering index of them (ix_event_review_slim, schema
# 9), so the period's range holds 40 % of its events; the value changes are summed per deal from their own partial
# index (ix_event_value) for the deals that need them. The condition is spelled as the indexes' WHERE is, so that
# both engines' planners can use them.
NOT_VALUE = "(field IS NULL OR field != 'value')"
IS_VALUE = "field = 'value'"


def _moment_sql(u: Unit, after: str, *, light: bool = False) -> list[str]:
    """What rewinds a deal to a moment: the events after it (`after`, a condition or "") counted, summed or taken
    first (the payload of the earliest, as `sortable_at(at)|payload`). The value changes' sum is a placeholder
    (`_VALUE_SUM`, read with the deal's row, takes its place). `light`: a deal created after the moment (absent
    then) needs only its close date, owner and stage then; the other columns are NULL."""
    def when(cond: str) -> str:
        return f"{after} AND {cond}" if after else cond

    def count(cond: str) -> str:
        return f"sum(CASE WHEN {when(cond)} THEN 1 ELSE 0 END)"

    def first(cond: str, payload: str) -> str:
        return f"min(CASE WHEN {when(cond)} THEN {_sortable_at(u)} || '|' || coalesce({payload}, '') END)"

    if light:
        return [count("kind = 'create'"), "NULL", "NULL", "NULL", first(_edit("close"), "old_value"),
                first(_edit("owner"), "old_value"), first(_STAGE_LEFT, "CAST(from_stage_id AS VARCHAR)"),
                "NULL", "NULL"]
    return [
        count("kind = 'create'"),
        count(_OPENS),
        count(_CLOSES),
        "NULL",
        first(_edit("close"), "old_value"),
        first(_edit("owner"), "old_value"),
        first(_STAGE_LEFT, "CAST(from_stage_id AS VARCHAR)"),
        first(_FROM_CLOSED, _BEFORE),
        first(_edit("currency"), "old_value"),
    ]


_DEAL_COLUMNS = ("id", "title", "owner", "value_minor", "currency", "expected_close", "stage_id", "status")
_DVALUE = 3  # the value changes' sum among a moment's columns


def _read_deals(u: Unit, pipeline_id: int, moments: Sequence[datetime], until: datetime, steady: Any,
                new_deals: list[Sequence[Any]] | None = None, side: Beside | None = None,
                changed: Any = None) -> list[tuple[Any, ...]]:
    """One row per deal changed since the first of `moments` (ascending): its row now and what rewinds it to
    each moment; stage moves and close-date pushes are counted up to `until`. The deals open now and unchanged
    since (no event but reorders) are handed to `steady` as their 8 columns (`_DEAL_COLUMNS`), not returned.
    With `new_deals` (a list), the rows of the deals created after the only moment go into it, not into the
    result (the report takes them in a pass of their own: absent then, as they are now at the end). With
    `changed` (a function), each row is handed to it as soon as it is complete and none is returned or held (the
    report keeps what it needs of a row, not the row: docs/PERFORMANCE.md, Memory of the screens).

    Three reads (docs/PERFORMANCE.md, The review's speed): one GROUP BY over the period's events but value changes
    (ix_event_review_slim) for the deals that existed at the last moment; the same, with only what a deal absent
    then needs (its stage, close date and owner at the moment, its moves and pushes), for the deals created after
    it when that moment is now (created after an earlier last moment, a deal is absent at every moment and in no
    part of the report: left out); each deal's value changes since each moment are read with its row
    (`_VALUE_SUM`: the first read's deals, and the open deals without other events).
    The deals created after the last moment are the period's new deals (most of its events on a busy board);
    with `side`, their rows are read beside the first read (`store.twin`: on a second connection when the unit has
    one)."""
    end = u.instant(until)
    last = u.instant(moments[-1])
    first_at = u.instant(moments[0])
    is_close = (f"{_edit('close')} AND at <= ? AND old_value IS NOT NULL AND old_value != ''"
                " AND new_value IS NOT NULL AND new_value != ''")
    tail = [
        "max(CASE WHEN kind = 'create' THEN to_stage_id END)",
        # a move, or the redo of one; the undo of a move takes it back
        "sum(CASE WHEN at <= ? AND from_stage_id IS NOT NULL AND to_stage_id IS NOT NULL THEN"
        " CASE WHEN kind IN ('move', 'redo') THEN 1 WHEN kind = 'undo' THEN -1 ELSE 0 END ELSE 0 END)",
        # a push moves the date later (an edit, or the redo of one); the undo of a push (it moves the date back
        # earlier) takes it back, so a push undone counts as if it never happened. ISO dates compare as text.
        f"sum(CASE WHEN {is_close} AND kind != 'undo' AND new_value > old_value THEN 1"
        f" WHEN {is_close} AND kind = 'undo' AND new_value < old_value THEN -1 ELSE 0 END)",
    ]
    # `+deal_id` (SQLite's unary plus, store.sqlfuncs.unindexed): the period's range of the covering index, not
    # the whole log in deal order (docs/PERFORMANCE.md, The review and the forecast's backtest)
    deal = "deal_id" if u.postgres else "+deal_id"
    fresh = "(SELECT deal_id FROM event WHERE pipeline_id = ? AND at > ? AND kind = 'create' AND deal_id IS NOT NULL)"
    owners: dict[str, str] = {}  # one string per owner, not one per deal (each row's owner is one of them)
    fresh_rows: Pending[dict[int, Sequence[Any]]] | None = None
    if len(moments) == 1:  # the last moment is now: the deals created since are the new deals (read beside)
        fresh_rows = (side or Beside(u)).submit(
            lambda t: _fresh_rows(t, pipeline_id, last, end, tail[1:], fresh, owners, at_once=t is u.twin))

    # each deal's value changes since each moment (ix_event_value, a few index steps a deal), read with its row
    value_sums = ", ".join(_VALUE_SUM for _ in moments)
    value_params = [x for m in moments for x in (u.instant(m), pipeline_id)]
    value_at = {i * _MOMENT + _DVALUE for i in range(len(moments))}
    # the open deals with their value changes since each moment (last): read beside too when there is a second
    # connection (held then, 10,000 rows on the benchmark board; streamed on one connection)
    open_sql = f"SELECT {', '.join(_DEAL_COLUMNS)}, {value_sums} FROM deal WHERE pipeline_id = ? AND status = 'open'"
    open_params = (*value_params, pipeline_id)
    open_rows = (side.submit(lambda t: rows_at_once(t, [*_DEAL_COLUMNS, *(_VALUE_SUM for _ in moments)],
                                                    "FROM deal WHERE pipeline_id = ? AND status = 'open'",
                                                    open_params))
                 if side is not None and side.parallel else None)

    def grouped(columns: list[str], params: list[Any]) -> Any:
        names = ", ".join(f"{c} AS a{i}" for i, c in enumerate(columns))
        picked = ", ".join(_VALUE_SUM if i in value_at else f"agg.a{i}" for i in range(len(columns)))
        sql = (f"SELECT {', '.join('deal.' + c for c in _DEAL_COLUMNS)}, agg.deal_id, {picked} FROM"
               f" (SELECT {deal} AS deal_id, {names} FROM event"
               f" WHERE pipeline_id = ? AND at > ? AND kind IN {_KINDS} AND {NOT_VALUE} AND deal_id NOT IN {fresh}"
               f" GROUP BY {deal}) AS agg JOIN deal ON deal.id = agg.deal_id")
        return u.execute(sql, (*value_params, *params, end, end, end, pipeline_id, first_at, pipeline_id, last))

    params: list[Any] = []
    columns: list[str] = []
    for i, m in enumerate(moments):
        if i == 0:
            columns += _moment_sql(u, "")
        else:
            columns += _moment_sql(u, "at > ?")
            params += [u.instant(m)] * _MOMENT_PARAMS
    day = _days(u)
    out: list[tuple[Any, ...]] = []
    emit = out.append if changed is None else changed
    rows: set[int] = set()  # the ids of the rows handed on
    for r in grouped(columns + tail, params):
        rows.add(r[0])
        emit((r[0], r[1], owners.setdefault(r[2], r[2]), r[3], r[4], day(r[5]), *r[6:]))
    new_ids: set[int] | dict[int, Sequence[Any]]
    if fresh_rows is not None:
        created = fresh_rows.result()
        if new_deals is None:
            for deal_id in list(created):  # (each list let go as its tuple is handed on)
                rows.add(deal_id)
                emit(tuple(fresh_row(created.pop(deal_id), day, owners)))
            new_ids = set()
        else:
            new_deals.extend(created.values())
            new_ids = created
    else:  # deals created after `until`: absent at both moments, in no part of the report
        new_ids = {i for (i,) in u.execute(fresh.strip("()"), (pipeline_id, last))}
    # The open deals without any event since the first moment ("steady": the same at every moment, most of a big
    # pipeline) are streamed to `steady` one by one, never held: 100,000 open deals held a row each, then two states
    # and a line each (docs/PERFORMANCE.md, Memory of the screens). A steady deal with value changes since gets a
    # row of its own (nothing else changed).
    blank = [0, 0, 0, None, None, None, None, None, None] * len(moments)
    for r in open_rows.result() if open_rows is not None else u.execute(open_sql, open_params):
        if r[0] in rows or r[0] in new_ids:
            continue
        base = (r[0], r[1], owners.setdefault(r[2], r[2]), r[3], r[4], day(r[5]), r[6], r[7])
        if r[8] is None:  # no value change since the first moment
            steady(base)
            continue
        row = [*base, r[0], *blank, None, 0, 0]
        for i, v in enumerate(r[8:]):
            row[_AGG + 1 + i * _MOMENT + _DVALUE] = v
        emit(tuple(row))
    return out


def _fresh_rows(u: Unit, pipeline_id: int, since: Any, end: Any, counts: list[str], fresh: str,
                owners: dict[str, str], *, at_once: bool = False) -> dict[int, Sequence[Any]]:
    """The rows of the deals created after `since` (the last moment, now being the end): absent at `since`, as
    they are now at the end. What the report reads of them then: the stage they were in (moved, for a deal open
    now), the close date (pushed) and the owner (for a deal open now); their moves and pushes. These are
    read from the events of the new deals open now and the close-date changes of the others (a new deal closed
    now is in no list that reads its moves or its stage then): most new deals are closed on a busy board.
    `at_once`: each read in one step of SQLite (`store.twin.rows_at_once`, on a thread beside other reads)."""
    def select(columns: list[str], tail: str, params: tuple[Any, ...]) -> Any:
        if at_once:
            return rows_at_once(u, columns, tail, params)
        return u.execute(f"SELECT {', '.join(columns)} {tail}", params)

    deal = "deal_id" if u.postgres else "+deal_id"
    tail = (f"FROM (SELECT {deal} AS d, count(*) AS n, max(to_stage_id) AS s FROM event WHERE pipeline_id = ?"
            f" AND at > ? AND kind = 'create' AND deal_id IS NOT NULL GROUP BY {deal}) AS c"
            " JOIN deal ON deal.id = c.d")
    day = _days(u)
    # each deal's row as read (`fresh_row` makes it a row of `_read_deals`): most new deals are in neither read
    # below, and their rows are read once (`review_core._new_deals`)
    rows: dict[int, Sequence[Any]] = {
        r[0]: r for r in select([*("deal." + c for c in _DEAL_COLUMNS), "c.n", "c.s"], tail, (pipeline_id, since))}
    light = [
        f"min(CASE WHEN {_edit('close')} THEN {_sortable_at(u)} || '|' || coalesce(old_value, '') END)",
        f"min(CASE WHEN {_edit('owner')} THEN {_sortable_at(u)} || '|' || coalesce(old_value, '') END)",
        f"min(CASE WHEN {_STAGE_LEFT} THEN {_sortable_at(u)} || '|' || coalesce(CAST(from_stage_id AS VARCHAR), '')"
        " END)",
        *counts,
    ]
    # Two reads, one per kind of new deal (the deals of one are not those of the other): every event of the new
    # deals open now, a few index steps each on ix_event_deal_state (all their events are after `since`), and the
    # close-date changes of the other new deals, over the period's range of ix_event_review_slim (the field's
    # test repeated as that index's condition is written, so that the planner can take it). One read with an OR
    # of the two took half as long again on 100,000 deals.
    open_fresh = f"(SELECT id FROM deal WHERE pipeline_id = ? AND status = 'open' AND id IN {fresh})"
    open_tail = (f"FROM event WHERE deal_id IN {open_fresh} AND at > ?"
                 " AND (field IS NULL OR field != 'value' OR kind NOT IN ('edit', 'undo', 'redo'))"
                 f" AND kind IN {_KINDS} AND {NOT_VALUE} AND pipeline_id = ? GROUP BY deal_id")
    closed_tail = (f"FROM event WHERE pipeline_id = ? AND at > ?"
                   f" AND kind IN ('edit', 'undo', 'redo') AND field = 'close' AND {NOT_VALUE}"
                   f" AND {deal} IN {fresh} AND {deal} NOT IN {open_fresh} GROUP BY {deal}")
    reads = (("deal_id", open_tail, (end, end, end, pipeline_id, pipeline_id, since, since, pipeline_id)),
             (deal, closed_tail, (end, end, end, pipeline_id, since, pipeline_id, since, pipeline_id, pipeline_id,
                                  since)))
    for first, tail, params in reads:
        for d, close, owner, stage, moves, pushes in select([first, *light], tail, params):
            if d in rows:
                r = rows[d] = fresh_row(rows[d], day, owners)
                r[_AGG + 5:_AGG + 8] = [close, owner, stage]
                r[-2:] = [moves, pushes]
    return rows


FRESH_WIDTH = len(_DEAL_COLUMNS) + 2  # a new deal's row as `_fresh_rows` read it: its columns, creates, first stage


def fresh_row(r: Sequence[Any], day: Any, owners: dict[str, str]) -> list[Any]:
    """A new deal's row (`_fresh_rows`) as a row of `_read_deals` (a list: its moment's columns set after), or the
    row itself when it is one already."""
    if len(r) != FRESH_WIDTH:
        return list(r)
    return [r[0], r[1], owners.setdefault(r[2], r[2]), r[3], r[4], day(r[5]), *r[6:8], r[0], r[8],
            None, None, None, None, None, None, None, None, r[9], 0, 0]


_MOMENT_PARAMS = 8  # the `at > ?` of each of a later moment's columns
# A deal's value changes since a moment (new - old of every edit, bulk edit, undo and redo of the value), from the
# value changes' partial index (ix_event_value, a few index steps a deal): NULL when it has none. Deals created
# after the last moment (light rows) are not asked for: absent, their value then is never read.
_VALUE_SUM = ("(SELECT sum(coalesce(CAST(v.new_value AS BIGINT), 0) - coalesce(CAST(v.old_value AS BIGINT), 0))"
              " FROM event AS v WHERE v.deal_id = deal.id AND v.field = 'value' AND v.at > ? AND v.pipeline_id = ?"
              " AND v.kind IN ('edit', 'undo', 'redo'))")


def _days(u: Unit) -> Any:
    """`u.read_day` remembering what it read: a busy board's 40,000 deals share a few hundred close dates."""
    return lru_cache(maxsize=None)(u.read_day)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _marks(n: int) -> str:
    return ", ".join("?" for _ in range(n))


# positions in a row of _read_deals: the deal's columns, then (when it changed) the event aggregates
_ID, _TITLE, _OWNER, _VALUE, _CUR, _CLOSE, _STAGE, _STATUS, _AGG = range(9)
_MOMENT = 9  # columns per moment in _moment_sql


def _at(i: int) -> int:
    """Where the aggregates of moment i start in a row of _read_deals."""
    return _AGG + 1 + i * _MOMENT


def _payload(first: str | None) -> str | None:
    return None if first is None else first[SORTABLE_AT_WIDTH + 1:]


__all__ = ["FRESH_WIDTH", "IS_VALUE", "NOT_VALUE", "SORTABLE_AT_WIDTH", "fresh_row"]
