"""The board's footer: its keys, laid out for the board, from Textual's public pieces only
(`screen.active_bindings`, `app.get_key_display`, `screen.bindings_updated_signal`). The metrics and review
screens use it too, each naming its own extra keys (Textual's footer cut their keys at 80 columns).

Every key fits on one line when the terminal is wide enough (about 160 columns); narrower, the keys beyond the
product's list (docs/RULES.md) give way first, then the keys wrap onto a second line, so that every listed key
stays on screen down to about 80 columns (`?` lists them all anyway). It looks like Textual's compact footer: a
grouped set of keys (`⇧←→ move`) is drawn side by side before the group's label, "^p palette" sits at the right
edge after a rule. Each line is one widget that renders one line of text; a click on a key presses it.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget

FOOTER_EXTRAS = frozenset({"closed", "settings"})  # board keys beyond the product's list: the first to give way
PALETTE_W = 11  # "^p palette" and its rule


class FooterKey(NamedTuple):
    """One key as shown: its binding, whether it acts now, and its hover text."""

    binding: Binding
    enabled: bool
    tooltip: str


class FooterItem(NamedTuple):
    """One key with its label, or a group of keys side by side before the group's label."""

    keys: tuple[FooterKey, ...]
    group: Binding.Group | None

    @property
    def label(self) -> str:
        return self.group.description if self.group is not None else self.keys[0].binding.description

    def extra(self, extras: frozenset[str]) -> bool:
        """Whether this is one of the footer's `extras` (the keys that give way first)."""
        return self.group is None and self.keys[0].binding.action in extras


class KeySpan(NamedTuple):
    """Where a key is drawn on its line (cells `start` to `end`), for clicks, hover text and tests."""

    start: int
    end: int
    key: FooterKey


def footer_items(screen: Screen[object]) -> list[FooterItem]:
    """The keys of `screen` that show in a footer, one per action, grouped like Textual's footer groups them, in
    the order the screen declares them (a key the user remapped keeps its place)."""
    by_action: dict[str, list[FooterKey]] = {}
    for _node, binding, enabled, tooltip in screen.active_bindings.values():
        if binding.show:
            by_action.setdefault(binding.action, []).append(FooterKey(binding, enabled, tooltip))
    # Textual lists a remapped binding last; the screen's own bindings go back to the order it declares them in,
    # in the places they hold among the others (a focused panel's keys stay where they are).
    declared = {b.id: i for i, b in enumerate(getattr(screen, "BINDINGS", ())) if isinstance(b, Binding) and b.id}
    ordered = list(by_action.values())
    slots = [i for i, keys in enumerate(ordered) if keys[0].binding.id in declared]
    mine = sorted((ordered[i] for i in slots), key=lambda keys: declared[keys[0].binding.id or ""])
    for i, keys in zip(slots, mine, strict=True):
        ordered[i] = keys
    items: list[FooterItem] = []
    for group, chunk in itertools.groupby(ordered, lambda keys: keys[0].binding.group):
        firsts = [keys[0] for keys in chunk]
        if group is not None and len(firsts) > 1:
            items.append(FooterItem(tuple(FooterKey(k.binding, k.enabled, k.tooltip or k.binding.description)
                                          for k in firsts), group))
        else:
            items.extend(FooterItem((k,), None) for k in firsts)
    return items


def layout_for(width: int, all_w: int, listed_w: int) -> tuple[bool, int]:
    """(show the extra keys, rows) for a footer `width` cells wide."""
    room = width - PALETTE_W - 1
    if all_w <= room:
        return True, 1
    if listed_w <= room:
        return False, 1
    return all_w <= 2 * room - 8, 2


