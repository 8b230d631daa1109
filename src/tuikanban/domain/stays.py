"""How a stay in a stage ends (see docs/RULES.md, Stays): the one place that says "advanced" or "dropped".

A stay ends when its deal moves to another stage or is closed. It ends *advanced* when the deal moves to a later
stage or is won, *dropped* when it moves back or is lost. An open deal's current stay has no outcome yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

Outcome = Literal["advanced", "dropped"]
OUTCOMES: tuple[Outcome, ...] = ("advanced", "dropped")


def move_outcome(from_position: int, to_position: int) -> Outcome:
    """The outcome of the stay a deal leaves when it moves between two stages (compared by column position)."""
    return "advanced" if to_position > from_position else "dropped"


def close_outcome(status: str) -> Outcome:
    """The outcome of the stay a deal leaves when it is closed: won advances, lost drops."""
    return "advanced" if status == "won" else "dropped"


def visit_outcomes(positions: Sequence[int], status: str) -> list[Outcome | None]:
    """The outcome of each stay of a deal that visited the stages at `positions` in order and now has `status`.

    Every stay but the last ends with a move; the last ends with the close, or is still open (None).
    """
    outcomes: list[Outcome | None] = [move_outcome(a, b) for a, b in pairwise(positions)]
    if positions:
        outcomes.append(None if status == "open" else close_outcome(status))
    return outcomes
