"""What the demo team sells: three pipelines with their stages, deal types, companies, people and lost reasons."""

from __future__ import annotations

from dataclasses import dataclass

HISTORY_DAYS = 182  # the demo's history reaches this far back from now


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


SMB_COMPANIES = (
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
ENT_COMPANIES = (
    "Atlas Global Shipping", "Borealis Energy", "Castellan Bank", "Dynamo Retail Group", "Everstone Pharmaceuticals",
    "Frontier Telecom", "Gideon Aerospace", "Halcyon Health System", "Imperial Foods", "Keystone Insurance Group",
    "Lighthouse Media", "Monolith Semiconductors", "Northstar University", "Olympus Logistics",
    "Paragon Automotive", "Quantum Mutual", "Riverside County", "Sterling Hotels International",
    "Titan Construction", "Unity Hospitals", "Vertex Airlines", "Westbridge Capital", "Crescent Utilities",
    "Solace Insurance", "Ardent Biotech", "Harrow & Finch Retail", "Meridian Rail", "Polaris Mining",
)
PARTNER_COMPANIES = (
    "Brightpath Consulting", "CloudNorth Integrators", "Datawise GmbH", "Elevate Partners BV", "Fieldstone Systems",
    "Gridline Software", "Helix CRM Solutions", "Inkwell Agency", "Lattice Data Oy", "Mosaic Digital",
    "Nordlys Consulting AS", "Orbit Marketplace", "Prisma Analytics SA", "Quadrant Resellers", "Relay Integrations",
    "Skyforge Labs", "Tandem Advisory", "Velo Commerce",
)
FIRST = (
    "Maya", "Liam", "Priya", "Noah", "Sofia", "Ethan", "Amara", "Lucas", "Hannah", "Mateo", "Chloe", "Omar",
    "Grace", "Daniel", "Aisha", "Jonas", "Elena", "Samuel", "Yuki", "Felix", "Nora", "Tomás", "Ingrid", "Ravi",
    "Leah", "Marcus", "Zoe", "Kenji", "Isla", "Diego",
)
LAST = (
    "Chen", "Okafor", "Natarajan", "Schmidt", "Rossi", "Walsh", "Haddad", "Kowalski", "Lindqvist", "Moreau",
    "Tanaka", "Brennan", "Alvarez", "Fischer", "Mensah", "O'Neill", "Petrov", "Sato", "Murphy", "Novak",
    "Costa", "Eriksen", "Banerjee", "Dubois",
)
ROLES_SMB = ("Owner", "Office Manager", "Operations Lead", "Practice Manager", "Finance Director", "General Manager")
ROLES_ENT = ("VP Operations", "CIO", "Head of Procurement", "Director of Sales Ops", "CFO", "IT Security Lead",
              "VP Revenue")
ROLES_PARTNER = ("Partner Manager", "Managing Director", "Head of Alliances", "CTO")
DEPTS = ("Customer success", "Finance", "Field sales", "Support", "Marketing", "Operations")
REGIONS = ("EMEA", "North America", "APAC", "DACH", "Nordics", "UK & Ireland", "LATAM")

SMB = PipelineSpec(
    name="SMB", currency="USD", target=120_000, stale_days=10, default=True, closed=120, cycle_days=40,
    owners=("alice", "bob", "carol", "dave"), companies=SMB_COMPANIES,
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
    owners=("erin", "frank", "grace"), companies=ENT_COMPANIES,
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
    owners=("hana", "dave"), companies=PARTNER_COMPANIES,
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

EARLY_REASONS = (("No decision", 4), ("Went silent", 4), ("No budget", 3), ("Timing", 3))
LATE_REASONS = (("Price", 4), ("Lost to competitor", 4), ("No decision", 2), ("Timing", 1),
                 ("Chose to build in-house", 1), ("Champion left the company", 1))

STAGE_ACTIVITIES: tuple[tuple[tuple[str, str], ...], ...] = (
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
TASKS = ("Follow up on proposal", "Send references", "Book the next meeting", "Chase the decision",
          "Confirm budget with finance", "Share security documents", "Send the contract draft")


