"""Style codes written as changes (`tuikanban.ui.sgr`): the terminal shows what Textual's own writing shows, cell
for cell, in fewer bytes."""

from __future__ import annotations

import random

import pyte
import pytest
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tuikanban.ui.sgr import PLAIN, UNKNOWN, SgrWriter, look, transition

TITLE = Style(bold=True, color="color(188)", bgcolor="color(16)")
VALUE = Style(color="color(188)", bgcolor="color(16)")
SIGNAL = Style(bold=True, color="color(179)", bgcolor="color(16)")
BADGE = Style(bold=True, reverse=True, color="color(167)", bgcolor="color(16)")


def test_transitions_write_only_what_changes() -> None:
    c = ColorSystem.EIGHT_BIT
    title, value, signal, badge = (look(s, c) for s in (TITLE, VALUE, SIGNAL, BADGE))
    assert transition(PLAIN, value) == "\x1b[38;5;188;48;5;16m"
    assert transition(UNKNOWN, value) == "\x1b[0;38;5;188;48;5;16m"  # a frame's first: reset, the whole style
    assert transition(title, value) == "\x1b[22m"  # bold ends, the colours stay
    assert transition(value, signal) == "\x1b[1;38;5;179m"
    assert transition(signal, badge) == "\x1b[7;38;5;167m"
    assert transition(badge, value) == "\x1b[22;27;38;5;188m"  # two ends and a colour
    assert transition(badge, look(Style(color="color(188)", bgcolor="color(17)"), c)) == "\x1b[0;38;5;188;48;5;17m"
    assert transition(value, value) == ""
    assert transition(value, PLAIN) == "\x1b[0m"
    assert transition(value, look(Style(color="color(188)"), c)) == "\x1b[49m"
    dim_bold = look(Style(bold=True, dim=True, color="color(188)"), c)
    # 22 ends both bold and dim: dim is set again
    assert transition(dim_bold, look(Style(dim=True, color="color(188)"), c)) == "\x1b[22;2m"


def test_a_card_line_costs_less() -> None:
    line = [Segment("  Deal 396… ", TITLE), Segment("$7.13k ", VALUE), Segment("◌→ ", SIGNAL),
            Segment("75d", BADGE), Segment(" ", VALUE)]
    textual = _textual(line, ColorSystem.EIGHT_BIT)
    sgr = SgrWriter(ColorSystem.EIGHT_BIT)
    ours = sgr.write(line) + sgr.end()
    assert ours == ("\x1b[0;1;38;5;188;48;5;16m  Deal 396… \x1b[22m$7.13k \x1b[1;38;5;179m◌→ \x1b[7;38;5;167m75d"
                    "\x1b[22;27;38;5;188m \x1b[0m")
    assert (len(ours.encode()), len(textual.encode())) == (107, 155)  # the first line of a frame: the least saved


def _textual(line: list[Segment], system: ColorSystem) -> str:
    """What Textual writes for `line` (`Strip.render`, for one colour system)."""
    return "".join(Strip.render_style(s.style, s.text, system) if s.style else s.text for s in line)


def _screen(data: str, width: int) -> list[list[object]]:
    screen = pyte.Screen(width, 3)
    pyte.Stream(screen).feed(data)
    return [[screen.buffer[y][x] for x in range(width)] for y in range(3)]


COLORS = [None, "default", "#d7d7d7", "#000000", "#d75f5f", "#123456", "red", "color(33)"]


def _random_style(rng: random.Random) -> Style | None:
    if rng.random() < 0.1:
        return None
    return Style(bold=rng.choice([None, True, False]), dim=rng.choice([None, True]), italic=rng.choice([None, True]),
                 underline=rng.choice([None, True]), reverse=rng.choice([None, True]),
                 strike=rng.choice([None, True]), blink=rng.choice([None, True]),
                 color=rng.choice(COLORS), bgcolor=rng.choice(COLORS))


@pytest.mark.parametrize("system", [ColorSystem.EIGHT_BIT, ColorSystem.TRUECOLOR, ColorSystem.STANDARD])
def test_the_terminal_shows_the_same_cells(system: ColorSystem) -> None:
    """Random lines of random styles, written Textual's way and ours, into a terminal emulator: the same cells
    (character, colours, bold, italics, underline, strike, reverse, blink) on each line, over three lines written
    one after another with cursor moves between (the style carries over)."""
    rng = random.Random(7)
    for _ in range(200):
        lines = [[Segment(rng.choice(["ab", " ", "  x ", "中", "—"]), _random_style(rng))
                  for _ in range(rng.randint(1, 8))] for _ in range(3)]
        textual, ours = [], []
        sgr = SgrWriter(system)
        for y, line in enumerate(lines):
            move = f"\x1b[{y + 1};1H"
            textual.append(move + _textual(line, system))
            ours.append(move + sgr.write(line))
        ours.append(sgr.end())
        assert _screen("".join(ours), 40) == _screen("".join(textual), 40)
        assert sgr.state == PLAIN
