"""Render the README screenshots of tuikanban from the demo data, with a fixed clock.

Usage (from the repository root):

    .venv/bin/python screenshots/make_screenshots.py            # writes screenshots/*.svg (+ *.png)
    .venv/bin/python screenshots/make_screenshots.py --out DIR  # somewhere else
    .venv/bin/python screenshots/make_screenshots.py --no-png   # SVGs only

What it does: builds the demo database (`services.demo.build_demo`, seed 7) in a temporary directory with the clock
fixed at 2026-03-02 12:00 UTC (`TUIKANBAN_NOW`, set before anything reads the clock), runs the real board
(`TuikanbanApp`) headless at 160x45 and drives it with keys like a user, waiting for every database job and worker
before each picture, so no screenshot shows "loading". HOME and the XDG folders point into the temporary directory,
so your own settings and themes play no part, and the header shows the demo's default place
(`~/.local/share/tuikanban/demo.db`).

Files (SMB pipeline, user alice):

    board.svg            the board, swimlanes on, Proposal at its WIP limit 6/6 (red counter), default theme
    aging.svg            the board with the aging panel open (a)
    aging-chart.svg      the aging panel's chart tab (a, then c)
    metrics.svg          the metrics screen (m), 90-day window
    detail.svg           a deal's details, history and activities (enter on a card)
    help.svg             the keys (?)
    form.svg             the new-deal form (n)
    board-light.svg      the board in tuikanban-light
    board-nord.svg       ... in nord-pipeline
    board-solarized.svg  ... in solarized-deal
    board-contrast.svg   ... in high-contrast

PNGs are written next to the SVGs when `rsvg-convert` (Debian package librsvg2-bin) is on PATH; otherwise the script
says so and writes SVGs only. For the PNGs the SVG is drawn without anti-aliasing (sharp cell edges and text, and
files about five times smaller: each is well under 200 KB) and with plain spaces (librsvg would drop the leading
no-break spaces of a text run, gluing words together).

Checks: a picture that would show "Loading", "computing…" or "Reading the…" stops the script (it waits for every
database job and worker first, so that means a bug). If the aging panel opens empty (the demo always has stalled
deals), aging.svg and aging-chart.svg are left as they were, the other pictures are still written, and the script
says so and exits with status 1.

Determinism: the data (seed), the clock, the terminal size, the path in the header and the user are fixed; text
cursors are held steady; the one figure that depends on the machine, the "computed in N ms" note in the metrics
title, is replaced by a fixed "computed in 40 ms" (the script says so on stdout). Two runs give the same SVG bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

FIXED_NOW = "2026-03-02T12:00:00+00:00"
SEED = 7
SIZE = (160, 45)
USER = "alice"
METRICS_NOTE_SECONDS = 0.040  # stands in for the measured compute time in the metrics title (see the docstring)

THEMES = {  # file stem -> theme
    "board-light": "tuikanban-light",
    "board-nord": "nord-pipeline",
    "board-solarized": "solarized-deal",
    "board-contrast": "high-contrast",
}
DEFAULT_THEME = "tuikanban-dark"


def _isolate(root: Path) -> Path:
    """Fix the clock and point HOME / XDG into `root` before tuikanban is imported; returns the database path."""
    os.environ["TUIKANBAN_NOW"] = FIXED_NOW
    os.environ["TUIKANBAN_USER"] = USER
    home = root / "home"
    os.environ["HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["XDG_DATA_HOME"] = str(home / ".local" / "share")
    os.environ["XDG_CACHE_HOME"] = str(home / ".cache")
    os.environ.pop("TUIKANBAN_DB", None)
    db_path = home / ".local" / "share" / "tuikanban" / "demo.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    (home / ".config").mkdir(parents=True, exist_ok=True)
    return db_path


# -- driving the app ---------------------------------------------------------------------------------------------


async def settle(pilot: Any) -> None:
    """Wait until the board's database jobs, every worker, and the messages they post are done."""
    app = pilot.app
    for _ in range(1000):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        board = app.board_screen
        if not board.busy and board.db is not None and all(w.is_finished for w in app.workers):
            await pilot.pause(0.05)
            if not board.busy and all(w.is_finished for w in app.workers) and not _loading(app):
                return
        await asyncio.sleep(0.02)
    raise RuntimeError("the app did not settle (still loading after 20 s)")


def _loading(app: Any) -> bool:
    """Whether any widget of the current screen shows a loading indicator or a "Loading…" placeholder."""
    from textual.widgets import LoadingIndicator, Static

    screen = app.screen
    if any(w.loading for w in screen.query("*")) or list(screen.query(LoadingIndicator)):
        return True
    return any("Loading" in str(s.render()) for s in screen.query(Static) if s.id == "form-loading")


def _focus_within(app: Any, widget_id: str) -> bool:
    node = app.focused
    while node is not None:
        if getattr(node, "id", None) == widget_id:
            return True
        node = node.parent
    return False


def _aging_rows(app: Any) -> int:
    from textual.widgets import DataTable

    return sum(t.row_count for t in app.screen.query("#aging DataTable").results(DataTable))


def steady_cursors(app: Any) -> None:
    """Stop text cursors blinking (a blink phase would make two runs differ); the cursor stays visible."""
    from textual.widgets import Input, TextArea

    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


