"""Every private name of Textual that the UI relies on, in one place.

Textual does not promise to keep names that start with an underscore from one release to the next, so each one the
UI needs is wrapped here in a small function, and `tests/test_textual_seam.py` checks that each still exists (its
failure names the installed Textual version). When Textual offers a public way, replace the function's body here.

- `current_message_pump()`: `textual._context.active_message_pump`, the pump (app, screen or widget) whose handler
  is running. A dialog that waits for the keys already routed to its widgets must not wait for the very pump it
  runs in (it would wait for itself).
- `own_bindings(widget, key)`: `Widget._bindings`, the bindings a widget declares, with the user's keymap applied.
  The public `Screen.active_bindings` follows the focus of the moment; in a burst of keys focus may already have
  moved on, and a key must be resolved against the widget it was sent to.
- `forget_closed_widgets()`: `textual._styles_cache.StylesCache.get_inner_outer`, an `lru_cache` on a method, so
  its keys hold up to 1,024 widgets' style caches (and every line they drew) alive after their screen closed:
  opening and closing the deal detail 20 times kept about 20 MB. Cleared whenever the board is shown again, and
  when the aging panel (a widget of the board, not a screen) closes. `style_caches_kept()` counts its entries.
- `write_from_span_start()`: `textual._compositor.ChopsUpdate.render_segments`, which writes a dirty line of a
  widget from the widget's left edge even when only cells further right changed (its `__rich_console__` twin skips
  the segments before the change). The board repaints only the cells that changed (`ui/board/paint.py`); with
  this, another rep's move in the third column no longer sends the first two columns again. It also writes the
  style codes as changes (`ui/sgr.py`), as does `LayoutUpdate.render_segments` (a whole frame): Textual restates
  every segment's whole style after a reset, three quarters of a board line's bytes.
- `skip_repaints_drawn_by_whole_frames()`: `textual._compositor.Compositor.render_update` and
  `Widget._exchange_repaint_regions`. A widget's repaint waits in its own dirty regions until the screen's next
  partial update collects them; when a whole frame (a layout of the whole screen: the first one, a real resize, a
  dialog's closing) is drawn first, it draws each widget as it is, yet the regions stay and go out again as a
  partial update of the same cells. At every start that was a second frame of the whole board (the repaints asked
  while the board mounted, collected when the start's Resize event laid the screen out again: 15.9 KB compact at
  160x45). After a whole frame for the terminal, the visible widgets' waiting regions are dropped; a repaint asked
  after it is kept. Screenshots (`render_update(full=True)`) are left as they are.
- `stop_watching_app(node)`: `DOMNode.watch(app, ...)` keeps `(node, callback)` in the app's `__watchers` until that
  reactive next changes; Textual's TextArea watches the app's `theme`, so every closed form kept its TextArea (its
  document, styles and timers) alive: one per open of the new-deal form. A field drops its own entries when it is
  unmounted.
- `TintedBackground`: `Screen.render` returns a `BackgroundScreen` for a screen with a translucent background (our
  dialogs over the dimmed board): the board's whole compositor drawn again and every segment's colours blended,
  on every draw of the dialog's screen, 6-8 times while it opens (a third of the CPU of opening the help at
  100,000 deals). The tinted lines are kept until the size or tint changes or the board under the dialog changes
  (Textual then refreshes the dialog's screen with the board's dirty regions). They are tinted as
  `BackgroundScreen.process_segments` does, from the board's `Screen._compositor`, but each distinct style once
  (kept for the process): a board's 1,400 segments carry a few dozen styles.
- `add_default_css(stylesheet, classes)`: `Widget._css_bases` and `Widget._get_default_css`. Textual adds a widget
  class's CSS to the stylesheet when its first widget mounts and then parses the whole stylesheet again; the board
  adds the CSS of every widget class its screens use right after the first paint instead (`ui/board/warm.py`), the
  same sources Textual would add. `INNER_WIDGET_MODULES` names the private modules of Textual's widgets that other
  widgets compose inside themselves.
- `build_screen(app, screen)`: `App._get_screen`, what `push_screen` does first: start a screen (it composes and
  mounts its widgets) without putting it on the stack. A screen built so in idle time (`ui/spares.py`) is pushed
  later with no compose or mount on the key's path. `lay_out(screen)`: `Screen._refresh_layout`, the layout its
  first `ScreenResume` would do, done ahead too.
- `frames_only_when_seen(screen_class)`: `Screen._on_timer_update`, `Screen._update_timer`, `Screen._callbacks`,
  `Screen._invoke_and_clear_callbacks` and `Screen._repaint_required`. Textual counts the screen just under the
  top one as visible whatever covers it (`App._background_screens` looks at the opacity of the screens below the
  top, not of the top itself), and once it has sent its dirty regions up to the top screen it marks itself for a
  whole repaint again: from then on every message the covered board handled (the file watch every 2 s, the
  presence heartbeat, the minute tick) drew the whole top screen once more, a full frame (14-15 KB at 160x45) to
  the terminal every 2 s while the metrics, the review, the settings or any dialog was open. A screen of
  `screen_class` now draws nothing while an opaque screen covers it (what it has to draw waits: shown again, it is
  drawn whole once, by Textual's resume), and under a translucent one (a dialog over the dimmed board) sends up
  what changed and no more.
- `outlive_a_dead_terminal()`: `textual.drivers._writer_thread.WriterThread`, Textual's output thread. When the
  terminal hangs up, its next write raises EIO and the thread ends; the app's later writes then fill its queue of
  30 and the 31st blocks the event loop for good, as does the `put` of the driver's `close()`, so a board whose
  terminal went away never exited (seen when a hang-up met the screens built in idle time). The guarded `write`
  and `stop` wait for room as before while the thread lives, and drop the output once it has ended (on the class:
  the driver makes a new thread when the process is continued, and a hang-up sends SIGCONT too).
"""

