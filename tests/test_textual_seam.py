"""The private Textual names the UI relies on (all wrapped in `tuikanban.ui.textual_seam`) still exist and still
mean what the seam expects. A failure names the installed Textual version: the seam is the one place to update."""

from __future__ import annotations

import importlib
import inspect
import io
import queue
import threading
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message
from textual.message_pump import MessagePump
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import Screen
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
    ("a Screen", "_compositor"),
    ("textual.widget", "Widget._css_bases"),
    ("textual.widget", "Widget._get_default_css"),
    ("textual.app", "App._get_screen"),
    ("textual.screen", "Screen._refresh_layout"),
    ("textual.screen", "Screen._on_timer_update"),
    ("textual.screen", "Screen._update_timer"),
    ("textual.screen", "Screen._invoke_and_clear_callbacks"),
    ("a Widget", "_repaint_required"),
    *[(module, "") for module in textual_seam.INNER_WIDGET_MODULES],
]


@pytest.mark.parametrize(("owner", "path"), PRIVATE_NAMES)
def test_each_private_name_still_exists(owner: str, path: str) -> None:
    obj: object = (Widget() if owner == "a Widget" else Screen() if owner == "a Screen"
                   else importlib.import_module(owner))
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


class _HungUp(io.StringIO):
    """A terminal that hung up: every write fails as a closed pty's does."""

    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")


def _writes_then_stops(writer: WriterThread, writes: int) -> threading.Thread:
    def go() -> None:
        for _ in range(writes):
            writer.write("x")
        writer.stop()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(5)
    return thread


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # (the thread's OSError)
def test_the_output_thread_of_a_hung_up_terminal_does_not_block_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual's output thread ends at its first failed write; the app's next writes fill its queue (30) and the
    driver's `close()` then blocked for good. Guarded, the writes and the stop return; unguarded (Textual's own
    methods, put back for the first half) they block."""
    for guarded in (False, True):
        with monkeypatch.context() as m:
            own = getattr(WriterThread, "textual_own", (WriterThread.write, WriterThread.stop))
            m.setattr(WriterThread, "write", own[0])  # (Textual's own methods, whatever ran before)
            m.setattr(WriterThread, "stop", own[1])
            m.delattr(WriterThread, "textual_own", raising=False)
            if guarded:
                textual_seam.outlive_a_dead_terminal()
                textual_seam.outlive_a_dead_terminal()  # (twice: once is what counts)
            writer = WriterThread(_HungUp())
            writer.start()
            writer.write("first")  # (the thread takes it, fails and ends)
            writer.join(5)
            assert not writer.is_alive()
            thread = _writes_then_stops(writer, 40)
            assert thread.is_alive() is not guarded, f"guarded={guarded}"


def test_the_drivers_output_thread_is_the_class_the_seam_guards() -> None:
    assert "self._writer_thread = WriterThread(" in inspect.getsource(LinuxDriver.start_application_mode)
    assert isinstance(WriterThread(io.StringIO())._queue, queue.Queue)


class _Lines:
    """A stand-in for a board's compositor: `segments`, as rendered."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        return self.segments


def test_the_dimmed_board_is_tinted_as_textual_does_each_style_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """100 lines of three segments in three styles (each line's with its own meta, as Textual's offsets): the same
    segments as Textual's `BackgroundScreen.process_segments`, with the tint worked out for 3 styles, not 300
    segments (two colour conversions each: foreground and background)."""
    styles = [Style(color="#ff0000", bgcolor="#000000"), Style(color="#00ff00", bgcolor="#101010", bold=True),
              Style(color="#0000ff", bgcolor="#202020")]
    segments = [Segment(f"{y}:{i}", style + Style.from_meta({"offset": (i, y)}))
                for y in range(100) for i, style in enumerate(styles)]
    tint = Color(0, 0, 0, 0.4)
    expected = list(BackgroundScreen.process_segments(segments, tint))
    screen = SimpleNamespace(_compositor=_Lines(segments))
    console = Console(width=80, height=100, file=io.StringIO())
    textual_seam._TINTS.clear()
    conversions = 0
    convert = Color.from_rich_color.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Color], color: Any) -> Color:
        nonlocal conversions
        conversions += 1
        return convert(cls, color)  # type: ignore[no-any-return]

    monkeypatch.setattr(Color, "from_rich_color", classmethod(counted))
    got = textual_seam.TintedBackground().segments(BackgroundScreen(screen, tint), console,  # type: ignore[arg-type]
                                                   console.options)
    assert got == expected
    assert conversions == 6
