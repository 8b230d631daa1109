"""Pilot tests of the board's side of "never lose a rep's work": undo and redo keys (forced past a WIP limit with
a reason), and what the board does when another process changes what it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from board_helpers import press, settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database, open_database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.dialogs.reason import ReasonScreen

SIZE = (160, 45)


@pytest.fixture
def sales(db: Database, fixed_now: str) -> dict[str, int]:
    """Lead: Initech (top), Acme; Qualified: Hooli; Proposal (WIP max 1): Umbrella."""
    p = ps.create_pipeline(db, "Sales", ["Lead", "Qualified", "Proposal"])
    ps.set_stage(db, p.id, "Proposal", wip_max=1)

    def deal(title: str, stage: str, value: str) -> int:
        return ds.create_deal(db, p.id, title, user="other", stage=stage, value=value, owner="tester").id

    ids = {"acme": deal("Acme pilot", "Lead", "12500"), "initech": deal("Initech rollout", "Lead", "30000"),
           "hooli": deal("Hooli expansion", "Qualified", "5000"),
           "umbrella": deal("Umbrella deal", "Proposal", "70000")}
    ids["pipeline"] = p.id
    return ids


def focused_title(app: TuikanbanApp) -> str | None:
    card = app.board_screen.view.focused_card
    return card.title if card else None


async def test_u_undoes_and_shift_u_and_ctrl_r_redo(db: Database, sales: dict[str, int]) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert focused_title(app) == "Initech rollout"
        await press(pilot, "L")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        await press(pilot, "u")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Lead"
        await press(pilot, "U")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        await press(pilot, "u")
        await press(pilot, "ctrl+r")
        assert ds.get_deal(db, sales["initech"]).stage_name == "Qualified"
        kinds = [e.kind for e in ds.deal_history(db, sales["initech"])]
        assert kinds[-4:] == ["undo", "redo", "undo", "redo"]


async def test_undo_into_a_full_stage_asks_a_reason_and_forces(
    db: Database, sales: dict[str, int], db_path: Path
) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # tester wins Umbrella (Proposal empties), then another rep moves Hooli into Proposal (now full, 1/1)
        ds.win_deal(db, sales["umbrella"], user="tester")
        other = open_database(db_path)
        try:
            ds.move_deal(other, sales["hooli"], "Proposal", user="bob")
        finally:
            other.close()
        await press(pilot, "u")
        assert isinstance(app.screen, ReasonScreen)
        assert ds.get_deal(db, sales["umbrella"]).status == "won"  # nothing happened yet
        await pilot.press(*"CEO asked")
        await press(pilot, "enter")
        umbrella = ds.get_deal(db, sales["umbrella"])
        assert (umbrella.status, umbrella.stage_name) == ("open", "Proposal")
        assert any(e.kind == "wip_override" for e in ds.deal_history(db, sales["umbrella"]))
