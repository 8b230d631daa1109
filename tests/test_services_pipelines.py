"""Pipelines, stages and deal types: creation, case-insensitive names, duplicates, limits, the board read model."""

from __future__ import annotations

import pytest

from tuikanban.domain.errors import DuplicateError, NotFoundError, ValidationError
from tuikanban.services.board import load_board
from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import (
    UNSET,
    add_stage,
    add_type,
    archive_stage,
    create_pipeline,
    get_pipeline,
    list_pipelines,
    list_stages,
    list_types,
    move_stage,
    pipeline_totals,
    rename_stage,
    set_stage,
    stage_rows,
    update_pipeline,
)
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines  # every test here runs on SQLite and on PostgreSQL


def test_create_and_list(db: Database) -> None:
    p = create_pipeline(db, "Sales", "Lead, Qualified ,Proposal", currency="eur", target="1.5M",
                        types=["New business", "Renewal"])
    assert (p.name, p.currency, p.target_minor, p.stale_days, p.is_default) == ("Sales", "EUR", 150_000_000, 10,
                                                                                 False)
    assert "Price" in p.lost_reasons
    assert [s.name for s in list_stages(db, "sales")] == ["Lead", "Qualified", "Proposal"]
    assert [s.position for s in list_stages(db, "SALES")] == [0, 1, 2]
    assert [t.name for t in list_types(db, "Sales")] == ["New business", "Renewal"]
    assert [x.name for x in list_pipelines(db)] == ["Sales"]


def test_duplicates_are_refused_with_the_existing_name(db: Database) -> None:
    create_pipeline(db, "Sales", "Lead")
    with pytest.raises(DuplicateError, match=r"^A pipeline named 'Sales' already exists\.$"):
        create_pipeline(db, " sales ", "A")
    with pytest.raises(ValidationError, match=r"^The stage names repeat: Lead, lead\.$"):
        create_pipeline(db, "Other", "Lead,lead")
    with pytest.raises(ValidationError, match=r"^The deal type names repeat: A, a\.$"):
        create_pipeline(db, "Other", "X", types=["A", "a"])
    with pytest.raises(DuplicateError, match=r"^Pipeline Sales already has a stage named 'Lead'\.$"):
        add_stage(db, "Sales", "LEAD")
    add_type(db, "Sales", "Renewal")
    with pytest.raises(DuplicateError, match=r"^Pipeline Sales already has a deal type named 'Renewal'\.$"):
        add_type(db, "Sales", "renewal")
    assert [p.name for p in list_pipelines(db)] == ["Sales"]


def test_bad_pipeline_input(db: Database) -> None:
    with pytest.raises(ValidationError, match=r"^Give at least one stage"):
        create_pipeline(db, "Sales", " , ")
    with pytest.raises(ValidationError, match=r"^The pipeline name is empty\.$"):
        create_pipeline(db, "  ", "A")
    with pytest.raises(ValidationError, match="'EURO' is not a currency code"):
        create_pipeline(db, "Sales", "A", currency="EURO")
    with pytest.raises(ValidationError, match="'lots' is not an amount"):
        create_pipeline(db, "Sales", "A", target="lots")
    with pytest.raises(ValidationError, match="stale-activity days must be at least 1"):
        create_pipeline(db, "Sales", "A", stale_days=0)
    assert list_pipelines(db) == []


def test_resolving_pipelines(db: Database) -> None:
    with pytest.raises(NotFoundError, match=r"^There is no pipeline yet; create one with"):
        get_pipeline(db, None)
    create_pipeline(db, "Sales", "A")
    assert get_pipeline(db, None).name == "Sales"  # the only one
    create_pipeline(db, "Partners", "A")
    several = r"^There are several pipelines \(Sales, Partners\); choose one with -p\.$"
    with pytest.raises(ValidationError, match=several):
        get_pipeline(db, None)
    update_pipeline(db, "partners", make_default=True)
    assert get_pipeline(db, None).name == "Partners"
    with pytest.raises(NotFoundError, match=r"^There is no pipeline named 'Nope' \(pipelines: Sales, Partners\)\.$"):
        get_pipeline(db, "Nope")
    with pytest.raises(NotFoundError, match=r"^There is no pipeline with id 99\.$"):
        get_pipeline(db, 99)