from __future__ import annotations

import queue
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.control import Control
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, Compositor, LayoutUpdate
from textual._context import active_message_pump
from textual._styles_cache import StylesCache
from textual.binding import Binding
from textual.color import Color
from textual.dom import DOMNode
from textual.drivers._writer_thread import WriterThread
from textual.message_pump import MessagePump
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from tuikanban.ui.sgr import SgrWriter


def current_message_pump() -> MessagePump | None:
    """The app, screen or widget whose message handler is running now; None outside any handler."""
    return active_message_pump.get(None)


def outlive_a_dead_terminal() -> None:
    """Make every output thread's `write` and `stop` return once the thread has ended (the terminal gone) instead of
    blocking on its full queue. On Textual's `WriterThread` class, because the driver makes a new one when the
    process is continued (SIGCONT, which a hang-up of the controlling terminal also sends). Idempotent."""
    if hasattr(WriterThread, "textual_own"):
        return

    def put(self: WriterThread, item: str | None) -> None:
        while True:
            try:
                self._queue.put(item, timeout=0.25)
                return
            except queue.Full:
                if not self.is_alive():
                    return  # (nobody reads the queue any more: the output goes nowhere, as the terminal did)

    def stop(self: WriterThread) -> None:
        put(self, None)
        if self.is_alive():
            self.join()

    WriterThread.textual_own = (WriterThread.write, WriterThread.stop)  # type: ignore[attr-defined]
    WriterThread.write = put  # type: ignore[method-assign,assignment]
    WriterThread.stop = stop  # type: ignore[method-assign]

def covered(screen: Screen[Any]) -> str | None:
    """How `screen` is covered: "hidden" (an opaque screen is above it), "dimmed" (only translucent ones are), or
    None (it is the top screen, or not on the stack)."""
    try:
        stack = screen.app.screen_stack
    except Exception:  # (no app, or the app is closing)
        return None
    if not stack or stack[-1] is screen or screen not in stack:
        return None
    above = stack[stack.index(screen) + 1:]
    return "hidden" if any(s.styles.background.a >= 1 for s in above) else "dimmed"


def frames_only_when_seen(screen_class: type[Screen[Any]]) -> None:
    """A screen of `screen_class` draws nothing while it is hidden and only what changed while it is dimmed (see
    the module). Idempotent."""
    if "textual_own_update" in screen_class.__dict__:
        return
    textual = Screen._on_timer_update

    def on_timer_update(self: Screen[Any]) -> None:
        how = covered(self)
        if how == "hidden":  # what it has to draw waits; its callbacks after a refresh run, as with nothing to draw
            self._update_timer.pause()
            if self._callbacks:
                self.call_next(self._invoke_and_clear_callbacks)
            return
        textual(self)
        if how == "dimmed":  # (Textual marks a screen under another for a whole repaint after sending its regions)
            self._repaint_required = False

    screen_class.textual_own_update = textual  # type: ignore[attr-defined]
    screen_class._on_timer_update = on_timer_update  # type: ignore[method-assign]


