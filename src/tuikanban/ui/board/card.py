"""A deal card as three lines of segments, built from plain data (no widget per card).

User text is shown literally: it goes into `Segment`s as plain strings after `domain.text.display()`, never
through markup.
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.store.fastread import BoardCard

CARD_LINES = 3  # content lines of a card
CARD_H = CARD_LINES + 1  # plus the spacer line above it
MARKED = "✓"  # drawn before the title of a card marked for a bulk action
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


def close_text(card: BoardCard, now: datetime) -> str:
    """`close Mar 11` this year (by the app's clock), `close Jan 11 2027` in any other."""
    when = card.expected_close
    if when is None:
        return ""
    year = "" if when.year == now.year else f" {when.year}"
    return f"close {when:%b} {when.day}{year}"


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
) -> list[Segment]:
    """One content line (0, 1 or 2) of a card `width` cells wide.

    `styles` holds full styles (background included) for: card, edge, title, card-muted, value, signal, days-ok,
    days-aging, days-stalled (each also as `NAME-focus`). A `marked` card (for a bulk action) has a tick before its
    title. `level` is the deal's aging level (ok, aging, stalled) or
    None while it is not known; `marks` are its risk signals' marks (domain.aging.signal_marks), drawn before the
    days-in-stage badge on the first line (left out when the card is too narrow for them and some title).
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
    left, right = two_sided(f"@{owner}" if owner else "unassigned", extra, inner)
    return [edge, Segment(" ", base), Segment(left, styles["card-muted" + suffix]),
            Segment(right, styles["card-muted" + suffix]), Segment(" ", base)]


def compact_line(card: BoardCard, *, width: int, now: datetime, styles: dict[str, Style], focused: bool,
                 level: str | None, marks: str = "", marked: bool = False) -> list[Segment]:
    """A card as one line (compact density): title, then value, risk marks and days in stage on the right (the
    marks are dropped before the title gets shorter than MIN_TITLE)."""
    suffix = "-focus" if focused else ""
    base = styles["card" + suffix]
    edge = Segment("▌" if focused else " ", styles["edge" + suffix])
    inner = width - 3
    if inner <= 0:
        return [Segment(" " * max(0, width), base)]
    lead = Segment(MARKED if marked else " ", styles["title" + suffix] if marked else base)
    value = format_money(card.value_minor, card.currency, compact=True) if card.value_minor else ""
    badge = days_badge(days_in_stage(card, now))
    if marks and cell_len(f"{value} {marks} {badge}") + 1 + MIN_TITLE > inner:
        marks = ""
    parts = [(text, style) for text, style in ((value, styles["value" + suffix]), (marks, styles["signal" + suffix]),
                                               (badge, styles[f"days-{level or 'ok'}{suffix}"])) if text]
    left, right = two_sided(display(card.title), " ".join(text for text, _style in parts), inner)
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