def test_stage_settings(db: Database) -> None:
    create_pipeline(db, "Sales", "Lead,Proposal")
    st = set_stage(db, "Sales", "proposal", wip_max=5, wip_min=1, rep_wip_max=2, expected_days=10, probability=40,
                   exit_criteria="Signed NDA\x1b[2J")
    assert (st.wip_max, st.wip_min, st.rep_wip_max, st.expected_days, st.probability, st.exit_criteria) == (
        5, 1, 2, 10, 40, "Signed NDA")
    st = set_stage(db, "Sales", "Proposal", wip_min=UNSET, wip_max=None)  # clear one, keep the rest
    assert (st.wip_max, st.wip_min, st.rep_wip_max) == (None, 1, 2)
    with pytest.raises(ValidationError, match=r"probability of Proposal must be between 0 and 100, not 150"):
        set_stage(db, "Sales", "Proposal", probability=150)
    with pytest.raises(ValidationError, match=r"expected days of Proposal must be at least 1"):
        set_stage(db, "Sales", "Proposal", expected_days=0)
    with pytest.raises(NotFoundError, match=r"^Pipeline Sales has no stage named 'Nope' \(stages: Lead, Proposal\)\.$"):
        set_stage(db, "Sales", "Nope", wip_max=1)
    with pytest.raises(ValidationError, match=r"^Unknown stage setting: colour\.$"):
        set_stage(db, "Sales", "Proposal", colour="red")
    # nothing of the refused calls was kept
    final = list_stages(db, "Sales")[1]
    assert (final.wip_max, final.wip_min, final.probability, final.expected_days) == (None, 1, 40, 10)


def test_add_rename_move_archive_stages(db: Database) -> None:
    create_pipeline(db, "Sales", "Lead,Proposal")
    add_stage(db, "Sales", "Qualified", position=1, wip_max=3)
    add_stage(db, "Sales", "Won later")
    assert [s.name for s in list_stages(db, "Sales")] == ["Lead", "Qualified", "Proposal", "Won later"]
    assert list_stages(db, "Sales")[1].wip_max == 3
    rename_stage(db, "Sales", "Won later", "Negotiation")
    with pytest.raises(DuplicateError):
        rename_stage(db, "Sales", "Negotiation", "lead")
    move_stage(db, "Sales", "Negotiation", -1)
    assert [s.name for s in list_stages(db, "Sales")] == ["Lead", "Qualified", "Negotiation", "Proposal"]
    create_deal(db, "Sales", "Busy", user="ann", stage="Proposal")
    with pytest.raises(ValidationError, match=r"^Proposal still holds 1 open deal; move it before archiving"):
        archive_stage(db, "Sales", "Proposal")
    archive_stage(db, "Sales", "Negotiation")
    assert [s.name for s in list_stages(db, "Sales")] == ["Lead", "Qualified", "Proposal"]
    assert len(list_stages(db, "Sales", include_archived=True)) == 4
    # adding the archived name again brings it back
    add_stage(db, "Sales", "negotiation")
    assert [s.name for s in list_stages(db, "Sales")][-1] == "Negotiation"


