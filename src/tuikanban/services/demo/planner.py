"""The plan of each demo deal, made in memory from a seeded random.Random and the clock (no database)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tuikanban.services.demo.catalogue import (
    DEPTS,
    EARLY_REASONS,
    FIRST,
    HISTORY_DAYS,
    LAST,
    LATE_REASONS,
    REGIONS,
    ROLES_ENT,
    ROLES_PARTNER,
    ROLES_SMB,
    STAGE_ACTIVITIES,
    TASKS,
    PipelineSpec,
    TypeSpec,
)


@dataclass
class Visit:
    stage: int
    entered: datetime
    left: datetime | None = None


@dataclass
class Plan:
    title: str
    company: str
    contact: str
    owner: str
    type_index: int
    value: int | None  # major units at creation
    close: date
    notes: str
    visits: list[Visit]
    status: str = "open"
    closed_at: datetime | None = None
    lost_reason: str = ""
    edits: list[tuple[datetime, str, Any, Any]] = field(default_factory=list)  # (at, field, old, new)
    activities: list[tuple[datetime, str, str, date | None, bool]] = field(default_factory=list)

    @property
    def created(self) -> datetime:
        return self.visits[0].entered


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _duration(rng: random.Random, days: float) -> float:
    """Days spent in a stage: log-normal around 0.85x the typical days, clipped to [0.2x, 2.5x]."""
    return min(max(days * rng.lognormvariate(-0.25, 0.45), days * 0.2), days * 2.5)


class _Planner:
    def __init__(self, spec: PipelineSpec, rng: random.Random, now: datetime) -> None:
        self.spec, self.rng, self.now = spec, rng, now
        self.start = now - timedelta(days=HISTORY_DAYS)

    def _title_and_value(self, t: TypeSpec, at: datetime) -> tuple[str, int]:
        rng = self.rng
        template, per_seat = rng.choice(t.titles)
        seats = rng.choice(self.spec.seats)
        title = template.format(seats=seats, dept=rng.choice(DEPTS), region=rng.choice(REGIONS),
                                year=at.year + (1 if at.month >= 10 else 0))
        low, high, step = t.value
        if per_seat:  # list price for the seats, less a negotiated discount of up to 15 %
            value = max(step, int(seats * per_seat * rng.uniform(0.85, 1.0)) // step * step)
        else:
            value = rng.randrange(low // step, high // step + 1) * step
        return title, value

    def _contact(self) -> str:
        roles = {"SMB": ROLES_SMB, "Enterprise": ROLES_ENT}.get(self.spec.name, ROLES_PARTNER)
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)} ({self.rng.choice(roles)})"

    def _type(self, max_start: int) -> int:
        idx = [i for i, t in enumerate(self.spec.types) if t.start <= max_start]
        return self.rng.choices(idx, weights=[self.spec.types[i].weight for i in idx])[0]

    def _new(self, type_index: int, created: datetime, owner: str) -> Plan:
        t = self.spec.types[type_index]
        title, value = self._title_and_value(t, created)
        horizon = self.spec.cycle_days * self.rng.uniform(0.6, 1.3)
        return Plan(
            title=title, company=self.rng.choice(self.spec.companies), contact=self._contact(),
            owner=owner, type_index=type_index, value=value,
            close=(created + timedelta(days=horizon)).date(), notes="", visits=[],
        )

    # closed deals: a random walk through the stages that ends (won or lost) before now
    def closed_deal(self) -> Plan:
        rng, stages = self.rng, self.spec.stages
        ti = self._type(len(stages) - 1)
        t = self.spec.types[ti]
        path: list[tuple[int, float]] = []  # (stage index, days spent)
        idx, moved_back, won = t.start, False, False
        while True:
            days = _duration(rng, stages[idx].days)
            if rng.random() < stages[idx].loss * t.loss_factor:
                path.append((idx, days * rng.uniform(0.3, 1.2)))
                break
            path.append((idx, days))
            if not moved_back and idx > t.start and rng.random() < 0.06:
                idx, moved_back = idx - 1, True
                continue
            if idx == len(stages) - 1:
                won = True
                break
            idx += 1
        total = sum(d for _, d in path)
        room = HISTORY_DAYS - 2.0
        if total > room * 0.9:  # squeeze long walks into the six months
            path = [(i, d * room * 0.9 / total) for i, d in path]
            total = room * 0.9
        # deals arrive at a steady rate; keep those that have closed by now. (Placing the close time instead would
        # crowd the long, mostly won, walks into the last weeks and inflate the recent win rate.)
        while True:
            arrival = rng.uniform(0.0, HISTORY_DAYS - 0.3)
            if arrival + total <= HISTORY_DAYS - 0.3:
                break
        at = self.start + timedelta(days=arrival)
        plan = self._new(ti, at, rng.choice(self.spec.owners))
        for i, d in path:
            plan.visits.append(Visit(i, at, at + timedelta(days=d)))
            at += timedelta(days=d)
        plan.status = "won" if won else "lost"
        plan.closed_at = at
        if not won:
            last = path[-1][0]
            pool = self.spec.lost_reasons or None
            if pool:
                plan.lost_reason = rng.choice(pool)
            else:
                plan.lost_reason = _weighted(rng, EARLY_REASONS if last < len(stages) // 2 else LATE_REASONS)
        self._history(plan)
        return plan

    # open deals: placed in a given stage with a chosen age there; earlier stages are back-filled
    def open_deal(self, stage: int, kind: str, owner: str) -> Plan:
        rng, stages = self.rng, self.spec.stages
        ti = self._type(stage)
        t = self.spec.types[ti]
        base = stages[stage].days
        if kind == "stalled":
            in_stage = base * rng.uniform(2.3, 3.4)
        elif kind == "aging":
            in_stage = base * rng.uniform(1.55, 1.9)
        else:
            in_stage = base * rng.uniform(0.05, 1.25)
        earlier = [(i, _duration(rng, stages[i].days)) for i in range(t.start, stage)]
        total = in_stage + sum(d for _, d in earlier)
        room = HISTORY_DAYS - 1.0
        if total > room:
            scale = max(room - in_stage, 1.0) / max(sum(d for _, d in earlier), 1.0)
            earlier = [(i, d * scale) for i, d in earlier]
            total = in_stage + sum(d for _, d in earlier)
        at = self.now - timedelta(days=total)
        plan = self._new(ti, at, owner)
        for i, d in earlier:
            plan.visits.append(Visit(i, at, at + timedelta(days=d)))
            at += timedelta(days=d)
        plan.visits.append(Visit(stage, at))
        self._history(plan)
        return plan

    def _history(self, plan: Plan) -> None:
        """Activities, value and close-date edits along the deal's visits."""
        rng = self.rng
        n_stages = len(self.spec.stages)
        end = plan.closed_at or self.now
        for v in plan.visits:
            left = v.left or self.now
            span = max((left - v.entered).total_seconds(), 60.0)
            options = STAGE_ACTIVITIES[min(v.stage * len(STAGE_ACTIVITIES) // n_stages, len(STAGE_ACTIVITIES) - 1)]
            first = options[0]
            plan.activities.append((v.entered + timedelta(minutes=rng.randint(5, 90)), first[0], first[1], None, True))
            if v.left is not None or rng.random() < 0.5:
                kind, subject = rng.choice(options[1:])
                at = v.entered + timedelta(seconds=span * rng.uniform(0.3, 0.9))
                if v.left is None:  # the current stay: stalled deals go quiet, so keep this early
                    at = v.entered + timedelta(seconds=min(span * rng.uniform(0.1, 0.5), 86400.0 * 6))
                plan.activities.append((at, kind, subject, None, True))
            if v.left is not None and rng.random() < 0.3:  # a follow-up task, done in time
                at = v.entered + timedelta(seconds=span * 0.2)
                due = (at + timedelta(days=rng.randint(1, 4))).date()
                plan.activities.append((at, "task", rng.choice(TASKS), due, True))
        # the expected close date gets pushed on some deals (twice or more on a few: the close_pushed signal)
        pushes = rng.choices((0, 1, 2, 3), weights=(70, 18, 9, 3))[0]
        span_all = max((end - plan.created).total_seconds(), 3600.0)
        close = plan.close
        for k in range(pushes):
            at = plan.created + timedelta(seconds=span_all * (k + 1) / (pushes + 1))
            new = close + timedelta(days=rng.choice((7, 14, 21, 30)))
            plan.edits.append((at, "close", close, new))
            close = new
        # a discount in negotiation on some deals that got that far
        late = [v for v in plan.visits if v.stage >= n_stages - 2]
        if late and plan.value and rng.random() < 0.3:
            v = late[0]
            at = v.entered + timedelta(seconds=max(((v.left or end) - v.entered).total_seconds(), 120.0) * 0.5)
            step = self.spec.types[plan.type_index].value[2]
            new_value = max(step, int(plan.value * rng.uniform(0.82, 0.95)) // step * step)
            if new_value != plan.value:
                plan.edits.append((at, "value", plan.value, new_value))
        if plan.status == "won":
            plan.activities.append((end - timedelta(minutes=rng.randint(10, 120)), "note",
                                    "Signed; handed over to onboarding", None, True))
        elif plan.status == "lost":
            plan.activities.append((end - timedelta(minutes=rng.randint(10, 120)), "note",
                                    f"Closed lost: {plan.lost_reason}", None, True))
        plan.edits.sort(key=lambda e: e[0])
        plan.activities.sort(key=lambda a: a[0])

    def follow_up(self, plan: Plan, overdue: bool) -> None:
        rng = self.rng
        today = self.now.date()
        due = today - timedelta(days=rng.randint(1, 9)) if overdue else today + timedelta(days=rng.randint(0, 12))
        entered = plan.visits[-1].entered
        made = max(entered, datetime.combine(due - timedelta(days=rng.randint(3, 10)), entered.timetz()))
        made = min(made, self.now - timedelta(hours=1))
        made = max(made, entered)
        plan.activities.append((made, "task", rng.choice(TASKS), due, False))
        plan.activities.sort(key=lambda a: a[0])


def plan_pipeline(spec: PipelineSpec, rng: random.Random, now: datetime) -> list[Plan]:
    """Every deal of one pipeline, in creation order (pure: no database)."""
    planner = _Planner(spec, rng, now)
    plans = [planner.closed_deal() for _ in range(spec.closed)]
    open_plans: list[Plan] = []
    loads: dict[str, int] = {}
    for si, st in enumerate(spec.stages):
        kinds = ["stalled"] * st.stalled + ["aging"] * st.aging
        kinds += ["fresh"] * (st.open_count - len(kinds))
        per_owner: dict[str, int] = {}
        for kind in kinds:
            owners = [o for o in spec.owners if st.rep_wip_max is None or per_owner.get(o, 0) < st.rep_wip_max]
            if rng.random() < 0.7:  # mostly to whoever has least open work, so the load looks managed
                owners.sort(key=lambda o: loads.get(o, 0))
                owner = owners[0]
            else:
                owner = rng.choice(owners)
            per_owner[owner] = per_owner.get(owner, 0) + 1
            loads[owner] = loads.get(owner, 0) + 1
            open_plans.append(planner.open_deal(si, kind, owner))
    # a few deals still in the first stage have no value yet (the no_value signal)
    firsts = [p for p in open_plans if p.visits[-1].stage == 0]
    for p in firsts[:2]:
        p.value = None
        p.edits = [e for e in p.edits if e[1] != "value"]
        p.notes = "Value to be confirmed after the first call."
    # follow-up tasks on most open deals, every third one overdue
    for n, p in enumerate(open_plans):
        if n % 4 != 3:
            planner.follow_up(p, overdue=n % 3 == 0)
    # a past expected close date on a few open deals (the past_close signal)
    for p in open_plans[5::7]:
        p.close = now.date() - timedelta(days=rng.randint(2, 20))
        p.edits = [e for e in p.edits if e[1] != "close"]
    for p in (*plans[::9], *open_plans[::6]):
        if not p.notes:
            p.notes = rng.choice((
                "Champion is the operations lead; CFO signs above 20k.",
                "Evaluating two other vendors; we lead on reporting.",
                "Wants a quarterly payment option.",
                "Referred by an existing customer.",
                "Procurement needs three quotes.",
                "Renewal date drives the timeline.",
            ))
    everything = plans + open_plans
    for p in everything:  # whole minutes, as people would type them (flooring keeps every order)
        for v in p.visits:
            v.entered = _minute(v.entered)
            v.left = _minute(v.left) if v.left is not None else None
        p.closed_at = _minute(p.closed_at) if p.closed_at is not None else None
        p.edits = [(_minute(at), *rest) for at, *rest in p.edits]
        p.activities = [(_minute(at), *rest) for at, *rest in p.activities]  # type: ignore[misc]
    everything.sort(key=lambda p: p.created)
    return everything


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)
