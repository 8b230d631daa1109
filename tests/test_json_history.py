"""JSON import accepts only history that agrees with itself. Property-style: valid exports (a hand-made pipeline
that uses every kind of history, undo and redo included, and the demo's pipelines) each import; every mutation of
them (a deal's stage or status changed, a state event dropped, two events swapped, a reference to nothing, an
integer out of range) is refused with sentences and writes nothing."""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from tuikanban.domain.errors import ValidationError
from tuikanban.services.deals import create_deal, edit_deal, lose_deal, move_deal, reopen_deal, reorder_deal, win_deal
from tuikanban.services.demo import build_demo
from tuikanban.services.io.json_export import write_pipeline_json
from tuikanban.services.io.json_import import import_pipeline_json, read_json
from tuikanban.services.lifecycle import delete_deal, restore_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.services.undo import redo_last, undo_last
from tuikanban.store.engine import Database, open_database
from tuikanban.store.tables import Event, Pipeline

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

Doc = dict[str, Any]
STATE_KINDS = ("create", "move", "won", "lost", "reopen", "deleted", "restored", "undo", "redo")


def export(db: Database, pipeline: str) -> Doc:
    buf = io.StringIO()
    write_pipeline_json(db, pipeline, buf)
    return read_json(buf.getvalue())


@pytest.fixture
def handmade(db: Database, fixed_now: str) -> Doc:
    """Every kind of history: moves, closes, a reopen, edits, a reorder, undo and redo of each, delete/restore."""
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal")
    a = create_deal(db, "Sales", "A", user="ann", value="1000", at="2026-02-01T09:00")
    b = create_deal(db, "Sales", "B", user="ann", at="2026-02-01T10:00")
    c = create_deal(db, "Sales", "C", user="bob", at="2026-02-01T11:00")
    d = create_deal(db, "Sales", "D", user="bob", at="2026-02-01T12:00")
    assert reorder_deal(db, d.id, +1, user="bob") is True
    move_deal(db, a.id, "Qualified", user="ann", at="2026-02-05T09:00")
    move_deal(db, a.id, "Proposal", user="ann", at="2026-02-10T09:00")
    win_deal(db, b.id, user="ann", at="2026-02-11T09:00")
    lose_deal(db, c.id, "Price", user="bob", at="2026-02-12T09:00")
    reopen_deal(db, c.id, "Qualified", user="bob", at="2026-02-13T09:00")
    edit_deal(db, a.id, {"value": "2000", "close": "2026-04-01"}, user="ann")
    undo_last(db, "Sales", user="bob")  # the reorder of D
    undo_last(db, "Sales", user="ann")  # the edit
    undo_last(db, "Sales", user="ann")  # the won of B
    undo_last(db, "Sales", user="ann")  # the move of A to Proposal
    redo_last(db, "Sales", user="ann")  # the move again
    undo_last(db, "Sales", user="ann")  # the redo
    delete_deal(db, d.id, user="bob")
    restore_deal(db, d.id, user="bob")
    move_deal(db, d.id, "Qualified", user="bob")
    delete_deal(db, b.id, user="ann")
    undo_last(db, "Sales", user="ann")  # the delete of B
    with db.read() as s:
        assert {e.kind for e in s.exec(select(Event))} >= {*STATE_KINDS, "edit", "reorder"}
    return export(db, "Sales")


@pytest.fixture(scope="module")
def demo_docs(tmp_path_factory: pytest.TempPathFactory) -> list[Doc]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUIKANBAN_NOW", "2026-03-02T12:00:00+00:00")
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        build_demo(path, seed=7)
        db = open_database(path)
        try:
            return [export(db, name) for name in ("SMB", "Enterprise", "Partnerships")]
        finally:
            db.close()


# -- mutations: each returns (what it did, the mutated document) ------------------------------------------------


def _deal_events(doc: Doc, deal_id: int) -> list[dict[str, Any]]:
    return sorted((e for e in doc["events"] if e.get("deal_id") == deal_id), key=lambda e: e["id"])


