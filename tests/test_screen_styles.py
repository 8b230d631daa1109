"""The screens' CSS is added and parsed once after the board's warm imports (docs/PERFORMANCE.md, Every screen
opens at once): a screen's first open then parses no stylesheet."""

from __future__ import annotations

from typing import Any

import pytest

from board_helpers import settle
from test_board import SIZE, sales  # noqa: F401
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.screens.deal_detail import DealDetailScreen
from tuikanban.ui.screens.deal_form import DealFormScreen
from tuikanban.ui.screens.help import HelpScreen

pytestmark = pytest.mark.sqlite_only  # (the stylesheet does not depend on the engine)


@pytest.mark.parametrize(("key", "screen"), [("n", DealFormScreen), ("enter", DealDetailScreen),
                                             ("question_mark", HelpScreen)])
async def test_a_screens_first_open_parses_no_stylesheet(db: Database, sales: dict[str, int],  # noqa: F811
                                                         key: str, screen: type[Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    app = TuikanbanApp(db, "tester")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sources = {name for _path, name in app.stylesheet.source}
        assert f"{screen.__name__}.DEFAULT_CSS" in sources  # added before the key
        parses: list[int] = []
        real = app.stylesheet.parse
        monkeypatch.setattr(app.stylesheet, "parse", lambda: (parses.append(1), real())[1])
        await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, screen)
        assert parses == []
