"""TodayScreen (`t` on the board): the Today queue of `services.today` for the user (`a` shows every rep's), grouped
by kind with counts, worked from the keyboard: `d` done with an outcome and the next step, `z` snooze the task,
`enter` the deal's detail, `L` the deal one stage on. It reads the queue again when anyone changes the database
(polled like the board) and after its own writes.

Every read and write is a job on the app's lanes (the queue on `reads`, the writes on `writes`) returning a typed
message handled here.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.tasks import AGING, DUE_TODAY, NO_NEXT_STEP, OVERDUE, STALLED, TODAY_KINDS, TodayItem
from tuikanban.domain.text import display
from tuikanban.ui.dialogs.fields import key_hints
from tuikanban.ui.jobs import JobFailed, lanes_of
from tuikanban.ui.styled_once import StyledOnce
from tuikanban.ui.textual_seam import frames_only_when_seen
from tuikanban.ui.whole_once import WholeOnce
from tuikanban.ui.widgets.queue_list import QueueList, Row

if TYPE_CHECKING:
    from tuikanban.services.today import TodayQueue
    from tuikanban.store.engine import Database

POLL_SECONDS = 0.5
LIMIT = 50  # deal lines of each kind shown, as `tuikanban today` (every task is listed; the heading counts all)
KIND_TITLES = {OVERDUE: "Overdue", DUE_TODAY: "Due today", NO_NEXT_STEP: "No next step", STALLED: "Stalled",
               AGING: "Aging"}


class QueueRead(Message):
    def __init__(self, queue: TodayQueue, everyone: bool) -> None:
        super().__init__()
        self.queue = queue
        self.everyone = everyone


class TodayWritten(Message):
    """A write from the queue (snooze, move) went through: `note` says what it did."""

    def __init__(self, note: str) -> None:
        super().__init__()
        self.note = note


class TodayRefused(Message):
    def __init__(self, error: TuikanbanError) -> None:
        super().__init__()
        self.error = error


def read_queue(db: Database, owner: str | None) -> QueueRead:
    from tuikanban.services.today import today_queue

    return QueueRead(today_queue(db, owner=owner, limit=LIMIT), owner is None)


def snooze_task_job(db: Database, user: str, task_id: int, until: str) -> TodayWritten:
    from tuikanban.services.tasks import snooze_task

    task = snooze_task(db, task_id, until, user=user)
    return TodayWritten(f"Task moved to {task.due:%a %d %b}." if task.due else "Task moved.")


def move_on_job(db: Database, user: str, deal_id: int, seen_stage: str | None = None) -> TodayWritten | TodayRefused:
    """The deal one stage on from `seen_stage` (the stage its line showed; refused with who moved it when it is no
    longer there), or the sentence why not."""
    from tuikanban.services.deals import get_deal, move_deal
    from tuikanban.services.pipelines import list_stages

    try:
        deal = get_deal(db, deal_id)
        stages = list_stages(db, deal.pipeline_id)
        ids = [st.id for st in stages]
        seen = next((st.id for st in stages if st.name == seen_stage), None)
        start = seen if seen is not None else deal.stage_id
        at = ids.index(start) if start in ids else len(ids)
        if at + 1 >= len(ids) and (seen is None or seen == deal.stage_id):
            return TodayRefused(TuikanbanError(f"'{display(deal.title)}' is in the last stage; mark it won on the "
                                               "board (w)."))
        target = ids[min(at + 1, len(ids) - 1)]
        moved = move_deal(db, deal_id, target, user=user, expected_version=deal.version, seen_stage_id=seen).deal
    except TuikanbanError as exc:  # a WIP limit, a gate, a deal changed meanwhile
        return TodayRefused(exc)
    return TodayWritten(f"Moved '{display(moved.title)}' to {display(moved.stage_name)}.")


def item_line(item: TodayItem) -> Content:
    """One line of the queue: what is due (or how long it waits), the deal, where it is, the task."""
    if item.kind == OVERDUE:
        lead: tuple[str, str] = (f"{item.days_overdue}d late", "bold $error")
    elif item.kind == DUE_TODAY:
        lead = ("today", "bold $warning")
    elif item.days_in_stage is not None:
        lead = (f"{int(item.days_in_stage)}d in stage", "$text-muted")
    else:
        lead = ("", "")
    where = f"{display(item.stage)} · {display(item.pipeline)}" + (f" · @{display(item.owner)}" if item.owner else "")
    return Content.assemble("  ", (lead[0].ljust(13), lead[1]), (display(item.title, max_length=48), "bold"),
                            ("  " + where, "$text-muted"), "  " + display(item.text, max_length=60))


HINTS = key_hints(("d", "done + next step"), ("z", "snooze task"), ("enter", "open deal"), ("L", "next stage"),
                  ("a", "mine / all reps"), ("esc", "board"))
SHORT_HINTS = key_hints(("d", "done"), ("z", "snooze"), ("enter", "open"), ("L", "next stage"), ("a", "mine/all"),
                        ("esc", "board"), sep=" · ")


class TodayScreen(StyledOnce, WholeOnce, Screen[bool]):
    """Returns True when it changed something (the board reads itself again)."""

    DEFAULT_CSS = """
    TodayScreen { background: $background; }
    TodayScreen #today-list { background: $background; }
    TodayScreen #today-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    TodayScreen #today-hints { height: auto; padding: 0 1; background: $panel; }
    """
    BINDINGS = [
        Binding("d", "done", "done", id="today.done"),
        Binding("z", "snooze", "snooze task", id="today.snooze"),
        Binding("enter", "open", "open deal", id="today.open"),
        Binding("L", "move_on", "next stage", id="today.move"),
        Binding("a", "everyone", "all reps", id="today.everyone"),
        Binding("escape,t,q", "back", "back", id="today.back"),
    ]

    def __init__(self, db: Database, user: str, *, ahead: TodayQueue | None = None) -> None:
        """`ahead`: the user's queue read a moment ago, shown until this screen's own read arrives."""
        super().__init__(id="today-screen")
        self.ahead = ahead
        self.db = db
        self.user = user
        self.everyone = False
        self.changed = False
        self.items: dict[str, TodayItem] = {}  # option id -> its line
        self._version: int | None = None
        self._reading = False
        self._again = False
        self._title = ""  # the title shown once a queue is read

    def compose(self) -> ComposeResult:
        yield Static(Content(f"Today · {display(self.user)} · reading…"), id="today-title")
        yield QueueList(id="today-list")
        yield Static(HINTS, id="today-hints")

    def on_resize(self) -> None:
        """The long hints where they fit on one line, else the short ones (which fit 80 columns, and wrap below)."""
        hints = HINTS if HINTS.cell_length + 2 <= self.size.width else SHORT_HINTS
        self.query_one("#today-hints", Static).update(hints)

    def on_mount(self) -> None:
        if self.ahead is not None:
            self._show(self.ahead)
        self._read()
        self.set_interval(POLL_SECONDS, self._poll)

    # -- reading -----------------------------------------------------------------------------------------------
    def _read(self) -> None:
        if self._reading:
            self._again = True  # read again once this one is back (something changed meanwhile)
            return
        self._reading = True
        try:
            self._version = self.db.data_version()
        except Exception:  # the database is still opening (or locked): the next poll reads again
            self._version = None
        owner = None if self.everyone else self.user
        lanes_of(self).reads.submit(self, partial(read_queue, self.db, owner), name="today")

    def _poll(self) -> None:
        try:
            version = self.db.data_version()
        except Exception:  # the file is locked or gone: try again at the next tick
            return
        if version != self._version:
            self._read()

    @on(QueueRead)
    def _queue_read(self, message: QueueRead) -> None:
        self._reading = False
        if self._again or message.everyone != self.everyone:
            self._again = False
            self._read()
            if message.everyone != self.everyone:
                return
        self._show(message.queue)

    def _show(self, queue: TodayQueue) -> None:
        """The queue by kind, a heading line with each kind's count; the cursor stays on the line it was on."""
        olist = self.query_one("#today-list", QueueList)
        self.items = {self._key(it): it for it in queue.items}
        rows: list[Row] = []
        for kind in TODAY_KINDS:
            lines = [it for it in queue.items if it.kind == kind]
            total = queue.totals.get(kind, len(lines))
            if not total:
                continue
            shown = f" (first {len(lines)})" if len(lines) < total else ""
            rows.append((None, Content.styled(f"{KIND_TITLES[kind]} · {total}{shown}", "bold $accent")))
            rows.extend((self._key(it), item_line(it)) for it in lines)
        olist.set_rows(rows, keep=olist.current)
        whose = "every rep" if self.everyone else display(self.user)
        count = sum(queue.totals.values())
        title = (f"Today · {whose} · {count} to do" if count else f"Today · {whose} · nothing due, every deal has a "
                 "next step and none is stuck")
        if title != self._title:  # (an update lays the screen out and draws it again, though nothing changed)
            self._title = title
            self.query_one("#today-title", Static).update(Content(title))
        if self.focused is not olist:
            olist.focus()

    @staticmethod
    def _key(item: TodayItem) -> str:
        """A line's identity across reads (the cursor stays on it): its task, else its deal and kind."""
        return f"task-{item.task_id}" if item.task_id is not None else f"{item.kind}-{item.deal_id}"

    def _current(self) -> TodayItem | None:
        key = self.query_one("#today-list", QueueList).current
        return self.items.get(key) if key is not None else None

    @on(QueueList.Chosen)
    def _chosen(self) -> None:
        self.action_open()  # (enter on the list)

    def _current_task(self) -> TodayItem | None:
        item = self._current()
        if item is not None and item.task_id is None:
            self.notify("This line is a deal, not a task: enter opens it, L moves it on.", timeout=3)
            return None
        return item

    # -- writes ------------------------------------------------------------------------------------------------
    def _wrote(self) -> None:
        self.changed = True
        self._read()

    @on(TodayWritten)
    def _written(self, message: TodayWritten) -> None:
        self.notify(message.note, timeout=3, markup=False)
        self._wrote()

    @on(TodayRefused)
    def _refused(self, message: TodayRefused) -> None:
        self.notify(str(message.error), severity="error", timeout=6, markup=False)

    @on(JobFailed)
    def _failed(self, message: JobFailed) -> None:
        self._reading = False
        error = message.error
        text = str(error) if isinstance(error, TuikanbanError) else f"Something went wrong: {error!r}"
        self.notify(text, severity="error", timeout=6, markup=False)

    # -- keys --------------------------------------------------------------------------------------------------
    def action_done(self) -> None:
        item = self._current_task()
        if item is None or item.task_id is None:
            return
        from tuikanban.ui.dialogs.task_done import TaskDoneScreen

        def closed(_next: object) -> None:
            self._wrote()

        self.app.push_screen(TaskDoneScreen(self.db, self.user, item.task_id, item.text, item.title), closed)

    def action_snooze(self) -> None:
        item = self._current_task()
        if item is None or item.task_id is None:
            return
        from tuikanban.domain.dates import HELP
        from tuikanban.ui.dialogs.ask import AskScreen

        def moved(note: TodayWritten | None) -> None:
            if note is not None:
                self._written(note)

        apply = partial(snooze_task_job, self.db, self.user, item.task_id)
        self.app.push_screen(AskScreen(f"Snooze: {display(item.text, max_length=40)}",
                                       f"Move the task to which day? {HELP}.", apply, placeholder="+3d"), moved)

    def action_open(self) -> None:
        item = self._current()
        if item is None:
            return
        from tuikanban.ui.screens.deal_detail import DealDetailScreen

        def closed(changed: bool | None) -> None:
            if changed:
                self._wrote()

        # the board's deal detail built before its key, if there is one (ui/spares.py; the board's key for it)
        spares = getattr(self.app, "spares", None)
        db, deal_id = self.db, item.deal_id
        spare = spares.take("deal detail", (self.app.theme, self.user),
                            lambda detail: detail.show_deal(db, deal_id)) if spares is not None else None
        self.app.push_screen(spare or DealDetailScreen(db, deal_id, self.user), closed)

    def action_move_on(self) -> None:
        item = self._current()
        if item is not None:
            lanes_of(self).writes.submit(self, partial(move_on_job, self.db, self.user, item.deal_id, item.stage),
                                         name="move")

    def action_everyone(self) -> None:
        self.everyone = not self.everyone
        self._read()

    def action_back(self) -> None:
        self.dismiss(self.changed)


# Under a dialog (the deal detail, done, snooze) it sends up what changed, once, not itself whole again and again
# (docs/PERFORMANCE.md, Round 7: a dialog over the Today screen).
frames_only_when_seen(TodayScreen)
