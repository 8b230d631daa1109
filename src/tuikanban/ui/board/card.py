"""A deal card as three lines of segments, built from plain data (no widget per card).

User text is shown literally: it goes into `Segment`s as plain strings after `domain.text.display()`, never
through markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.store.fastread import BoardCard

if TYPE_CHECKING:
    from tuikanban.domain.aging import AgingItem
    from tuikanban.domain.tasks import NextStep

CARD_LINES = 3  # content lines of a card
CARD_H = CARD_LINES + 1  # plus the spacer line above it
MARKED = "✓"  # drawn before the title of a card marked for a bulk action
_WEEK = timedelta(days=6)
MIN_TITLE = 6  # cells of title kept before risk marks are dropped from a narrow card


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells (with an ellipsis when cut) and padded with spaces to exactly `width`."""
    if width <= 0:
        return ""
    n = cell_len(text)
    if n <= width:
        return text + " " * (width - n)
    if width == 1:
        return "…"
    return set_cell_size(text, width - 1) + "…"


def two_sided(left: str, right: str, width: int) -> tuple[str, str]:
    """Left text cut to leave room for the right text (which wins), both padded to fill `width` exactly."""
    right = right[: max(0, width)]
    rw = cell_len(right)
    if rw == 0:
        return fit(left, width), ""
    lw = max(0, width - rw - 1)
    return fit(left, lw) + (" " if width - rw - lw > 0 else ""), right


def days_in_stage(card: BoardCard, now: datetime) -> float:
    return max(0.0, (now - card.stage_entered_at).total_seconds() / 86400.0)


def days_badge(days: float) -> str:
    return f"{int(days)}d"


def short_date(when: date, today: date) -> str:
    """A date in few cells: the weekday within the coming week (`Fri`), `12 Mar` this year, `Mar '27` in another."""
    if today < when <= today + _WEEK:
        return f"{when:%a}"
    if when.year == today.year:
        return f"{when.day} {when:%b}"
    return f"{when:%b} '{when.year % 100:02d}"


def close_text(card: BoardCard, now: datetime) -> str:
    """The expected close date, short (`12 Mar`): the word "close" and this year's number would cost the owner."""
    return short_date(card.expected_close, now.date()) if card.expected_close is not None else ""


def step_text(step: NextStep | None, today: date) -> tuple[str, str]:
    """(text, style name) of a deal's next step on its card: `3d late`, `today`, `Fri` / `12 Mar`; nothing when it
    has none (the risk mark on the first line says so) or while it is not read yet."""
    if step is None:  # (not read yet: the first paint, which imports no task module)
        return "", ""
    from tuikanban.domain.tasks import StepState

    if step.state is StepState.MISSING or step.due is None:
        return "", ""
    if step.state is StepState.OVERDUE:
        return f"{step.days_overdue}d late", "step-late"
    if step.state is StepState.DUE_TODAY:
        return "today", "step-today"
    return "→" + short_date(step.due, today), "card-muted"


def owner_line(owner: str, pieces: list[tuple[str, str]], inner: int) -> tuple[str, list[tuple[str, str]]]:
    """The third line: the owner on the left, `pieces` (text, style) on the right. Pieces are dropped from the end
    until the owner fits whole; only the first (the next step) may cut the owner."""
    pieces = [p for p in pieces if p[0]]
    while len(pieces) > 1 and cell_len(owner) + 1 + cell_len(" ".join(t for t, _s in pieces)) > inner:
        pieces.pop()
    right = cell_len(" ".join(t for t, _s in pieces))
    if right >= inner:
        pieces, right = [], 0
    width = inner - right - (1 if right else 0)
    return fit(owner, width) + (" " if right else ""), pieces


def card_line(
    card: BoardCard,
    *,
    line: int,
    width: int,
    now: datetime,
    styles: dict[str, Style],
    focused: bool,
    level: str | None,
    show_type: bool,
    marks: str = "",
    marked: bool = False,
    step: NextStep | None = None,
) -> list[Segment]:
    """One content line (0, 1 or 2) of a card `width` cells wide.

    `styles` holds full styles (background included) for: card, edge, title, card-muted, value, signal, days-ok,
    days-aging, days-stalled, step-late, step-today (each also as `NAME-focus`). A `marked` card (for a bulk action)
    has a tick before its title. `level` is the deal's aging level (ok, aging, stalled) or
    None while it is not known; `marks` are its risk signals' marks (domain.aging.signal_marks), drawn before the
    days-in-stage badge on the first line (left out when the card is too narrow for them and some title). `step` is
    its next step (None while not read), shown on the third line after the owner (`step_text`).
    """
    suffix = "-focus" if focused else ""
    base = styles["card" + suffix]
    edge = Segment("▌" if focused else " ", styles["edge" + suffix])
    inner = width - 3
    if inner <= 0:
        return [Segment(" " * max(0, width), base)]
    if line == 0:
        lead = Segment(MARKED if marked else " ", styles["title" + suffix] if marked else base)
        badge = days_badge(days_in_stage(card, now))
        badge_style = styles[f"days-{level or 'ok'}{suffix}"]
        title_style = styles["title" + suffix]
        tail = f"{marks} {badge}" if marks else badge
        if marks and cell_len(tail) + MIN_TITLE <= inner:
            left, _right = two_sided(display(card.title), tail, inner)
            return [edge, lead, Segment(left, title_style), Segment(marks, styles["signal" + suffix]),
                    Segment(" ", base), Segment(badge, badge_style), Segment(" ", base)]
        left, right = two_sided(display(card.title), badge, inner)
        return [edge, lead, Segment(left, title_style), Segment(right, badge_style),
                Segment(" ", base)]
    if line == 1:
        value = format_money(card.value_minor, card.currency, compact=True) if card.value_minor else ""
        left, right = two_sided(display(card.company), value, inner)
        return [edge, Segment(" ", base), Segment(left, styles["card-muted" + suffix]),
                Segment(right, styles["value" + suffix]), Segment(" ", base)]
    extra = display(card.type_name) if show_type and card.type_name else close_text(card, now)
    owner = display(card.owner)
    step_t, step_style = step_text(step, now.date())
    left, pieces = owner_line(f"@{owner}" if owner else "unassigned", [(step_t, step_style), (extra, "card-muted")],
                              inner)
    muted = styles["card-muted" + suffix]
    out = [edge, Segment(" ", base), Segment(left, muted)]
    for i, (text, style) in enumerate(pieces):
        out += [Segment(" ", muted)] if i else []
        out.append(Segment(text, styles[style + suffix]))
    return [*out, Segment(" ", base)]


