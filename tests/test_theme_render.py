"""Every bundled theme renders the real board; a broken user theme file is reported and skipped.

The board here is the real `TuikanbanApp` on a small database built with the services:

    pipeline "Sales", no deal types (one lane), stages and open deals:
      Lead       no limit   1 deal   "Acme pilot"         counter "1"
      Qualified  wip_max 5  1 deal   "Globex renewal"     counter "1/5" (below the limit: muted)
      Proposal   wip_max 2  2 deals  "Initech rollout",   counter "2/2" (at the limit: $tk-wip-limit)
                                     "Hooli expansion"

The WIP colour is read from what reaches the screen: the SVG screenshot, where each run of text carries a CSS class
whose `fill` is its colour. The expected colour comes from the theme file itself.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

import pytest
from textual.color import Color

from board_helpers import settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui import themes as th
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.view import BoardView

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

SIZE = (100, 24)
REPO_THEMES = Path(__file__).resolve().parent.parent / "themes"
BUNDLED = sorted(p.stem for p in REPO_THEMES.glob("*.toml"))
STAGES = ("Lead", "Qualified", "Proposal")


@pytest.fixture
def sales(db: Database, fixed_now: str) -> int:
    p = ps.create_pipeline(db, "Sales", list(STAGES))
    ps.set_stage(db, p.id, "Qualified", wip_max=5)
    ps.set_stage(db, p.id, "Proposal", wip_max=2)
    for title, stage in (("Acme pilot", "Lead"), ("Globex renewal", "Qualified"),
                         ("Initech rollout", "Proposal"), ("Hooli expansion", "Proposal")):
        ds.create_deal(db, p.id, title, user="tester", stage=stage, value="1000", at="2026-02-20")
    return p.id


# -- helpers -------------------------------------------------------------------------------------------------------




def board_text(app: TuikanbanApp) -> str:
    view = app.board_screen.query_one("#board", BoardView)
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


_TEXT = re.compile(r'<text class="([^"]+)"[^>]*>([^<]*)</text>')
_FILL = re.compile(r"\.([\w-]+) \{ fill: (#[0-9a-fA-F]{6})")


def svg_runs(svg: str) -> list[tuple[str, str]]:
    """(text, fill colour) of every run of text in a Rich SVG screenshot."""
    fills = dict(_FILL.findall(svg))
    return [(html.unescape(text).replace("\xa0", " "), fills.get(cls, "")) for cls, text in _TEXT.findall(svg)]


def fill_of(svg: str, text: str) -> Color:
    """The colour of the one run of text that reads `text` (surrounding spaces ignored)."""
    found = [fill for run, fill in svg_runs(svg) if run.strip() == text]
    assert len(found) == 1, f"expected one run reading {text!r}, found {len(found)}"
    return Color.parse(found[0])


def _luminance(c: Color) -> float:
    def channel(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def contrast(a: Color, b: Color) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def card_text_colours(app: TuikanbanApp, text: str) -> tuple[Color, Color]:
    """(foreground, background) of the segment of the board that shows `text` (a card title)."""
    view = app.board_screen.query_one("#board", BoardView)
    for y in range(view.size.height):
        for seg in view.render_line(y):
            if text in seg.text and seg.style is not None and seg.style.color and seg.style.bgcolor:
                fg, bg = seg.style.color.get_truecolor(), seg.style.bgcolor.get_truecolor()
                return Color(*fg), Color(*bg)
    raise AssertionError(f"{text!r} is not on the board with both colours set")


def expected_wip_limit(name: str) -> Color:
    """The theme file's tk-wip-limit, or its error colour (the documented default) when the file leaves it out."""
    theme = th.load_theme_file(REPO_THEMES / f"{name}.toml")
    value = theme.variables.get("tk-wip-limit") or theme.error
    assert value is not None
    return Color.parse(value)


def record_notifications(app: TuikanbanApp) -> list[tuple[str, str]]:
    """(message, severity) of every notification from now on (install before run_test: on_mount notifies)."""
    seen: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, *, title: str = "", severity: Any = "information", timeout: Any = None,
               markup: bool = True) -> None:
        seen.append((message, str(severity)))
        original(message, title=title, severity=severity, timeout=timeout, markup=markup)

    app.notify = notify
    return seen


# -- every bundled theme ---------------------------------------------------------------------------------------------


def test_the_bundled_themes_are_the_files() -> None:
    themes, problems = th.load_themes()
    assert problems == []
    assert sorted(t.name for t in themes) == BUNDLED
    assert BUNDLED == ["high-contrast", "nord-pipeline", "solarized-deal", "tuikanban-dark", "tuikanban-light"]


