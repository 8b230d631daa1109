"""Undo and redo next to a CSV import (docs/RULES.md, Undo): the won and lost events an import logs under the
importing user's name record deals that arrived closed, not actions of that user, so undo never takes one of them
apart (it reaches the user's own action before the import) and an import does not end what can be redone."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlmodel import col, select

from tuikanban.domain.errors import ValidationError
from tuikanban.services.deals import create_deal, get_deal, list_deals, move_deal
from tuikanban.services.io import import_csv_text, import_pipeline_json, read_json
from tuikanban.services.io.json_export import write_pipeline_json
from tuikanban.services.pipelines import create_pipeline
from tuikanban.services.undo import redo_last, undo_last
from tuikanban.store.engine import Database, open_database
from tuikanban.store.tables import Event

pytestmark = pytest.mark.engines

CLOSED = ("title,stage,status,closed_at,lost_reason,created_at\n"
          "Old win,Proposal,won,2026-02-20,,2026-02-01\n"
          "Old loss,Lead,lost,2026-02-21,Budget,2026-02-02\n"
          "Still open,Qualified,open,,,2026-02-03\n")


@pytest.fixture
def sales(db: Database, fixed_now: str) -> Database:
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal")
    return db


def by_title(db: Database) -> dict[str, str]:
    return {d.title: d.status for d in list_deals(db, "Sales", status="all")}


def test_undo_after_a_csv_import_reaches_the_move_before_it(sales: Database) -> None:
    mine = create_deal(sales, "Sales", "Acme", user="alice").id
    move_deal(sales, mine, "Qualified", user="alice")
    import_csv_text(sales, CLOSED, "Sales", user="alice")
    assert undo_last(sales, "Sales", user="alice") == "Undid the move of 'Acme'; it is back in Lead."
    assert get_deal(sales, mine).stage_name == "Lead"
    assert by_title(sales) == {"Acme": "open", "Old win": "won", "Old loss": "lost", "Still open": "open"}


def test_undo_with_only_an_import_behind_it_has_nothing_to_undo(sales: Database) -> None:
    import_csv_text(sales, CLOSED, "Sales", user="alice")
    with pytest.raises(ValidationError) as refused:
        undo_last(sales, "Sales", user="alice")
    assert str(refused.value) == ("There is nothing of yours to undo in this pipeline (an import is not undone: "
                                  "delete its deals, or restore a backup taken before it with `tuikanban restore`).")
    assert by_title(sales) == {"Old win": "won", "Old loss": "lost", "Still open": "open"}
    with pytest.raises(ValidationError) as other:  # another user has imported nothing: the plain sentence
        undo_last(sales, "Sales", user="bob")
    assert str(other.value) == "There is nothing of yours to undo in this pipeline."
    with sales.read() as s:  # refused, not skipped: nothing is logged
        assert not s.exec(select(Event).where(col(Event.kind).in_(("undo", "undo_skipped")))).all()


def test_the_imported_close_events_are_still_plain_won_and_lost(sales: Database) -> None:
    """The marker is in `new_value` only: kind, stage, time and the lost reason stay what the metrics read."""
    import_csv_text(sales, CLOSED, "Sales", user="alice")
    with sales.read() as s:
        rows = s.exec(select(Event).where(col(Event.kind).in_(("won", "lost"))).order_by(col(Event.id))).all()
        assert [(e.kind, e.reason, e.new_value, e.ref_id, e.field, e.old_value) for e in rows] == [
            ("won", None, "import", None, None, None), ("lost", "Budget", "import", None, None, None)]


def test_an_import_does_not_end_what_can_be_redone(sales: Database) -> None:
    mine = create_deal(sales, "Sales", "Acme", user="alice").id
    move_deal(sales, mine, "Qualified", user="alice")
    undo_last(sales, "Sales", user="alice")
    import_csv_text(sales, CLOSED, "Sales", user="alice")
    assert redo_last(sales, "Sales", user="alice") == "Redid the move of 'Acme' to Qualified."
    assert get_deal(sales, mine).stage_name == "Qualified"
    # and undo again goes past the import to that redo
    assert undo_last(sales, "Sales", user="alice") == "Undid the move of 'Acme'; it is back in Lead."


def test_a_new_action_after_the_import_is_undone_first(sales: Database) -> None:
    import_csv_text(sales, CLOSED, "Sales", user="alice")
    opened = next(d.id for d in list_deals(sales, "Sales") if d.title == "Still open")
    move_deal(sales, opened, "Proposal", user="alice")
    assert undo_last(sales, "Sales", user="alice") == "Undid the move of 'Still open'; it is back in Qualified."
    with pytest.raises(ValidationError, match="nothing of yours to undo"):
        undo_last(sales, "Sales", user="alice")


def test_imported_closes_stay_out_of_undo_after_a_json_copy(sales: Database, tmp_path: Path) -> None:
    import_csv_text(sales, CLOSED, "Sales", user="alice")
    buf = io.StringIO()
    write_pipeline_json(sales, "Sales", buf)
    copy = open_database(tmp_path / "copy.db")
    try:
        import_pipeline_json(copy, read_json(buf.getvalue()))
        with pytest.raises(ValidationError, match="nothing of yours to undo"):
            undo_last(copy, "Sales", user="alice")
        assert {d.title: d.status for d in list_deals(copy, "Sales", status="all")}["Old win"] == "won"
    finally:
        copy.close()
