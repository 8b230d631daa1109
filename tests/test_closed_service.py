"""The closed-deals screen's read (services.closed): the latest matching closed deals, counted in the database."""

from __future__ import annotations

import pytest

from tuikanban.domain.errors import ValidationError
from tuikanban.services import closed as cs
from tuikanban.services import deals as ds
from tuikanban.services import pipelines as ps
from tuikanban.store.engine import Database

pytestmark = pytest.mark.engines


@pytest.fixture
def sales(db: Database) -> int:
    """Six closed deals (closed on the 1st to the 6th of March, in that order) and one open deal."""
    p = ps.create_pipeline(db, "Sales", ["Lead", "Proposal"], types=["Renewal"])
    rows = [("Acme renewal", "Acme", "won", "Renewal"), ("Globex pilot", "Globex", "lost", None),
            ("Initech", "Initech", "won", None), ("Acme expansion", "Acme", "lost", None),
            ("Umbrella", "Umbrella Corp", "won", None), ("Straße deal", "Hooli", "lost", None)]
    for day, (title, company, status, kind) in enumerate(rows, start=1):
        deal = ds.create_deal(db, p.id, title, user="alice", company=company, dtype=kind,
                              at=f"2026-02-0{day}T10:00:00Z")
        if status == "won":
            ds.win_deal(db, deal.id, user="alice", at=f"2026-03-0{day}T10:00:00Z")
        else:
            ds.lose_deal(db, deal.id, "Price" if day != 4 else "Timing", user="alice", at=f"2026-03-0{day}T10:00:00Z")
    ds.create_deal(db, p.id, "Acme open", user="alice", company="Acme")
    return p.id


def titles(page: cs.ClosedPage) -> list[str]:
    return [d.title for d in page.deals]


def test_latest_first_with_counts(db: Database, sales: int) -> None:
    page = cs.closed_page(db, sales)
    assert titles(page) == ["Straße deal", "Umbrella", "Acme expansion", "Initech", "Globex pilot", "Acme renewal"]
    assert (page.matching, page.total) == (6, 6)
    won = cs.closed_page(db, sales, status="won", limit=2)
    assert titles(won) == ["Umbrella", "Initech"]
    assert (won.matching, won.total) == (3, 6)


@pytest.mark.parametrize("chunk", [1, 2, 5000])
def test_search_every_word_in_any_field(db: Database, sales: int, chunk: int,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cs, "CHUNK", chunk)  # read a row, two rows or all of them at a time: the same page
    acme = cs.closed_page(db, sales, needle="  ACME ")
    assert titles(acme) == ["Acme expansion", "Acme renewal"] and acme.matching == 2  # not the open one
    assert titles(cs.closed_page(db, sales, needle="acme timing")) == ["Acme expansion"]  # lost reason
    assert titles(cs.closed_page(db, sales, needle="renewal acme", status="lost")) == []
    assert titles(cs.closed_page(db, sales, needle="renewal")) == ["Acme renewal"]  # title and deal type
    assert titles(cs.closed_page(db, sales, needle="proposal")) == []
    assert titles(cs.closed_page(db, sales, needle="lead")) == titles(cs.closed_page(db, sales))  # last stage
    assert titles(cs.closed_page(db, sales, needle="STRASSE")) == ["Straße deal"]  # case-folded: ß is ss
    latest = cs.closed_page(db, sales, needle="price", limit=2)
    assert titles(latest) == ["Straße deal", "Globex pilot"] and latest.matching == 2
    two = cs.closed_page(db, sales, needle="a", limit=3)  # every closed deal has an a: the latest three
    assert titles(two) == ["Straße deal", "Umbrella", "Acme expansion"] and two.matching == 6


def test_a_status_that_is_not_closed_is_refused(db: Database, sales: int) -> None:
    with pytest.raises(ValidationError, match="'open' is not a closed status"):
        cs.closed_page(db, sales, status="open")
