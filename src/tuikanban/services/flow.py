"""The flow charts' data read through the ORM's Core selects (`flow_report`): what `services.flow_plain` reads in
plain SQL for the metrics screen (`tests/test_flow.py` compares the two on both engines). The types, the rules
and the figures are in `services.flow_data`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from tuikanban.domain import clock
from tuikanban.services.common import resolve_pipeline
from tuikanban.services.flow_data import (
    CFD_CHUNK,
    PERCENTILES,
    CfdPoint,
    CycleDot,
    CycleDots,
    FlowReport,
    WeekCount,
    assemble,
    percentile,
    weekly_points,
)
from tuikanban.store.engine import Database
from tuikanban.store.lean import lean_cache
from tuikanban.store.tables import DELETED, Deal, Stage, Stay

_D = Deal.__table__.c  # type: ignore[attr-defined]
_S = Stage.__table__.c  # type: ignore[attr-defined]
_Y = Stay.__table__.c  # type: ignore[attr-defined]


def _cfd_counts(conn: Any, pipeline_id: int, pos: dict[int, int], points: list[datetime]) -> list[list[int]]:
    """Open deals per stage (in `pos` order) at each point, counted in the database: one sum per point over the
    stays, grouped by stage, so a few rows come back instead of every open stay (100,000 open deals held 25 MB
    of rows and timestamps; docs/PERFORMANCE.md, Memory of the screens). Points go CFD_CHUNK to a statement so
    a ten-year window (522 points) stays far below the engines' column limits."""
    counts = [[0] * len(pos) for _ in points]
    base = (select(_Y.stage_id).join(Deal.__table__, _D.id == _Y.deal_id)  # type: ignore[attr-defined]
            .where(_Y.pipeline_id == pipeline_id, _D.status != DELETED, _Y.entered_at <= points[-1],
                   or_(_Y.left_at.is_(None), _Y.left_at > points[0]))
            .group_by(_Y.stage_id))
    for first in range(0, len(points), CFD_CHUNK):
        chunk = points[first:first + CFD_CHUNK]
        sums = [func.sum(case((and_(_Y.entered_at <= t, or_(_Y.left_at.is_(None), _Y.left_at > t)), 1), else_=0))
                for t in chunk]
        for sid, *row in conn.execute(base.add_columns(*sums)):
            if sid in pos:  # a stay in an archived stage is not drawn
                for k, n in enumerate(row):
                    counts[first + k][pos[sid]] += int(n or 0)
    return counts


def flow_report(db: Database, pipeline: str | int | None, *, window_days: int = 90,
                now: datetime | None = None) -> FlowReport:
    at = clock.as_utc(now) if now is not None else clock.now()
    start = at - timedelta(days=window_days)
    points = weekly_points(at, window_days)
    with db.read() as s:
        p = resolve_pipeline(s, pipeline)
        assert p.id is not None
        conn = s.connection()
        stages = list(conn.execute(select(_S.id, _S.name).where(_S.pipeline_id == p.id, _S.archived.is_(False))
                                   .order_by(_S.position)))
        pos = {sid: i for i, (sid, _n) in enumerate(stages)}
        with lean_cache(conn):  # (the sums go through every stay of the window once: store/lean.py)
            columns = _cfd_counts(conn, p.id, pos, points)
        # the won deals streamed into columns, in (won time, id) order (the index's on SQLite)
        dots = CycleDots()
        for i, created, closed in conn.execute(select(_D.id, _D.created_at, _D.closed_at).where(
                _D.pipeline_id == p.id, _D.status == "won", and_(_D.closed_at > start, _D.closed_at <= at))
                .order_by(_D.closed_at, _D.id)):
            won_at = clock.as_utc(closed)
            dots.add(i, won_at, int((won_at - clock.as_utc(created)).total_seconds()))
    return assemble(window_days, at, [(i, n) for i, n in stages], columns, dots)


__all__ = ["PERCENTILES", "CfdPoint", "CycleDot", "CycleDots", "FlowReport", "WeekCount", "flow_report", "percentile",
           "weekly_points"]