async def shoot(pilot: Any, out: Path, stem: str, title: str, written: list[Path]) -> None:
    app = pilot.app
    await settle(pilot)
    steady_cursors(app)
    await pilot.pause()
    svg = app.export_screenshot(title=title)
    plain = html.unescape(svg).replace("\xa0", " ")
    for bad in ("Loading", "computing…", "Reading the"):
        if bad in plain:
            raise RuntimeError(f"{stem}.svg would show '{bad}'; the app was not settled")
    path = out / f"{stem}.svg"
    path.write_text(svg, encoding="utf-8")
    written.append(path)
    print(f"  {path}")


async def drive(db_path: Path, out: Path) -> tuple[list[Path], list[str]]:
    """Drive the board and write the SVGs; returns the files written and the pictures that could not be made."""
    from tuikanban.store.engine import open_database
    from tuikanban.ui.app import TuikanbanApp

    written: list[Path] = []
    problems: list[str] = []
    db = open_database(db_path)
    try:
        app = TuikanbanApp(db, USER, "SMB", DEFAULT_THEME)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            if app.theme_problems:
                raise RuntimeError("theme problems: " + "; ".join(app.theme_problems))
            # Focus the Proposal column (at its WIP limit), first card: a deal with a long history.
            for _ in range(3):
                await pilot.press("right")
            await shoot(pilot, out, "board", "tuikanban: SMB pipeline, swimlanes, Proposal at its WIP limit",
                        written)

            await pilot.press("a")
            await settle(pilot)
            if _aging_rows(app) == 0:  # the demo always has stalled deals: an empty list is a bug, not a picture
                problems.append("aging.svg and aging-chart.svg were not rewritten: the aging panel opened empty")
            else:
                await shoot(pilot, out, "aging", "tuikanban: the aging panel (a)", written)
                if not _focus_within(app, "aging"):  # the panel takes the focus when it opens; else tab gets there
                    await pilot.press("tab")
                    await settle(pilot)
                if _focus_within(app, "aging"):
                    await pilot.press("c")
                    await shoot(pilot, out, "aging-chart", "tuikanban: the aging chart (a, c)", written)
                else:
                    problems.append(f"aging-chart.svg was not rewritten: the focus did not reach the aging panel "
                                    f"(focus: {app.focused!r})")
            await pilot.press("escape")  # closes the panel
            await settle(pilot)

            await pilot.press("m")
            await settle(pilot)
            screen = app.screen
            if type(screen).__name__ == "MetricsScreen" and hasattr(screen, "_seconds"):
                screen._seconds = METRICS_NOTE_SECONDS
                screen._set_title()
                print(f"  (metrics title: compute time fixed at {METRICS_NOTE_SECONDS * 1000:.0f} ms for stable "
                      "output)")
            await shoot(pilot, out, "metrics", "tuikanban: metrics (m)", written)
            await pilot.press("escape")
            await settle(pilot)

            await pilot.press("enter")
            await shoot(pilot, out, "detail", "tuikanban: a deal (enter)", written)
            await pilot.press("escape")
            await settle(pilot)

            await pilot.press("question_mark")
            await shoot(pilot, out, "help", "tuikanban: keys (?)", written)
            await pilot.press("escape")
            await settle(pilot)

            await pilot.press("n")
            await shoot(pilot, out, "form", "tuikanban: new deal (n)", written)
            await pilot.press("escape")
            await settle(pilot)

            for stem, theme in THEMES.items():
                app.theme = theme
                await shoot(pilot, out, stem, f"tuikanban: theme {theme}", written)
            app.theme = DEFAULT_THEME
            await pilot.press("q")
    finally:
        db.close()
    return written, problems


# -- PNGs --------------------------------------------------------------------------------------------------------


# Only for the PNG copy: plain spaces instead of the no-break spaces Rich writes (librsvg drops a segment's leading
# ones), and no anti-aliasing (crisp cell edges and text: the PNGs stay about five times smaller, and sharp).
PNG_STYLE = "rect { shape-rendering: crispEdges; }\ntext { text-rendering: optimizeSpeed; }\n"


def to_png(svg: Path) -> Path:
    """Convert the SVG to a PNG beside it with `rsvg-convert`."""
    png = svg.with_suffix(".png")
    text = svg.read_text(encoding="utf-8").replace("&#160;", " ")
    text = text.replace("<svg ", '<svg xml:space="preserve" ', 1).replace("<style>", "<style>\n" + PNG_STYLE, 1)
    subprocess.run(["rsvg-convert", "--format", "png", "--output", str(png)], input=text.encode("utf-8"),
                   check=True)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    parser.add_argument("--no-png", action="store_true", help="write SVGs only")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="tuikanban-shots-") as tmp:
        db_path = _isolate(Path(tmp))
        from tuikanban.services.demo import build_demo  # imported after the clock is fixed

        result = build_demo(db_path, seed=SEED)
        print(f"demo database: seed {SEED}, {result.deals} deals, {result.events} events, clock {FIXED_NOW}")
        print(f"writing to {out}:")
        svgs, problems = asyncio.run(drive(db_path, out))

    if args.no_png:
        pass
    elif shutil.which("rsvg-convert") is None:
        print("rsvg-convert is not installed (Debian: apt install librsvg2-bin), so no PNGs were written.")
    else:
        for svg in svgs:
            png = to_png(svg)
            print(f"  {png} ({png.stat().st_size // 1024} KB)")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