def own_bindings(widget: Widget, key: str) -> list[Binding]:
    """The bindings `widget` itself declares for `key` (keymap applied), in declaration order."""
    return list(widget._bindings.key_to_bindings.get(key, ()))


def build_screen(app: Any, screen: Any) -> Any:
    """Start `screen` (compose and mount its widgets) without showing it; awaitable until it is mounted. It must be
    installed (`App.install_screen`), or Textual would remove it at its first pop."""
    return app._get_screen(screen)[1]


def lay_out(screen: Any, size: Any) -> None:
    """Lay `screen` (built, not shown) out at `size` now, as its first `ScreenResume` would (and as the layout its
    widgets asked for while they mounted, which waits for the screen to be shown)."""
    screen._refresh_layout(size)
    screen._layout_required = False


def render_ahead(screen: Any) -> None:
    """Render the widgets of `screen` (built and laid out, not shown) that its first frame shows, now: each keeps
    its lines (its styles cache) until its content or size changes, so that frame only puts them together."""
    screen._compositor.render_update(full=True)


__all__ = [
    "INNER_WIDGET_MODULES",
    "TintedBackground",
    "add_default_css",
    "build_screen",
    "current_message_pump",
    "forget_closed_widgets",
    "frames_only_when_seen",
    "lay_out",
    "outlive_a_dead_terminal",
    "own_bindings",
    "render_ahead",
    "skip_repaints_drawn_by_whole_frames",
    "stop_watching_app",
    "style_caches_kept",
]


# Textual's own widgets that other widgets compose inside themselves (a screen's module names only the outer one).
INNER_WIDGET_MODULES = ("textual.widgets._select", "textual.widgets._option_list", "textual.widgets._input",
                        "textual.widgets._text_area", "textual.widgets._data_table",
                        "textual.widgets._tabbed_content", "textual.widgets._tabs", "textual.widgets._content_switcher")


def add_default_css(stylesheet: Any, classes: Iterable[type[Widget]]) -> None:
    """Add each widget class's default CSS to `stylesheet` as Textual does when the class's first widget mounts
    (same text, location, tie breaker and scope), then parse the stylesheet once."""
    for cls in classes:
        # (Textual's listing of a widget's CSS sources reads `_node_bases` only: a stand-in carries the class's)
        shim = SimpleNamespace(_node_bases=Widget._css_bases(cls))
        for read_from, css, tie_breaker, scope in Widget._get_default_css(shim):  # type: ignore[arg-type]
            stylesheet.add_source(css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker,
                                  scope=scope)
    stylesheet.rules_map  # noqa: B018  (parses now, not at the next key)


def forget_closed_widgets() -> None:
    """Let go of the style caches Textual's `get_inner_outer` cache keeps of widgets that are gone."""
    StylesCache.get_inner_outer.cache_clear()


def style_caches_kept() -> int:
    """How many entries Textual's `get_inner_outer` cache holds (each keeps a widget's style cache alive)."""
    return int(StylesCache.get_inner_outer.cache_info().currsize)


def _from_span_start(strip: Strip, x: int, x1: int) -> tuple[Strip, int]:
    """`strip` (drawn from column `x`) without its segments that end at or before column `x1`, and where it now
    starts. Whole segments only: a wide character is never cut."""
    segments: list[Segment] = list(strip)
    for i, segment in enumerate(segments):
        width = segment.cell_length
        if x + width > x1:
            return (Strip(segments[i:]) if i else strip), x
        x += width
    return Strip([]), x


def _render_segments(self: ChopsUpdate, console: Console) -> str:
    """`ChopsUpdate.render_segments` (Textual 8), writing each chop from the segment that holds the span's start,
    and the style codes as changes (`SgrWriter`)."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    sgr = SgrWriter(console._color_system)
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line, ends = self.chops[y], self.chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x < x1:
                strip, x = _from_span_start(strip, x, x1)
            if x2 > x and end > x2:
                strip = strip.crop(0, x2 - x)
            if strip.cell_length:
                append(move_to(x, y).segment.text)
                append(sgr.write(strip))
        if y != last_y:
            append("\n")
    append(sgr.end())
    return "".join(sequences)


def _render_layout(self: LayoutUpdate, console: Console) -> str:
    """`LayoutUpdate.render_segments` (Textual 8: a whole frame) with the style codes written as changes."""
    sequences: list[str] = []
    append = sequences.append
    x = self.region.x
    move_to = Control.move_to
    sgr = SgrWriter(console._color_system)
    last_y = self.region.y + len(self.strips) - 1
    for y, line in enumerate(self.strips, self.region.y):
        append(move_to(x, y).segment.text)
        for strip in line:
            append(sgr.write(strip))
        if y != last_y:
            append("\n")
    append(sgr.end())
    return "".join(sequences)


def write_from_span_start() -> None:
    """Make Textual write a partly changed line from the changed cells' segment rather than from the widget's edge,
    and every update's style codes as changes (once per process; see the module)."""
    ChopsUpdate.render_segments = _render_segments  # type: ignore[method-assign]
    LayoutUpdate.render_segments = _render_layout  # type: ignore[method-assign]