@pytest.mark.parametrize("name", BUNDLED)
async def test_each_bundled_theme_renders_the_board(db: Database, sales: int, name: str) -> None:
    app = TuikanbanApp(db, "tester", theme=name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme_problems == []
        assert app.theme == name
        assert app.current_theme.name == name

        text = board_text(app)
        for stage in STAGES:
            assert stage in text
        assert "2/2" in text and "1/5" in text
        assert "Initech rollout" in text

        svg = app.export_screenshot()
        limit = expected_wip_limit(name)
        assert fill_of(svg, "2/2") == limit, f"{name}: the counter at its limit is not tk-wip-limit"
        # the counter below its limit is painted differently, so the check above can tell them apart
        assert fill_of(svg, "1/5") != limit
        # the focused column's title ("Lead": the first card is focused) is in the theme's primary colour, never
        # in the amber of a counter below its WIP minimum
        theme = th.load_theme_file(REPO_THEMES / f"{name}.toml")
        assert theme.primary is not None
        assert fill_of(svg, "Lead") == Color.parse(theme.primary)
        under = theme.variables.get("tk-wip-under") or theme.warning
        assert under is not None and fill_of(svg, "Lead") != Color.parse(under)


@pytest.mark.parametrize("name", BUNDLED)
async def test_card_text_is_readable_in_each_theme(db: Database, sales: int, name: str) -> None:
    app = TuikanbanApp(db, "tester", theme=name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == name
        # a card title on its card: WCAG asks 3:1 for bold text (white on white is 1:1)
        for title in ("Initech rollout", "Acme pilot"):
            fg, bg = card_text_colours(app, title)
            assert contrast(fg, bg) >= 3.0, f"{name}: card title {fg.hex} on {bg.hex}"
        # the owner line is dimmer than the title (closer to the card colour) yet still readable
        title_fg, bg = card_text_colours(app, "Acme pilot")
        owner_fg, owner_bg = card_text_colours(app, "@tester")
        assert owner_bg == bg
        assert owner_fg != title_fg, f"{name}: the muted owner line is not dimmed"
        assert contrast(owner_fg, bg) < contrast(title_fg, bg)
        assert contrast(owner_fg, bg) >= 2.0, f"{name}: owner {owner_fg.hex} on {bg.hex}"


# -- a broken user theme -------------------------------------------------------------------------------------------


async def test_a_broken_user_theme_is_reported_and_skipped(db: Database, sales: int) -> None:
    themes_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "tuikanban" / "themes"
    themes_dir.mkdir(parents=True)
    (themes_dir / "broken.toml").write_text('name = "broken"\nprimary = "#12345\n')  # unterminated string
    (themes_dir / "muddy.toml").write_text('primary = "mud"\n')  # valid TOML, not a colour
    (themes_dir / "fine.toml").write_text('primary = "#336699"\nerror = "#AA1111"\n')

    app = TuikanbanApp(db, "tester")
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # the board opened, in the default theme, with the good user theme available and the broken ones not
        assert app.theme == th.DEFAULT_THEME
        for stage in STAGES:
            assert stage in board_text(app)
        assert "fine" in app.available_themes
        assert "broken" not in app.available_themes
        assert "muddy" not in app.available_themes

        warnings = [message for message, severity in seen if severity == "warning"]
        broken = [m for m in warnings if "broken.toml" in m]
        muddy = [m for m in warnings if "muddy.toml" in m]
        assert len(broken) == 1 and len(muddy) == 1, warnings
        assert "was skipped" in broken[0] and "not valid TOML" in broken[0]
        assert "was skipped" in muddy[0] and "'primary' = 'mud' is not a colour" in muddy[0]
        assert not any("fine.toml" in m for m in warnings)
        # one sentence each, as every user-facing message is (docs/RULES.md, Command line)
        for message in (broken[0], muddy[0]):
            assert message.endswith(".") and "\n" not in message.rstrip()

        # and the good user theme really works on the board
        app.theme = "fine"
        await settle(pilot)
        # tk-wip-limit defaults to $error; Textual's palette generation may round a channel by one unit
        got = fill_of(app.export_screenshot(), "2/2")
        assert all(abs(a - b) <= 1 for a, b in zip(got.rgb, Color.parse("#AA1111").rgb, strict=True)), got


async def test_card_text_follows_a_theme_chosen_while_running(db: Database, sales: int) -> None:
    """Switching from the dark default to the light theme (as the command palette does) repaints the cards: they
    look exactly as on a board started in the light theme."""
    titles = ("Initech rollout", "Acme pilot")  # "Acme pilot", the first card of Lead, has the focus
    app = TuikanbanApp(db, "tester", theme="tuikanban-dark")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dark = {title: card_text_colours(app, title) for title in titles}
        app.theme = "tuikanban-light"
        await settle(pilot)
        switched = {title: card_text_colours(app, title) for title in titles}
    fresh_app = TuikanbanApp(db, "tester", theme="tuikanban-light")
    async with fresh_app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        fresh = {title: card_text_colours(fresh_app, title) for title in titles}

    assert switched == fresh
    light = th.load_theme_file(REPO_THEMES / "tuikanban-light.toml")
    assert light.surface is not None
    assert switched["Initech rollout"][1] == Color.parse(light.surface)  # an unfocused card is the theme's surface
    assert switched["Acme pilot"][1] != switched["Initech rollout"][1]  # the focused card stands out
    for title in titles:
        assert switched[title] != dark[title], f"{title} kept its dark-theme colours"
        fg, bg = switched[title]
        assert contrast(fg, bg) >= 3.0, f"card title {fg.hex} on {bg.hex}"


async def test_a_theme_chosen_while_running_is_remembered(db: Database, sales: int) -> None:
    from tuikanban.settings import config_path, load_settings

    app = TuikanbanApp(db, "tester", theme="tuikanban-dark")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # the start-up theme is not written back
        assert load_settings().theme is None
        app.theme = "nord-pipeline"  # what choosing it in the command palette does
        await settle(pilot)
    assert config_path().is_file()
    assert load_settings().theme == "nord-pipeline"

    # the next start, without --theme, uses it
    again = TuikanbanApp(db, "tester")
    assert again.theme == "nord-pipeline"
