"""How a stay ends (docs/RULES.md, Stays): the pure rule that deals, imports and the demo all use."""

from __future__ import annotations

from tuikanban.domain.stays import close_outcome, move_outcome, visit_outcomes


def test_a_move_to_a_later_stage_advances_and_a_move_back_drops() -> None:
    assert move_outcome(1, 2) == "advanced"
    assert move_outcome(0, 3) == "advanced"
    assert move_outcome(2, 1) == "dropped"


def test_won_advances_and_lost_drops() -> None:
    assert close_outcome("won") == "advanced"
    assert close_outcome("lost") == "dropped"


def test_every_visit_of_a_deal_gets_its_outcome() -> None:
    # stages 0 -> 1 -> 0 -> 2, then lost: advanced, dropped, advanced, then the last stay ends with the loss
    assert visit_outcomes([0, 1, 0, 2], "lost") == ["advanced", "dropped", "advanced", "dropped"]
    # still open: the current stay has no outcome yet
    assert visit_outcomes([0, 1], "open") == ["advanced", None]
    assert visit_outcomes([3], "won") == ["advanced"]
    assert visit_outcomes([], "open") == []