def compact_marks(title: str, value: str, marks: str, badge: str, inner: int) -> str:
    """The risk marks a compact line has room for: the title keeps at least half the line (all of it when shorter,
    never less than MIN_TITLE), so the marks are dropped one at a time, from the last, until it does."""
    want = min(cell_len(title), max(MIN_TITLE, inner // 2))
    while marks and inner - cell_len(" ".join(t for t in (value, marks, badge) if t)) - 1 < want:
        marks = marks[:-1]
    return marks


def compact_line(card: BoardCard, *, width: int, now: datetime, styles: dict[str, Style], focused: bool,
                 level: str | None, marks: str = "", marked: bool = False) -> list[Segment]:
    """A card as one line (compact density): title, then value, risk marks and days in stage on the right (the
    marks make room for the title first: `compact_marks`)."""
    suffix = "-focus" if focused else ""
    base = styles["card" + suffix]
    edge = Segment("▌" if focused else " ", styles["edge" + suffix])
    inner = width - 3
    if inner <= 0:
        return [Segment(" " * max(0, width), base)]
    lead = Segment(MARKED if marked else " ", styles["title" + suffix] if marked else base)
    value = format_money(card.value_minor, card.currency, compact=True) if card.value_minor else ""
    badge = days_badge(days_in_stage(card, now))
    title = display(card.title)
    marks = compact_marks(title, value, marks, badge, inner)
    parts = [(text, style) for text, style in ((value, styles["value" + suffix]), (marks, styles["signal" + suffix]),
                                               (badge, styles[f"days-{level or 'ok'}{suffix}"])) if text]
    left, right = two_sided(title, " ".join(text for text, _style in parts), inner)
    out = [edge, lead, Segment(left, styles["title" + suffix])]
    room = cell_len(right)
    for text, style in parts:
        if room <= 0:
            break
        piece = text[:room]
        out.append(Segment(piece, style))
        room -= cell_len(piece)
        if room > 0:
            out.append(Segment(" ", base))
            room -= 1
    return [*out, Segment(" ", base)]


EMPTY_LABEL = "empty · n adds a deal"
NO_MATCH_LABEL = "no match"


def empty_line(line: int, width: int, styles: dict[str, Style], *, focused: bool,
               label: str = EMPTY_LABEL) -> list[Segment]:
    """The placeholder drawn in the first slot of a focused empty cell (or of a column the filter emptied)."""
    style = styles["empty-focus" if focused else "empty"]
    texts = ("", label, "")
    inner = max(0, width - 3)
    edge = Segment("▌" if focused else " ", styles["edge-focus" if focused else "edge"])
    label = texts[line]
    pad = max(0, inner - cell_len(label))
    body = " " * (pad // 2) + label + " " * (pad - pad // 2)
    return [edge, Segment(" ", style), Segment(fit(body, inner), style), Segment(" ", style)]


# What a card shows of its deal's aging: (the stage it was read in, level, risk marks).
CardAging = tuple[int, str, str]


def card_agings(items: Iterable[AgingItem]) -> dict[int, CardAging]:
    """deal id -> what its card shows, from the aging function's items. Small on purpose (a tuple per open deal,
    mark strings shared): the board keeps it for every open deal, the full items only while the panel is open."""
    from tuikanban.domain.aging import signal_marks  # (read after the first paint, which imports no aging rules)

    marks_of: dict[tuple[str, ...], str] = {}
    out: dict[int, CardAging] = {}
    for item in items:
        marks = marks_of.get(item.signals)
        if marks is None:
            marks = marks_of[item.signals] = signal_marks(item.signals)
        out[item.id] = (item.stage_id, item.level.value, marks)
    return out


def moved_aging(aging: CardAging, stage_id: int) -> CardAging:
    """What a card shows right after a move into `stage_id`, before the aging read confirms it: a move starts a new
    stay (0 days: ok) and is an event (so no_activity goes); the close-date and value signals stay as they were."""
    from tuikanban.domain.aging import NO_ACTIVITY, Level, signal_mark

    return stage_id, Level.OK.value, aging[2].replace(signal_mark(NO_ACTIVITY), "")
