"""The private Textual names the UI relies on (all wrapped in `tuikanban.ui.textual_seam`) still exist and still
mean what the seam expects. A failure names the installed Textual version: the seam is the one place to update."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widget import Widget
from textual.widgets import Input

from tuikanban.ui import textual_seam

TEXTUAL = f"Textual {version('textual')}"

# Where each private name the seam uses lives: a module, or an instance (a bare widget) for instance attributes.
PRIVATE_NAMES = [
    ("textual._context", "active_message_pump"),
    ("a Widget", "_bindings.key_to_bindings"),
    ("textual._styles_cache", "StylesCache.get_inner_outer.cache_clear"),
    ("textual._compositor", "ChopsUpdate.render_segments"),
    ("textual._compositor", "LayoutUpdate.render_segments"),
    ("textual._compositor", "Compositor.render_update"),
    ("a Widget", "_exchange_repaint_regions"),
    ("textual.renderables.background_screen", "BackgroundScreen"),
    ("textual.widget", "Widget._css_bases"),
    ("textual.widget", "Widget._get_default_css"),
    ("textual.app", "App._get_screen"),
    ("textual.screen", "Screen._refresh_layout"),
    *[(module, "") for module in textual_seam.INNER_WIDGET_MODULES],
]


@pytest.mark.parametrize(("owner", "path"), PRIVATE_NAMES)
def test_each_private_name_still_exists(owner: str, path: str) -> None:
    obj: object = Widget() if owner == "a Widget" else importlib.import_module(owner)
    for part in path.split(".") if path else []:
        assert hasattr(obj, part), f"{TEXTUAL}: {owner} has no {path}; update tuikanban/ui/textual_seam.py"
        obj = getattr(obj, part)


class Ping(Message):
    pass


class Keyed(Input):
    BINDINGS = [Binding("ctrl+u", "clear_line", "Clear", show=False), Binding("f5", "other", priority=True)]


class SeamApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.pumps: list[MessagePump | None] = []

    def compose(self) -> ComposeResult:
        yield Keyed(id="keyed")

    @on(Ping)
    def ping(self) -> None:
        self.pumps.append(textual_seam.current_message_pump())


async def test_current_message_pump_is_the_one_handling_the_message() -> None:
    assert textual_seam.current_message_pump() is None, f"{TEXTUAL}: a pump outside any handler"
    app = SeamApp()
    async with app.run_test() as pilot:
        app.post_message(Ping())
        await pilot.pause()
    assert app.pumps == [app], f"{TEXTUAL}: active_message_pump no longer names the handling pump"


async def test_own_bindings_are_the_widgets_own_for_that_key() -> None:
    app = SeamApp()
    async with app.run_test():
        widget = app.query_one("#keyed", Keyed)
        actions = [b.action for b in textual_seam.own_bindings(widget, "ctrl+u")]
        assert actions == ["clear_line"], f"{TEXTUAL}: Widget._bindings no longer maps keys to the widget's bindings"
        assert [b.priority for b in textual_seam.own_bindings(widget, "f5")] == [True]
        assert textual_seam.own_bindings(widget, "f6") == []
