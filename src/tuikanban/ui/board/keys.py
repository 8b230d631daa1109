"""The board's keys: one table (section, bindings) that gives the board its bindings, the footer its labels, the
command palette its commands and the `?` help its rows."""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding
from textual.content import Content

from tuikanban.ui.board.changed import CHANGED_MARK

# Footer groups: the keys of a group are drawn side by side, so "⇧←" then "→" reads as "⇧←→ move".
_NAV = Binding.Group("focus", compact=True)
_MOVE = Binding.Group("move", compact=True)
_ORDER = Binding.Group("order", compact=True)
_CLOSE = Binding.Group("won/lost", compact=True)
_LOG = Binding.Group("log", compact=True)
# Groups whose bindings share one row in the `?` help (their keys side by side, the first one's text).
_ONE_HELP_ROW = (_LOG,)

# (help section, bindings); the help text of each binding is its tooltip.
BINDING_SECTIONS: list[tuple[str, list[Binding]]] = [
    ("Navigate", [
        Binding("left,h", "column(-1)", "column", key_display="←", group=_NAV, id="board.column_prev",
                tooltip="Focus the previous column"),
        Binding("right,l", "column(1)", "column", key_display="→", group=_NAV, id="board.column_next",
                tooltip="Focus the next column"),
        Binding("up,k", "card(-1)", "card", key_display="↑", group=_NAV, id="board.card_prev",
                tooltip="Focus the previous card (continues into the lane above)"),
        Binding("down,j", "card(1)", "card", key_display="↓", group=_NAV, id="board.card_next",
                tooltip="Focus the next card (continues into the lane below)"),
        Binding("pageup", "page(-1)", "page up", show=False, id="board.page_up", tooltip="Up a screenful"),
        Binding("pagedown", "page(1)", "page down", show=False, id="board.page_down",
                tooltip="Down a screenful"),
        Binding("home", "edge(0)", "first", show=False, id="board.first", tooltip="First card of the cell"),
        Binding("end", "edge(1)", "last", show=False, id="board.last", tooltip="Last card of the cell"),
    ]),
    ("Deals", [
        Binding("shift+left,H", "move(-1)", "move", key_display="⇧←", group=_MOVE, id="board.move_prev",
                tooltip="Move the focused deal to the previous stage"),
        Binding("shift+right,L", "move(1)", "move", key_display="→", group=_MOVE, id="board.move_next",
                tooltip="Move the focused deal to the next stage"),
        Binding("shift+up,K", "reorder(-1)", "reorder", key_display="⇧↑", group=_ORDER, id="board.reorder_up",
                tooltip="Move the focused deal up within its column"),
        Binding("shift+down,J", "reorder(1)", "reorder", key_display="↓", group=_ORDER,
                id="board.reorder_down", tooltip="Move the focused deal down within its column"),
        Binding("n", "new_deal", "new", id="board.new", tooltip="New deal (form)", priority=True),
        Binding("enter", "open_deal", "open", key_display="⏎", id="board.open",
                tooltip="Open the focused deal: details, history, activities"),
        Binding("e", "edit_deal", "edit", show=False, id="board.edit", tooltip="Edit the focused deal",
                priority=True),
        Binding("w", "won", "won", group=_CLOSE, id="board.won", tooltip="Mark the focused deal won"),
        Binding("x", "lost", "lost", group=_CLOSE, id="board.lost",
                tooltip="Mark the focused deal lost (asks for a reason)"),
        Binding("u", "undo", "undo", id="board.undo", tooltip="Undo your last action (a bulk action as a whole)"),
        Binding("U,ctrl+r", "redo", "redo", show=False, id="board.redo",
                tooltip="Redo what you last undid"),
    ]),
    ("Marks and bulk actions", [
        Binding("space", "mark", "mark", key_display="space", show=False, id="board.mark",
                tooltip="Mark or unmark (L H > w x O z D act on all marked)"),
        Binding("asterisk", "mark_column", "mark column", key_display="*", show=False, id="board.mark_column",
                tooltip="Mark every card shown in the column (again: unmark)"),
        Binding("greater_than_sign", "move_to", "move to", key_display=">", show=False, id="board.move_to",
                tooltip="Move to stage: pick it by name (marked deals or this one)"),
        Binding("O", "owner", "owner", show=False, id="board.owner",
                tooltip="Change owner of the marked deals (or this one)"),
    ]),
    ("Find", [
        Binding("g,ctrl+f", "jump", "jump", key_display="g", show=False, id="board.jump",
                tooltip="Jump to a deal: title, company or id, in every pipeline"),
    ]),
    ("Rep's day", [
        Binding("t", "today", "today", id="board.today",
                tooltip="Today: tasks due, deals with no next step, stuck deals"),
        Binding("C", "log('call')", "log", group=_LOG, id="board.log_call", priority=True,
                tooltip="Log a call / email / meeting / note: 'text >> +3d next'"),
        Binding("E", "log('email')", "log", group=_LOG, id="board.log_email", priority=True, tooltip="Log an email"),
        Binding("M", "log('meeting')", "log", group=_LOG, id="board.log_meeting", priority=True,
                tooltip="Log a meeting"),
        Binding("N", "log('note')", "log", group=_LOG, id="board.log_note", priority=True, tooltip="Log a note"),
        Binding("z", "snooze", "snooze", show=False, id="board.snooze",
                tooltip="Snooze the focused deal (or the marked ones) until a date, with a reason"),
        Binding("D", "delete", "delete", show=False, id="board.delete",
                tooltip="Delete the focused deal or the marked ones (asks first; u undoes it)"),
    ]),
    ("View", [
        Binding("slash", "filter", "filter", key_display="/", id="board.filter",
                tooltip="Filter: words, owner:NAME, type:NAME, closing:<30d (closes within 30 days), idle:>14d "
                        "(no stage move or activity for 14 days)"),
        Binding("s", "lanes", "lanes", id="board.lanes", tooltip="Swimlanes by deal type on/off"),
        Binding("a", "aging", "aging", id="board.aging", priority=True,
                tooltip="Aging panel: stuck deals and risk signals"),
        Binding("m", "metrics", "metrics", id="board.metrics", tooltip="Metrics: velocity, conversion, bottleneck"),
        Binding("v", "review", "review", show=False, id="board.review",
                tooltip="Review: what changed (value bridge, moves, pushed, new, idle, closing soon)"),
        Binding("p", "pipeline", "pipeline", id="board.pipeline", tooltip="Switch pipeline (or create one)"),
        Binding("c", "closed", "closed", id="board.closed", tooltip="Closed deals: find and reopen"),
        Binding("comma", "settings", "setup", key_display=",", id="board.settings",
                tooltip="Pipeline settings: stages, limits, types"),
        Binding("r", "refresh", "refresh", show=False, id="board.refresh",
                tooltip="Read the board again (reopens a replaced file)"),
        Binding("o", "sort", "sort", show=False, id="board.sort",
                tooltip="Sort columns by rank, value, close date or days in stage"),
        Binding("d", "density", "density", show=False, id="board.density",
                tooltip="Compact cards (one line each) on/off, remembered"),
    ]),
    ("App", [
        Binding("question_mark", "help", "help", key_display="?", id="board.help", tooltip="This help"),
        Binding("escape", "close", "back", key_display="esc", id="board.close",
                tooltip="Clear the marks, close the open panel or filter"),
        Binding("q", "quit", "quit", id="board.quit", tooltip="Quit"),
    ]),
]

