"""The `tuikanban demo` engine: where the demo goes, what may be overwritten, and building it."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.targets import Target
from tuikanban.domain.text import display
from tuikanban.services.demo.catalogue import HISTORY_DAYS, PIPELINES, PipelineSpec
from tuikanban.services.demo.planner import Plan, plan_pipeline
from tuikanban.services.demo.writer import write_plans
from tuikanban.services.pipelines import create_pipeline, set_stage, update_pipeline
from tuikanban.store.engine import Database, default_db_path, open_database
from tuikanban.store.tables import Deal, DealType, Meta, Pipeline, Stage

DEMO_KEY = "demo"  # tk_meta key marking a database built by `tuikanban demo`
BUILDING = "building"
DEFAULT_SEED = 7


class DemoError(TuikanbanError):
    """The demo cannot be written where asked (the file holds other data)."""


def default_demo_path() -> Path:
    """`demo.db` beside the default database (never the default database itself)."""
    return default_db_path().parent / "demo.db"


@dataclass(frozen=True)
class PipelineSummary:
    name: str
    open: int
    won: int
    lost: int


@dataclass(frozen=True)
class DemoResult:
    path: Path | Target  # the SQLite file, or the PostgreSQL target (shown without its password)
    seed: int
    built: bool  # False: an existing demo database was kept as it was
    pipelines: tuple[PipelineSummary, ...] = ()
    deals: int = 0
    events: int = 0
    activities: int = 0
    seconds: float = 0.0
    existing_seed: str = ""


def _marker(db: Database) -> str | None:
    with db.read() as s:
        row = s.get(Meta, DEMO_KEY)
        return row.value if row is not None else None


def _contents(db: Database) -> tuple[int, int]:
    with db.read() as s:
        conn = s.connection()
        pipes = conn.execute(select(func.count()).select_from(getattr(Pipeline, "__table__"))).scalar_one()  # noqa: B009
        deals = conn.execute(select(func.count()).select_from(getattr(Deal, "__table__"))).scalar_one()  # noqa: B009
    return int(pipes), int(deals)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _remove(path: Path | Target) -> None:
    if isinstance(path, Target):
        from tuikanban.store.pgrestore import drop_board

        drop_board(path)
        return
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def _refuse_while_open(path: Path | Target) -> None:
    """A demo that boards have open is not rebuilt: removing the file under them would leave them writing into a
    deleted file (see docs/RULES.md, Command line). Whoever closes their board can run it again."""
    from tuikanban.services.presence import who

    db = open_database(path, create=False)
    try:
        here = who(db)
    finally:
        db.close()
    if here:
        names = ", ".join(sorted({display(h.user) or "someone" for h in here}))
        raise DemoError(f"The demo database {path} is open in a board ({names}); close it there, then run "
                        "'tuikanban demo --fresh' again.")


def inspect_target(path: Path | Target) -> str | None:
    """What is at `path`: None (nothing, or an empty tuikanban database), "demo:<seed>", "building";
    DemoError for a database with other data (DatabaseError for one that is not a tuikanban database).

    On PostgreSQL an empty database (or schema) is set up as an empty board here."""
    if isinstance(path, Path) and (not path.exists() or path.stat().st_size == 0):
        return None
    db = open_database(path, create=isinstance(path, Target))
    try:
        marker = _marker(db)
        if marker is not None:
            return BUILDING if marker == BUILDING else f"demo:{marker}"
        pipes, deals = _contents(db)
    finally:
        db.close()
    if pipes or deals:
        elsewhere = "another file" if isinstance(path, Path) else "an empty database or schema"
        raise DemoError(
            f"{path} already holds other tuikanban data ({_n(pipes, 'pipeline')}, {_n(deals, 'deal')}); the demo "
            f"never writes into it, so give it {elsewhere} with --db."
        )
    return None


def build_demo(path: Path | Target | None = None, *, seed: int = DEFAULT_SEED, fresh: bool = False,
               private: bool | None = None, user: str = "demo") -> DemoResult:
    """Create the demo database at `path` (default: demo.db beside the default database), a file or a
    PostgreSQL target.

    An existing demo database is kept (built=False) unless `fresh`; a database with other data is refused.
    """
    target: Path | Target
    if isinstance(path, Target):
        target = path if path.path is None else path.path.expanduser().absolute()
    else:
        target = Path(path).expanduser().absolute() if path is not None else default_demo_path()
    if private is None:
        private = path is None
    state = inspect_target(target)
    if state is not None and state.startswith("demo:") and not fresh:
        return DemoResult(path=target, seed=seed, built=False, existing_seed=state.split("seed=")[-1])
    if state is not None:  # a demo (rebuilt on request) or a half-built one
        _refuse_while_open(target)
        _remove(target)
    began = time.perf_counter()
    now = clock.now()
    started = now - timedelta(days=HISTORY_DAYS)
    db = open_database(target, private=private) if isinstance(target, Path) else open_database(target)
    try:
        db.write(lambda s: s.merge(Meta(key=DEMO_KEY, value=BUILDING)))
        summaries: list[PipelineSummary] = []
        totals = {"deals": 0, "events": 0, "activities": 0}
        for spec in PIPELINES:
            p = create_pipeline(
                db, spec.name, [st.name for st in spec.stages], currency=spec.currency, target=spec.target * 100,
                stale_days=spec.stale_days, types=[t.name for t in spec.types], make_default=spec.default,
            )
            if spec.lost_reasons:
                update_pipeline(db, p.id, lost_reasons=list(spec.lost_reasons))
            for st in spec.stages:
                set_stage(db, p.id, st.name, wip_max=st.wip_max, wip_min=st.wip_min, rep_wip_max=st.rep_wip_max,
                          expected_days=None if st.baseline_from_history else st.days, probability=st.probability,
                          exit_criteria=st.exit)
            rng = random.Random(f"tuikanban-demo/{seed}/{spec.name}")
            plans = plan_pipeline(spec, rng, now)
            with db.read() as s:
                conn = s.connection()
                st_c, ty_c = getattr(Stage, "__table__").c, getattr(DealType, "__table__").c  # noqa: B009
                stage_ids = [int(r) for r in conn.execute(
                    select(st_c.id).where(st_c.pipeline_id == p.id).order_by(st_c.position)).scalars()]
                type_ids = [int(r) for r in conn.execute(
                    select(ty_c.id).where(ty_c.pipeline_id == p.id).order_by(ty_c.position)).scalars()]
            def write(s: Session, pid: int = p.id, spec: PipelineSpec = spec, plans: list[Plan] = plans,
                      stage_ids: list[int] = stage_ids, type_ids: list[int] = type_ids) -> dict[str, int]:
                return write_plans(s, pid, spec.currency, stage_ids, type_ids, plans, started)

            counts = db.write(write)
            summaries.append(PipelineSummary(spec.name, counts["open"], counts["won"], counts["lost"]))
            totals["deals"] += counts["open"] + counts["won"] + counts["lost"]
            totals["events"] += counts["events"]
            totals["activities"] += counts["activities"]
        db.write(lambda s: s.merge(Meta(key=DEMO_KEY, value=f"seed={seed}")))
    finally:
        db.close()
    return DemoResult(path=target, seed=seed, built=True, pipelines=tuple(summaries), deals=totals["deals"],
                      events=totals["events"], activities=totals["activities"],
                      seconds=time.perf_counter() - began)


