"""The metrics of one pipeline in plain SQL on a `store.uow.Unit`: the reads of `services.metrics.compute_metrics`
spelled without SQLAlchemy, so that the metrics screen never waits for the ORM's import (a key pressed in the
first second after start reads on a driver connection of its own: `Database.read_plain`; docs/PERFORMANCE.md,
The metrics screen at once).

The statements are those the Core selects compile to on each engine (the same groups, filters, CASEs and the same
interval arithmetic as `store.sqlfuncs.seconds_between`), and the rows go to the same `metrics_report.Sums`, so
every figure is computed by one piece of code. `tests/test_metrics_plain.py` compares both reads on a rich history
on SQLite and PostgreSQL. The deal-type filter of `metrics --type` is the command line's only: not here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tuikanban.domain import clock
from tuikanban.domain.errors import NotFoundError
from tuikanban.domain.metrics import SECONDS_PER_DAY
from tuikanban.domain.models import PipelineInfo
from tuikanban.domain.text import display, name_key
from tuikanban.services.metrics_report import MetricsReport, Sums, WonSpan, check_window
from tuikanban.store import fastread
from tuikanban.store import screenreads as sr
from tuikanban.store.lean import lean_unit
from tuikanban.store.uow import Unit

DELETED = sr.DELETED


def _seconds(u: Unit, start: str, end: str) -> str:
    """SQL: whole seconds from `start` to `end` (`store.sqlfuncs.seconds_between`, as it compiles)."""
    if u.postgres:
        return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS BIGINT)"
    return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)"


def _at(u: Unit) -> str:
    """A bound timestamp inside an expression (`store.sqlfuncs.at_literal`)."""
    return "CAST(? AS TIMESTAMP WITHOUT TIME ZONE)" if u.postgres else "?"


def pipelines(u: Unit) -> list[PipelineInfo]:
    """Every pipeline, in id order (`services.pipelines.list_pipelines`): the screen's `p` cycles through them."""
    return fastread.list_pipelines(u)


def metrics_in(u: Unit, pipeline_id: int, *, window_days: int = 90, owner: str | None = None,
               now: datetime | None = None, seed: int | None = None) -> MetricsReport:
    """`compute_metrics(db, pipeline_id, window_days=..., owner=..., now=..., seed=...)` inside the unit's read."""
    check_window(window_days)
    at = clock.as_utc(now) if now is not None else clock.now()
    start = at - timedelta(days=window_days)
    with lean_unit(u):
        info = sr.pipeline(u, pipeline_id)
        pid = info.id

        # filters (the deal table's columns, unqualified)
        where: str = ""
        params: tuple[Any, ...] = ()
        owner_name: str | None = None
        if owner is not None and owner.strip():
            stored = [r[0] for r in u.execute("SELECT DISTINCT owner FROM deal WHERE pipeline_id = ?", (pid,))]
            owners = [o for o in stored if name_key(o) == name_key(owner)]
            if not owners:
                raise NotFoundError(f"No deal in pipeline {info.name} is owned by '{display(owner)}'.")
            owner_name = owners[0]
            in_sql, in_params = u.in_list("owner", owners)
            where, params = f" AND {in_sql}", in_params

        stage_rows = sr.stages(u, pid, include_archived=True)
        type_rows = sr.types(u, pid)

        # Money is summed in the pipeline's currency only (deals in another currency count as deals).
        cur = (info.currency,)
        money = "CASE WHEN (currency = ?) THEN value_minor END"
        other = "coalesce(sum(CASE WHEN (currency != ?) THEN 1 ELSE 0 END), 0)"
        span = WonSpan.of(at, window_days)
        sums = Sums(span)

        # 1. open deals by stage, owner and type
        sums.open_rows(u.execute(
            f"SELECT stage_id, owner, type_id, count(*), coalesce(sum({money}), 0), {other} FROM deal "
            f"WHERE pipeline_id = ? AND status = 'open'{where} GROUP BY stage_id, owner, type_id",
            (*cur, *cur, pid, *params)))
        # 2. deals closed in the window by outcome, owner, type and (for lost deals) reason
        reason = "CASE WHEN (status = 'lost') THEN lost_reason END"
        sums.closed_rows(u.execute(
            f"SELECT status, owner, type_id, {reason}, count(*), count({money}), coalesce(sum({money}), 0), "
            f"coalesce(sum({_seconds(u, 'created_at', 'closed_at')}), 0), {other} FROM deal "
            f"WHERE pipeline_id = ? AND status IN ('won', 'lost') AND closed_at >= ? AND closed_at <= ?{where} "
            f"GROUP BY status, owner, type_id, {reason}",
            (*cur, *cur, *cur, pid, u.instant(start), u.instant(at), *params)))

        # 3. stays that ended in the window, by stage (stage_id first: the covering index ix_stay_stage_span);
        # deleted deals are left out, their past stays too (no term when there are none: the index covers)
        stage_ids = [st.id for st in stage_rows]
        if stage_ids:
            stay_where, stay_params = u.in_list("stage_id", stage_ids)
            deleted = [r[0] for r in u.execute("SELECT id FROM deal WHERE pipeline_id = ? AND status = ?",
                                               (pid, DELETED))]
            if deleted:
                gone_sql, gone_params = u.in_list("deal_id", deleted)
                stay_where, stay_params = f"{stay_where} AND NOT ({gone_sql})", (*stay_params, *gone_params)
            if where:  # a semi-join: one pass over the pipeline's deals instead of a lookup per stay
                stay_where += f" AND deal_id IN (SELECT id FROM deal WHERE pipeline_id = ?{where})"
                stay_params = (*stay_params, pid, *params)
            sums.stay_rows(u.execute(
                f"SELECT stage_id, count(*), coalesce(sum({_seconds(u, 'entered_at', 'left_at')}), 0), "
                "coalesce(sum(CASE WHEN (outcome = 'advanced') THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(CASE WHEN (outcome = 'dropped') THEN 1 ELSE 0 END), 0) FROM stay "
                f"WHERE {stay_where} AND left_at >= ? AND left_at <= ? GROUP BY stage_id",
                (*stay_params, u.instant(start), u.instant(at))))

        # 4. won deals per day: 24-hour periods back from now, and UTC dates back from today (services.metrics)
        first = u.read_instant(u.scalar("SELECT min(at) FROM event WHERE pipeline_id = ?", (pid,)))
        day_idx = f"{_seconds(u, 'closed_at', _at(u))} / {SECONDS_PER_DAY}"
        date_idx = f"({_seconds(u, 'closed_at', _at(u))} - 1) / {SECONDS_PER_DAY}"
        sums.won_rows(u.execute(
            f"SELECT {day_idx}, {date_idx}, count(*), coalesce(sum({money}), 0) FROM deal "
            f"WHERE pipeline_id = ? AND status = 'won' AND closed_at >= ? AND closed_at <= ?{where} "
            "GROUP BY 1, 2",
            (u.instant(at), u.instant(span.tomorrow), *cur, pid, u.instant(span.since), u.instant(at), *params)))

    return sums.report(info, window_days, at, start, owner_name, None, stage_rows, type_rows, first, seed)


__all__ = ["metrics_in", "pipelines"]
