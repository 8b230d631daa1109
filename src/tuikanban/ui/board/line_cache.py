"""The board view's drawing caches: each column's piece of a line, and whole lines, by what they show.

A piece (a column's part of one line of the board) is named by a key holding everything it shows: the card itself
(frozen), its width, focus, mark, aging level and marks, next step and density. A line is named by its pieces'
keys, so a line whose pieces are all as before is the very strip drawn before: the repaint's comparison and the
terminal's compacting cost nothing for it (docs/PERFORMANCE.md, Bulk actions and compact cards). A changed card or
mark misses by itself; what no key holds (the styles, the clock) clears the caches (`LineCache.clear`), and they
start again past CACHE_MAX entries.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tuikanban.store.fastread import BoardCard
from tuikanban.ui.board.card import card_line, compact_line, empty_line, fit

if TYPE_CHECKING:
    from tuikanban.domain.tasks import NextStep

# Entries the drawing caches keep before they start again (a screen holds about 45 lines of 6 parts; scrolling
# through a column adds a few hundred more): bounds the memory, never the correctness.
CACHE_MAX = 4096

Part = list[Segment]
Piece = tuple[Hashable, Callable[[], Part]]  # (key, how to build it)
K = TypeVar("K")
V = TypeVar("V")


class LineCache:
    """Pieces and lines drawn before, and what `finish_line` made of each cached line."""

    def __init__(self) -> None:
        self.parts: dict[Hashable, Part] = {}  # a column's piece of one line
        self.lines: dict[tuple[Hashable, ...], Strip] = {}  # a whole line, by its parts' keys
        self.finished: dict[int, tuple[Strip, Strip]] = {}  # id(a cached line) -> (it, what finish_line makes)

    def clear(self) -> None:
        """Drop every piece and line (new styles, a new day count): the next frame builds them again."""
        self.parts.clear()
        self.lines.clear()
        self.finished.clear()

    def part(self, key: Hashable, build: Callable[[], Part]) -> Part:
        part = self.parts.get(key)
        return part if part is not None else self._remember(self.parts, key, build())

    def line(self, key: tuple[Hashable, ...], pieces: list[Piece], join: Callable[[list[Part]], Strip],
             finish: Callable[[Strip], Strip]) -> Strip:
        """The line of `pieces` (named `key`): the cached strip, or one joined from the pieces (each cached)."""
        strip = self.lines.get(key)
        if strip is None:
            parts = [self.part(k, build) for k, build in pieces]
            strip = self._remember(self.lines, key, join(parts))
            self.finished[id(strip)] = (strip, finish(strip))  # as many as lines, cleared with them
        return strip

    def finished_of(self, strip: Strip) -> Strip | None:
        """What `finish_line` made of `strip` when it is a cached line (None otherwise)."""
        done = self.finished.get(id(strip))
        return done[1] if done is not None and done[0] is strip else None

    def _remember(self, cache: dict[K, V], key: K, value: V) -> V:
        if len(cache) >= CACHE_MAX:
            self.clear()
        cache[key] = value
        return value


def blank_piece(w: int, style: Style) -> Piece:
    return ("blank", w), lambda: [Segment(" " * w, style)]


def indicator_piece(text: str, w: int, styles: dict[str, Style]) -> Piece:
    return ("indicator", text, w), lambda: [Segment(fit(text, w), styles["indicator"])]


def empty_piece(line: int, w: int, styles: dict[str, Style], focused: bool, label: str | None) -> Piece:
    if label is None:
        return ("empty", line, w, focused), lambda: empty_line(line, w, styles, focused=focused)
    return ("empty", line, w, focused, label), lambda: empty_line(line, w, styles, focused=focused, label=label)


def card_piece(card: BoardCard, line: int, w: int, *, compact: bool, now: datetime, styles: dict[str, Style],
               focused: bool, level: str | None, marks: str, marked: bool, show_type: bool,
               step: NextStep | None) -> Piece:
    """Content line `line` (1..3; compact: 1) of `card`, `w` cells wide, and its key: every input it is drawn from
    (the clock and the styles clear the cache instead)."""
    if compact:
        key: Hashable = ("compact", card, w, focused, level, marks, marked)
        return key, partial(compact_line, card, width=w, now=now, styles=styles, focused=focused, level=level,
                            marks=marks, marked=marked)
    key = ("card", card, line, w, focused, level, marks, marked, show_type, step)
    return key, partial(card_line, card, line=line - 1, width=w, now=now, styles=styles, focused=focused,
                        level=level, marks=marks, marked=marked, show_type=show_type, step=step)
