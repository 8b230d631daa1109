"""The flow charts' data in plain SQL on a `store.uow.Unit`: the reads of `services.flow.flow_report` spelled
without SQLAlchemy, so that the metrics screen's charts never wait for the ORM's import (`Database.read_plain`:
before the board's database is open, on a driver connection of its own; after, on the ORM session's connection).
The statements are those the Core selects compile to, and the rows go to the same `flow_data.assemble`;
`tests/test_flow.py` compares both reads on a rich history on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from tuikanban.domain import clock
from tuikanban.services.flow_data import CFD_CHUNK, CycleDots, FlowReport, assemble, weekly_points
from tuikanban.store import screenreads as sr
from tuikanban.store.lean import lean_unit
from tuikanban.store.uow import Unit

_OPEN_AT = "CASE WHEN (stay.entered_at <= ? AND (stay.left_at IS NULL OR stay.left_at > ?)) THEN 1 ELSE 0 END"


def _cfd_counts(u: Unit, pipeline_id: int, pos: dict[int, int], points: list[datetime]) -> list[list[int]]:
    """Open deals per stage (in `pos` order) at each point: one sum per point over the stays, grouped by stage
    (`services.flow._cfd_counts`), CFD_CHUNK points to a statement."""
    counts = [[0] * len(pos) for _ in points]
    for first in range(0, len(points), CFD_CHUNK):
        chunk = points[first:first + CFD_CHUNK]
        sums = ", ".join(f"sum({_OPEN_AT})" for _t in chunk)
        params = [x for t in chunk for x in (u.instant(t), u.instant(t))]
        sql = (f"SELECT stay.stage_id, {sums} FROM stay JOIN deal ON deal.id = stay.deal_id "
               "WHERE stay.pipeline_id = ? AND deal.status != ? AND stay.entered_at <= ? "
               "AND (stay.left_at IS NULL OR stay.left_at > ?) GROUP BY stay.stage_id")
        for sid, *row in u.execute(sql, (*params, pipeline_id, sr.DELETED, u.instant(points[-1]),
                                         u.instant(points[0]))):
            if sid in pos:  # a stay in an archived stage is not drawn
                for k, n in enumerate(row):
                    counts[first + k][pos[sid]] += int(n or 0)
    return counts


def flow_in(u: Unit, pipeline_id: int, *, window_days: int = 90, now: datetime | None = None) -> FlowReport:
    """`flow_report(db, pipeline_id, window_days=..., now=...)` inside the unit's read."""
    at = clock.as_utc(now) if now is not None else clock.now()
    start = at - timedelta(days=window_days)
    points = weekly_points(at, window_days)
    with lean_unit(u):  # (the sums go through every stay of the window once: store/lean.py)
        pid = sr.pipeline(u, pipeline_id).id
        stages = [(st.id, st.name) for st in sr.stages(u, pid)]
        pos = {sid: i for i, (sid, _n) in enumerate(stages)}
        columns = _cfd_counts(u, pid, pos, points)
        # the won deals into columns, in (won time, id) order (the index's on SQLite)
        dots = CycleDots()
        read = u.read_instant
        for i, created, closed in u.execute(
                "SELECT id, created_at, closed_at FROM deal WHERE pipeline_id = ? AND status = 'won' "
                "AND closed_at > ? AND closed_at <= ? ORDER BY closed_at, id", (pid, u.instant(start), u.instant(at))):
            won_at, made = read(closed), read(created)
            assert won_at is not None and made is not None
            dots.add(i, won_at, int((won_at - made).total_seconds()))
    return assemble(window_days, at, stages, columns, dots)


__all__ = ["flow_in"]