def stage_changes(doc: Doc) -> Iterator[tuple[str, Doc]]:
    stage_ids = [s["id"] for s in doc["stages"]]
    for i, deal in enumerate(doc["deals"]):
        for other in stage_ids:
            if other != deal["stage_id"]:
                mutated = copy.deepcopy(doc)
                mutated["deals"][i]["stage_id"] = other
                yield f"deal {deal['id']} put in stage {other}", mutated
                break


def status_changes(doc: Doc) -> Iterator[tuple[str, Doc]]:
    for i, deal in enumerate(doc["deals"]):
        mutated = copy.deepcopy(doc)
        target = mutated["deals"][i]
        if deal["status"] == "open":
            target.update(status="won", closed_at="2026-03-01T00:00:00+00:00")
        elif deal["status"] == "won":
            target.update(status="lost", lost_reason="Price")
        else:
            target.update(status="open", closed_at=None, lost_reason="")
        yield f"deal {deal['id']} {deal['status']} -> {target['status']}", mutated


def _base_kind(doc: Doc, event: dict[str, Any]) -> str:
    by_id = {e["id"]: e for e in doc["events"]}
    while event["kind"] in ("undo", "redo") and event.get("ref_id") in by_id:
        event = by_id[event["ref_id"]]
    return str(event["kind"])


