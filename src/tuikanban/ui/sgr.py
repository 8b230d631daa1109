"""Style codes written as changes: a terminal keeps its current style across text and cursor moves.

Textual writes every segment as `ESC[<all of its style>m text ESC[0m`: a reset after each segment, and the whole
style (attributes, foreground and background) again before the next, though neighbours mostly differ in one
thing (a bold title, then a plain value on the same background). On a board line of six styled pieces that is
three quarters of the bytes. `SgrWriter` writes one frame's segments with only what changes between them
(`ESC[22m` to end bold, `ESC[38;5;179m` for a new colour), or a reset and the whole style when that is shorter,
and ends the frame with a reset, so the terminal is left as Textual leaves it. What the terminal shows is the
same cell for cell (tests/test_sgr.py feeds both to a terminal emulator).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

# Rich's attribute bits (Style._attributes) in order, with the code that sets and the one that ends each.
_ON = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "21", "51", "52", "53")
_OFF = ("22", "22", "23", "24", "25", "25", "27", "28", "29", "24", "54", "54", "55")

# A style as the terminal sees it: the attribute bits that are on, the foreground's codes, the background's.
Look = tuple[int, tuple[str, ...], tuple[str, ...]]
PLAIN: Look = (0, (), ())
UNKNOWN: Look = (-1, (), ())  # a frame's start: its first style is written whole, after a reset


def look(style: Style, color_system: ColorSystem) -> Look:
    """What `style` sets on a terminal of `color_system` (the colours as `Strip.render` downgrades them)."""
    bits = style._attributes & style._set_attributes
    color, bgcolor = style._color, style._bgcolor
    fg = tuple(color.downgrade(color_system).get_ansi_codes()) if color is not None else ()
    bg = tuple(bgcolor.downgrade(color_system).get_ansi_codes(False)) if bgcolor is not None else ()
    return bits, fg, bg


def _codes(bits: int) -> list[str]:
    return [_ON[i] for i in range(bits.bit_length()) if bits >> i & 1]


def transition(old: Look, new: Look) -> str:
    """The shortest sequence that takes a terminal from style `old` to `new` ("" when they are the same)."""
    if old == new:
        return ""
    full = "\x1b[" + ";".join(["0", *_codes(new[0]), *new[1], *new[2]]) + "m"
    if old == UNKNOWN:
        return full
    old_bits, new_bits = old[0], new[0]
    ends = {_OFF[i] for i in range(old_bits.bit_length()) if (old_bits & ~new_bits) >> i & 1}
    starts = new_bits & ~old_bits
    for i in range(new_bits.bit_length()):  # an end code shared with a kept attribute (22: bold and dim) ends both
        if new_bits >> i & 1 and _OFF[i] in ends:
            starts |= 1 << i
    codes = sorted(ends, key=_OFF.index) + _codes(starts)
    if new[1] != old[1]:
        codes += new[1] or ("39",)
    if new[2] != old[2]:
        codes += new[2] or ("49",)
    diff = "\x1b[" + ";".join(codes) + "m"
    return diff if len(diff) < len(full) else full


class SgrWriter:
    """Segments of one frame written with style changes only (see the module). Call `end()` once at the end."""

    def __init__(self, color_system: ColorSystem | None) -> None:
        self.color_system = color_system or ColorSystem.TRUECOLOR  # as `Strip.render` does
        self.state: Look = UNKNOWN  # what the terminal holds: unknown until the frame's first style
        self._looks: dict[Style, Look] = {}
        self._moves: dict[tuple[Look, Look], str] = {}

    def _look(self, style: Style) -> Look:
        found = self._looks.get(style)
        if found is None:
            found = self._looks[style] = look(style, self.color_system)
        return found

    def _to(self, new: Look) -> str:
        old = self.state
        if old == new:
            return ""
        move = self._moves.get((old, new))
        if move is None:
            move = self._moves[(old, new)] = transition(old, new)
        self.state = new
        return move

    def write(self, segments: Iterable[Segment]) -> str:
        """`segments` (a strip, or part of one) as terminal output, from the style the last ones left."""
        out: list[str] = []
        append = out.append
        for text, style, _control in segments:
            if style is None:
                append(self._to(PLAIN))
                append(text)
            elif style._link:  # a hyperlink: written as Textual writes it, from and back to a plain style
                append(self._to(PLAIN))
                append(Strip.render_style(style, text, self.color_system))
            else:
                append(self._to(self._look(style)))
                append(text)
        return "".join(out)

    def end(self) -> str:
        """Back to the terminal's plain style (as Textual leaves it after every segment)."""
        if self.state in (UNKNOWN, PLAIN):
            return ""
        self.state = PLAIN
        return "\x1b[0m"
