"""The review screen (`v` on the board): what changed in the pipeline over a period, as `tuikanban changes` says it.

The value bridge (open value at the start, each bucket with its deals, open value at the end: they add up to the
minor unit), then the stage moves forward and back, the close dates pushed (how many times), the new deals, the
idle deals and the deals closing in the next 30 days. Keys: `1` the last 7 days, `2` since last Monday, `3` since
your last review, `4` the last 30 days, `c` cycles the closing period (this quarter, next quarter, none), enter on a
deal shows it on the board, escape goes back.

Computed by `services.changes.compute_changes` on the app's reads lane, in two steps so that the screen shows what
it has while the rest computes: the bridge and every list but the idle deals first (their header says they
follow), then the idle list for the same moments (`services.changes.add_idle`); a loading line says so meanwhile.
While the screen is open it stays the review of its period as computed (a manager goes through a fixed list; it
does not shift under the cursor), and says so when other reps change the pipeline: it follows the database's
data version (as the Today screen does) and then counts the pipeline's events after the newest one the
computation saw: "3 changes since you opened this, r to refresh" (`r` computes the same period again, to a new
now, keeping the cursor's line).
Opening the screen records "now" as the user's last review of the pipeline (on the writes lane), as `tuikanban
changes` does; `3` keeps meaning the review before this one while the screen is open. Each computation ends "now",
as `changes` without `--until` does: at the moment its read starts, so every change committed until then is in
it; a period key (or `c`) computes again, to a new now.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tuikanban.domain import clock
from tuikanban.domain.errors import TuikanbanError
from tuikanban.domain.metrics import plural
from tuikanban.domain.money import format_money
from tuikanban.domain.periods import last_monday, parse_period
from tuikanban.domain.text import display
from tuikanban.ui.board.footer import BoardFooter
from tuikanban.ui.jobs import JobFailed, lanes_of
from tuikanban.ui.styled_once import StyledOnce

if TYPE_CHECKING:
    from tuikanban.services.changes import ChangesReport, DealLine
    from tuikanban.store.engine import Database

# period key -> (label, what it starts from)
PERIODS = {"7d": "last 7 days", "monday": "since last Monday", "review": "since your last review",
           "30d": "last 30 days"}
CLOSINGS = (None, "this-quarter", "next-quarter")
POLL_SECONDS = 1.0  # how often the screen looks at the database's data version (another rep's commit)
SHOWN_PER_LIST = 50  # deals listed per bucket or list; `tuikanban changes --json` lists them all
BUCKETS = {
    "created": ("+", "created"), "reopened": ("+", "reopened"), "pulled_in": ("+", "pulled in"),
    "increased": ("+", "value increased"), "decreased": ("-", "value decreased"), "won": ("-", "won"),
    "lost": ("-", "lost"), "deleted": ("-", "deleted"), "pushed_out": ("-", "pushed out"),
}


@dataclass(frozen=True, slots=True)
class ReviewAsk:
    """What to compute: the pipeline, whose review, the period key, the closing period (or None)."""

    pipeline_id: int
    user: str
    period: str
    closing: str | None
    previous_mark: datetime | None  # the user's review before this screen opened


class ReviewComputed(Message):
    """A report (`report.idle_pending`: the first step, without the idle list) or the sentence why not."""

    def __init__(self, generation: int, report: ChangesReport | None, titles: dict[int, str], error: str | None,
                 seconds: float, previous_mark: datetime | None, note: str, newest: int = 0) -> None:
        super().__init__()
        self.newest = newest  # the pipeline's newest event when the computation started
        self.generation = generation
        self.report = report
        self.titles = titles
        self.error = error
        self.seconds = seconds
        self.previous_mark = previous_mark
        self.note = note


class ReviewBehind(Message):
    """How many events of the pipeline came after the review's computation (`generation`)."""

    def __init__(self, generation: int, count: int) -> None:
        super().__init__()
        self.generation = generation
        self.count = count


def count_behind(db: Database, generation: int, pipeline_id: int, newest: int) -> ReviewBehind:
    """The reads-lane job behind the "N changes since you opened this" line."""
    from tuikanban.services.reviews import events_after_in

    return ReviewBehind(generation, db.read_plain(lambda u: events_after_in(u, pipeline_id, newest)))


