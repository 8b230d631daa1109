"""What a user made travels through a JSON export and import (docs/RULES.md, JSON export and import): each
user's last review ("since last review"), the pipeline's next-step signal, an archived deal type and a snoozed
deal, on either engine and into a new SQLite file; an older export without them still imports; a bad review mark
is one sentence and nothing is written."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engines import rows
from tuikanban.domain.errors import ValidationError
from tuikanban.services.deals import create_deal
from tuikanban.services.dealtypes import set_type_archived
from tuikanban.services.io.json_export import write_pipeline_json
from tuikanban.services.io.json_import import import_pipeline_json, read_json
from tuikanban.services.lifecycle import snooze_deal
from tuikanban.services.pipelines import add_type, create_pipeline, update_pipeline
from tuikanban.services.reviews import last_review, record_review
from tuikanban.store.engine import Database, open_database

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

ANN = datetime(2026, 2, 20, 9, 30, tzinfo=UTC)
BOB = datetime(2026, 2, 27, 17, 0, 0, 250000, tzinfo=UTC)


def _board(db: Database) -> None:
    create_pipeline(db, "Sales", "Lead,Qualified")
    add_type(db, "Sales", "Old")
    create_deal(db, "Sales", "Acme", user="ann", at="2026-02-01T09:00")
    create_deal(db, "Sales", "Globex", user="ann", at="2026-02-02T09:00")
    snooze_deal(db, 2, "2026-03-20", user="ann")
    set_type_archived(db, "Sales", "Old")
    update_pipeline(db, "Sales", next_step_signal=False)
    record_review(db, "Sales", "ann", ANN)
    record_review(db, "Sales", "bob", BOB)


def _export(db: Database) -> dict[str, Any]:
    buf = io.StringIO()
    write_pipeline_json(db, "Sales", buf)
    return read_json(buf.getvalue())


def _made(target: str | Path, pipeline: str) -> dict[str, Any]:
    where = "(SELECT id FROM pipeline WHERE name = :p)"
    return {
        "signal": [bool(v) for (v,) in rows(target, "SELECT next_step_signal FROM pipeline WHERE name = :p",
                                            p=pipeline)],
        "archived": [(n, bool(a)) for n, a in rows(
            target, f"SELECT name, archived FROM deal_type WHERE pipeline_id = {where} ORDER BY name", p=pipeline)],
        "snoozed": [(t, str(s) if s is not None else None) for t, s in rows(
            target, f"SELECT title, snoozed_until FROM deal WHERE pipeline_id = {where} ORDER BY title",
            p=pipeline)],
        "marks": [u for (u,) in rows(
            target, f'SELECT "user" FROM review_mark WHERE pipeline_id = {where} ORDER BY "user"', p=pipeline)],
    }


def test_the_review_marks_and_settings_travel_through_export_and_import(db: Database, db_target: str,
                                                                        tmp_path: Path, fixed_now: str) -> None:
    _board(db)
    doc = _export(db)
    assert doc["review_marks"] == [{"user": "ann", "at": "2026-02-20T09:30:00+00:00"},
                                   {"user": "bob", "at": "2026-02-27T17:00:00.250000+00:00"}]
    assert doc["pipeline"]["next_step_signal"] is False
    assert [(t["name"], t["archived"]) for t in doc["types"]] == [("Old", True)]
    assert [d["snoozed_until"] for d in doc["deals"]] == [None, "2026-03-20"]
    expected = {"signal": [False], "archived": [("Old", True)], "snoozed": [("Acme", None),
                                                                             ("Globex", "2026-03-20")],
                "marks": ["ann", "bob"]}
    assert _made(db_target, "Sales") == expected

    # beside the original, on the same engine (renumbered: the marks name the copy's pipeline)
    import_pipeline_json(db, doc, name="Sales copy", user="ann")
    assert _made(db_target, "Sales copy") == expected
    assert last_review(db, "Sales copy", "ann") == ANN
    assert last_review(db, "Sales copy", "bob") == BOB

    # into a new SQLite file, through the command's own file reading
    export = tmp_path / "sales.json"
    export.write_text(json.dumps(doc))
    fresh = open_database(tmp_path / "fresh.db")
    try:
        from tuikanban.services.io.json_import import open_json

        source = open_json(export)
        try:
            import_pipeline_json(fresh, source, user="ann")
        finally:
            source.close()
        assert last_review(fresh, "Sales", "bob") == BOB
    finally:
        fresh.close()
    assert _made(tmp_path / "fresh.db", "Sales") == expected


def test_an_export_without_the_new_keys_imports_as_before(db: Database, db_target: str, fixed_now: str) -> None:
    _board(db)
    doc = _export(db)
    del doc["review_marks"], doc["pipeline"]["next_step_signal"]
    for item in (*doc["types"], *doc["deals"]):
        item.pop("archived", None)
        item.pop("snoozed_until", None)
    import_pipeline_json(db, doc, name="Older", user="ann")
    assert _made(db_target, "Older") == {"signal": [True], "archived": [("Old", False)],
                                         "snoozed": [("Acme", None), ("Globex", None)], "marks": []}


@pytest.mark.parametrize(("marks", "said"), [
    ([{"user": "ann", "at": "2026-02-20T09:30:00+00:00"}, {"user": "ann", "at": "2026-02-21T09:30:00+00:00"}],
     "review_marks[1]: 'ann' has a second review mark (one per user)."),
    ([{"user": "", "at": "2026-02-20T09:30:00+00:00"}], "review_marks[0]: 'user' is empty."),
    ([{"user": "ann"}], "review_marks[0]: 'at' is missing."),
])
def test_a_bad_review_mark_is_named_and_nothing_is_imported(db: Database, db_target: str, fixed_now: str,
                                                            marks: list[dict[str, Any]], said: str) -> None:
    _board(db)
    doc = _export(db)
    doc["review_marks"] = marks
    before = rows(db_target, "SELECT count(*) FROM pipeline")
    with pytest.raises(ValidationError) as exc:
        import_pipeline_json(db, doc, name="Copy", user="ann")
    assert str(exc.value).splitlines() == [said, "Nothing was imported: the file has 1 problem."]
    assert rows(db_target, "SELECT count(*) FROM pipeline") == before
    assert rows(db_target, "SELECT count(*) FROM review_mark") == [(2,)]
