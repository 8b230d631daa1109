"""WIP limit rules: pure functions over counts and limits (see docs/RULES.md, WIP limits)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from tuikanban.domain.errors import ValidationError, WipLimitError
from tuikanban.domain.text import clean_text


class WipState(StrEnum):
    OK = "ok"
    UNDER = "under"  # below wip_min
    AT_LIMIT = "at_limit"  # count == wip_max
    OVER = "over"  # count > wip_max (limit lowered below the count, or a forced entry)


def wip_state(count: int, wip_max: int | None, wip_min: int | None = None) -> WipState:
    if wip_max is not None and count > wip_max:
        return WipState.OVER
    if wip_max is not None and count == wip_max:
        return WipState.AT_LIMIT
    if wip_min is not None and count < wip_min:
        return WipState.UNDER
    return WipState.OK


def counter_text(count: int, wip_max: int | None) -> str:
    """`count/max`, or just `count` when the stage has no limit."""
    return f"{count}/{wip_max}" if wip_max is not None else str(count)


def admits(count: int, limit: int | None) -> bool:
    """Whether one more deal may enter: refused at or over the limit."""
    return limit is None or count < limit


def refusal(stage: str, count: int, limit: int, owner: str | None = None) -> str:
    if owner is not None:
        return f"{stage} is at its per-rep WIP limit for {owner} ({count}/{limit})"
    return f"{stage} is at its WIP limit ({count}/{limit})"


def check_entry(stage: str, wip_max: int | None, rep_wip_max: int | None, owner: str,
                count: Callable[[str | None], int], *, force_reason: str | None) -> bool:
    """Refuse a deal entering `stage` at a WIP limit unless forced with a reason; returns whether an override is
    used. `count(None)` counts the stage's open deals, `count(owner)` the owner's (each asked only when its limit
    is set). Every writer (ORM sessions and the command line's DB-API writes) calls this one rule."""
    problems: list[tuple[str, int, int, bool]] = []
    if wip_max is not None:
        n = count(None)
        if not admits(n, wip_max):
            problems.append((refusal(stage, n, wip_max), n, wip_max, False))
    if rep_wip_max is not None and owner:
        n = count(owner)
        if not admits(n, rep_wip_max):
            problems.append((refusal(stage, n, rep_wip_max, owner), n, rep_wip_max, True))
    if not problems:
        return False
    if force_reason is None:
        msg, n, limit, per_owner = problems[0]
        raise WipLimitError(msg, stage=stage, count=n, limit=limit, per_owner=per_owner)
    if not clean_text(force_reason).strip():
        raise ValidationError("A forced move past a WIP limit needs a reason.")
    return True


def validate_limits(
    wip_max: int | None, wip_min: int | None, rep_wip_max: int | None, *, stage: str = "the stage"
) -> None:
    for label, value in (("WIP max", wip_max), ("WIP min", wip_min), ("per-rep WIP max", rep_wip_max)):
        if value is not None and value < 0:
            raise ValidationError(f"The {label} of {stage} cannot be negative ({value}).")
    if wip_max is not None and wip_min is not None and wip_min > wip_max:
        raise ValidationError(f"The WIP min of {stage} ({wip_min}) is greater than its WIP max ({wip_max}).")


def validate_probability(probability: int, *, stage: str = "the stage") -> None:
    if not 0 <= probability <= 100:
        raise ValidationError(f"The probability of {stage} must be between 0 and 100, not {probability}.")
