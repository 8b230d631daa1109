"""SVG snapshots of the board (pytest-textual-snapshot): fixed clock, fixed data, a fixed path in the header.

Each test runs on both engines against the same SVG. Update after a deliberate change of the look with
`pytest tests/test_board_snapshots.py --snapshot-update`, then look at the SVGs in
tests/__snapshots__/test_board_snapshots/ before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from textual.pilot import Pilot

from board_helpers import settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp

pytestmark = pytest.mark.engines

SIZE = (160, 45)




@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """One SVG per test for both engines: the snapshot is named after the test without its engine, so the board on
    PostgreSQL must draw exactly what it draws on SQLite."""
    snapshot.test_location.testname = snapshot.test_location.methodname
    return snapshot


@pytest.fixture
def demo(db: Database, fixed_now: str) -> int:
    p = ps.create_pipeline(db, "Sales", ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"],
                           types=["New business", "Expansion", "Renewal"])
    ps.set_stage(db, p.id, "Discovery", wip_min=3)
    ps.set_stage(db, p.id, "Proposal", wip_max=3)
    ps.set_stage(db, p.id, "Negotiation", wip_max=1, expected_days=10)
    rows = [
        ("Acme data platform", "Prospecting", "New business", "48000", "alice", "Acme Corp", "2026-02-26"),
        ("Globex analytics pilot", "Prospecting", "New business", "12500", "bob", "Globex", "2026-02-12"),
        ("Soylent seat expansion", "Prospecting", "Expansion", "9000", "carol", "Soylent", "2026-02-27"),
        ("Hooli annual renewal", "Qualification", "Renewal", "64000", "alice", "Hooli", "2026-02-03"),
        ("Initech rollout", "Qualification", "New business", "30000", "dana", "Initech", "2026-02-20"),
        ("Umbrella security audit", "Discovery", "New business", "", "bob", "Umbrella", "2026-02-01"),
        ("Stark Industries upsell", "Proposal", "Expansion", "125000", "alice", "Stark Industries", "2026-02-15"),
        ("Wayne renewal 2026", "Proposal", "Renewal", "88000", "carol", "Wayne Enterprises", "2026-02-24"),
        ("Tyrell replicant CRM", "Proposal", "New business", "210000", "dana", "Tyrell Corp", "2026-01-20"),
        ("Cyberdyne support plan", "Negotiation", "Renewal", "41000", "bob", "Cyberdyne", "2026-02-25"),
        ("Oscorp lab licences", "Negotiation", "Expansion", "56000", "alice", "Oscorp", "2026-02-28"),
        ("Massive Dynamic trial", "Prospecting", None, "5000", "carol", "Massive Dynamic", "2026-03-01"),
    ]
    for title, stage, dtype, value, owner, company, at in rows:
        ds.create_deal(db, p.id, title, user="tester", stage=stage, dtype=dtype, value=value or None, owner=owner,
                       company=company, at=at, close="2026-03-31" if owner == "alice" else None,
                       force_reason="snapshot data")
    return p.id


def fixed_header(app: TuikanbanApp) -> None:
    app.board_screen.header.update(db_path=Path("~/pipeline.db"))


def test_board_with_swimlanes(db: Database, demo: int, snap_compare: Any) -> None:
    app = TuikanbanApp(db, "tester")

    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        fixed_header(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_board_without_lanes_filtered_on_a_later_card(db: Database, demo: int, snap_compare: Any) -> None:
    app = TuikanbanApp(db, "tester")

    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        app.board_screen.apply_filter("owner:alice")
        await settle(pilot)
        await pilot.press("right", "right", "right", "down")
        await settle(pilot)
        fixed_header(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_board_narrow_terminal_scrolls_columns(db: Database, demo: int, snap_compare: Any) -> None:
    app = TuikanbanApp(db, "tester")

    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("right", "right", "right", "right")
        await settle(pilot)
        fixed_header(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)