# Keys the footer leaves out for room but the command palette still lists.
PALETTE_ALSO = frozenset({"board.redo"})


def key_label(binding: Binding, keymap: Mapping[str, str] | None = None) -> str:
    """The binding's keys for people (its keymap keys when the user remapped it)."""
    keys = (keymap or {}).get(binding.id or "", binding.key)
    names = {"left": "←", "right": "→", "up": "↑", "down": "↓", "shift+left": "⇧←", "shift+right": "⇧→",
             "shift+up": "⇧↑", "shift+down": "⇧↓", "slash": "/", "comma": ",", "question_mark": "?",
             "escape": "esc", "enter": "enter", "asterisk": "*", "greater_than_sign": ">", "pageup": "PgUp",
             "pagedown": "PgDn"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


HelpRow = tuple[str | Content, str]
# The filter's terms, under its key in the help.
FILTER_HELP: list[HelpRow] = [
    ('  owner:al type:"a b"', 'Names starting so (quotes: spaces); owner:me: yours'),
    ("  owner:a owner:b", "A key twice: either; snoozed:yes: the snoozed deals"),
]


def help_sections(keymap: Mapping[str, str] | None = None) -> list[tuple[str, list[HelpRow]]]:
    """The `?` help: every board binding by section, the aging panel's keys, then what the colours and marks on the
    board mean (the badges and marks drawn in their theme colours)."""
    from tuikanban.domain.aging import LEVEL_LEGEND, SIGNAL_LEGEND, SIGNALS  # (the help is built after the paint)

    sections: list[tuple[str, list[HelpRow]]] = []
    for title, bindings in BINDING_SECTIONS:
        rows: list[HelpRow] = []
        previous: Binding.Group | None = None
        for b in bindings:
            if b.group is not None and b.group is previous and b.group in _ONE_HELP_ROW:
                rows[-1] = (f"{rows[-1][0]} {key_label(b, keymap)}", rows[-1][1])
            else:
                rows.append((key_label(b, keymap), b.tooltip or b.description))
            previous = b.group
        if title == "App":
            rows.insert(1, ("ctrl+p", "Command palette: every action by name"))
        if title == "View":
            rows[1:1] = FILTER_HELP
        sections.append((title, rows))
    sections.append(("Aging panel (a opens it beside the board)", [
        ("↑ / ↓, k / j", "Move in the list of deals needing attention (most severe first)"),
        ("enter", "Show that deal on the board (focuses its card)"),
        ("c", "Switch between the list and the aging chart"),
        ("tab / ⇧tab", "Between the panel's list and the board (the panel stays open)"),
        ("esc / a", "Close the panel"),
    ]))
    sections.append(("WIP counters", [
        ("3/5", "Open deals in the stage / its WIP limit (every deal, whatever the filter)"),
        ("5/5", "At the limit (red): moving another deal in asks for a reason"),
        ("6/5 over", "Over the limit (reversed): the limit was lowered or overridden"),
        ("1/5", "Below the stage's WIP minimum (amber)"),
    ]))
    sections.append(("Days in stage (the badge on each card)", [
        (Content.styled("4d", "$text-muted"), "ok: " + LEVEL_LEGEND["ok"]),
        (Content.styled("11d", "bold $tk-aging"), "aging: " + LEVEL_LEGEND["aging"]),
        (Content.styled("15d", "bold reverse $tk-stalled"), "stalled: " + LEVEL_LEGEND["stalled"]),
        ("baseline", "Expected days if set, else the 180-day average stay (3+), else 7"),
    ]))
    marks: list[HelpRow] = [
        (Content.styled(SIGNAL_LEGEND[s][0], "bold $tk-aging"), f"{SIGNAL_LEGEND[s][1]} ({s})") for s in SIGNALS
    ]
    marks.append((Content.styled(CHANGED_MARK, "bold $tk-aging"),
                  "Changed since your last review, by anyone (v shows the review and records it)"))
    sections.append(("Risk marks (before the badge)", marks))
    return sections
