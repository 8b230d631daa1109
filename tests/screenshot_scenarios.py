"""The README screenshots as scenarios: one definition, used by the snapshot tests and by
`screenshots/make_screenshots.py`.

Every scenario starts the real board (`TuikanbanApp`) on the demo database (`services.demo.build_demo`, seed 7)
with the clock fixed at 2026-03-02 12:00 UTC, user alice, pipeline SMB, at 160x45, focuses the Proposal column
(at its WIP limit, red counter; its first card has a long history) and then presses the scenario's keys like a
user, waiting for every database job and worker after each key so that no picture shows "loading".

Determinism: the data (seed), the clock, the terminal size, the path in the header (the demo's default place,
`~/.local/share/tuikanban/demo.db`, under a HOME of our own) and the user are fixed; text cursors are held steady;
the one figure that depends on the machine, the "computed in N ms" note in the metrics title, is replaced by a
fixed "computed in 40 ms".
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, LoadingIndicator, Static, TextArea

from board_helpers import settle
from tuikanban.ui.app import TuikanbanApp

FIXED_NOW = "2026-03-02T12:00:00+00:00"
SEED = 7
SIZE = (160, 45)
USER = "alice"
PIPELINE = "SMB"
DEFAULT_THEME = "tuikanban-dark"
METRICS_NOTE = "computed in 40 ms"  # stands in for the measured compute time in the metrics title

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "screenshots"  # where the README's images live


@dataclass(frozen=True)
class Scenario:
    stem: str  # the README image is screenshots/<stem>.svg
    title: str  # the window title drawn in the SVG
    keys: tuple[str, ...] = ()  # pressed once the Proposal column has the focus
    theme: str = DEFAULT_THEME


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("board", "tuikanban: SMB pipeline, swimlanes, Proposal at its WIP limit"),
    Scenario("aging", "tuikanban: the aging panel (a)", ("a",)),
    Scenario("aging-chart", "tuikanban: the aging chart (a, c)", ("a", "c")),
    Scenario("metrics", "tuikanban: metrics (m)", ("m",)),
    Scenario("detail", "tuikanban: a deal (enter)", ("enter",)),
    Scenario("help", "tuikanban: keys (?)", ("question_mark",)),
    Scenario("form", "tuikanban: new deal (n)", ("n",)),
    Scenario("board-light", "tuikanban: theme tuikanban-light", theme="tuikanban-light"),
    Scenario("board-nord", "tuikanban: theme nord-pipeline", theme="nord-pipeline"),
    Scenario("board-solarized", "tuikanban: theme solarized-deal", theme="solarized-deal"),
    Scenario("board-contrast", "tuikanban: theme high-contrast", theme="high-contrast"),
)


# -- the world the pictures are taken in ----------------------------------------------------------------------------


def environment(root: Path) -> dict[str, str]:
    """The environment of a screenshot run under `root`: fixed clock and user, HOME and XDG folders of its own
    (so the real user's settings and themes play no part). TUIKANBAN_DB must be unset as well."""
    home = root / "home"
    return {
        "TUIKANBAN_NOW": FIXED_NOW,
        "TUIKANBAN_USER": USER,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }


def build_demo_database(root: Path) -> Path:
    """Build the demo board (seed 7) where `tuikanban demo` puts it under `environment(root)`; returns its path.

    Call it once `environment(root)` is in force: the demo's history is dated from the clock.
    """
    from tuikanban.services.demo import build_demo

    path = root / "home" / ".local" / "share" / "tuikanban" / "demo.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    (root / "home" / ".config").mkdir(parents=True, exist_ok=True)
    build_demo(path, seed=SEED)
    return path


def make_app(db: Any, scenario: Scenario) -> TuikanbanApp:
    app = TuikanbanApp(db, USER, PIPELINE, scenario.theme)
    app.title = scenario.title  # the SVG's window title
    return app


# -- driving the board -----------------------------------------------------------------------------------------------


def _loading(app: Any) -> bool:
    """Whether the current screen shows a loading indicator or a "Loading…" placeholder."""
    screen = app.screen
    if any(w.loading for w in screen.query("*")) or list(screen.query(LoadingIndicator)):
        return True
    return any("Loading" in str(s.render()) for s in screen.query(Static) if s.id == "form-loading")


async def settle_shown(pilot: Pilot[Any]) -> None:
    """Wait for the board's jobs and workers (`settle`) and until no loading indicator is left on the screen."""
    for _ in range(500):
        await settle(pilot)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if not _loading(pilot.app) and all(w.is_finished for w in pilot.app.workers):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the screen still shows a loading indicator after 35 s")


def _focus_within(app: Any, widget_id: str) -> bool:
    node = app.focused
    while node is not None:
        if node.id == widget_id:
            return True
        node = node.parent
    return False


def _steady_cursors(app: Any) -> None:
    """Stop text cursors blinking (a blink phase would make two runs differ); the cursor stays visible."""
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


_COMPUTED = re.compile(r"computed in [\d,]+ ms")


def _fix_metrics_note(app: Any) -> None:
    """Replace the measured "computed in N ms" of the metrics title (the machine's speed) with METRICS_NOTE."""
    for title in app.screen.query("#mx-title").results(Static):
        content = title.content
        assert isinstance(content, Text), f"the metrics title is {type(content).__name__}, not a rich Text"
        found = _COMPUTED.search(content.plain)
        assert found is not None, f"the metrics title has no compute time: {content.plain!r}"
        fixed = content[: found.start()]
        fixed.append(METRICS_NOTE, style="dim")
        fixed.append_text(content[found.end():])
        title.update(fixed)


def _check_shown(app: Any, scenario: Scenario) -> None:
    """What each picture is for is on the screen (a failure here is a bug, not a picture to accept)."""
    if scenario.keys[:1] == ("a",):
        rows = sum(t.row_count for t in app.screen.query("#aging DataTable").results(DataTable))
        assert rows > 0, "the aging panel opened empty (the demo always has stalled deals)"
    if scenario.keys == ("a",):
        assert _focus_within(app, "aging"), f"the aging panel did not take the focus (focus: {app.focused!r})"
    svg = html.unescape(app.export_screenshot()).replace("\xa0", " ")
    for bad in ("Loading", "computing…", "Reading the"):
        assert bad not in svg, f"{scenario.stem} would show '{bad}': the app was not settled"


async def play(pilot: Pilot[Any], scenario: Scenario) -> None:
    """Drive the board from start-up to the scenario's picture (the snapshot is taken right after)."""
    app = pilot.app
    assert isinstance(app, TuikanbanApp)
    await settle_shown(pilot)
    assert app.theme_problems == []
    assert app.theme == scenario.theme
    for _ in range(3):  # Lead -> Qualified -> Discovery -> Proposal
        await pilot.press("right")
    await settle_shown(pilot)
    for key in scenario.keys:
        await pilot.press(key)
        await settle_shown(pilot)
    if scenario.keys == ("m",):
        _fix_metrics_note(app)
    _steady_cursors(app)
    await pilot.pause()
    _check_shown(app, scenario)


def snapshot_name(scenario: Scenario) -> str:
    """The snapshot file the test `test_readme_screenshot[<stem>]` keeps (pytest-textual-snapshot / syrupy)."""
    return f"test_readme_screenshot[{scenario.stem}].svg"


SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__" / "test_readme_screenshots"
