"""QueueList: a long list of one-line rows with a cursor, drawn lazily (only the rows on screen are turned into
segments), so that the Today queue of hundreds of lines appears as fast as a screenful does.

Rows are `(key, Content)`; a row whose key is None is a heading (the cursor skips it). The screen reads `current`
(the key under the cursor) and gets `QueueList.Chosen` on enter.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Row = tuple[str | None, Content]


def _drawn(rows: list[Row]) -> list[tuple[str | None, str, list[object]]]:
    """What `rows` put on screen: each row's key, text and styled spans (`Content`'s equality is its text only)."""
    return [(key, content.plain, list(content.spans)) for key, content in rows]


class QueueList(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    QueueList { height: 1fr; }
    QueueList > .queue--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    """
    COMPONENT_CLASSES = {"queue--cursor"}
    BINDINGS = [
        Binding("up,k", "step(-1)", "up", show=False),
        Binding("down,j", "step(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "edge(0)", "first", show=False),
        Binding("end", "edge(1)", "last", show=False),
        Binding("enter", "choose", "open", show=False),
    ]

    class Chosen(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[Row] = []
        self.cursor = 0

    @property
    def current(self) -> str | None:
        return self.rows[self.cursor][0] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(self, rows: list[Row], *, keep: str | None = None) -> None:
        """Show `rows`, the cursor on the row keyed `keep` if there is one, else on the first row that is not a
        heading."""
        before, self.rows = (self.rows, self.cursor), rows
        keys = [k for k, _c in rows]
        self.cursor = keys.index(keep) if keep is not None and keep in keys else self._next(-1, 1)
        if (self.cursor == before[1] and self.virtual_size == Size(self.size.width, len(rows))
                and _drawn(rows) == _drawn(before[0])):
            return  # the same lines (a read again that found nothing new): nothing to draw, no bytes to the terminal
        self.virtual_size = Size(self.size.width, len(rows))
        self._reveal()
        self.refresh()

    def _next(self, start: int, step: int) -> int:
        i = start + step
        while 0 <= i < len(self.rows):
            if self.rows[i][0] is not None:
                return i
            i += step
        return start if 0 <= start < len(self.rows) else 0

    def _reveal(self) -> None:
        top, height = int(self.scroll_y), max(1, self.scrollable_content_region.height)
        if self.cursor < top:
            self.scroll_to(y=max(0, self.cursor - 1), animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def _move_to(self, index: int) -> None:
        self.cursor = index
        self._reveal()
        self.refresh()

    def action_step(self, step: int) -> None:
        self._move_to(self._next(self.cursor, step))

    def action_page(self, step: int) -> None:
        target = min(max(self.cursor + step * max(1, self.size.height - 1), 0), len(self.rows) - 1)
        if target >= 0:
            self._move_to(target if self.rows[target][0] is not None else self._next(target, step))

    def action_edge(self, last: int) -> None:
        self._move_to(self._next(len(self.rows), -1) if last else self._next(-1, 1))

    def action_choose(self) -> None:
        if self.current is not None:
            self.post_message(self.Chosen(self.current))

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.size.width
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        _key, content = self.rows[index]
        parse = self.app.stylesheet.parse_style  # ($accent and the other theme variables in the rows' styles)
        segments = [Segment(text, style.rich_style if style else None)
                    for text, style in content.render(self.visual_style, end="", parse_style=parse)]
        strip = Strip(segments).crop_extend(0, width, self.rich_style)
        if index == self.cursor and self.has_focus:
            cursor: Style = self.get_component_rich_style("queue--cursor")
            strip = Strip([Segment(t, (s or Style()) + cursor, c) for t, s, c in strip])
        return strip
