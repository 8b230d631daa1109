"""The footer of a screen that is not on the stack (a spare built ahead) may be resized as the app exits, when the
stack is already empty: it must lay nothing out rather than ask Textual for the top screen of an empty stack."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import ScreenStackError

from board_helpers import settle
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.board.footer import BoardFooter

pytestmark = pytest.mark.sqlite_only  # (the footer reads nothing: one engine is enough)

U = "alice"


async def test_a_footer_resized_once_the_screen_stack_is_empty_does_nothing(db: Database,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    p = ps.create_pipeline(db, "Sales", "Lead,Won")
    ds.create_deal(db, p.id, "Acme", user=U)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        footer = app.board_screen.query_one(BoardFooter)
        laid_out = (footer.rows_used, footer.showing_extras)

        def no_screen(_app: Any) -> Any:
            raise ScreenStackError("No screens on stack")

        # The state of an app that is shutting down: no screen on the stack (nothing awaits in between, so Textual
        # itself never sees it).
        with monkeypatch.context() as m:
            m.setattr(TuikanbanApp, "screen", property(no_screen))
            m.setattr(TuikanbanApp, "screen_stack", property(lambda _app: []))
            footer.on_resize()
            footer.refresh_keys()
        assert (footer.rows_used, footer.showing_extras) == laid_out
