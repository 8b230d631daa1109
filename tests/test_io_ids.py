"""The JSON import's ids (services/io/json_ids.py): the compact form that holds a big file's ascending event and stay
ids in an array answers exactly as the dict does, in order, out of order, repeated and refused."""

from __future__ import annotations

import pytest

from tuikanban.services.io.json_checks import Checker
from tuikanban.services.io.json_ids import Ids, Renumber


def added(ids_in: list[object], *, compact: bool, keep: bool = True,
          taken: tuple[int, int] | None = None) -> tuple[Ids, Checker, list[int | None]]:
    chk = Checker()
    ids = Ids("events", "event", taken, keep=keep, compact=compact)
    news = [ids.add(chk, i, {"id": value}) for i, value in enumerate(ids_in)]
    return ids, chk, news


@pytest.mark.parametrize("ids_in", [
    [3, 5, 9, 40],  # ascending, as every export writes them
    [3, 9, 5, 40],  # out of order after two
    [9, 3],  # out of order at the second
    [3, 5, 5, 9],  # repeated
    [3, 5, 3, 9, 9],  # repeated out of order, twice (named once)
    [3, "x", 7, 2**40],  # not whole numbers, out of range
])
def test_the_compact_ids_answer_as_the_dict_does(ids_in: list[object]) -> None:
    plain, plain_chk, plain_news = added(ids_in, compact=False)
    small, small_chk, small_news = added(ids_in, compact=True)
    assert small_news == plain_news
    assert small_chk.problems == plain_chk.problems
    for old in range(0, 42):
        assert small.has(old) == plain.has(old) == (old in plain.map)
        assert small.get(old) == plain.get(old) == plain.map.get(old)


def test_the_problems_the_two_forms_name() -> None:
    _ids, chk, news = added([3, 5, 5, "x"], compact=True)
    assert news == [3, 5, 5, None]
    assert chk.problems == ["events: two items have the same id.", "events[3]: 'id' must be a whole number."]


def test_ascending_ids_are_held_without_the_dict_until_one_is_out_of_order() -> None:
    ids, _chk, _news = added([10, 20, 30], compact=True)
    assert ids.map == {}  # the array holds them
    assert [ids.has(10), ids.has(20), ids.has(30), ids.has(15), ids.has(31)] == [True, True, True, False, False]
    ids.add(Checker(), 3, {"id": 25})
    assert ids.map == {10: 10, 20: 20, 30: 30, 25: 25}
    assert ids.get(25) == 25 and ids.get(26) is None


@pytest.mark.parametrize("compact", [False, True])
def test_a_non_positive_id_starts_the_import_again_renumbered(compact: bool) -> None:
    with pytest.raises(Renumber) as raised:
        added([0], compact=compact)
    assert raised.value.section == "events"
    with pytest.raises(Renumber):
        added([4, -1], compact=compact)


def test_a_renumbered_section_counts_on_from_the_highest_taken_id() -> None:
    ids, chk, news = added([7, 3, 9], compact=True, keep=False, taken=(1, 100))
    assert news == [101, 102, 103]
    assert chk.problems == []
    assert (ids.get(3), ids.get(7), ids.get(9), ids.get(101)) == (102, 101, 103, None)
    assert ids.has(7) and not ids.has(101)
    assert ids.renumbered