class ReviewMarked(Message):
    """The user's last review of the pipeline is now `at`."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at


def since_of(period: str, now: datetime, previous_mark: datetime | None) -> tuple[datetime, str]:
    """The start of a period key, and a note when "since your last review" has no review to start from."""
    if period == "monday":
        return last_monday(now), ""
    if period == "review":
        if previous_mark is not None:
            return previous_mark, ""
        return now - timedelta(days=7), "No earlier review: showing the last 7 days."
    return now - timedelta(days=30 if period == "30d" else 7), ""


def compute_review(db: Database, generation: int, ask: ReviewAsk, first: bool) -> ReviewComputed:
    """The review job (reads lane): the report without its idle list (`complete_review` adds it), and the titles
    of the deals the bridge lists by id."""
    from tuikanban.services.changes import compute_changes
    from tuikanban.services.reviews import deal_titles, last_review, newest_event_in

    started = time.perf_counter()
    mark = ask.previous_mark
    try:
        # (read before the computation: a commit in between is counted as a change since, never missed)
        newest = db.read_plain(lambda u: newest_event_in(u, ask.pipeline_id))
        if first:
            mark = last_review(db, ask.pipeline_id, ask.user)
        now = clock.now()
        since, note = since_of(ask.period, now, mark)
        closing = parse_period(ask.closing, today=now.date()) if ask.closing else None
        # the idle and closing-soon lists' first lines only (a busy board has 100,000 open deals): what is shown.
        # Open-ended, as `tuikanban changes` without --until: the review ends when its read starts (its `until`),
        # so a change committed after `now` above is in it (an `until` of `now` rewound it away, reading the log
        # at two moments instead of one)
        report = compute_changes(db, ask.pipeline_id, since=since, closing=closing, with_idle=False,
                                 keep=SHOWN_PER_LIST)
        ids = sorted({i for b in report.bridge.values() for i in b.deals[:SHOWN_PER_LIST]})
        titles = deal_titles(db, ids)
    except TuikanbanError as exc:
        return ReviewComputed(generation, None, {}, str(exc), time.perf_counter() - started, mark, "")
    return ReviewComputed(generation, report, titles, None, time.perf_counter() - started, mark, note, newest)


def complete_review(db: Database, generation: int, first: ReviewComputed) -> ReviewComputed:
    """The second step (reads lane): the first step's report with its idle list, for the same moments."""
    from tuikanban.services.changes import add_idle

    started = time.perf_counter()
    assert first.report is not None
    try:
        report = add_idle(db, first.report)
    except TuikanbanError as exc:
        return ReviewComputed(generation, None, {}, str(exc), time.perf_counter() - started, first.previous_mark, "")
    return ReviewComputed(generation, report, first.titles, None, first.seconds + time.perf_counter() - started,
                          first.previous_mark, first.note, first.newest)


def mark_review(db: Database, pipeline_id: int, user: str, at: datetime) -> ReviewMarked:
    """The writes-lane job recording the review, as `tuikanban changes` does."""
    from tuikanban.services.reviews import record_review

    record_review(db, pipeline_id, user, at)
    return ReviewMarked(at)


