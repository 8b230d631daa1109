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
The comparison skips the segments two lines share at both ends before comparing cell by cell.

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


def _plain(style: Style | None) -> bool:
    """Whether blanks in `style` show nothing but its background (no line through, under or over, no reverse)."""
    return style is not None and not (style.underline or style.underline2 or style.strike or style.overline
                                      or style.reverse or style.link or style.meta)


def _blank(text: str) -> bool:
    return text.strip(" ") == ""


def _same_blank(a: Style | None, b: Style | None) -> bool:
    return _plain(a) and _plain(b) and a is not None and b is not None and a.bgcolor == b.bgcolor


def compact(strip: Strip) -> Strip:
    """`strip` drawn with fewer segments and the same look: blanks take a neighbour's style when only the
    background shows, and neighbours of one style are joined."""
    out: list[Segment] = []
    for segment in strip:
        text, style, control = segment.text, segment.style, segment.control
        if control:
            out.append(segment)
            continue
        if out and not out[-1].control:
            last = out[-1]
            if last.style == style or (_blank(text) and _same_blank(last.style, style)):
                out[-1] = Segment(last.text + text, last.style)
                continue
            if _blank(last.text) and _same_blank(last.style, style):
                out[-1] = Segment(last.text + text, style)
                continue
        out.append(Segment(text, style))
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
            spans = changed_spans(old, new, width)
            if spans:  # one region a line: Textual writes each region's line from its start anyway
                regions.append(Region(spans[0][0], y, spans[-1][1] - spans[0][0], 1))
        if regions:
            super().refresh(*regions)