def test_stage_rows_and_board_counts_ignore_closed_deals(db: Database) -> None:
    from tuikanban.services.deals import lose_deal

    create_pipeline(db, "Sales", "Lead,Proposal")
    set_stage(db, "Sales", "Proposal", wip_max=3)
    a = create_deal(db, "Sales", "A", user="ann", stage="Proposal", value="1,000")
    create_deal(db, "Sales", "B", user="ann", stage="Proposal", value="250.50")
    c = create_deal(db, "Sales", "C", user="ann", stage="Proposal", value="99")
    lose_deal(db, c.id, "Price", user="ann")
    _p, rows = stage_rows(db, "Sales")
    # open: A (1,000.00) + B (250.50) = 1,250.50 = 125,050 cents
    assert [(r.stage.name, r.open_deals, r.open_value_minor) for r in rows] == [("Lead", 0, 0),
                                                                                ("Proposal", 2, 125_050)]
    board = load_board(db, "Sales")
    proposal = board.stages[1]
    assert board.counts[proposal.id] == 2
    assert board.sums[proposal.id] == 125_050
    assert {d.title for d in board.cards} == {"A", "B"}
    assert a.id in {d.id for d in board.cards}


def test_pipeline_totals_count_open_deals_and_sum_the_own_currency(db: Database) -> None:
    from tuikanban.services.deals import win_deal

    create_pipeline(db, "Sales", "Lead,Proposal,Old")
    create_pipeline(db, "Empty", "One,Two", currency="EUR")
    archive_stage(db, "Sales", "Old")
    create_deal(db, "Sales", "A", user="ann", stage="Lead", value="1,000")
    create_deal(db, "Sales", "B", user="ann", stage="Proposal", value="250.50")
    create_deal(db, "Sales", "Euro", user="ann", stage="Proposal", value="70", currency="EUR")
    won = create_deal(db, "Sales", "Won", user="ann", stage="Proposal", value="5")
    win_deal(db, won.id, user="ann")
    totals = {t.pipeline.name: (t.open_deals, t.open_value_minor, t.stages) for t in pipeline_totals(db)}
    # Sales: A, B and Euro are open (3); the sum is A + B = 1,250.50 = 125,050 cents (Euro is in another
    # currency, Won is closed); two active stages (Old is archived). Empty: nothing open, two stages.
    assert totals == {"Sales": (3, 125_050, 2), "Empty": (0, 0, 2)}


def test_case_insensitive_type_on_deals(db: Database) -> None:
    create_pipeline(db, "Sales", "Lead", types=["Expansion"])
    d = create_deal(db, "Sales", "Grow", user="ann", dtype="EXPANSION")
    assert d.type_name == "Expansion"
    with pytest.raises(NotFoundError, match=r"has no deal type named 'Renewal' \(types: Expansion\)\."):
        create_deal(db, "Sales", "Renew", user="ann", dtype="Renewal")


# -- currency changes never corrupt money (the pipeline's deals are never converted) --------------------------


def test_currency_change_is_refused_while_deals_count_in_the_old_currency(db: Database) -> None:
    create_pipeline(db, "Sales", ["Lead", "Won"], currency="USD", target="250k")
    create_deal(db, "Sales", "Acme", value="12,500.50", user="alice")
    create_deal(db, "Sales", "Globex", value="1k", user="alice")
    with pytest.raises(ValidationError) as info:
        update_pipeline(db, "Sales", currency="eur")
    assert str(info.value) == ("Sales holds 2 deals in USD, so its currency cannot change to EUR (deals are never "
                               "converted); create a new pipeline in EUR instead.")
    p = get_pipeline(db, "Sales")
    assert (p.currency, p.target_minor) == ("USD", 25_000_000)  # 250,000.00 dollars, untouched


def test_currency_change_of_an_empty_pipeline_keeps_the_target_in_major_units(db: Database) -> None:
    create_pipeline(db, "Sales", ["Lead"], currency="USD", target="250k")
    assert update_pipeline(db, "Sales", currency="JPY").target_minor == 250_000  # 250,000 yen: no minor unit
    assert update_pipeline(db, "Sales", currency="KWD").target_minor == 250_000_000  # 250,000.000 dinars
    create_pipeline(db, "Odd", ["Lead"], currency="USD", target="12.34")
    with pytest.raises(ValidationError) as info:
        update_pipeline(db, "Odd", currency="JPY")
    assert str(info.value) == ("The target $12.34 has more decimals than JPY allows; set the target again in the new "
                               "currency.")
    assert get_pipeline(db, "Odd").currency == "USD"
