"""The user's keymap ([keymap] in the settings file): checked entries, one sentence per entry left out, applied to
the board with Textual's set_keymap, shown in `?` help and by `tuikanban config show`."""

from __future__ import annotations

import pytest

from board_helpers import press, settle
from test_board import SIZE, new_app, record_notifications, sales
from tuikanban.settings import config_path
from tuikanban.store.engine import Database
from tuikanban.ui.board.footer import KeyLine
from tuikanban.ui.board.keymap import check_keymap, default_keys
from tuikanban.ui.board.keys import BINDING_SECTIONS, help_sections
from tuikanban.ui.screens.help import HelpScreen

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

__all__ = ["sales"]  # the fixture


def write_config(text: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_every_binding_has_a_board_id() -> None:
    ids = [b.id for _t, bs in BINDING_SECTIONS for b in bs]
    assert all(i and i.startswith("board.") for i in ids) and len(set(ids)) == len(ids)
    assert default_keys()["board.lanes"] == "s"


def test_unknown_ids_bad_values_and_clashes_are_left_out_with_a_sentence() -> None:
    km = check_keymap({"board.lanes": "S", "board.nope": "z", "board.refresh": "a", "board.metrics": 3})
    assert km.keys == {"board.lanes": "S"}
    assert km.problems == [
        "The keymap names 'board.nope', which is no board binding (`tuikanban config show` lists them); it was "
        "left out.",
        "The keymap entry 'board.metrics' is not a key in quotes (such as \"S\" or \"ctrl+l\"); it was left out.",
        "The keymap gives the key 'a' to board.aging and board.refresh; board.refresh kept its default keys.",
    ]
    # two entries taking one free key: both keep their defaults
    both = check_keymap({"board.lanes": "F5", "board.sort": "F5"})
    assert both.keys == {} and len(both.problems) == 1
    # swapping two keys is no clash
    assert check_keymap({"board.lanes": "o", "board.sort": "s"}).keys == {"board.lanes": "o", "board.sort": "s"}


async def test_a_remapped_key_works_and_shows_in_help(db: Database, sales: dict[str, int]) -> None:
    write_config('[keymap]\n"board.lanes" = "S"\n"board.bogus" = "z"\n')
    app = new_app(db)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [n for n in notes if "board.bogus" in n[0]] == [(
            "The keymap names 'board.bogus', which is no board binding (`tuikanban config show` lists them); it "
            "was left out.", "", "warning")]  # shown at start
        assert app.board_screen.state.lanes_on
        await press(pilot, "s")  # the old key does nothing now
        assert app.board_screen.state.lanes_on
        await press(pilot, "S")
        assert not app.board_screen.state.lanes_on
        shown = {b.binding.id: b.binding.key for b in app.board_screen.active_bindings.values()}
        assert shown["board.lanes"] == "S"  # what the footer and the palette draw from
        line = app.board_screen.query_one("#footer-line-1", KeyLine).render().plain
        assert " S lanes " in line and " s lanes " not in line
        # in its place, between filter and aging (remapping must not send it to the end of the footer)
        assert line.index("/ filter") < line.index("S lanes") < line.index("a aging")
        view = dict(help_sections(app.board_keymap.keys))["View"]
        assert ("S", "Swimlanes by deal type on/off") in view
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)


def test_config_show_lists_ids_and_problems(cli, sales: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    write_config('[keymap]\n"board.lanes" = "S"\n"board.refresh" = "a"\n')
    result = cli("config", "show")
    assert result.code == 0
    assert "board.lanes            S  (default s)" in result.out
    assert "board.refresh kept its default keys" in result.err
    assert "Unknown setting" not in result.out



async def test_a_remapped_log_key_logs_in_the_deal_detail_too(db: Database, sales: dict[str, int]) -> None:
    """The detail's log keys carry the board's ids: a rep who logs calls with ctrl+l on the board does so in the
    detail too, and its hint line shows the keys the rep has, not the defaults."""
    from tuikanban.ui.screens.deal_detail import DealDetailScreen
    from tuikanban.ui.widgets.log_bar import LogBar

    write_config('[keymap]\n"board.log_call" = "ctrl+l"\n')
    app = new_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, DealDetailScreen)
        await settle(pilot)
        hints = str(detail.query_one("#detail-hints").render())
        assert "ctrl+l E M N" in hints and "C E M N" not in hints
        await press(pilot, "C")  # the old key does nothing now
        assert not detail.query(LogBar)
        await press(pilot, "ctrl+l")
        [bar] = detail.query(LogBar)
        assert bar.kind == "call"
