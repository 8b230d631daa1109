"""The first-run path a new user takes through the CLI (SPEC section 5 / issue 2's check)."""

from __future__ import annotations

import json


def test_pipeline_wip_limit_and_json_list(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal,Negotiation").code == 0
    assert cli("stage", "set", "Proposal", "--wip-max", "2").code == 0
    ids = []
    for i in range(3):
        r = cli("deal", "add", f"Deal {i}", "--value", "12,500.50")
        assert r.code == 0, r.err
        ids.append(int(r.out.strip()))
    assert cli("deal", "move", str(ids[0]), "qualified").code == 0
    assert cli("deal", "move", str(ids[0]), "proposal").code == 0
    assert cli("deal", "move", str(ids[1]), "Proposal").code == 0
    third = cli("deal", "move", str(ids[2]), "Proposal")
    assert third.code == 1
    assert third.err.strip() == "Proposal is at its WIP limit (2/2)"
    listing = json.loads(cli("deal", "list", "--json").out)
    by_id = {d["id"]: d for d in listing["deals"]}
    assert by_id[ids[0]]["stage"] == "Proposal"
    assert by_id[ids[2]]["stage"] == "Lead"
    assert by_id[ids[1]]["value"] == 12500.5
    assert set(by_id[ids[1]]) >= {"id", "title", "stage", "status", "value", "owner", "type"}
    assert by_id[ids[1]]["owner"] == "tester"