_textual_render_update = Compositor.render_update
_NULL_STYLE = Style()


def _render_update(self: Compositor, full: bool = False, screen_stack: Any = None, simplify: bool = False
                   ) -> RenderableType | None:
    """`Compositor.render_update` (Textual 8); after a whole frame for the terminal (not `full`, asked by a
    screenshot), the repaints the visible widgets still wait for are done: dropped."""
    whole = not full and self.size.region in self._dirty_regions
    update = _textual_render_update(self, full, screen_stack, simplify)
    if whole:
        for widget in self.visible_widgets:
            widget._exchange_repaint_regions()
    return update


def skip_repaints_drawn_by_whole_frames() -> None:
    """Drop the widgets' waiting repaints that a whole frame has just drawn (once per process; see the module)."""
    Compositor.render_update = _render_update  # type: ignore[method-assign]


class TintedBackground:
    """A dialog screen's dimmed board, drawn once and kept (see the module's docstring).

    `wrap(renderable)` in the screen's `render`, `forget()` whenever its screen is refreshed with regions (the
    board under it changed)."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._segments: list[Segment] = []

    def forget(self) -> None:
        self._key = None
        self._segments = []

    def wrap(self, renderable: RenderableType) -> RenderableType:
        if not isinstance(renderable, BackgroundScreen):
            return renderable
        return _Kept(renderable, self)

    def segments(self, inner: BackgroundScreen, console: Console, options: ConsoleOptions) -> list[Segment]:
        key = (options.max_width, options.height, inner.color, id(inner.screen))
        if key != self._key:
            if inner.color.a == 0:
                self._segments = list(console.render(inner, options))
            else:  # (BackgroundScreen.process_segments, each style's tint worked out once)
                self._segments = _tinted(console.render(inner.screen._compositor, options), inner.color)
            self._key = key
        return self._segments


_TINTS: dict[tuple[Style, Color], Style] = {}  # (a style without its meta and links, the tint) -> the tinted style
_TINTS_KEPT = 4096


def _tinted(segments: Iterable[Segment], color: Color) -> list[Segment]:
    """What `BackgroundScreen.process_segments` (Textual 8) makes of `segments`, the same styles, with each
    distinct style tinted once: a board's lines carry a few dozen styles over some 1,400 segments, and the blend
    (two colour conversions, a `Style` made and added) was most of the dimmed board's cost."""
    tints = _TINTS
    if len(tints) > _TINTS_KEPT:
        tints.clear()
    from_rich_color = Color.from_rich_color
    out: list[Segment] = []
    append = out.append
    for segment in segments:
        text, style, control = segment
        if control:
            append(segment)
            continue
        plain = _NULL_STYLE if style is None else style.clear_meta_and_links()
        tinted = tints.get((plain, color))
        if tinted is None:
            fg = (from_rich_color(plain.color) + color).rich_color if plain.color is not None else None
            bg = (from_rich_color(plain.bgcolor) + color).rich_color if plain.bgcolor is not None else None
            tinted = tints[(plain, color)] = plain + Style.from_color(fg, bg)
        append(Segment(text, tinted, control))
    return out


class _Kept:
    def __init__(self, inner: BackgroundScreen, cache: TintedBackground) -> None:
        self.inner = inner
        self.cache = cache

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        return iter(self.cache.segments(self.inner, console, options))


def stop_watching_app(node: DOMNode) -> None:
    """Drop `node`'s watchers of the app's reactives (see the module's docstring)."""
    try:
        app = node.app
    except Exception:  # no app any more (the app is closing): nothing left to hold the node
        return
    watchers: dict[str, list[tuple[object, object]]] | None = getattr(app, "__watchers", None)
    for entries in (watchers or {}).values():
        entries[:] = [(owner, callback) for owner, callback in entries if owner is not node]
