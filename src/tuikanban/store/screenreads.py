"""What the deal detail, the deal form and the pipeline settings read, in plain SQL: without the ORM.

Why: a key pressed in the first second after start (`enter`, `n`, `,`) must not wait for SQLAlchemy's and
SQLModel's import and the database's opening, about 0.35 s of CPU on a quiet machine and seconds on a loaded one
(docs/PERFORMANCE.md, A screen in the first second without the ORM). These functions take any connection that
answers `execute` with `?` placeholders: a `store.fastread` connection (sqlite3, or `store.fastread_pg`'s on
PostgreSQL) before the database is open, or a `store.uow.Unit` on the ORM session's own connection once it is
(`run` and `in_session`). They return the same value types as the ORM reads of `services.deals` and
`services.pipelines` (tests compare both on a rich history, on both engines).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tuikanban.domain.errors import DatabaseError, NotFoundError
from tuikanban.domain.models import DealTypeInfo, DealView, PipelineInfo, StageInfo
from tuikanban.domain.records import ActivityView, EventView
from tuikanban.domain.targets import Target
from tuikanban.store import fastread
from tuikanban.store.uow import Unit

T = TypeVar("T")

DELETED = "deleted"  # store.tables.DELETED (which imports the ORM)

DEAL_VIEW_SQL = (
    "SELECT d.id, d.pipeline_id, d.title, d.company, d.contact, d.value_minor, d.currency, d.owner, d.type_id, "
    "t.name, d.expected_close, d.notes, d.stage_id, s.name, d.status, d.lost_reason, d.created_at, "
    "d.stage_entered_at, d.closed_at, d.last_activity_at, d.rank, d.version, d.snoozed_until "
    "FROM deal d LEFT JOIN stage s ON s.id = d.stage_id LEFT JOIN deal_type t ON t.id = d.type_id "
    "WHERE d.id = ?")  # (one deal as a DealView: `deal_view_of`; the ORM-free writers read it too)
_STAGE = ("SELECT id, pipeline_id, name, position, wip_max, wip_min, rep_wip_max, expected_days, probability, "
          "exit_criteria, archived FROM stage")


def deal_view_of(r: Any, instant: Callable[[Any], Any], day: Callable[[Any], Any]) -> DealView:
    """A row of `DEAL_VIEW_SQL` as a DealView, the times read by the connection's own converters (the ORM-free
    writers' `Unit.read_instant` / `read_day`, or `store.fastread`'s)."""
    return DealView(
        id=r[0], pipeline_id=r[1], title=r[2], company=r[3], contact=r[4], value_minor=r[5], currency=r[6],
        owner=r[7], type_id=r[8], type_name=r[9] if r[8] else None, expected_close=day(r[10]), notes=r[11],
        stage_id=r[12], stage_name=r[13] if r[13] is not None else "?", status=r[14], lost_reason=r[15],
        created_at=instant(r[16]), stage_entered_at=instant(r[17]),
        closed_at=instant(r[18]), last_activity_at=instant(r[19]), rank=r[20], version=r[21],
        snoozed_until=day(r[22]),
    )


def deal(con: fastread.Connection, deal_id: int) -> DealView:
    """One deal, whatever its status (`services.deals.get_deal`)."""
    r = con.execute(DEAL_VIEW_SQL, (deal_id,)).fetchone()
    if r is None:
        raise NotFoundError(f"There is no deal with id {deal_id}.")
    return deal_view_of(r, fastread._instant, fastread._day)


def _stage(r: Any) -> StageInfo:
    return StageInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] or "", bool(r[10]))


def stages(con: fastread.Connection, pipeline_id: int, *, include_archived: bool = False) -> list[StageInfo]:
    """A pipeline's stages in board order (`services.pipelines.list_stages`)."""
    where = "" if include_archived else " AND NOT archived"
    rows = con.execute(f"{_STAGE} WHERE pipeline_id = ?{where} ORDER BY position, id", (pipeline_id,))
    return [_stage(r) for r in rows]


def stage(con: fastread.Connection, stage_id: int) -> StageInfo | None:
    r = con.execute(f"{_STAGE} WHERE id = ?", (stage_id,)).fetchone()
    return None if r is None else _stage(r)