class ReviewScreen(StyledOnce, Screen[int | None]):
    """What changed over a period; dismissed with the id of a deal to show on the board, or None."""

    BINDINGS = [
        Binding("escape", "back", "back"),
        Binding("1", "period('7d')", "7 days"),
        Binding("2", "period('monday')", "since Monday"),
        Binding("3", "period('review')", "since last review"),
        Binding("4", "period('30d')", "30 days"),
        Binding("c", "closing", "closing period"),
        Binding("r", "refresh", "refresh"),
    ]

    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    ReviewScreen #rv-title { height: 1; padding: 0 1; background: $panel; }
    ReviewScreen #rv-status { height: 1; padding: 0 1; color: $text-muted; }
    ReviewScreen #rv-status.-error { color: $error; }
    ReviewScreen #rv-status.-behind { color: $warning; }
    ReviewScreen #rv-list { height: 1fr; border: none; }
    """

    def __init__(self, db: Database, pipeline_id: int, user: str) -> None:
        super().__init__()
        self.db = db
        self.ask = ReviewAsk(pipeline_id, user, "7d", None, None)
        self.report: ChangesReport | None = None
        self._generation = 0
        self._marked = False
        self._newest: int | None = None  # the newest event the shown review saw (None: none shown yet)
        self._version: int | None = None  # the data version when it was computed, or last counted
        self._counting = False
        self._notice = ""  # the "N changes since you opened this" notice, once said

    def compose(self) -> ComposeResult:
        yield Static(id="rv-title")
        yield Static(id="rv-status")
        yield OptionList(id="rv-list")
        yield BoardFooter(extras=frozenset())

    def on_mount(self) -> None:
        self.query_one("#rv-list").focus()
        self.recompute()
        self.set_interval(POLL_SECONDS, self._poll)

    # -- computing ------------------------------------------------------------------------------------------

    def recompute(self) -> None:
        self._generation += 1
        self._newest, self._notice = None, ""
        try:
            self._version = self.db.data_version()
        except Exception:  # the database is still opening (or locked): the next poll looks
            self._version = None
        self._status("Computing the review…")
        self._title()
        first = self._generation == 1
        lanes_of(self).reads.submit(self, partial(compute_review, self.db, self._generation, self.ask, first),
                                    name="review")

    @on(JobFailed)
    def _failed(self, message: JobFailed) -> None:
        self.log.error(repr(message.error))
        self._status(f"The review could not be computed: {type(message.error).__name__}: {message.error}",
                     error=True)

    @on(ReviewComputed)
    def _computed(self, message: ReviewComputed) -> None:
        if message.generation != self._generation:
            return
        if message.error is not None or message.report is None:
            self._status(message.error or "Nothing to show.", error=True)
            return
        self.ask = ReviewAsk(self.ask.pipeline_id, self.ask.user, self.ask.period, self.ask.closing,
                             message.previous_mark)
        self.report = message.report
        self._newest = message.newest
        pending = message.report.idle_pending
        if pending:
            self._status(message.note or "The idle deals follow…")
            lanes_of(self).reads.submit(self, partial(complete_review, self.db, self._generation, message),
                                        name="review idle")
        else:
            self._status(message.note or f"Computed in {message.seconds * 1000:,.0f} ms.")
        if self._notice:  # (said while the idle list was computed: it stays)
            self._say_behind()
        self._title()
        self._paint(message.report, message.titles)
        if not self._marked:
            self._marked = True
            lanes_of(self).writes.submit(
                self, partial(mark_review, self.db, self.ask.pipeline_id, self.ask.user, message.report.until),
                name="review mark")

    def _poll(self) -> None:
        if self._newest is None or self._counting:
            return
        try:
            version = self.db.data_version()
        except Exception:  # the file is locked or gone, the server away: try again at the next tick
            return
        if version == self._version:
            return
        self._version, self._counting = version, True
        lanes_of(self).reads.submit(
            self, partial(count_behind, self.db, self._generation, self.ask.pipeline_id, self._newest),
            name="review behind")

    @on(ReviewBehind)
    def _behind(self, message: ReviewBehind) -> None:
        self._counting = False
        if message.generation != self._generation or not message.count:
            return
        since = "you opened this" if message.generation == 1 else "this was computed"
        self._notice = f"{plural(message.count, 'change')} since {since}, r to refresh."
        self._say_behind()

    def _say_behind(self) -> None:
        status = self.query_one("#rv-status", Static)
        status.update(Text(self._notice))
        status.add_class("-behind")

    @on(ReviewMarked)
    def _marked_done(self, message: ReviewMarked) -> None:
        self.notify(f"Recorded as your last review ({message.at:%Y-%m-%d %H:%M} UTC).", timeout=3)

    # -- actions --------------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_period(self, period: str) -> None:
        self.ask = ReviewAsk(self.ask.pipeline_id, self.ask.user, period, self.ask.closing, self.ask.previous_mark)
        self.recompute()

    def action_closing(self) -> None:
        nxt = CLOSINGS[(CLOSINGS.index(self.ask.closing) + 1) % len(CLOSINGS)]
        self.ask = ReviewAsk(self.ask.pipeline_id, self.ask.user, self.ask.period, nxt, self.ask.previous_mark)
        self.recompute()

    def action_refresh(self) -> None:
        self.recompute()

    @on(OptionList.OptionSelected, "#rv-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(int(event.option.id.split(":")[1]))

    # -- painting -------------------------------------------------------------------------------------------

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#rv-status", Static)
        status.update(Text(text))
        status.set_class(error, "-error")
        status.remove_class("-behind")

    def _title(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("Review", style="bold")
        r = self.report
        if r is not None:
            t.append("  ·  ", style="dim")
            t.append(display(r.pipeline.name), style="bold")
        t.append("  ·  ", style="dim")
        t.append(PERIODS[self.ask.period])
        if r is not None:
            t.append(f" ({r.since:%Y-%m-%d %H:%M} to {r.until:%Y-%m-%d %H:%M} UTC)", style="dim")
        t.append("  ·  ", style="dim")
        t.append(f"closing {self.ask.closing}" if self.ask.closing else "all open deals")
        self.query_one("#rv-title", Static).update(t)

    def _paint(self, r: ChangesReport, titles: dict[int, str]) -> None:
        ol = self.query_one("#rv-list", OptionList)
        highlighted = ol.highlighted
        ol.clear_options()
        ol.add_options(review_options(r, titles))
        if highlighted is not None and highlighted < ol.option_count:
            ol.highlighted = highlighted


def _money(r: ChangesReport, minor: int | None) -> str:
    return format_money(minor, r.currency)


def _head(text: str) -> Option:
    return Option(Text(text, style="bold"), disabled=True)


def _deal(n: int, deal_id: int, title: str, detail: str) -> Option:
    """A row naming a deal (enter shows it on the board); `n` keeps option ids unique across sections."""
    t = Text("    ")
    t.append(f"#{deal_id} ", style="dim")
    t.append(display(title)[:60])
    if detail:
        t.append(f"  {detail}", style="dim")
    return Option(t, id=f"{n}:{deal_id}")


def _more(total: int) -> list[Option]:
    if total <= SHOWN_PER_LIST:
        return []
    return [Option(Text(f"    … and {total - SHOWN_PER_LIST:,} more (tuikanban changes --json lists them all)",
                        style="dim italic"), disabled=True)]


def _bridge_row(sign: str, label: str, value: str, count: int | None, *, bold: bool = False) -> Option:
    t = Text(f"{sign:>2} {label:<22}", style="bold" if bold else "")
    t.append(f"{value:>18}", style="bold" if bold else "")
    if count is not None:
        t.append(f"  {plural(count, 'deal')}", style="dim")
    return Option(t, disabled=True)


def _line_detail(key: str, x: DealLine, r: ChangesReport) -> str:
    d = x.detail
    if key == "moved":
        return f"{d['from_stage']} → {d['to_stage']} ({d['direction']}, {plural(d['moves'], 'move')})"
    if key == "pushed":
        return f"pushed {d['pushes']}x: {d['close_before'] or '-'} → {d['close_after'] or '-'}"
    if key == "idle":
        return "never touched" if d["idle_days"] is None else f"idle {d['idle_days']} days"
    if key == "closing_soon":
        return f"closes {d['expected_close']}  {_money(r, x.value_minor)}"
    return f"{d.get('status', '')}  {x.stage}  {_money(r, x.value_minor)}"


def review_options(r: ChangesReport, titles: dict[int, str]) -> list[Option]:
    """The report as rows: the bridge with each bucket's deals, then the lists (pure; tested)."""
    rows: list[Option] = [_head("Open value bridge"),
                          _bridge_row("", "open at the start", _money(r, r.start_value_minor), None)]
    n = 0
    for key, b in r.bridge.items():
        if not b.deals and key in ("pulled_in", "pushed_out", "deleted") and r.closing is None:
            continue
        sign, label = BUCKETS[key]
        rows.append(_bridge_row(sign, label, _money(r, b.value_minor), len(b.deals)))
        n += 1
        rows += [_deal(n, i, titles.get(i, "?"), "") for i in b.deals[:SHOWN_PER_LIST]]
        rows += _more(len(b.deals))
    rows.append(_bridge_row("=", "open at the end", _money(r, r.end_value_minor), None, bold=True))
    forward = tuple(x for x in r.moved if x.detail["direction"] == "forward")
    back = tuple(x for x in r.moved if x.detail["direction"] != "forward")
    lists = (("Moved forward", "moved", forward, r.totals.get("moved_forward", len(forward))),
             ("Moved back", "moved", back, r.totals.get("moved_back", len(back))),
             ("Close date pushed", "pushed", r.pushed, r.count("pushed")), ("New deals", "new", r.new, r.count("new")),
             (f"Idle {r.idle_days}+ days", "idle", r.idle, r.count("idle")),
             ("Closing in the next 30 days", "closing_soon", r.closing_soon, r.count("closing_soon")))
    for title, key, lines, total in lists:  # (the report may hold the first lines of a list only: `keep`)
        rows.append(Option(Text(""), disabled=True))
        if key == "idle" and r.idle_pending:
            rows.append(_head(f"{title}: computing…"))
            continue
        rows.append(_head(f"{title}: {total:,}" if total else f"{title}: none"))
        n += 1
        rows += [_deal(n, x.id, x.title, _line_detail(key, x, r)) for x in lines[:SHOWN_PER_LIST]]
        rows += _more(total)
    return rows


__all__ = ["ReviewBehind", "ReviewComputed", "ReviewMarked", "ReviewScreen", "complete_review", "compute_review",
           "count_behind", "review_options", "since_of"]
