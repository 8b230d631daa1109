"""A demo database that looks like a real sales team's: three pipelines, six months of history.

Pipelines, stages and deal types are made with the services; the deals are planned in memory (a seeded
random.Random, time from the clock) and written in one transaction per pipeline by `_write_plans`, which writes
exactly the rows the deal services would (deal, `create`/`move`/`won`/`lost`/`edit` events, one stay per stage
visit with its outcome, activities and the deal's last activity), only much faster than ~3,000 transactions.

Shape guaranteed for every seed (the tests check it): in SMB, Proposal is exactly at its WIP limit and
Qualified is below its minimum, and no other stage is at, over or under a limit; a few open deals in each
pipeline are stalled (over 2x their stage's expected days); some follow-up tasks are overdue.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.errors import TuikanbanError
from tuikanban.services.pipelines import create_pipeline, set_stage, update_pipeline
from tuikanban.store.engine import Database, default_db_path, open_database
from tuikanban.store.tables import Activity, Deal, DealType, Event, Meta, Pipeline, Stage, Stay

DEMO_KEY = "demo"  # tk_meta key marking a database built by `tuikanban demo`
BUILDING = "building"
HISTORY_DAYS = 182
DEFAULT_SEED = 7


class DemoError(TuikanbanError):
    """The demo cannot be written where asked (the file holds other data)."""


def default_demo_path() -> Path:
    """`demo.db` beside the default database (never the default database itself)."""
    return default_db_path().parent / "demo.db"


# -- what the demo team sells -------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpec:
    name: str
    days: int  # typical days in the stage (also the stage's expected_days unless `baseline_from_history`)
    probability: int
    open_count: int  # open deals in this stage at "now"
    wip_max: int | None = None
    wip_min: int | None = None
    rep_wip_max: int | None = None
    exit: str = ""
    loss: float = 0.2  # chance a new-business deal is lost in this stage
    stalled: int = 0  # open deals here that are stalled (over 2x days)
    aging: int = 0  # open deals here that are aging (1.5x-1.9x days)
    baseline_from_history: bool = False  # leave expected_days unset: the baseline comes from past stays


@dataclass(frozen=True)
class TypeSpec:
    name: str
    weight: float
    start: int  # index of the stage deals of this type start in
    loss_factor: float  # multiplies the stage loss chances
    value: tuple[int, int, int]  # (low, high, step) in major units
    titles: tuple[tuple[str, int], ...]  # (title template, yearly price per seat when it names {seats}, else 0)


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    currency: str
    target: int  # major units
    stale_days: int
    stages: tuple[StageSpec, ...]
    types: tuple[TypeSpec, ...]
    owners: tuple[str, ...]
    closed: int  # deals closed (won or lost) during the six months
    companies: tuple[str, ...]
    default: bool = False
    lost_reasons: tuple[str, ...] = ()
    cycle_days: int = 45  # typical expected-close horizon when a deal is created
    seats: tuple[int, ...] = (5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80)


_SMB_COMPANIES = (
    "Northwind Logistics", "Bluebird Dental Group", "Harbor & Pine Architects", "Cedar Ridge Veterinary",
    "Kestrel Analytics", "Lumen Physio", "Orchard Street Bakery", "Summit Freight", "Alder Legal LLP",
    "Brightwater Schools", "Copperline Machining", "Fjord Outdoor", "Granite Peak Insurance", "Helios Solar",
    "Ironwood Property", "Juniper Hotels", "Larkspur Clinics", "Meridian Credit Union", "Nimbus IT Services",
    "Oakhaven Senior Living", "Pinecrest Realty", "Quarry Lane Brewing", "Redwood Accounting",
    "Saltmarsh Seafood", "Tidewater Marine", "Upland Coffee Roasters", "Vantage Fitness", "Willow & Co Interiors",
    "Yellowfield Outfitters", "Zephyr Couriers", "Ashgrove Dental", "Beacon Hill Tutors", "Cobalt Print Works",
    "Driftwood Cafés", "Evergreen Landscaping", "Foxglove Florists", "Greystone Storage", "Hawthorn Vets",
    "Indigo Salon Group", "Jasper & Lane Recruiting", "Keel Boatworks", "Lowland Farms Co-op", "Maple Street Pharmacy",
    "Northgate Auto Repair", "Otter Creek Distillery", "Paloma Travel", "Quill & Ink Stationers", "Riverbend Gym",
    "Sable Security", "Thistle Home Care", "Union Square Dental", "Verdant Garden Centre", "Wren Studio Architects",
)
_ENT_COMPANIES = (
    "Atlas Global Shipping", "Borealis Energy", "Castellan Bank", "Dynamo Retail Group", "Everstone Pharmaceuticals",
    "Frontier Telecom", "Gideon Aerospace", "Halcyon Health System", "Imperial Foods", "Keystone Insurance Group",
    "Lighthouse Media", "Monolith Semiconductors", "Northstar University", "Olympus Logistics",
    "Paragon Automotive", "Quantum Mutual", "Riverside County", "Sterling Hotels International",
    "Titan Construction", "Unity Hospitals", "Vertex Airlines", "Westbridge Capital", "Crescent Utilities",
    "Solace Insurance", "Ardent Biotech", "Harrow & Finch Retail", "Meridian Rail", "Polaris Mining",
)
_PARTNER_COMPANIES = (
    "Brightpath Consulting", "CloudNorth Integrators", "Datawise GmbH", "Elevate Partners BV", "Fieldstone Systems",
    "Gridline Software", "Helix CRM Solutions", "Inkwell Agency", "Lattice Data Oy", "Mosaic Digital",
    "Nordlys Consulting AS", "Orbit Marketplace", "Prisma Analytics SA", "Quadrant Resellers", "Relay Integrations",
    "Skyforge Labs", "Tandem Advisory", "Velo Commerce",
)
_FIRST = (
    "Maya", "Liam", "Priya", "Noah", "Sofia", "Ethan", "Amara", "Lucas", "Hannah", "Mateo", "Chloe", "Omar",
    "Grace", "Daniel", "Aisha", "Jonas", "Elena", "Samuel", "Yuki", "Felix", "Nora", "Tomás", "Ingrid", "Ravi",
    "Leah", "Marcus", "Zoe", "Kenji", "Isla", "Diego",
)
_LAST = (
    "Chen", "Okafor", "Natarajan", "Schmidt", "Rossi", "Walsh", "Haddad", "Kowalski", "Lindqvist", "Moreau",
    "Tanaka", "Brennan", "Alvarez", "Fischer", "Mensah", "O'Neill", "Petrov", "Sato", "Murphy", "Novak",
    "Costa", "Eriksen", "Banerjee", "Dubois",
)
_ROLES_SMB = ("Owner", "Office Manager", "Operations Lead", "Practice Manager", "Finance Director", "General Manager")
_ROLES_ENT = ("VP Operations", "CIO", "Head of Procurement", "Director of Sales Ops", "CFO", "IT Security Lead",
              "VP Revenue")
_ROLES_PARTNER = ("Partner Manager", "Managing Director", "Head of Alliances", "CTO")
_DEPTS = ("Customer success", "Finance", "Field sales", "Support", "Marketing", "Operations")
_REGIONS = ("EMEA", "North America", "APAC", "DACH", "Nordics", "UK & Ireland", "LATAM")

SMB = PipelineSpec(
    name="SMB", currency="USD", target=120_000, stale_days=10, default=True, closed=120, cycle_days=40,
    owners=("alice", "bob", "carol", "dave"), companies=_SMB_COMPANIES,
    stages=(
        StageSpec("Lead", 4, 10, open_count=9, loss=0.40, stalled=1,
                  exit="A named contact replied and agreed to a first call."),
        StageSpec("Qualified", 7, 25, open_count=2, wip_min=4, loss=0.32, aging=1,
                  exit="Budget, authority, need and timeline confirmed."),
        StageSpec("Demo", 7, 40, open_count=6, wip_max=8, loss=0.28, stalled=1, aging=1,
                  exit="Demo held with the decision maker; success criteria written down."),
        StageSpec("Proposal", 10, 60, open_count=6, wip_max=6, loss=0.25, stalled=2,
                  exit="Proposal sent with pricing; a decision date agreed."),
        StageSpec("Negotiation", 7, 80, open_count=4, wip_max=5, rep_wip_max=2, loss=0.18, aging=1,
                  exit="Verbal yes; only terms and paperwork left."),
    ),
    types=(
        TypeSpec("New business", 0.65, 0, 1.0, (3_000, 24_000, 500), (
            ("{seats} seats, Team plan", 480), ("Starter plan ({seats} seats)", 300), ("Pro plan, {seats} seats", 720),
            ("Pilot for the {dept} team", 0), ("Team plan, annual prepay", 0))),
        TypeSpec("Expansion", 0.23, 1, 0.7, (1_500, 12_000, 250), (
            ("Add {seats} seats", 480), ("Upgrade to Pro", 0), ("Reporting add-on", 0), ("API access add-on", 0),
            ("{dept} team rollout", 0))),
        TypeSpec("Renewal", 0.12, 3, 0.45, (4_000, 30_000, 500), (
            ("Annual renewal {year}", 0), ("Renewal and {seats} more seats", 0), ("Two-year renewal", 0))),
    ),
)

ENTERPRISE = PipelineSpec(
    name="Enterprise", currency="USD", target=1_500_000, stale_days=14, closed=60, cycle_days=110,
    seats=(150, 200, 250, 300, 400, 500, 750, 1_000, 1_500),
    owners=("erin", "frank", "grace"), companies=_ENT_COMPANIES,
    stages=(
        StageSpec("Discovery", 14, 10, open_count=6, loss=0.42, aging=1,
                  exit="Pain, impact and a sponsor identified."),
        StageSpec("Solution design", 21, 25, open_count=5, wip_max=8, loss=0.32,
                  exit="Architecture agreed with IT; success plan signed off."),
        StageSpec("Proposal", 14, 45, open_count=4, wip_max=6, loss=0.28, stalled=1,
                  exit="Commercial proposal presented to the economic buyer."),
        StageSpec("Security review", 21, 60, open_count=3, wip_max=5, wip_min=1, loss=0.18, stalled=1,
                  exit="Security questionnaire and DPA approved."),
        StageSpec("Negotiation", 14, 75, open_count=3, wip_max=4, loss=0.15,
                  exit="Redlines resolved; procurement has a final price."),
        StageSpec("Contracting", 10, 90, open_count=2, loss=0.05,
                  exit="Order form signed by both sides."),
    ),
    types=(
        TypeSpec("New business", 0.6, 0, 1.0, (80_000, 450_000, 5_000), (
            ("Platform licence, {region}", 0), ("Global rollout, phase 1", 0),
            ("Sales ops platform ({seats} seats)", 360), ("Enterprise plan with SSO", 0))),
        TypeSpec("Expansion", 0.28, 1, 0.85, (40_000, 200_000, 5_000), (
            ("Add the {region} region", 0), ("Data residency add-on", 0), ("{dept} business unit", 0),
            ("Premium support upgrade", 0))),
        TypeSpec("Renewal", 0.12, 2, 0.6, (120_000, 600_000, 10_000), (
            ("Multi-year renewal", 0), ("Enterprise renewal {year}", 0))),
    ),
)

PARTNERSHIPS = PipelineSpec(
    name="Partnerships", currency="EUR", target=150_000, stale_days=21, closed=16, cycle_days=90,
    owners=("hana", "dave"), companies=_PARTNER_COMPANIES,
    lost_reasons=("Not a strategic fit", "No resources on their side", "Went silent", "Timing",
                  "Chose a competitor"),
    stages=(
        StageSpec("Intro", 10, 10, open_count=4, loss=0.30, baseline_from_history=True,
                  exit="Mutual fit call held."),
        StageSpec("Evaluation", 21, 30, open_count=3, wip_max=5, loss=0.30, baseline_from_history=True,
                  exit="Joint business plan drafted."),
        StageSpec("Pilot", 30, 60, open_count=2, wip_max=3, wip_min=1, loss=0.20, stalled=1,
                  exit="Pilot customer live and referenceable."),
        StageSpec("Agreement", 14, 85, open_count=1, loss=0.10,
                  exit="Partner agreement countersigned."),
    ),
    types=(
        TypeSpec("Reseller", 0.4, 0, 1.0, (20_000, 120_000, 1_000), (
            ("Reseller agreement ({region})", 0), ("Value-added reseller, {region}", 0))),
        TypeSpec("Technology", 0.35, 0, 1.0, (15_000, 80_000, 1_000), (
            ("CRM integration partnership", 0), ("Marketplace listing", 0), ("Data connector partnership", 0))),
        TypeSpec("Referral", 0.25, 0, 0.8, (10_000, 40_000, 1_000), (
            ("Referral programme", 0), ("Co-selling agreement ({region})", 0))),
    ),
)

PIPELINES: tuple[PipelineSpec, ...] = (SMB, ENTERPRISE, PARTNERSHIPS)

_EARLY_REASONS = (("No decision", 4), ("Went silent", 4), ("No budget", 3), ("Timing", 3))
_LATE_REASONS = (("Price", 4), ("Lost to competitor", 4), ("No decision", 2), ("Timing", 1),
                 ("Chose to build in-house", 1), ("Champion left the company", 1))

_STAGE_ACTIVITIES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("email", "Intro email after the webinar sign-up"), ("call", "First call: current tools and team size"),
     ("email", "Sent case study and pricing page")),
    (("call", "Qualification call: budget, timeline, decision process"), ("note", "Budget owner identified"),
     ("email", "Recap of needs and next steps")),
    (("meeting", "Product demo with the team"), ("email", "Sent demo recording and trial link"),
     ("call", "Trial check-in")),
    (("email", "Sent proposal v1"), ("call", "Walked through the proposal"), ("meeting", "Pricing review")),
    (("meeting", "Negotiation call with procurement"), ("email", "Sent redlined order form"),
     ("call", "Agreed payment terms")),
    (("email", "Order form out for signature"), ("call", "Signature chase"), ("note", "Legal approved")),
)
_TASKS = ("Follow up on proposal", "Send references", "Book the next meeting", "Chase the decision",
          "Confirm budget with finance", "Share security documents", "Send the contract draft")


# -- the plan of one deal ----------------------------------------------------------------------------------


@dataclass
class _Visit:
    stage: int
    entered: datetime
    left: datetime | None = None


@dataclass
class _Plan:
    title: str
    company: str
    contact: str
    owner: str
    type_index: int
    value: int | None  # major units at creation
    close: date
    notes: str
    visits: list[_Visit]
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
        title = template.format(seats=seats, dept=rng.choice(_DEPTS), region=rng.choice(_REGIONS),
                                year=at.year + (1 if at.month >= 10 else 0))
        low, high, step = t.value
        if per_seat:  # list price for the seats, less a negotiated discount of up to 15 %
            value = max(step, int(seats * per_seat * rng.uniform(0.85, 1.0)) // step * step)
        else:
            value = rng.randrange(low // step, high // step + 1) * step
        return title, value

    def _contact(self) -> str:
        roles = {"SMB": _ROLES_SMB, "Enterprise": _ROLES_ENT}.get(self.spec.name, _ROLES_PARTNER)
        return f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)} ({self.rng.choice(roles)})"

    def _type(self, max_start: int) -> int:
        idx = [i for i, t in enumerate(self.spec.types) if t.start <= max_start]
        return self.rng.choices(idx, weights=[self.spec.types[i].weight for i in idx])[0]

    def _new(self, type_index: int, created: datetime, owner: str) -> _Plan:
        t = self.spec.types[type_index]
        title, value = self._title_and_value(t, created)
        horizon = self.spec.cycle_days * self.rng.uniform(0.6, 1.3)
        return _Plan(
            title=title, company=self.rng.choice(self.spec.companies), contact=self._contact(),
            owner=owner, type_index=type_index, value=value,
            close=(created + timedelta(days=horizon)).date(), notes="", visits=[],
        )

    # closed deals: a random walk through the stages that ends (won or lost) before now
    def closed_deal(self) -> _Plan:
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
            plan.visits.append(_Visit(i, at, at + timedelta(days=d)))
            at += timedelta(days=d)
        plan.status = "won" if won else "lost"
        plan.closed_at = at
        if not won:
            last = path[-1][0]
            pool = self.spec.lost_reasons or None
            if pool:
                plan.lost_reason = rng.choice(pool)
            else:
                plan.lost_reason = _weighted(rng, _EARLY_REASONS if last < len(stages) // 2 else _LATE_REASONS)
        self._history(plan)
        return plan

    # open deals: placed in a given stage with a chosen age there; earlier stages are back-filled
    def open_deal(self, stage: int, kind: str, owner: str) -> _Plan:
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
            plan.visits.append(_Visit(i, at, at + timedelta(days=d)))
            at += timedelta(days=d)
        plan.visits.append(_Visit(stage, at))
        self._history(plan)
        return plan

    def _history(self, plan: _Plan) -> None:
        """Activities, value and close-date edits along the deal's visits."""
        rng = self.rng
        n_stages = len(self.spec.stages)
        end = plan.closed_at or self.now
        for v in plan.visits:
            left = v.left or self.now
            span = max((left - v.entered).total_seconds(), 60.0)
            options = _STAGE_ACTIVITIES[min(v.stage * len(_STAGE_ACTIVITIES) // n_stages, len(_STAGE_ACTIVITIES) - 1)]
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
                plan.activities.append((at, "task", rng.choice(_TASKS), due, True))
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

    def follow_up(self, plan: _Plan, overdue: bool) -> None:
        rng = self.rng
        today = self.now.date()
        due = today - timedelta(days=rng.randint(1, 9)) if overdue else today + timedelta(days=rng.randint(0, 12))
        entered = plan.visits[-1].entered
        made = max(entered, datetime.combine(due - timedelta(days=rng.randint(3, 10)), entered.timetz()))
        made = min(made, self.now - timedelta(hours=1))
        made = max(made, entered)
        plan.activities.append((made, "task", rng.choice(_TASKS), due, False))
        plan.activities.sort(key=lambda a: a[0])


def plan_pipeline(spec: PipelineSpec, rng: random.Random, now: datetime) -> list[_Plan]:
    """Every deal of one pipeline, in creation order (pure: no database)."""
    planner = _Planner(spec, rng, now)
    plans = [planner.closed_deal() for _ in range(spec.closed)]
    open_plans: list[_Plan] = []
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


# -- writing -------------------------------------------------------------------------------------------------


def _write_plans(s: Session, pipeline_id: int, currency: str, stage_ids: list[int], type_ids: list[int],
                 plans: list[_Plan], started: datetime) -> dict[str, int]:
    """Insert the planned deals with the rows the deal services would write for the same history."""
    conn = s.connection()
    deal_t, event_t, stay_t, act_t = (getattr(m, "__table__") for m in (Deal, Event, Stay, Activity))  # noqa: B009
    conn.execute(update(getattr(Pipeline, "__table__")).where(  # noqa: B009
        getattr(Pipeline, "__table__").c.id == pipeline_id).values(created_at=started))  # noqa: B009
    events: list[tuple[datetime, int, int, dict[str, Any]]] = []
    stays: list[dict[str, Any]] = []
    acts: list[dict[str, Any]] = []
    counts = {"open": 0, "won": 0, "lost": 0, "events": 0, "activities": 0}
    open_by_stage: dict[int, list[tuple[datetime, int]]] = {}
    seq = 0
    for plan in plans:
        value = plan.value
        close = plan.close
        for _at, fld, _old, new in plan.edits:  # the row holds the latest values; the edits hold the earlier ones
            if fld == "value":
                value = new
            elif fld == "close":
                close = new
        last = plan.visits[-1]
        last_activity = max((a[0] for a in plan.activities), default=None)
        version = 1 + (len(plan.visits) - 1) + len(plan.edits) + (0 if plan.status == "open" else 1)
        row = {
            "pipeline_id": pipeline_id, "title": plan.title, "company": plan.company, "contact": plan.contact,
            "value_minor": None if value is None else value * 100, "currency": currency, "owner": plan.owner,
            "type_id": type_ids[plan.type_index], "expected_close": close, "notes": plan.notes,
            "stage_id": stage_ids[last.stage], "status": plan.status, "lost_reason": plan.lost_reason,
            "created_at": plan.created, "stage_entered_at": last.entered, "closed_at": plan.closed_at,
            "last_activity_at": last_activity, "rank": 0, "version": version,
        }
        key = conn.execute(insert(deal_t).values(**row)).inserted_primary_key
        assert key is not None
        deal_id = int(key[0])
        counts[plan.status] += 1
        if plan.status == "open":
            open_by_stage.setdefault(stage_ids[last.stage], []).append((last.entered, deal_id))

        def ev(at: datetime, kind: str, deal_id: int = deal_id, user: str = plan.owner, **fields: Any) -> None:
            nonlocal seq
            seq += 1
            base = {"pipeline_id": pipeline_id, "deal_id": deal_id, "kind": kind, "at": at, "user": user,
                    "from_stage_id": None, "to_stage_id": None, "field": None, "old_value": None,
                    "new_value": None, "reason": None, "ref_id": None}
            base.update(fields)
            events.append((at, seq, deal_id, base))

        first = plan.visits[0]
        ev(first.entered, "create", to_stage_id=stage_ids[first.stage])
        for prev, nxt in zip(plan.visits, plan.visits[1:], strict=False):
            ev(nxt.entered, "move", from_stage_id=stage_ids[prev.stage], to_stage_id=stage_ids[nxt.stage])
        for at, fld, old, new in plan.edits:
            if fld == "value":
                ev(at, "edit", field="value", old_value=_ev(None if old is None else old * 100),
                   new_value=_ev(None if new is None else new * 100))
            else:
                ev(at, "edit", field=fld, old_value=_ev(old), new_value=_ev(new))
        if plan.status == "won":
            ev(plan.closed_at or last.entered, "won", from_stage_id=stage_ids[last.stage])
        elif plan.status == "lost":
            ev(plan.closed_at or last.entered, "lost", from_stage_id=stage_ids[last.stage], reason=plan.lost_reason)
        for n, v in enumerate(plan.visits):
            outcome: str | None
            if n + 1 < len(plan.visits):
                outcome = "advanced" if plan.visits[n + 1].stage > v.stage else "dropped"
            elif plan.status == "won":
                outcome = "advanced"
            elif plan.status == "lost":
                outcome = "dropped"
            else:
                outcome = None
            stays.append({"pipeline_id": pipeline_id, "deal_id": deal_id, "stage_id": stage_ids[v.stage],
                          "entered_at": v.entered, "left_at": v.left, "outcome": outcome})
        for at, kind, subject, due, done in plan.activities:
            acts.append({"deal_id": deal_id, "pipeline_id": pipeline_id, "kind": kind, "subject": subject, "at": at,
                         "user": plan.owner, "due": due, "done": done})
    # board order: the deal that entered a column last sits on top (as move_deal/create_deal rank them)
    for entries in open_by_stage.values():
        entries.sort()
        for n, (_at, deal_id) in enumerate(entries):
            conn.execute(update(deal_t).where(deal_t.c.id == deal_id).values(rank=-n))
    events.sort(key=lambda e: (e[0], e[1]))
    if events:
        conn.execute(insert(event_t), [e[3] for e in events])
    stays.sort(key=lambda r: (r["entered_at"], r["deal_id"]))
    if stays:
        conn.execute(insert(stay_t), stays)
    acts.sort(key=lambda r: (r["at"], r["deal_id"]))
    if acts:
        conn.execute(insert(act_t), acts)
    counts["events"] = len(events)
    counts["activities"] = len(acts)
    return counts


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _ev(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# -- the command's engine ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineSummary:
    name: str
    open: int
    won: int
    lost: int


@dataclass(frozen=True)
class DemoResult:
    path: Path
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


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def inspect_target(path: Path) -> str | None:
    """What is at `path`: None (nothing, or an empty tuikanban database), "demo:<seed>", "building";
    DemoError for a file with other data (DatabaseError for a file that is not a tuikanban database)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    db = open_database(path, create=False)
    try:
        marker = _marker(db)
        if marker is not None:
            return BUILDING if marker == BUILDING else f"demo:{marker}"
        pipes, deals = _contents(db)
    finally:
        db.close()
    if pipes or deals:
        raise DemoError(
            f"{path} already holds other tuikanban data ({_n(pipes, 'pipeline')}, {_n(deals, 'deal')}); the demo "
            "never writes into it, so give it another file with --db."
        )
    return None


def build_demo(path: Path | None = None, *, seed: int = DEFAULT_SEED, fresh: bool = False,
               private: bool | None = None, user: str = "demo") -> DemoResult:
    """Create the demo database at `path` (default: demo.db beside the default database).

    An existing demo database is kept (built=False) unless `fresh`; a database with other data is refused.
    """
    target = Path(path).expanduser().absolute() if path is not None else default_demo_path()
    if private is None:
        private = path is None
    state = inspect_target(target)
    if state is not None and state.startswith("demo:") and not fresh:
        return DemoResult(path=target, seed=seed, built=False, existing_seed=state.split("seed=")[-1])
    if state is not None:  # a demo (rebuilt on request) or a half-built one
        _remove(target)
    began = time.perf_counter()
    now = clock.now()
    started = now - timedelta(days=HISTORY_DAYS)
    db = open_database(target, private=private)
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
            def write(s: Session, pid: int = p.id, spec: PipelineSpec = spec, plans: list[_Plan] = plans,
                      stage_ids: list[int] = stage_ids, type_ids: list[int] = type_ids) -> dict[str, int]:
                return _write_plans(s, pid, spec.currency, stage_ids, type_ids, plans, started)

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


def is_default_location(path: Path) -> bool:
    return os.path.abspath(path) == os.path.abspath(default_demo_path())


__all__ = [
    "DEFAULT_SEED", "PIPELINES", "DemoError", "DemoResult", "PipelineSpec", "StageSpec", "build_demo",
    "default_demo_path", "inspect_target", "plan_pipeline",
]
