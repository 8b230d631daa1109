"""The help screen's layout: a description too long for its line wraps under the description, never into the
column of keys (where it read as a key of its own)."""

from __future__ import annotations

from test_screens import Host
from tuikanban.ui.screens.help import HelpScreen

LONG = ("Filter: words, owner:NAME, type:NAME, closing:<30d (closes within 30 days), idle:>14d (no stage move or "
        "activity for 14 days)")


async def test_a_long_description_wraps_under_itself_not_under_the_keys() -> None:
    sections = [("View", [("/", LONG), ("s", "Swimlanes by deal type on/off")])]
    app = Host(lambda: HelpScreen(sections))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        rows = app.screen.query_one(".help-rows")
        lines = [rows.render_line(y).text.rstrip() for y in range(rows.size.height)]
        lines = [line for line in lines if line.strip()]
        key_width = 1 + 3  # the longest key, and three spaces
        assert lines[0].lstrip().startswith("/   Filter: words")
        indent = len(lines[0]) - len(lines[0].lstrip())
        assert len(lines) == 3, lines  # the filter's description takes two lines, the swimlanes' one
        assert lines[1].startswith(" " * (indent + key_width)) and lines[1].strip().startswith(("(", "idle", "act"))
        assert lines[2][indent:].startswith("s   Swimlanes")
        # every word of the description is there, in order
        assert " ".join(line.strip() for line in lines[:2]).replace("/   ", "", 1) == LONG