class KeyLine(Widget):
    """One line of keys (rendered as one text; the footer hands it the items)."""

    DEFAULT_CSS = "KeyLine { height: 1; width: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()
        self.spans: list[KeySpan] = []

    def show(self, text: Text, spans: list[KeySpan]) -> None:
        self.text, self.spans = text, spans
        self.refresh()

    def render(self) -> Text:
        return self.text

    def _span_at(self, x: int) -> KeySpan | None:
        return next((s for s in self.spans if s.start <= x < s.end), None)

    def on_click(self, event: events.Click) -> None:
        span = self._span_at(event.x)
        if span is None:
            return
        if span.key.enabled:
            self.app.simulate_key(span.key.binding.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        span = self._span_at(event.x)
        self.tooltip = span.key.tooltip if span is not None and span.key.tooltip else None


class PaletteKey(KeyLine):
    """ "^p palette", docked at the right edge of the first line after a rule."""

    DEFAULT_CSS = """
    PaletteKey { dock: right; width: auto; border-left: vkey $foreground 20%; }
    """


class BoardFooter(Widget):
    """The keys of the board, on one line or two (see the module's docstring)."""

    COMPONENT_CLASSES = {"board-footer--key", "board-footer--description", "board-footer--item"}
    DEFAULT_CSS = """
    BoardFooter {
        dock: bottom; height: 1; layout: vertical;
        color: $footer-foreground; background: $footer-background;
    }
    BoardFooter.-two-rows { height: 2; }
    BoardFooter .footer-row { height: 1; width: 1fr; }
    BoardFooter > .board-footer--key { color: $footer-key-foreground; background: $footer-key-background;
                                       text-style: bold; }
    BoardFooter > .board-footer--description { color: $footer-description-foreground;
                                               background: $footer-description-background; }
    BoardFooter > .board-footer--item { background: $footer-item-background; }
    """

    def __init__(self, extras: frozenset[str] = FOOTER_EXTRAS) -> None:
        """`extras`: the actions whose keys give way first when the line is too narrow (the board's by default)."""
        super().__init__()
        self.extras = extras
        self.rows_used = 1
        self.showing_extras = True
        self._items: list[FooterItem] = []

    def compose(self) -> ComposeResult:
        with Horizontal(classes="footer-row"):
            yield PaletteKey(id="footer-palette")
            yield KeyLine(id="footer-line-1")
        yield KeyLine(id="footer-line-2")

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.refresh_keys)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.refresh_keys)

    def on_resize(self) -> None:
        self.refresh_keys(read=False)

    def refresh_keys(self, *, read: bool = True) -> None:
        """Lay the screen's keys out again (`read`: read them again first; else only the width changed)."""
        lines = {line.id: line for line in self.query(KeyLine)}
        if not self.is_attached or len(lines) < 3:  # (not composed yet, or a closing screen's footer being removed)
            return
        if not self.app.screen_stack:  # (the app is exiting: a spare's footer resized after the last screen went)
            return
        if read:
            self._items = footer_items(self.screen)
        items = self._items
        widths = [self._item_width(item) for item in items]
        all_w = sum(widths)
        listed_w = sum(w for w, item in zip(widths, items, strict=True) if not item.extra(self.extras))
        show_extras, rows = layout_for(self.size.width or self.app.size.width, all_w, listed_w)
        shown = [(item, w) for item, w in zip(items, widths, strict=True)
                 if show_extras or not item.extra(self.extras)]
        self.rows_used, self.showing_extras = rows, show_extras
        self.set_class(rows == 2, "-two-rows")
        first = [item for item, _w in shown] if rows == 1 else self._first_row(shown)
        lines["footer-line-1"].show(*self._line(first))
        second = lines["footer-line-2"]
        second.display = rows == 2
        second.show(*self._line([item for item, _w in shown[len(first):]]))
        self._show_palette(lines["footer-palette"])

    @staticmethod
    def _first_row(shown: list[tuple[FooterItem, int]]) -> list[FooterItem]:
        half = sum(w for _i, w in shown) / 2
        first: list[FooterItem] = []
        used = 0
        for item, w in shown:
            if used + w / 2 > half and first:
                break
            first.append(item)
            used += w
        return first

    def _item_width(self, item: FooterItem) -> int:
        keys = sum(len(self.app.get_key_display(k.binding)) for k in item.keys)
        if item.group is not None:  # keys side by side, then the group's label
            return keys + len(item.label) + 2
        return keys + 1 + len(item.label) + 1

    def _styles(self) -> tuple[Style, Style, Style]:
        style = self.get_component_rich_style
        return style("board-footer--key"), style("board-footer--description"), style("board-footer--item")

    def _line(self, items: list[FooterItem]) -> tuple[Text, list[KeySpan]]:
        """One line of keys, spaced as in Textual's compact footer: one blank cell between neighbours and before
        a group's label."""
        key_style, desc_style, item_style = self._styles()
        dim = Style(dim=True)
        text = Text(no_wrap=True, overflow="crop")
        spans: list[KeySpan] = []

        def key(k: FooterKey, description: str) -> None:
            start = len(text)
            text.append(self.app.get_key_display(k.binding), key_style)
            if description:
                text.append(f" {description}", desc_style)
            text.stylize_before(item_style + dim if not k.enabled else item_style, start, len(text))
            spans.append(KeySpan(start, len(text), k))

        for n, item in enumerate(items):
            if n or item.group is not None:  # (a group keeps a blank cell before it even first on its line)
                text.append(" ")
            if item.group is None:
                key(item.keys[0], item.label)
                continue
            for k in item.keys:
                key(k, "")
            text.append(" ")
            text.append(item.label, desc_style)
        return text, spans

    def _show_palette(self, palette: KeyLine) -> None:
        app = self.app
        active = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        palette.display = app.ENABLE_COMMAND_PALETTE and active is not None
        if active is None:
            return
        _node, binding, enabled, _tooltip = active
        key_style, desc_style, item_style = self._styles()
        text = Text.assemble((app.get_key_display(binding), key_style), (f" {binding.description}", desc_style),
                             no_wrap=True)
        text.stylize_before(item_style)
        palette.show(text, [KeySpan(0, len(text), FooterKey(binding, enabled,
                                                                 binding.tooltip or binding.description))])
