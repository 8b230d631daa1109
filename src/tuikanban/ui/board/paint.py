"""Repaint only the cells that changed: a Line-API widget that keeps the lines it last drew.

Textual writes to the terminal every cell of the regions marked dirty; `Widget.refresh()` with no region marks the
whole widget, so a board of 160x45 cells would send every line again (about 18 KB) for a focus move that changes
two cards. `ChangedLines` keeps the strips it drew; a plain `refresh()` (data changed) builds every line again
(cheap: only the lines on screen), compares each with what is on the terminal, and marks dirty only the lines that
differ, from their first to their last changed cell (`Widget.refresh(*regions)`). Textual 8 writes a dirty line
from the start of the widget's line up to the region's end (it does not crop to the region's left edge; the board
makes it start at the segment that holds the region's start, `textual_seam.write_from_span_start`), so one region
a line. Over SSH a focus move then costs
a few hundred bytes, and a repaint that changes nothing (a clock tick, a re-read that found the same) costs none.
The comparison skips the segments two lines share at both ends, then finds the first and last changed cell
between them (`changed_extent`: the text compared in slices and the styles run by run; cell by cell only around
a wide character).

Every strip is also made `compact` before it is drawn: Textual writes a full set of style codes (about 20 bytes)
for each segment, so runs of blanks take the style of their neighbour when they look the same (a space shows
only its background), and neighbours of one style are joined. Only on a terminal: without one (tests, SVG
screenshots) the strips are drawn as built, since an SVG renderer places a run of text that starts with blanks a
little differently from separate runs, and the screenshots would change for nothing.

A change of size or style (a theme, the focus pseudo-class) repaints everything, as before. Subclasses draw with
`build_line(y)` instead of `render_line(y)`, and call `refresh()` whenever what they show may have changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

MERGE_GAP = 8  # unchanged cells between two changed runs that are sent anyway (a cursor move costs about this)

Cell = tuple[str | None, Style | None]


def cells_of(strip: Iterable[Segment]) -> list[Cell]:
    """One (character, style) per terminal cell; the second cell of a wide character is (None, style)."""
    out: list[Cell] = []
    for segment in strip:
        text, style, control = segment.text, segment.style, segment.control
        if control:
            continue
        if cell_len(text) == len(text):
            out.extend((ch, style) for ch in text)
            continue
        for ch in text:
            out.append((ch, style))
            out.extend([(None, style)] * (get_character_cell_size(ch) - 1))
    return out


def _same_ends(a: list[Segment], b: list[Segment], same_length: bool) -> tuple[int, int, int]:
    """(segments, cells) of the run of equal segments `a` and `b` start with, and the segments of the run they end
    with (lines of the same length only): the cells between are the only ones to compare one by one."""
    n = min(len(a), len(b))
    head = head_cells = 0
    while head < n and a[head] == b[head]:
        head_cells += cell_len(a[head].text)
        head += 1
    tail = 0
    while same_length and tail < n - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, head_cells, tail


def changed_spans(old: Strip, new: Strip, width: int, gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """The runs of cells (start, end) where `new` differs from `old`, runs closer than `gap` cells merged."""
    if old is new:
        return []
    old_segments, new_segments = list(old), list(new)
    if old_segments == new_segments:
        return []
    # Lines built from the same pieces share their first and last segments (a card move changes two columns of
    # six): those are skipped whole, and only the cells between are compared one by one.
    head, x0, tail = _same_ends(old_segments, new_segments, old.cell_length == new.cell_length)
    a = cells_of(old_segments[head:len(old_segments) - tail])
    b = cells_of(new_segments[head:len(new_segments) - tail])
    n = min(width - x0, max(len(a), len(b)))
    spans: list[tuple[int, int]] = []
    x = 0
    while x < n:
        if x < len(a) and x < len(b) and a[x] == b[x]:
            x += 1
            continue
        start = x
        while start > 0 and ((start < len(b) and b[start][0] is None) or (start < len(a) and a[start][0] is None)):
            start -= 1  # never begin inside a wide character
        end = x + 1
        while end < n and not (end < len(a) and end < len(b) and a[end] == b[end]):
            end += 1
        if spans and start - spans[-1][1] < gap:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        x = end
    return [(x0 + start, x0 + end) for start, end in spans]


def _runs(segments: list[Segment]) -> list[tuple[int, Style | None]]:
    """(end cell, style) of each segment with text, in order (single-cell text only: see `changed_extent`)."""
    out: list[tuple[int, Style | None]] = []
    x = 0
    for segment in segments:
        if segment.text and not segment.control:
            x += len(segment.text)
            out.append((x, segment.style))
    return out


def _first_style_change(a: list[tuple[int, Style | None]], b: list[tuple[int, Style | None]], n: int) -> int:
    """The first cell before `n` whose style differs between the runs `a` and `b` (`n`: none)."""
    i = j = x = 0
    while x < n and i < len(a) and j < len(b):
        sa, sb = a[i][1], b[j][1]
        if sa is not sb and sa != sb:
            return x
        x = min(a[i][0], b[j][0])
        if a[i][0] == x:
            i += 1
        if b[j][0] == x:
            j += 1
    return n


def _last_style_change(a: list[tuple[int, Style | None]], b: list[tuple[int, Style | None]], n: int) -> int:
    """The last cell before `n` whose style differs between the runs `a` and `b` (both `n` cells long or more);
    -1: none."""
    i, j, x = len(a) - 1, len(b) - 1, n
    while x > 0 and i >= 0 and j >= 0:
        start_a = a[i - 1][0] if i else 0
        start_b = b[j - 1][0] if j else 0
        if start_a >= x:
            i -= 1
            continue
        if start_b >= x:
            j -= 1
            continue
        sa, sb = a[i][1], b[j][1]
        if sa is not sb and sa != sb:
            return x - 1
        x = max(start_a, start_b)
    return -1


def _common_prefix(a: str, b: str, n: int) -> int:
    """How many of the first `n` characters `a` and `b` share (compared in slices, not one by one)."""
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _common_suffix(a: str, b: str, n: int) -> int:
    """How many of the last characters of `a[:n]` and `b[:n]` they share."""
    return _common_prefix(a[:n][::-1], b[:n][::-1], n)


def changed_extent(old: Strip, new: Strip, width: int) -> tuple[int, int] | None:
    """(first, last + 1) of the cells where `new` differs from `old`: the first span's start and the last span's
    end of `changed_spans` (None when it has none), found without building a list of cells when no character of
    the cells to compare is wide (comparing their text in slices and their styles run by run)."""
    if old is new:
        return None
    old_segments, new_segments = list(old), list(new)
    if old_segments == new_segments:
        return None
    head, x0, tail = _same_ends(old_segments, new_segments, old.cell_length == new.cell_length)
    a_segments = old_segments[head:len(old_segments) - tail]
    b_segments = new_segments[head:len(new_segments) - tail]
    a_text = "".join(s.text for s in a_segments if not s.control)
    b_text = "".join(s.text for s in b_segments if not s.control)
    if cell_len(a_text) != len(a_text) or cell_len(b_text) != len(b_text):  # a wide character: cell by cell
        spans = changed_spans(old, new, width)
        return (spans[0][0], spans[-1][1]) if spans else None
    a_runs, b_runs = _runs(a_segments), _runs(b_segments)
    la, lb = len(a_text), len(b_text)
    n = min(width - x0, max(la, lb))
    both = min(la, lb, n)  # cells both lines have (beyond them, a cell only one has differs)
    first = min(_common_prefix(a_text, b_text, both), _first_style_change(a_runs, b_runs, both))
    if first >= both:
        if both >= n:
            return None
        first = both
    if max(la, lb) > both and n > both:
        last = n - 1
    else:
        last = max(both - 1 - _common_suffix(a_text, b_text, both), _last_style_change(a_runs, b_runs, both))
    return x0 + first, x0 + last + 1


def _plain(style: Style | None) -> bool:
    """Whether blanks in `style` show nothing but its background (no line through, under or over, no reverse)."""
    return style is not None and not (style.underline or style.underline2 or style.strike or style.overline
                                      or style.reverse or style.link or style.meta)


_NOT_PLAIN: Any = object()  # what `_blank_look` says of a style in which a blank shows more than a background
# id(style) -> (the style, what a blank in it looks like): a board draws with a few dozen styles, held by its
# style map, so the same objects come back line after line (the entry holds its style: an id is never reused
# while it is here)
_LOOKS: dict[int, tuple[Style | None, Any]] = {}
_LOOKS_MAX = 512


def _blank_look(style: Style | None) -> Any:
    """What a blank cell in `style` shows: its background colour (None: the terminal's) when `_plain`, else
    `_NOT_PLAIN`; kept per style object, as `compact` asks it for every segment of every line."""
    hit = _LOOKS.get(id(style))
    if hit is not None and hit[0] is style:
        return hit[1]
    look = style.bgcolor if style is not None and _plain(style) else _NOT_PLAIN
    if len(_LOOKS) >= _LOOKS_MAX:
        _LOOKS.clear()
    _LOOKS[id(style)] = (style, look)
    return look


def compact(strip: Strip) -> Strip:
    """`strip` drawn with fewer segments and the same look: blanks take a neighbour's style when only the
    background shows, and neighbours of one style are joined."""
    out: list[Segment] = []
    # the last segment kept, in parts (text, style, control, is it blank, what a blank in its style shows):
    # each segment is looked at once, and a style's look once per style (`_blank_look`)
    last_text, last_style, last_control, last_blank, last_look = "", None, True, False, _NOT_PLAIN
    for segment in strip:
        text, style, control = segment
        if control:
            if out and not last_control:
                out[-1] = Segment(last_text, last_style)
            out.append(segment)
            last_control = True
            continue
        blank = not text.strip(" ")
        look = _blank_look(style)
        if out and not last_control:
            if last_style is style or last_style == style or (
                    blank and look is not _NOT_PLAIN and last_look is not _NOT_PLAIN and look == last_look):
                last_text += text
                last_blank = last_blank and blank
                continue
            if last_blank and look is not _NOT_PLAIN and last_look is not _NOT_PLAIN and look == last_look:
                last_text += text
                last_style, last_blank, last_look = style, blank, look
                continue
            out[-1] = Segment(last_text, last_style)
        out.append(segment)
        last_text, last_style, last_control, last_blank, last_look = text, style, False, blank, look
    if out and not last_control:
        out[-1] = Segment(last_text, last_style)
    return Strip(out, strip.cell_length)


class ChangedLines(Widget):
    """A Line-API widget whose plain `refresh()` repaints only the cells that changed (see the module)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawn: dict[int, Strip] = {}  # y -> the strip on the terminal (or about to be)
        self._drawn_size: Size | None = None
        self._diff_due = False

    def build_line(self, y: int) -> Strip:  # pragma: no cover - subclasses draw
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        if self.size != self._drawn_size:
            self._drawn.clear()
            self._drawn_size = self.size
        strip = self._drawn.get(y)
        if strip is None:
            strip = self._drawn[y] = self.finish_line(self.build_line(y))
        return strip

    def finish_line(self, strip: Strip) -> Strip:
        """What is drawn of a built line: `compact` on a terminal, as built without one."""
        return strip if self.app.is_headless else compact(strip)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn.clear()  # every line is drawn again with the new styles
        super().refresh()

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Any:
        if regions or layout or recompose or not repaint:
            return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        if not self._drawn or self.size != self._drawn_size:
            self._drawn.clear()
            return super().refresh()
        if not self._diff_due:
            self._diff_due = True
            self.call_later(self._repaint_changes)
        return self

    def repaint_all(self) -> None:
        """Draw every line again (what a plain `refresh()` of any other widget does)."""
        self._drawn.clear()
        super().refresh()

    def _repaint_changes(self) -> None:
        self._diff_due = False
        if not self._drawn or self.size != self._drawn_size:
            self.repaint_all()
            return
        width, height = self.size
        regions: list[Region] = []
        for y in range(height):
            new = self.finish_line(self.build_line(y))
            old = self._drawn.get(y)
            self._drawn[y] = new
            if old is None:
                regions.append(Region(0, y, width, 1))
                continue
            extent = changed_extent(old, new, width)
            if extent:  # one region a line: Textual writes each region's line from its start anyway
                regions.append(Region(extent[0], y, extent[1] - extent[0], 1))
        if regions:
            super().refresh(*regions)
