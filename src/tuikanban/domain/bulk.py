"""Bulk actions on a set of marked deals: the batch WIP rule and the results, as plain values (see docs/RULES.md,
Bulk actions)."""

from __future__ import annotations

from dataclasses import dataclass

from tuikanban.domain import wip


@dataclass(frozen=True)
class DealOutcome:
    """What a bulk action did to one deal: `done`, or `skipped` with one sentence saying why."""

    deal_id: int
    title: str
    done: bool
    why: str = ""


@dataclass(frozen=True)
class BulkResult:
    """The outcome of one bulk action (one transaction): every deal's result, and whether a WIP limit was forced."""

    action: str
    outcomes: tuple[DealOutcome, ...]
    forced: bool = False
    batch_id: int | None = None  # the id of the batch's first event (the others point at it)

    @property
    def done(self) -> tuple[DealOutcome, ...]:
        return tuple(o for o in self.outcomes if o.done)

    @property
    def skipped(self) -> tuple[DealOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.done)

    def summary(self) -> str:
        """One sentence for the board and the CLI: how many deals, and why the others were left."""
        n = len(self.done)
        text = f"{self.action.capitalize()}: {n} deal{'s' if n != 1 else ''}"
        if self.forced:
            text += " (WIP limit overridden)"
        if self.skipped:
            reasons = "; ".join(f"'{o.title}' {o.why}" for o in self.skipped[:3])
            more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
            text += f"; {len(self.skipped)} left as they were ({reasons}{more})"
        return text + "."


def admits_batch(count: int, entering: int, limit: int | None) -> bool:
    """Whether `entering` deals may all enter a stage holding `count` open deals: the batch as a whole must fit."""
    return limit is None or count + entering <= limit


def batch_refusal(stage: str, count: int, limit: int, entering: int, owner: str | None = None) -> str:
    """The one sentence refusing a batch that does not fit, e.g. `Proposal has room for 2 more deals (3/5);
    moving 20 at once is refused as a whole`; for one deal, the sentence of a single move."""
    if entering == 1:
        return wip.refusal(stage, count, limit, owner)
    room = max(0, limit - count)
    whose = f" for {owner}" if owner is not None else ""
    return (f"{stage} has room for {room} more deal{'s' if room != 1 else ''}{whose} ({count}/{limit}); moving "
            f"{entering} at once is refused as a whole")


__all__ = ["BulkResult", "DealOutcome", "admits_batch", "batch_refusal"]
