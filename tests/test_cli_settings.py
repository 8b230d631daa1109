"""`pipeline set`, `stage rename|move|archive`, `type rename`: the settings screen's changes from the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def _sales(cli: Any) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Proposal,Closing", "--target", "250k",
               "--types", "New business").code == 0


def test_pipeline_set_changes_what_it_names_and_nothing_else(cli: Any) -> None:
    _sales(cli)
    result = cli("pipeline", "set", "sales", "--name", "Sales EMEA", "--currency", "eur", "--stale-days", "14")
    assert result.code == 0, result.err
    assert result.out.strip() == ("Pipeline Sales EMEA: EUR, target €250,000, stale after 14 days, no_next_step "
                                  "signal on.")
    [p] = json.loads(cli("pipeline", "list", "--json").out)["pipelines"]
    assert (p["name"], p["currency"], p["target"], p["stale_days"]) == ("Sales EMEA", "EUR", 250000, 14)
    assert cli("pipeline", "set", "Sales EMEA", "--target", "none").out.strip() == (
        "Pipeline Sales EMEA: EUR, target none, stale after 14 days, no_next_step signal on.")


def test_pipeline_set_refuses_a_currency_change_under_deals_and_keeps_every_figure(cli: Any) -> None:
    _sales(cli)
    assert cli("deal", "add", "Acme", "--value", "12,500.50").code == 0
    before = json.loads(cli("deal", "list", "--json").out)
    result = cli("pipeline", "set", "Sales", "--currency", "EUR")
    assert result.code == 1
    assert result.err.strip() == ("Sales holds 1 deal in USD, so its currency cannot change to EUR (deals are never "
                                  "converted); create a new pipeline in EUR instead.")
    assert json.loads(cli("deal", "list", "--json").out) == before
    # a value typed with another currency's symbol is refused too, not stored as the pipeline's money
    refused = cli("deal", "add", "Globex", "--value", "€5k")
    assert refused.code == 1
    assert refused.err.strip() == ("'€5k' is in euros, but this pipeline counts in USD; type the amount without the "
                                   "symbol, in USD.")


def test_stage_and_type_commands(cli: Any) -> None:
    _sales(cli)
    assert cli("stage", "rename", "proposal", "Offer").out.strip() == "Renamed the stage to Offer."
    assert cli("stage", "move", "Closing", "--by", "-2").out.strip() == "Stages: Closing, Lead, Offer."
    assert cli("deal", "add", "Acme", "--stage", "Offer").code == 0
    refused = cli("stage", "archive", "Offer")
    assert (refused.code, refused.err.strip()) == (1, "Offer still holds 1 open deal; move it before archiving the "
                                                      "stage.")
    assert cli("stage", "archive", "Closing").out.strip() == "Archived the stage Closing."
    stages = [s["name"] for s in json.loads(cli("stage", "list", "--json").out)["stages"]]
    assert stages == ["Lead", "Offer"]
    assert cli("type", "rename", "new business", "New logo").out.strip() == "Renamed the deal type to New logo."
    duplicate = cli("stage", "rename", "Lead", "offer")
    assert (duplicate.code, duplicate.err.strip()) == (1, "Pipeline Sales already has a stage named 'Offer'.")