def dropped_events(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """Every event that changes a stage, a status or a field, dropped (not an undo of a reorder: ranks are not
    part of a deal's own log, see services/io/json_history.py)."""
    for i, event in enumerate(doc["events"]):
        if event["kind"] in STATE_KINDS and event.get("deal_id") is not None and _base_kind(doc, event) != "reorder":
            mutated = copy.deepcopy(doc)
            del mutated["events"][i]
            yield f"event {event['id']} ({event['kind']}) dropped", mutated


def swapped_events(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """Two neighbouring state events of a deal that say different things, swapped in the log (ids kept)."""
    for deal in doc["deals"]:
        state = [e for e in _deal_events(doc, deal["id"])
                 if e["kind"] in STATE_KINDS and _base_kind(doc, e) not in ("edit", "reorder")]
        for first, second in pairwise(state):
            if (first["kind"], first.get("from_stage_id"), first.get("to_stage_id")) == (
                    second["kind"], second.get("from_stage_id"), second.get("to_stage_id")):
                continue
            mutated = copy.deepcopy(doc)
            by_id = {e["id"]: e for e in mutated["events"]}
            x, y = by_id[first["id"]], by_id[second["id"]]
            for key in set(x) | set(y):
                if key != "id":
                    x[key], y[key] = y.get(key), x.get(key)
            yield f"events {first['id']} and {second['id']} of deal {deal['id']} swapped", mutated


def dangling_references(doc: Doc) -> Iterator[tuple[str, Doc]]:
    missing = 10**6
    for items, key in (("events", "deal_id"), ("events", "to_stage_id"), ("stays", "deal_id"),
                       ("stays", "stage_id"), ("activities", "deal_id"), ("deals", "type_id")):
        for i, item in enumerate(doc[items]):
            if item.get(key) is not None:
                mutated = copy.deepcopy(doc)
                mutated[items][i][key] = missing
                yield f"{items}[{i}].{key} points at nothing", mutated
                break
    for i, event in enumerate(doc["events"]):
        if event.get("ref_id") is not None:
            mutated = copy.deepcopy(doc)
            mutated["events"][i]["ref_id"] = missing
            yield f"event {event['id']} ref_id points at nothing", mutated
            break


HUGE = (2**63, 2**64 + 7, -(2**63) - 1, 10**30)


def huge_integers(doc: Doc, rng: random.Random) -> Iterator[tuple[str, Doc]]:
    places: list[tuple[str, int | None, str]] = [
        ("pipeline", None, "stale_days"), ("stages", 0, "id"), ("stages", 0, "position"), ("stages", 0, "wip_max"),
        ("stages", 0, "expected_days"), ("deals", 0, "id"), ("deals", 0, "rank"), ("deals", 0, "value"),
        ("deals", 0, "version"), ("events", 0, "id"), ("stays", 0, "id"), ("pipeline", None, "target"),
    ]
    for items, index, key in places:
        mutated = copy.deepcopy(doc)
        target = mutated[items] if index is None else mutated[items][index]
        target[key] = rng.choice(HUGE)
        yield f"{items}.{key} = {target[key]}", mutated
    mutated = copy.deepcopy(doc)
    mutated["deals"][0]["value"] = Decimal("1e999999999")
    yield "a value with a billion digits", mutated


# -- the property -----------------------------------------------------------------------------------------------


def _refused(target: Database, what: str, doc: Doc) -> None:
    with pytest.raises(ValidationError) as info:
        import_pipeline_json(target, doc)
    lines = str(info.value).splitlines()
    assert lines and all(line.strip() and "Traceback" not in line for line in lines), what
    assert lines[-1].startswith("Nothing was imported"), (what, lines)
    with target.read() as s:
        assert s.exec(select(Pipeline)).first() is None, f"{what}: something was written"


def _check_all(target: Database, doc: Doc, mutations: Iterator[tuple[str, Doc]]) -> int:
    count = 0
    for what, mutated in mutations:
        _refused(target, what, mutated)
        count += 1
    return count


def _every_mutation(doc: Doc, rng: random.Random) -> list[Callable[[], Iterator[tuple[str, Doc]]]]:
    return [lambda: stage_changes(doc), lambda: status_changes(doc), lambda: dropped_events(doc),
            lambda: swapped_events(doc), lambda: dangling_references(doc), lambda: huge_integers(doc, rng)]


def test_every_mutation_of_a_handmade_history_is_refused_and_the_original_imports(
        handmade: Doc, tmp_path: Path) -> None:
    target = open_database(tmp_path / "target.db")
    rng = random.Random(11)
    counts = [_check_all(target, handmade, make()) for make in _every_mutation(handmade, rng)]
    # 4 deals: 4 stage changes, 4 status changes; every state event dropped; the swaps, references and integers
    assert counts[0] == 4 and counts[1] == 4 and counts[2] >= 20 and counts[3] >= 8, counts
    result = import_pipeline_json(target, handmade)
    assert (result.deals, result.open, result.won, result.lost) == (4, 4, 0, 0)
    target.close()


def test_a_sample_of_mutations_of_the_demo_is_refused_and_every_demo_pipeline_imports(
        demo_docs: list[Doc], tmp_path: Path) -> None:
    rng = random.Random(7)
    target = open_database(tmp_path / "target.db")
    refused = 0
    for doc in demo_docs:
        for make in _every_mutation(doc, rng):
            pool = list(make())
            for what, mutated in rng.sample(pool, min(6, len(pool))):
                _refused(target, what, mutated)
                refused += 1
    assert refused >= 60
    for doc in demo_docs:
        assert import_pipeline_json(target, doc).deals == len(doc["deals"])
    target.close()


def test_the_sentences_name_the_deal(handmade: Doc, tmp_path: Path) -> None:
    target = open_database(tmp_path / "target.db")
    doc = copy.deepcopy(handmade)
    a = next(d for d in doc["deals"] if d["title"] == "A")
    a["stage_id"] = next(s["id"] for s in doc["stages"] if s["name"] == "Lead")
    with pytest.raises(ValidationError) as info:
        import_pipeline_json(target, doc)
    assert str(info.value).splitlines() == [
        f"deal {a['id']} ('A'): it is in Lead but its history puts it in Qualified.",
        "Nothing was imported: the file has 1 problem.",
    ]
    doc["deals"][0]["rank"] = 2**64
    with pytest.raises(ValidationError, match=r"'rank' is out of range \(at most 9,223,372,036,854,775,807\)\."):
        import_pipeline_json(target, doc)
    target.close()


def test_a_number_of_thousands_of_digits_is_one_sentence() -> None:
    text = json.dumps({"format": "tuikanban-pipeline", "version": 1}).replace("1}", "1, \"x\": " + "9" * 5000 + "}")
    with pytest.raises(ValidationError, match=r"^The file holds a number too long or nesting too deep"):
        read_json(text)


# -- the file read as the import goes (services/io/json_stream.py) ----------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_read_in_small_pieces_gives_the_items_json_loads_gives(handmade: Doc, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Buffers of 7 characters: every row, number and string is cut somewhere; the items are the same."""
    from tuikanban.services.io import json_stream

    monkeypatch.setattr(json_stream, "BLOCK", 7)
    text = json.dumps(handmade, default=str, ensure_ascii=False, indent=1) + "\n"
    whole = json.loads(text, parse_float=Decimal)
    doc = json_stream.StreamedDoc(_write(tmp_path / "doc.json", text))
    assert doc.value("format") == "tuikanban-pipeline"
    for key in ("stages", "types", "deals", "events", "stays", "activities"):
        got = doc.items(key)
        assert got is not None and list(got) == whole[key], key
    doc.finish()


def test_members_in_another_order_and_layout_import_alike(handmade: Doc, tmp_path: Path) -> None:
    """A document is read whatever the order of its members (a member asked for early is kept whole meanwhile)
    and whatever its white space."""
    from tuikanban.services.io.json_import import open_json

    reordered = {k: handmade[k] for k in ("activities", "stays", "events", "deals", "types", "stages")}
    reordered.update({k: v for k, v in handmade.items() if k not in reordered})
    path = _write(tmp_path / "odd.json", json.dumps(reordered, default=str, separators=(",", ":")))
    target = open_database(tmp_path / "target.db")
    try:
        result = import_pipeline_json(target, open_json(path))
        assert (result.deals, result.open, result.events) == (4, 4, len(handmade["events"]))
    finally:
        target.close()


def test_a_syntax_error_late_in_the_file_leaves_nothing_and_names_its_line(handmade: Doc, tmp_path: Path) -> None:
    from tuikanban.services.io.json_import import open_json

    lines = json.dumps(handmade, default=str, indent=1).splitlines()
    at = max(i for i, line in enumerate(lines) if '"stays"' in line) + 3  # inside the stays, after every deal
    lines[at] = lines[at].replace(":", "", 1)
    path = _write(tmp_path / "broken.json", "\n".join(lines))
    target = open_database(tmp_path / "target.db")
    try:
        with pytest.raises(ValidationError) as info:
            import_pipeline_json(target, open_json(path))
        assert str(info.value).startswith(f"The file is not valid JSON (line {at + 1}, column ")
        assert str(info.value).endswith("Expecting ':' delimiter); nothing was imported.")
        with target.read() as s:
            assert s.exec(select(Pipeline)).first() is None
    finally:
        target.close()


def test_an_undo_that_points_further_on_in_the_file_is_set_once_that_event_is_read(handmade: Doc,
                                                                                     tmp_path: Path) -> None:
    """The events in reverse order in the file (ids kept): every undo and redo points at an event read after it."""
    doc = copy.deepcopy(handmade)
    doc["events"].reverse()
    target = open_database(tmp_path / "target.db")
    try:
        import_pipeline_json(target, doc)
        with target.read() as s:
            refs = {e.id: e.ref_id for e in s.exec(select(Event))}
        assert refs == {e["id"]: e["ref_id"] for e in handmade["events"]}
        assert any(r is not None for r in refs.values())
    finally:
        target.close()


def test_a_board_from_bench_gen_imports_as_it_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/gen.py writes the history the services would: its boards export and import back (moves that would
    pass now, closes and value edits included)."""
    import importlib.util
    from datetime import UTC, datetime

    monkeypatch.setenv("TUIKANBAN_NOW", "2026-12-01T12:00:00+00:00")
    spec = importlib.util.spec_from_file_location("gen", Path(__file__).parent.parent / "bench" / "gen.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.generate(tmp_path / "gen.db", deals=400, open_deals=100, events=4000, seed=3,
                 now=datetime(2026, 12, 1, 12, tzinfo=UTC))
    source = open_database(tmp_path / "gen.db")
    try:
        doc = export(source, "Bench")
    finally:
        source.close()
    assert len(doc["events"]) > 3000
    target = open_database(tmp_path / "target.db")
    try:
        result = import_pipeline_json(target, doc)
        assert (result.deals, result.open) == (400, 100)
    finally:
        target.close()