def types(con: fastread.Connection, pipeline_id: int) -> list[DealTypeInfo]:
    """Every deal type of a pipeline, archived ones too (`services.pipelines.list_types`)."""
    rows = con.execute("SELECT id, pipeline_id, name, position, archived FROM deal_type WHERE pipeline_id = ? "
                       "ORDER BY position, id", (pipeline_id,))
    return [DealTypeInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


def pipeline(con: fastread.Connection, pipeline_id: int) -> PipelineInfo:
    """`services.pipelines.get_pipeline` by id (the same refusal when it is gone)."""
    found, _ambiguous = fastread.resolve_pipeline(con, pipeline_id)
    assert found is not None
    return found


def history(con: fastread.Connection, deal: DealView) -> list[EventView]:
    """A deal's events, oldest first, with its pipeline's stage names (`services.deals.deal_history`)."""
    names = dict(con.execute("SELECT id, name FROM stage WHERE pipeline_id = ?", (deal.pipeline_id,)).fetchall())
    rows = con.execute('SELECT id, deal_id, kind, at, "user", from_stage_id, to_stage_id, field, old_value, '
                       "new_value, reason FROM event WHERE deal_id = ? ORDER BY id", (deal.id,))
    instant = fastread._instant
    return [EventView(id=r[0], deal_id=r[1], kind=r[2], at=instant(r[3]), user=r[4],  # type: ignore[arg-type]
                      from_stage=names.get(r[5]) if r[5] else None, to_stage=names.get(r[6]) if r[6] else None,
                      field=r[7], old_value=r[8], new_value=r[9], reason=r[10]) for r in rows]


def activities(con: fastread.Connection, deal_id: int) -> list[ActivityView]:
    """A deal's activities, newest first (`services.activities.list_activities`; the same tie-break)."""
    rows = con.execute('SELECT id, deal_id, kind, subject, at, "user", due, done FROM activity WHERE deal_id = ? '
                       "ORDER BY at DESC, id DESC", (deal_id,))
    instant, day = fastread._instant, fastread._day
    return [ActivityView(r[0], r[1], r[2], r[3], instant(r[4]), r[5], day(r[6]), bool(r[7]))  # type: ignore[arg-type]
            for r in rows]


def owners(con: fastread.Connection) -> list[str]:
    """Every owner of a deal that is not deleted, in name order (`services.deals.known_owners`)."""
    rows = con.execute("SELECT DISTINCT owner FROM deal WHERE owner != '' AND status != ?", (DELETED,))
    return sorted((r[0] for r in rows), key=str.casefold)


def stage_totals(con: fastread.Connection, pipeline_id: int) -> dict[int, tuple[int, int]]:
    """stage id -> (open deals, their value in the pipeline's currency) (`store.queries.stage_totals`)."""
    return fastread.stage_totals(con, pipeline_id)


@dataclass(frozen=True, slots=True)
class GateFacts:
    """What a deal's gate and checklist are made of: its current stage's name, required fields and checklist (as
    stored), the items ticked in that stage, and whether it has a next step (an open task with a due date)."""

    stage: str
    required: str
    checklist: str
    ticked: frozenset[str]
    has_next_step: bool


def gate_facts(con: fastread.Connection, deal_id: int) -> GateFacts:
    r = con.execute("SELECT s.id, s.name, s.required, s.checklist FROM deal d JOIN stage s ON s.id = d.stage_id "
                    "WHERE d.id = ?", (deal_id,)).fetchone()
    if r is None:
        raise NotFoundError(f"There is no deal with id {deal_id}.")
    ticked = frozenset(x[0] for x in con.execute("SELECT item FROM deal_check WHERE deal_id = ? AND stage_id = ?",
                                                 (deal_id, r[0])))
    step = con.execute("SELECT id FROM activity WHERE deal_id = ? AND kind = 'task' AND done = ? "
                       "AND due IS NOT NULL LIMIT 1", (deal_id, False)).fetchone()
    return GateFacts(r[1], r[2] or "", r[3] or "", ticked, step is not None)


# -- running a read ----------------------------------------------------------------------------------------------


def run(target: Target, read: Callable[[Unit], T]) -> T | None:
    """`read` in one snapshot on a read-only driver connection of its own (no ORM), or None when the database
    cannot be read this way (new, another schema, unusual: the caller then waits for the ORM's opening, which
    creates, migrates or refuses it). A failure of the read itself is one sentence (DatabaseError)."""
    try:
        con = fastread.connect_target(target)
    except DatabaseError:
        return None
    if con is None:
        return None
    try:
        with fastread.snapshot(con):
            return read(Unit(con, postgres=target.is_postgres))
    except sqlite3.Error as exc:
        from tuikanban.store.engine import describe_db_error  # (imports the ORM: only on a failure)

        assert target.path is not None
        raise DatabaseError(describe_db_error(exc, target.path)) from None
    finally:
        con.close()


def in_session(session: Any, read: Callable[[Unit], T]) -> T:
    """`read` on an open ORM read session's own connection, in its snapshot (`store.uow.of_session`)."""
    from tuikanban.store.uow import of_session

    return read(of_session(session))


__all__ = ["DEAL_VIEW_SQL", "GateFacts", "activities", "deal", "deal_view_of", "gate_facts", "history",
           "in_session", "owners", "pipeline", "run", "stage", "stage_totals", "stages", "types"]
