"""The review screen (`v` on the board): the bridge and lists of `compute_changes`, period keys, the review mark,
enter focusing a deal on the board; and the board filter's review terms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import OptionList, Static

from board_helpers import press, settle
from tuikanban.domain import clock
from tuikanban.services import deals as D
from tuikanban.services.pipelines import create_pipeline
from tuikanban.services.reviews import changed_since, last_review
from tuikanban.store.engine import Database
from tuikanban.ui.app import TuikanbanApp
from tuikanban.ui.screens.review import ReviewScreen, review_options

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

U = "tester"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)  # conftest's fixed clock: a Monday


def _build(db: Database) -> dict[str, int]:
    create_pipeline(db, "Sales", "Lead,Proposal,Negotiation")
    a = D.create_deal(db, "Sales", "Acme", user=U, value="1000", at="2026-02-01").id
    b = D.create_deal(db, "Sales", "Beta", user=U, value="500", at="2026-02-01").id
    c = D.create_deal(db, "Sales", "Cobalt", user=U, value="300", at="2026-02-27").id  # new in the last 7 days
    D.move_deal(db, a, "Proposal", user=U, at="2026-02-26")  # forward, in the last 7 days
    D.win_deal(db, b, user=U, at="2026-02-28")
    return {"a": a, "b": b, "c": c}


def _rows(app: TuikanbanApp) -> list[str]:
    ol = app.screen.query_one("#rv-list", OptionList)
    return [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]


async def test_review_shows_the_bridge_records_the_mark_and_enter_focuses_a_deal(
        db: Database, fixed_now: str) -> None:
    ids = _build(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        assert isinstance(app.screen, ReviewScreen)
        rows = _rows(app)
        # start 2026-02-23 12:00: Acme 1,000 + Beta 500 open = $1,500; + created Cobalt 300; - won Beta 500;
        # end = 1,500 + 300 - 500 = $1,300 (Acme 1,000 + Cobalt 300)
        assert any("open at the start" in r and "$1,500" in r for r in rows)
        assert any("created" in r and "$300" in r and "1 deal" in r for r in rows)
        assert any("won" in r and "$500" in r for r in rows)
        assert any("open at the end" in r and "$1,300" in r for r in rows)
        assert any("Moved forward: 1" in r for r in rows)
        assert any("Acme" in r and "Lead → Proposal" in r for r in rows)
        assert any("New deals: 1" in r for r in rows)
        assert last_review(db, "Sales", U) == NOW  # opening it recorded the review
        await press(pilot, "4")  # 30 days: from 2026-01-31, before Acme and Beta existed
        rows = _rows(app)
        assert any("open at the start" in r and "$0" in r for r in rows)
        assert any("New deals: 3" in r for r in rows)
        # enter on Acme's row in "Moved forward" goes back to the board with Acme focused
        ol = app.screen.query_one("#rv-list", OptionList)
        ol.highlighted = next(i for i, r in enumerate(rows) if "Lead → Proposal" in r)
        await press(pilot, "enter")
        assert app.screen is app.board_screen
        card = app.board_screen.view.focused_card
        assert card is not None and card.id == ids["a"]


async def test_the_bridge_shows_first_and_the_idle_deals_follow(db: Database, fixed_now: str) -> None:
    """The first step has the bridge and every list but the idle deals, whose header says they are computing; the
    second (`add_idle`), for the same moments, adds them (Acme, Beta and Cobalt were touched in the last 14 days;
    Dormant, created 02-01, is the one idle deal) and changes nothing else."""
    from tuikanban.services.changes import add_idle, compute_changes
    from tuikanban.ui.screens.review import review_options

    _build(db)
    dormant = D.create_deal(db, "Sales", "Dormant", user=U, value="200", at="2026-02-01").id
    first = compute_changes(db, "Sales", since=datetime(2026, 2, 23, 12, tzinfo=UTC), with_idle=False)
    assert first.idle_pending and first.idle == ()
    assert "Idle 14+ days: computing…" in [str(o.prompt) for o in review_options(first, {})]
    whole = compute_changes(db, "Sales", since=first.since, until=first.until)
    assert not whole.idle_pending and [x.id for x in whole.idle] == [dormant]
    assert (whole.bridge, whole.moved, whole.new) == (first.bridge, first.moved, first.new)
    completed = add_idle(db, first)
    assert completed == whole  # the second step gives exactly the report computed in one go

    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        for _ in range(250):
            if screen.report is not None and not screen.report.idle_pending:
                break
            await pilot.pause(0.02)
        rows = _rows(app)
        assert any("Idle 14+ days: 1" in r for r in rows) and any("Dormant" in r for r in rows)
        assert not any("computing" in r for r in rows)


async def test_since_your_last_review_without_one_says_so(db: Database, fixed_now: str) -> None:
    _build(db)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "v", "3")
        status = str(app.screen.query_one("#rv-status", Static).render())
        assert "No earlier review" in status
        await press(pilot, "c")  # closing this quarter (2026-01-01 to 2026-03-31): no deal has a close date
        title = str(app.screen.query_one("#rv-title", Static).render())
        assert "closing this-quarter" in title
        assert any("open at the start" in r and "$0" in r for r in _rows(app))


def test_changed_since_the_last_review(db: Database, fixed_now: str) -> None:
    from tuikanban.services.reviews import record_review

    ids = _build(db)
    assert changed_since(db, 1, U) == (None, frozenset())  # never reviewed: nothing marked
    record_review(db, "Sales", U, datetime(2026, 2, 27, 6, tzinfo=UTC))
    # after 02-27 06:00: Cobalt created (02-27 00:00 is before: no), Beta won 02-28; Acme moved 02-26 (before)
    mark, changed = changed_since(db, 1, U)
    assert mark == datetime(2026, 2, 27, 6, tzinfo=UTC)
    assert changed == {ids["b"]}


def _card_first_line(app: TuikanbanApp, title: str) -> str:
    view = app.board_screen.view
    lines = [view.render_line(y).text for y in range(view.size.height)]
    return next(line for line in lines if title in line)


async def test_cards_changed_since_the_last_review_carry_a_mark_until_the_next_review(
        db: Database, fixed_now: str) -> None:
    from tuikanban.services.reviews import record_review

    _build(db)
    record_review(db, "Sales", U, datetime(2026, 2, 27, 6, tzinfo=UTC))  # after it: Beta won (off the board)
    D.create_deal(db, "Sales", "Delta", user=U, at="2026-03-01")  # changed since: marked
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        assert "•" in _card_first_line(app, "Delta")
        assert "•" not in _card_first_line(app, "Cobalt")  # created 02-27 00:00, before the review
        await press(pilot, "v")
        await press(pilot, "escape")  # the review moved the mark to now: nothing changed since
        assert "•" not in _card_first_line(app, "Delta")


def _many_quiet_deals(db: Database, n: int, closing_soon: int) -> list[int]:
    """`n` deals created 2026-02-01 and never touched since (idle 29 days at NOW); the first `closing_soon` of
    them expected to close within the next 30 days (2026-03-05 on), the others on 2026-06-30."""
    create_pipeline(db, "Sales", "Lead,Proposal,Negotiation")
    return [D.create_deal(db, "Sales", f"Quiet {k:02d}", user=U, value=str(100 + k), at="2026-02-01",
                          close=f"2026-03-{5 + k % 20:02d}" if k < closing_soon else "2026-06-30").id
            for k in range(n)]


def test_a_review_keeps_the_first_lines_of_its_long_lists(db: Database, fixed_now: str) -> None:
    """`keep`: the idle and closing-soon lists hold their first lines only, the same as the whole report's, and
    their full lengths (`count`); the bridge and the other lists are the whole report's. Both steps (the idle list
    added after) and a period that ends before now (two moments rewound)."""
    from tuikanban.services.changes import add_idle, compute_changes

    ids = _many_quiet_deals(db, 12, 9)
    for since, until in ((datetime(2026, 2, 23, 12, tzinfo=UTC), None),
                         (datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 2, 25, tzinfo=UTC))):
        whole = compute_changes(db, "Sales", since=since, until=until)
        kept = add_idle(db, compute_changes(db, "Sales", since=since, until=until, with_idle=False, keep=5))
        if until is None:
            # idle since 02-01: all 12, longest idle first then by id; closing from 03-05: 9, by date then id
            assert [x.id for x in whole.idle] == ids
            assert [x.id for x in whole.closing_soon] == sorted(ids[:9], key=lambda i: (ids.index(i) % 20, i))
        assert kept.count("idle") == len(whole.idle) and kept.count("closing_soon") == len(whole.closing_soon)
        assert kept.idle == whole.idle[:5] and kept.closing_soon == whole.closing_soon[:5]
        assert kept.bridge == whole.bridge
        for name in ("new", "moved", "pushed"):
            assert getattr(kept, name) == getattr(whole, name)[:5] and kept.count(name) == len(getattr(whole, name))
        assert (kept.start_value_minor, kept.end_value_minor) == (whole.start_value_minor, whole.end_value_minor)
        assert whole.count("idle") == len(whole.idle)  # (no `keep`: every line)
    # the open value at the start of a period before any deal existed is 0; at the end, all twelve:
    # 100 + 101 + ... + 111 = 1,266 dollars
    late = compute_changes(db, "Sales", since=datetime(2026, 1, 20, tzinfo=UTC), keep=5)
    assert (late.start_value_minor, late.end_value_minor) == (0, 126_600)


def test_a_kept_review_holds_the_first_new_moved_and_pushed_lines_only(db: Database, fixed_now: str) -> None:
    """`keep` bounds the new, moved (forward and back apart: the screen lists each) and pushed lists too: the
    first lines of each in the whole report's order, and every list's full length (`count`, `totals`), in both
    passes (deals created in the period, and deals older than it), for a period ending now and one rewound."""
    from tuikanban.services.changes import compute_changes

    create_pipeline(db, "Sales", "Lead,Proposal,Negotiation")
    # the deals k % 3 == 0 start in Negotiation and move back to Proposal in the period, the others forward from
    # Lead to Negotiation; seven of them created before both periods, six in them
    old = [D.create_deal(db, "Sales", f"Old {k}", user=U, value=str(10 + k), at="2026-02-01", close="2026-04-01",
                         stage="Negotiation" if k % 3 == 0 else "Lead").id for k in range(7)]
    fresh = [D.create_deal(db, "Sales", f"Fresh {k}", user=U, value=str(20 + k), at="2026-02-24", close="2026-04-01",
                           stage="Negotiation" if (7 + k) % 3 == 0 else "Lead").id for k in range(6)]
    for k, deal_id in enumerate(old + fresh):
        D.move_deal(db, deal_id, "Proposal" if k % 3 == 0 else "Negotiation", user=U, at=f"2026-02-25T{10 + k}:00")
        for n in range(1 + k % 3):  # pushed once, twice or three times
            D.edit_deal(db, deal_id, {"close": f"2026-04-{2 + n:02d}"}, user=U, at=f"2026-02-27T{10 + k}:{n:02d}")
    for since, until in ((datetime(2026, 2, 23, tzinfo=UTC), None),
                         (datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))):
        whole = compute_changes(db, "Sales", since=since, until=until)
        kept = compute_changes(db, "Sales", since=since, until=until, keep=2)
        forward = [x for x in whole.moved if x.detail["direction"] == "forward"]
        back = [x for x in whole.moved if x.detail["direction"] == "back"]
        assert len(whole.new) >= 6 and len(forward) > 2 and len(back) > 2 and len(whole.pushed) == 13
        assert kept.new == whole.new[:2] and kept.pushed == whole.pushed[:2]
        assert kept.moved == (*forward[:2], *back[:2])
        assert (kept.count("new"), kept.count("moved"), kept.count("pushed")) == (
            len(whole.new), len(whole.moved), len(whole.pushed))
        assert (kept.totals["moved_forward"], kept.totals["moved_back"]) == (len(forward), len(back))
        shown = [str(o.prompt) for o in review_options(kept, {})]  # the screen counts every deal, lists the first
        assert f"Moved forward: {len(forward)}" in shown and f"Moved back: {len(back)}" in shown
        assert kept.bridge == whole.bridge
        assert (kept.start_value_minor, kept.end_value_minor) == (whole.start_value_minor, whole.end_value_minor)


async def test_the_screen_holds_only_the_lines_it_shows(db: Database, fixed_now: str) -> None:
    """60 idle deals, 55 closing soon: the screen shows 50 of each and says how many more, and its report holds
    those 50 lines, not one per open deal (a big pipeline's 100,000)."""
    from tuikanban.services.changes import compute_changes
    from tuikanban.ui.screens.review import SHOWN_PER_LIST

    _many_quiet_deals(db, 60, 55)
    app = TuikanbanApp(db, U, "Sales")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        for _ in range(250):
            if screen.report is not None and not screen.report.idle_pending:
                break
            await pilot.pause(0.02)
        report = screen.report
        assert report is not None
        rows = _rows(app)
        assert any("Idle 14+ days: 60" in r for r in rows) and any("… and 10 more" in r for r in rows)
        assert any("Closing in the next 30 days: 55" in r for r in rows) and any("… and 5 more" in r for r in rows)
        assert len(report.idle) == len(report.closing_soon) == SHOWN_PER_LIST == 50
        whole = compute_changes(db, "Sales", since=report.since, until=report.until)
        assert report.idle == whole.idle[:50] and report.closing_soon == whole.closing_soon[:50]
        assert sum(1 for r in rows if "idle 29 days" in r) == 50


def test_the_reviews_rows_share_their_owner_and_an_unchanged_deal_keeps_one_state(db: Database, fixed_now: str
                                                                                    ) -> None:
    """What the review holds per changed deal (docs/PERFORMANCE.md, Memory of the screens): the rows of the deals
    of one owner share one owner string (the period's changed deals and its new ones alike), a deal whose events
    since change nothing the review reads (a value raised and lowered back) has one state for both moments, not
    two alike, and the moves and pushes are read from the rows (no dict of them beside the states)."""
    from tuikanban.services.review_bridge import _states
    from tuikanban.services.review_reads import _ID, _OWNER, _read_deals
    from tuikanban.store.uow import of_session

    create_pipeline(db, "Sales", "Lead,Proposal,Negotiation")
    old = [D.create_deal(db, "Sales", f"Old {k}", user=U, value="100", at="2026-02-01").id for k in range(3)]
    fresh = [D.create_deal(db, "Sales", f"Fresh {k}", user=U, value="100", at="2026-02-27").id for k in range(2)]
    for deal_id in old[:2] + fresh:
        D.move_deal(db, deal_id, "Proposal", user=U, at="2026-02-28")
    D.edit_deal(db, old[2], {"value": "150"}, user=U, at="2026-02-28T10:00")
    D.edit_deal(db, old[2], {"value": "100"}, user=U, at="2026-02-28T11:00")
    with db.read() as s:
        u = of_session(s)
        created: list[list[object]] = []
        pipeline_id = u.scalar("SELECT id FROM pipeline WHERE name = 'Sales'")
        rows = _read_deals(u, pipeline_id, [datetime(2026, 2, 23, tzinfo=UTC)], NOW, lambda r: None, created)
    assert sorted(r[_ID] for r in rows) == old and sorted(r[_ID] for r in created) == fresh
    assert len({id(r[_OWNER]) for r in [*rows, *created]}) == 1
    states = _states(rows, "USD", None, rewound_end=False)
    at_start, at_end = states[old[2]]
    assert at_start is at_end and at_start.value == 10_000
    assert states[old[0]][0] is not states[old[0]][1] and states[old[0]][0].stage_id != states[old[0]][1].stage_id


def test_the_screens_review_ends_when_its_read_starts(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """(The real clock.) The screen's review is open-ended, as `tuikanban changes` without `--until`: a move another
    rep commits after the screen took its "now" (for the period's start) and before the review's read is in the
    review, and the review ends at or after that move. With `until=now` it was rewound away."""
    from tuikanban.services.pipelines import get_pipeline
    from tuikanban.ui.screens import review as rv

    create_pipeline(db, "Sales", "Lead,Proposal")
    deal = D.create_deal(db, "Sales", "Acme", user=U, value="1000").id
    moved_at: list[datetime] = []
    original = rv.since_of

    def since_of(period: str, now: datetime, mark: datetime | None) -> tuple[datetime, str]:
        out = original(period, now, mark)
        D.move_deal(db, deal, "Proposal", user="dana")  # after the screen's now, before the read
        moved_at.append(clock.now())
        return out

    monkeypatch.setattr(rv, "since_of", since_of)
    done = rv.compute_review(db, 1, rv.ReviewAsk(get_pipeline(db, "Sales").id, U, "7d", None, None), True)
    assert done.error is None and done.report is not None
    assert [x.id for x in done.report.moved] == [deal]
    assert done.report.until >= moved_at[0]
