"""The board's data model: cells per lane and stage, incremental updates, filter, partial first reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tuikanban.domain.filters import parse_filter
from tuikanban.domain.models import DealTypeInfo, PipelineInfo, StageInfo
from tuikanban.store.fastread import BoardCard, BoardSnapshot
from tuikanban.ui.board.model import ALL, NO_TYPE, BoardModel

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PIPE = PipelineInfo(1, "Sales", "USD", None, 10, ("Price",), True)
STAGES = [StageInfo(10, 1, "Lead", 0, None, None, None, None, 0, ""),
          StageInfo(20, 1, "Won-ish", 1, 3, 1, None, None, 0, "")]
TYPES = [DealTypeInfo(100, 1, "New", 0), DealTypeInfo(200, 1, "Renewal", 1)]


def card(i: int, stage: int, type_id: int | None, rank: int, value: int | None = 1000, **kw: object) -> BoardCard:
    fields: dict[str, object] = dict(
        id=i, pipeline_id=1, title=f"Deal {i}", company="", contact="", value_minor=value, currency="USD",
        owner="alice", type_id=type_id, type_name={100: "New", 200: "Renewal"}.get(type_id or 0), expected_close=None,
        stage_id=stage, status="open", rank=rank, stage_entered_at=T0, version=1,
    )
    fields.update(kw)
    return BoardCard(**fields)  # type: ignore[arg-type]


def snapshot(cards: list[BoardCard]) -> BoardSnapshot:
    counts: dict[int, int] = {}
    sums: dict[int, int] = {}
    for c in cards:
        counts[c.stage_id] = counts.get(c.stage_id, 0) + 1
        sums[c.stage_id] = sums.get(c.stage_id, 0) + (c.value_minor or 0)
    ordered = sorted(cards, key=lambda c: (c.stage_id, c.rank, c.id))
    return BoardSnapshot(PIPE, list(STAGES), list(TYPES), ordered, counts, sums)


def titles(model: BoardModel, lane: int, col: int) -> list[str]:
    return [c.title for c in model.cell(lane, col)]


def test_cells_by_lane_with_a_no_type_lane_last() -> None:
    m = BoardModel(snapshot([card(1, 10, 100, 5), card(2, 10, 200, 1), card(3, 10, None, 2), card(4, 20, 100, 0),
                             card(5, 10, 100, 3)]))
    assert [lane.name for lane in m.lanes] == ["New", "Renewal", "No type"]
    assert titles(m, 0, 0) == ["Deal 5", "Deal 1"]  # rank order
    assert titles(m, 2, 0) == ["Deal 3"]
    assert m.lane_count(0) == 3 and m.lane_count(1) == 1
    m.show(m.filter, False)
    assert [lane.key for lane in m.lanes] == [ALL]
    assert titles(m, 0, 0) == ["Deal 2", "Deal 3", "Deal 5", "Deal 1"]


def test_no_type_lane_only_when_needed() -> None:
    m = BoardModel(snapshot([card(1, 10, 100, 0)]))
    assert [lane.key for lane in m.lanes] == [100, 200]
    m.upsert(card(9, 20, None, -1))  # a deal without a type arrives: the lane appears
    assert [lane.key for lane in m.lanes] == [100, 200, NO_TYPE]
    assert titles(m, 2, 1) == ["Deal 9"]


def test_move_close_and_edit_update_counts_and_cells_in_place() -> None:
    m = BoardModel(snapshot([card(1, 10, 100, 0, 500), card(2, 10, 100, 1, 700), card(3, 20, 100, 0, None)]))
    assert (m.count(10), m.value(10), m.count(20), m.value(20)) == (2, 1200, 1, 0)
    m.upsert(replace(m.by_id[1], stage_id=20, rank=-1))  # moved to the top of the next stage
    assert titles(m, 0, 0) == ["Deal 2"] and titles(m, 0, 1) == ["Deal 1", "Deal 3"]
    assert (m.count(10), m.value(10), m.count(20), m.value(20)) == (1, 700, 2, 500)
    m.upsert(replace(m.by_id[2], status="won"))  # closed: off the board
    assert titles(m, 0, 0) == [] and m.count(10) == 0 and m.value(10) == 0 and 2 not in m.by_id
    m.upsert(replace(m.by_id[3], type_id=200, type_name="Renewal", value_minor=900))  # edited: new lane, value
    assert titles(m, 1, 1) == ["Deal 3"] and m.value(20) == 1400
    assert m.remove(1) is not None and m.count(20) == 1
    assert m.locate(3) == (1, 1, 0) and m.locate(1) is None


def test_filter_hides_cards_but_not_counts() -> None:
    m = BoardModel(snapshot([card(1, 10, 100, 0, owner="bob"), card(2, 10, 200, 1, company="Acme"),
                             card(3, 20, 100, 0)]))
    m.show(parse_filter("owner:bob"), m.lanes_on)
    assert titles(m, 0, 0) == ["Deal 1"] and titles(m, 1, 0) == [] and m.shown_total == 1
    assert m.count(10) == 2 and m.open_total == 3
    m.show(parse_filter("acme"), m.lanes_on)
    assert m.shown_total == 1 and titles(m, 1, 0) == ["Deal 2"]
    m.upsert(card(4, 20, 100, -1, title="Acme again"))  # a new deal is shown only if it matches
    m.upsert(card(5, 20, 100, -2, title="Other"))
    assert titles(m, 0, 1) == ["Acme again"] and m.count(20) == 3


def test_replace_stage_after_a_reorder() -> None:
    m = BoardModel(snapshot([card(1, 10, 100, 0), card(2, 10, 100, 1), card(3, 20, 100, 0)]))
    m.replace_stage(10, [card(2, 10, 100, 0), card(1, 10, 100, 1)], 2, 2000)
    assert titles(m, 0, 0) == ["Deal 2", "Deal 1"] and m.count(10) == 2


def test_partial_first_read_reports_true_cell_sizes() -> None:
    snap = snapshot([card(1, 10, 100, 0), card(2, 10, 200, 0)])
    snap.partial = True
    snap.cell_counts = {(10, 100): 40, (10, 200): 3, (10, None): 2, (20, 100): 0}
    snap.counts = {10: 45}
    m = BoardModel(snap)
    assert [lane.key for lane in m.lanes] == [100, 200, NO_TYPE]  # deals without a type exist, though not loaded
    assert m.cell_total(0, 0) == 40 and m.cell_total(1, 0) == 3 and m.cell_total(2, 0) == 2
    assert m.lane_count(0) == 40
    m.show(m.filter, False)
    assert m.cell_total(0, 0) == 45


def test_closing_and_idle_terms_filter_the_board(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", "2026-03-31T12:00:00+00:00")  # 30 days after T0
    m = BoardModel(snapshot([
        card(1, 10, None, 0, expected_close=date(2026, 4, 10)),  # closes in 10 days
        card(2, 10, None, 1, expected_close=date(2026, 6, 1)),  # in 62 days
        card(3, 10, None, 2, expected_close=date(2026, 3, 30)),  # overdue: not "closing"
        card(4, 10, None, 3, last_activity_at=T0 + timedelta(days=25)),  # touched 5 days ago
    ]))
    m.show(parse_filter("closing:<30d"), False)
    assert titles(m, 0, 0) == ["Deal 1"]
    # idle: every card entered its stage at T0 (30 days ago); deal 4 had an activity 5 days ago
    m.show(parse_filter("idle:>14d"), False)
    assert titles(m, 0, 0) == ["Deal 1", "Deal 2", "Deal 3"]
    m.show(parse_filter("idle:>14d closing:<60d"), False)
    assert titles(m, 0, 0) == ["Deal 1"]


def partial_model(loaded: list[BoardCard], cell_counts: dict[tuple[int, int | None], int]) -> BoardModel:
    snap = snapshot(loaded)
    snap.partial = True
    snap.cell_counts = dict(cell_counts)
    snap.counts = {10: sum(n for (s, _t), n in cell_counts.items() if s == 10)}
    return BoardModel(snap)


def test_a_partial_column_without_lanes_stops_where_a_type_has_cards_not_loaded() -> None:
    # New: 10 open deals, the top 3 loaded (ranks 0, 2, 4); Renewal: all 3 loaded (ranks 1, 3, 9)
    m = partial_model([card(1, 10, 100, 0), card(2, 10, 100, 2), card(3, 10, 100, 4),
                       card(4, 10, 200, 1), card(5, 10, 200, 3), card(6, 10, 200, 9)], {(10, 100): 10, (10, 200): 3})
    assert titles(m, 0, 0) == ["Deal 1", "Deal 2", "Deal 3"] and titles(m, 1, 0) == ["Deal 4", "Deal 5", "Deal 6"]
    m.show(m.filter, False)
    # Renewal's rank 9 may come after New deals not loaded (ranks 5 to 8): it waits for them
    assert titles(m, 0, 0) == ["Deal 1", "Deal 4", "Deal 2", "Deal 5", "Deal 3"]
    assert m.cell_total(0, 0) == 13


def test_a_partial_model_counts_what_it_cannot_place_and_asks_for_a_read_when_unsure() -> None:
    m = partial_model([card(1, 10, 100, 0), card(2, 10, 100, 5), card(7, 20, 100, 0)], {(10, 100): 9, (20, 100): 1})
    m.upsert(card(7, 10, 100, -1))  # moved in from the next column: on top, loaded and shown
    assert titles(m, 0, 0) == ["Deal 7", "Deal 1", "Deal 2"] and m.cell_total(0, 0) == 10 and m.count(10) == 10
    m.upsert(card(7, 10, 100, 50))  # put back below what is loaded (an undo): counted, not shown
    assert titles(m, 0, 0) == ["Deal 1", "Deal 2"] and m.cell_total(0, 0) == 10 and m.count(10) == 10
    assert not m.stale
    m.upsert(card(8, 10, 100, 7))  # a deal the board never loaded: it cannot tell whether it is counted
    assert m.stale and m.count(10) == 10


def test_a_partial_model_needs_every_card_for_a_filter_or_a_sort() -> None:
    m = partial_model([card(1, 10, 100, 0)], {(10, 100): 5})
    assert not m.needs_all(m.filter, "rank")
    assert m.needs_all(parse_filter("acme"), "rank") and m.needs_all(m.filter, "value")
    assert not BoardModel(snapshot([card(1, 10, 100, 0)])).needs_all(parse_filter("acme"), "value")
