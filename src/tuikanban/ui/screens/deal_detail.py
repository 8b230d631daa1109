"""DealDetailScreen: every field of a deal, its aging and risk signals in words, its stage's exit criteria, its
history and its activities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from tuikanban.domain import clock
from tuikanban.domain.aging import LEVEL_LEGEND, SIGNAL_LEGEND, AgingItem, BaselineSource, format_days, signal_meaning
from tuikanban.domain.errors import TuikanbanError, ValidationError
from tuikanban.domain.metrics import plural
from tuikanban.domain.models import DealTypeInfo, DealView, StageInfo
from tuikanban.domain.money import format_money
from tuikanban.domain.records import ActivityView, EventView
from tuikanban.domain.text import clean_text, display
from tuikanban.ui.board.keys import key_label
from tuikanban.ui.dialogs.base import Dialog, JobResult, Refusal
from tuikanban.ui.dialogs.fields import FieldError, key_hints, literal
from tuikanban.ui.jobs import EARLY
from tuikanban.ui.lazy import lazy_module
from tuikanban.ui.presence import HereLine
from tuikanban.ui.screens.deal_form import DealFormScreen, parse_close_date
from tuikanban.ui.spares import AheadOfKey
from tuikanban.ui.widgets.checklist import Checklist
from tuikanban.ui.widgets.log_bar import LogBar, write_log_line

if TYPE_CHECKING:
    from tuikanban.services import deals as deal_service
    from tuikanban.services import screen_reads
    from tuikanban.store.engine import Database
else:
    deal_service = lazy_module("tuikanban.services.deals")
    screen_reads = lazy_module("tuikanban.services.screen_reads")

ACTIVITY_LABELS = (("note", "Note"), ("call", "Call"), ("email", "Email"), ("meeting", "Meeting"),
                  ("task", "Follow-up task"))
_FIELD_NAMES = {"close": "expected close", "type": "deal type"}


WATCH_SECONDS = 1.0  # how often an open detail looks for other reps' writes


@dataclass(frozen=True, slots=True)
class _Detail:
    deal: DealView
    stage: StageInfo | None
    types: list[DealTypeInfo]
    events: list[EventView]
    activities: list[ActivityView]
    aging: AgingItem | None = None  # open deals only: from the one aging function (services.aging)
    stale_days: int | None = None


_BASELINE_FROM = {
    BaselineSource.EXPECTED: "the stage's expected days",
    BaselineSource.HISTORY: "the average stay of the last 180 days",
    BaselineSource.DEFAULT: "the default: too little history",
}


def describe_aging(item: AgingItem, stale_days: int | None, styles: dict[str, str]) -> Content:
    """The deal's level, days in stage against the baseline, and each risk signal in words (user text literal).

    `styles` maps ok / aging / stalled / signal to a style (theme variables where the app defines them)."""
    level = item.level.value
    ratio = item.days_in_stage / item.baseline_days if item.baseline_days > 0 else 0.0
    lines = [Content.assemble(
        ("Aging   ", "$text-muted"), (f" {level} ", styles[level]),
        f"  {_days(item.days_in_stage)} in ", (display(item.stage), "bold"),
        f" against a baseline of {_days(item.baseline_days)} ",
        (f"({_BASELINE_FROM[item.baseline_source]}): {ratio:.1f} x", "$text-muted"),
    ), Content.assemble("        ", (LEVEL_LEGEND[level], "$text-muted"))]
    if item.signals:
        for k, signal in enumerate(item.signals):
            mark = SIGNAL_LEGEND[signal][0]
            lines.append(Content.assemble(
                ("Risk    " if k == 0 else "        ", "$text-muted"), (mark, styles["signal"]),
                f" {signal_meaning(signal, stale_days)}", (f"  ({signal})", "$text-muted"),
            ))
    else:
        lines.append(Content.assemble(("Risk    ", "$text-muted"), "No risk signals."))
    return Content("\n").join(lines)


def _days(days: float) -> str:
    """`1 day`, `6.5 days` (format_days' figure with the right noun)."""
    figure = format_days(days)
    return f"{figure} day" if figure == "1" else f"{figure} days"


def _when(at: datetime) -> str:
    return clock.as_utc(at).astimezone().strftime("%Y-%m-%d %H:%M")


def _day(at: datetime | None) -> str:
    return clock.as_utc(at).astimezone().strftime("%Y-%m-%d") if at else "—"


def _undone(ev: EventView, val: Callable[[str | None], str]) -> list[str | tuple[str, str]]:
    """What an undo or redo did, in words (services.undo records an edit's field, a move's two stages, a close's
    status, a delete's status to come back to, or a reorder's ranks)."""
    if ev.field:
        return [f"{_FIELD_NAMES.get(ev.field, ev.field)}: ", val(ev.old_value), " → ", (val(ev.new_value), "bold")]
    if ev.from_stage and ev.from_stage != ev.to_stage:
        return ["moved ", ev.from_stage, " → ", (ev.to_stage or "?", "bold")]
    if ev.old_value in ("won", "lost"):
        return [f"reopened ({ev.old_value}) in ", (ev.to_stage or "?", "bold")]
    if ev.new_value in ("open", "won", "lost") and ev.old_value is None:
        return [f"restored the deleted deal ({ev.new_value})"]
    return ["reordered in ", (ev.to_stage or "?", "bold")]


def describe_event(ev: EventView, currency: str, type_names: dict[int, str]) -> Content:
    """One line of history: when, who, what (user text kept literal)."""

    def val(raw: str | None) -> str:
        if raw is None or raw == "":
            return "(none)"
        if ev.field == "value":
            try:
                return format_money(int(raw), currency)
            except ValueError:
                return raw
        if ev.field == "type":
            try:
                return type_names.get(int(raw), f"type {raw}")
            except ValueError:
                return raw
        return raw

    what: list[str | tuple[str, str]]
    kind = ev.kind
    if kind == "create":
        what = ["created in ", (ev.to_stage or "?", "bold")]
    elif kind == "move":
        what = ["moved ", ev.from_stage or "?", " → ", (ev.to_stage or "?", "bold")]
        if ev.reason:
            what += [("  forced: ", "$warning"), ev.reason]
    elif kind == "reorder":
        what = [f"reordered {ev.new_value or ''} in ", ev.to_stage or "?"]
    elif kind == "won":
        what = [("won", "bold $success"), f" from {ev.from_stage or '?'}"]
    elif kind == "lost":
        what = [("lost", "bold $error"), f" from {ev.from_stage or '?'}: ", ev.reason or ""]
    elif kind == "reopen":
        what = [f"reopened ({ev.old_value or 'closed'}) into ", (ev.to_stage or "?", "bold")]
    elif kind == "edit":
        name = _FIELD_NAMES.get(ev.field or "", ev.field or "field")
        if ev.field == "notes":
            what = ["changed the notes"]
        else:
            what = [f"{name}: ", val(ev.old_value), " → ", (val(ev.new_value), "bold")]
    elif kind == "wip_override":
        what = [("WIP limit overridden", "$warning"), f" for {ev.to_stage or '?'}: ", ev.reason or ""]
    elif kind in ("undo", "redo"):
        what = [f"{kind}: ", *_undone(ev, val)]
        if ev.reason:
            what += [("  forced: ", "$warning"), ev.reason]
    elif kind == "undo_skipped":
        what = [("skipped an undo", "$warning"), f": {ev.reason or 'it could no longer be undone'}"]
    else:
        what = [kind]
    parts: list[str | tuple[str, str]] = [
        (_when(ev.at), "$text-muted"), "  ", (display(ev.user) or "?", "$text-accent"), "  ",
    ]
    for piece in what:
        parts.append((clean_text(piece[0]), piece[1]) if isinstance(piece, tuple) else clean_text(piece))
    return Content.assemble(*parts)


def describe_activity(act: ActivityView) -> Content:
    mark = ("☑ " if act.done else "☐ ") if act.kind == "task" else "• "
    kind = "task" if act.kind == "task" else act.kind
    parts: list[str | tuple[str, str]] = [(mark, "$success" if act.done else "$accent"), (f"{kind:<8}", "bold")]
    if act.kind == "task" and act.due is not None:
        overdue = not act.done and act.due < clock.today()
        parts.append((f"due {act.due.isoformat()}  ", "$error" if overdue else "$text-muted"))
    finished = act.kind == "task" and act.done  # only a finished task is struck through; emails, calls... are not
    parts.append((display(act.subject, max_length=120), "strike $text-muted" if finished else ""))
    # who and when on their own dim line, under the subject: the pane is too narrow for them to follow it
    parts.append((f"\n{'':10}{display(act.user)}, {_day(act.at)}", "$text-muted"))
    return Content.assemble(*parts)


def _read_detail(db: Database, deal_id: int) -> _Detail:
    """Without the ORM (services.screen_reads), so the detail opened in the first second after start is filled
    without waiting for its import and the database's opening."""
    d = db.read_plain(lambda u: screen_reads.deal_detail(u, deal_id))
    return _Detail(d.deal, d.stage, d.types, d.events, d.activities, d.aging, d.stale_days)


class DetailRead(JobResult):
    def __init__(self, detail: _Detail) -> None:
        super().__init__()
        self.detail = detail


class DetailUnreadable(Refusal):
    """The deal could not be read (someone deleted it)."""


class ActivityAdded(JobResult):
    def __init__(self, activity: ActivityView) -> None:
        super().__init__()
        self.activity = activity


class ActivityRefused(Refusal):
    """The activity was refused (a subject too long, a due date out of range)."""


class TaskToggled(JobResult):
    """A follow-up task was ticked done or undone: the activity as now stored."""

    def __init__(self, activity: ActivityView) -> None:
        super().__init__()
        self.activity = activity


class LineLogged(JobResult):
    def __init__(self, bar: LogBar, note: str) -> None:
        super().__init__()
        self.bar = bar
        self.note = note


class LineRefused(Refusal):
    def __init__(self, bar: LogBar, error: TuikanbanError) -> None:
        super().__init__(error)
        self.bar = bar


class _Activities(OptionList):
    BINDINGS = [Binding("space,d", "screen.toggle_done", "Task done/undone")]


class _AddRow(Horizontal):
    BINDINGS = [Binding("escape", "screen.close_add", "Close", show=False)]


LOG_BINDINGS = (
    Binding("C", "log('call')", "Log a call", show=False, id="board.log_call"),
    Binding("E", "log('email')", "Log an email", show=False, id="board.log_email"),
    Binding("M", "log('meeting')", "Log a meeting", show=False, id="board.log_meeting"),
    Binding("N", "log('note')", "Log a note", show=False, id="board.log_note"),
)


class DealDetailScreen(AheadOfKey, Dialog[bool]):
    """Returns True when anything was changed (an edit, an activity, a task ticked)."""

    DEFAULT_CSS = """
    DealDetailScreen > .dialog { width: 110; height: 90%; }
    DealDetailScreen #detail-title { text-style: bold; margin-top: 1; height: auto; }
    DealDetailScreen #detail-fields {
        grid-size: 4;
        grid-columns: 14 1fr 14 1fr;
        grid-rows: auto;
        height: auto;
        margin-top: 1;
    }
    DealDetailScreen #detail-fields > Label { width: 1fr; height: auto; }
    DealDetailScreen #detail-fields > .k { color: $text-muted; }
    DealDetailScreen #detail-notes, DealDetailScreen #detail-exit, DealDetailScreen #detail-aging {
        height: auto;
        margin-top: 1;
    }
    DealDetailScreen #detail-lists { height: 1fr; margin-top: 1; }
    DealDetailScreen #detail-lists > Vertical { width: 1fr; height: 1fr; }
    DealDetailScreen #activities-box { margin-right: 1; }
    DealDetailScreen #activities, DealDetailScreen #history {
        height: 1fr;
        border: none;
        padding: 0;
        background: $surface;
    }
    DealDetailScreen #activities:focus, DealDetailScreen #history:focus { background-tint: $foreground 4%; }
    DealDetailScreen #add-row { height: auto; display: none; margin-top: 1; }
    DealDetailScreen #add-row.-open { display: block; }
    DealDetailScreen #add-row > Select { width: 20; }
    DealDetailScreen #add-row > #add-subject { width: 1fr; margin: 0 1; }
    DealDetailScreen #add-row > #add-due { width: 24; }
    DealDetailScreen #add-row Input { background: $boost; padding: 0 1; }
    DealDetailScreen #add-row Select > SelectCurrent { background: $boost; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("e", "edit", "Edit"),
        Binding("a", "add('note')", "Add activity"),
        Binding("t", "add('task')", "Follow-up task"),
        # the board's ids: a key the user remapped for logging on the board ([keymap]) logs here too
        *LOG_BINDINGS,
    ]

    def __init__(self, db: Database, deal_id: int, user: str) -> None:
        super().__init__()
        self.db = db
        self.deal_id = deal_id
        self.user = user
        self.changed = False
        self.detail: _Detail | None = None
        self._seen_version: int | None = None

    # -- loading ------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.built_while_closing():
            return
        self.start_unless_ahead()

    def start(self) -> None:
        self._seen_version = self._data_version()  # before the read: a write after it is seen at the next tick
        self.reload()
        self.set_interval(WATCH_SECONDS, self._watch)

    def show_deal(self, db: Database, deal_id: int) -> None:
        """(A detail built before its key, ui/spares.py:) the deal it shows, before `start()`."""
        self.db, self.deal_id = db, deal_id
        self.query_one(".dialog", Vertical).border_title = self._title()
        self.query_one(HereLine).follow(deal_id)
        checklist = self.query_one(Checklist)
        checklist.db, checklist.deal_id = db, deal_id
        checklist.reload()

    def _title(self) -> str:
        return f"Deal #{self.deal_id}"

    def _data_version(self) -> int | None:
        try:
            return self.db.data_version()  # a PRAGMA: microseconds
        except Exception:  # the file is locked or gone: look again at the next tick
            return None

    def _watch(self) -> None:
        """Another rep (or process) wrote to the file: read the deal again."""
        version = self._data_version()
        if version is None:
            return
        if self._seen_version is not None and version != self._seen_version:
            self.reload()
        self._seen_version = version

    def reload(self) -> None:
        db, deal_id = self.db, self.deal_id
        self.run_job(lambda: DetailRead(_read_detail(db, deal_id)), refused=DetailUnreadable, name="read deal",
                     kind=EARLY)  # (no ORM: ahead of the warm-up after start)

    @on(DetailUnreadable)
    def _detail_unreadable(self, message: DetailUnreadable) -> None:
        self.notify(str(message.error), severity="error", markup=False)
        self.dismiss(self.changed)

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self._title()
            yield Static("", id="detail-title")
            yield HereLine(self.deal_id, "viewing", id="detail-here")
            yield Grid(id="detail-fields")
            yield Static("", id="detail-aging")
            yield Static("", id="detail-notes")
            yield Static("", id="detail-exit")
            yield Checklist(self.db, self.deal_id, self.user, id="detail-checklist")
            with Horizontal(id="detail-lists"):
                with Vertical(id="activities-box"):
                    yield Static("Activities", classes="section-title", id="activities-title")
                    yield _Activities(id="activities")
                with Vertical(id="history-box"):
                    yield Static("History", classes="section-title", id="history-title")
                    with VerticalScroll(id="history"):
                        yield Static("", id="history-lines")
            with _AddRow(id="add-row"):
                yield Select([(label, kind) for kind, label in ACTIVITY_LABELS], allow_blank=False, value="note",
                             id="add-kind", compact=True)
                yield Input(placeholder="what happened / what to do", id="add-subject", compact=True)
                yield Input(placeholder="due: YYYY-MM-DD, +3d", id="add-due", compact=True)
            yield FieldError(id="add-error")
            yield Static(key_hints(("e", "edit"), ("a", "add activity"), ("t", "follow-up task"),
                                   (self._log_keys(), "log"), ("space", "task done / tick"), ("tab", "next list"),
                                   ("esc", "close")),
                         classes="hints", id="detail-hints")

    @on(DetailRead)
    def _detail_read(self, message: DetailRead) -> None:
        before = self.detail
        detail = self.detail = message.detail
        if before is not None:
            newest = max((e.id for e in before.events), default=0)
            others = sorted({e.user for e in detail.events if e.id > newest and e.user != self.user})
            if others:
                self.notify(f"Changed by {' and '.join(display(u) for u in others)}; shown as it is now.",
                            timeout=5, markup=False)
                self.query_one(Checklist).reload()  # (moved: another stage's checklist, or none)
        deal = detail.deal
        box = self.query_one(".dialog", Vertical)
        status_style = {"won": "$success", "lost": "$error"}.get(deal.status, "$text-muted")
        box.border_subtitle = Content(f"{deal.status} · {display(deal.stage_name)}")  # literal, never markup
        self.query_one("#detail-title", Static).update(literal(deal.title))
        days = clock.days_between(deal.stage_entered_at, clock.now())
        value = format_money(deal.value_minor, deal.currency) if deal.value_minor is not None else "—"
        stay = f" · {plural(int(days), 'day')}" if deal.status == "open" else ""
        rows: list[tuple[str, Content]] = [
            ("Company", literal(deal.company) or Content("—")),
            ("Value", Content(value)),
            ("Contact", literal(deal.contact) or Content("—")),
            ("Owner", literal(deal.owner) or Content("(unassigned)")),
            ("Stage", Content.assemble(display(deal.stage_name), (stay, "$text-muted"))),
            ("Deal type", literal(deal.type_name) or Content("(none)")),
            ("Close date", Content(deal.expected_close.isoformat() if deal.expected_close else "—")),
            ("Status", Content.assemble((deal.status, status_style),
                                        (f" {_day(deal.closed_at)}" if deal.closed_at else "", "$text-muted"))),
            ("Created", Content(_day(deal.created_at))),
            ("Last activity", Content(_day(deal.last_activity_at))),
        ]
        if deal.status == "lost":
            rows.append(("Lost reason", literal(deal.lost_reason)))
        grid = self.query_one("#detail-fields", Grid)
        grid.remove_children()
        widgets: list[Label] = []
        for key, value_content in rows:
            widgets.append(Label(key, classes="k"))
            widgets.append(Label(value_content, markup=False))
        grid.mount_all(widgets)
        aging_box = self.query_one("#detail-aging", Static)
        if detail.aging is not None:
            aging_box.update(describe_aging(detail.aging, detail.stale_days, self._aging_styles()))
        aging_box.display = detail.aging is not None
        notes = self.query_one("#detail-notes", Static)
        notes.update(Content.assemble(("Notes  ", "$text-muted"), clean_text(deal.notes, multiline=True).strip())
                     if deal.notes else "")
        notes.display = bool(deal.notes)
        exit_box = self.query_one("#detail-exit", Static)
        criteria = detail.stage.exit_criteria if detail.stage else ""
        exit_box.update(Content.assemble((f"Exit criteria of {display(deal.stage_name)}  ", "$text-muted"),
                                         literal(criteria)) if criteria else "")
        exit_box.display = bool(criteria)
        self._show_activities(detail.activities)
        names = {t.id: t.name for t in detail.types}
        history = [describe_event(ev, deal.currency, names) for ev in reversed(detail.events)]
        self.query_one("#history-title", Static).update(f"History ({len(detail.events)})")
        self.query_one("#history-lines", Static).update(Content("\n").join(history) if history else "No events.")
        if self.focused is None:
            self.query_one("#activities", OptionList).focus()

    def _aging_styles(self) -> dict[str, str]:
        """The board's aging colours (theme variables tk-aging, tk-stalled), or the theme's own where the hosting app
        does not define them."""
        defined = self.app.theme_variables
        aging = "$tk-aging" if "tk-aging" in defined else "$warning"
        stalled = "$tk-stalled" if "tk-stalled" in defined else "$error"
        return {"ok": "bold $text-success", "aging": f"bold reverse {aging}", "stalled": f"bold reverse {stalled}",
                "signal": f"bold {aging}"}

    def _show_activities(self, activities: list[ActivityView], highlight: int | None = None) -> None:
        box = self.query_one("#activities", OptionList)
        keep = box.highlighted
        box.clear_options()
        if activities:
            box.add_options([Option(describe_activity(a), id=f"a{a.id}") for a in activities])
        else:
            box.add_option(Option(Content.styled("No activities yet: press a to log one.", "$text-muted"),
                                  disabled=True))
        if activities:
            index = next((i for i, a in enumerate(activities) if a.id == highlight), keep or 0)
            box.highlighted = min(index, len(activities) - 1)
        open_tasks = sum(1 for a in activities if a.kind == "task" and not a.done)
        title = f"Activities ({len(activities)})" + (f" · {plural(open_tasks, 'open task')}" if open_tasks else "")
        self.query_one("#activities-title", Static).update(title)

    # -- actions ------------------------------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(self.changed or self.query_one(Checklist).changed)

    def action_edit(self) -> None:
        if self.detail is None:
            return
        deal = self.detail.deal

        def edited(result: DealView | None) -> None:
            if result is not None:
                self.changed = True
                self.reload()

        self.app.push_screen(DealFormScreen(self.db, deal.pipeline_id, self.user, deal_id=deal.id), edited)

    def action_add(self, kind: str) -> None:
        row = self.query_one("#add-row", _AddRow)
        row.add_class("-open")
        self.query_one("#add-kind", Select).value = kind
        self.query_one("#add-due", Input).display = kind == "task"
        self.query_one("#add-subject", Input).focus()

    def action_close_add(self) -> None:
        self.query_one("#add-row", _AddRow).remove_class("-open")
        self.query_one("#add-error", FieldError).clear()
        self.query_one("#activities", OptionList).focus()

    @on(Select.Changed, "#add-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self.query_one("#add-due", Input).display = event.value == "task"

    @on(Input.Changed, "#add-subject, #add-due")
    def _add_typed(self) -> None:
        self.query_one("#add-error", FieldError).clear()

    @on(Input.Submitted, "#add-subject, #add-due")
    def _add_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.busy:
            return
        kind = str(self.query_one("#add-kind", Select).value)
        subject = self.query_one("#add-subject", Input).value
        due_text = self.query_one("#add-due", Input).value
        error = self.query_one("#add-error", FieldError)
        if kind == "task" and event.input.id == "add-subject" and not due_text.strip():
            self.query_one("#add-due", Input).focus()
            error.show("A follow-up task needs a due date: YYYY-MM-DD, +3d, +1w.", hint=True)
            return
        if not display(subject):
            error.show("Type what happened (or what to do).")
            self.query_one("#add-subject", Input).focus()
            return
        due = None
        if kind == "task":
            try:
                due = parse_close_date(due_text)
            except ValidationError as exc:
                error.show(str(exc).replace("close date", "due date"))
                return
            if due is None:
                error.show("A follow-up task needs a due date: YYYY-MM-DD, +3d, +1w.")
                return
        self.busy = True
        db, deal_id, user = self.db, self.deal_id, self.user
        self.run_job(lambda: ActivityAdded(deal_service.add_activity(db, deal_id, kind, subject, user=user, due=due)),
                     refused=ActivityRefused, name="add activity")

    @on(ActivityAdded)
    def _activity_added(self, message: ActivityAdded) -> None:
        self.busy = False
        self.changed = True
        self.query_one("#add-subject", Input).value = ""
        self.query_one("#add-due", Input).value = ""
        self.action_close_add()
        self.notify(f"Logged the {message.activity.kind}.", markup=False)
        self.reload()

    @on(ActivityRefused)
    def _activity_refused(self, message: ActivityRefused) -> None:
        self.busy = False
        self.query_one("#add-error", FieldError).show(str(message.error))

    # -- logging in one key (the board's log bar) ------------------------------------------------------------
    def _log_keys(self) -> str:
        """The log keys as the user has them: the defaults `C E M N`, or the keys of the user's [keymap]."""
        from tuikanban.ui.app import TuikanbanApp

        keymap = self.app.board_keymap.keys if isinstance(self.app, TuikanbanApp) else None
        return " ".join(key_label(binding, keymap) for binding in LOG_BINDINGS)

    def action_log(self, kind: str) -> None:
        if self.detail is None:
            return
        for old in self.query(LogBar):
            old.remove()
        self.query_one(".dialog", Vertical).mount(LogBar(self.deal_id, self.detail.deal.title, kind))

    @on(LogBar.Send)
    def _log_sent(self, message: LogBar.Send) -> None:
        bar = message.bar
        db, user, text = self.db, self.user, message.text
        job = partial(write_log_line, db, user, bar.deal_id, bar.deal_title, bar.kind, text)
        self.run_job(lambda: LineLogged(bar, job()), refused=partial(LineRefused, bar), name="log")

    @on(LogBar.Cancel)
    def _log_cancelled(self, message: LogBar.Cancel) -> None:
        message.bar.remove()
        self.query_one("#activities", OptionList).focus()

    @on(LineLogged)
    def _line_logged(self, message: LineLogged) -> None:
        self.changed = True
        self.notify(message.note, markup=False)
        message.bar.remove()
        self.reload()

    @on(LineRefused)
    def _line_refused(self, message: LineRefused) -> None:
        message.bar.refused(str(message.error))

    def action_toggle_done(self) -> None:
        if self.detail is None or self.busy:
            return
        box = self.query_one("#activities", OptionList)
        if box.highlighted is None or not self.detail.activities:
            return
        act = self.detail.activities[box.highlighted]
        if act.kind != "task":
            self.notify("Only follow-up tasks can be marked done.", markup=False)
            return
        self.busy = True
        db, user = self.db, self.user
        self.run_job(lambda: TaskToggled(deal_service.set_task_done(db, act.id, not act.done, user=user)),
                     name="tick task")

    @on(TaskToggled)
    def _task_toggled(self, message: TaskToggled) -> None:
        self.busy = False
        self.changed = True
        if self.detail is None:
            return
        updated = message.activity
        acts = [updated if a.id == updated.id else a for a in self.detail.activities]
        self.detail = replace(self.detail, activities=acts)
        self._show_activities(acts, highlight=updated.id)


__all__ = [
    "ActivityAdded", "ActivityRefused", "DealDetailScreen", "DetailRead", "DetailUnreadable", "TaskToggled",
    "describe_activity", "describe_aging", "describe_event",
]
