"""The command line (docs/RULES.md, Command line) for pipelines, stages, deal types and deals, through the
in-process `cli` fixture: human output, --json documents, --at, --force --reason, and every kind of bad input
(exit code 1, one sentence on stderr, no traceback, nothing changed)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engines import rows

# The commands run on SQLite and on PostgreSQL; the tests about files (--db paths, permissions) are SQLite's.
pytestmark = pytest.mark.engines

TABLES = ("activity", "deal", "deal_type", "event", "pipeline", "stage", "stay", "tk_meta")

# -- helpers ----------------------------------------------------------------------------------------


def snapshot(target: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a connection of its own."""
    return {n: sorted(rows(target, f'SELECT * FROM "{n}"'), key=repr) for n in TABLES}


def assert_one_sentence_error(result: Any) -> str:
    assert result.code == 1, (result.code, result.out, result.err)
    message = result.err.strip()
    assert message, "expected a message on stderr"
    assert "\n" not in message, message
    assert "Traceback" not in result.err and "Error:" not in result.err, result.err
    assert "  " not in message, f"stray spaces in {message!r}"
    assert message[0].isupper() or message[0] in "'-", message
    return message


@pytest.fixture
def sales(cli: Any) -> Any:
    """A database with one pipeline, Sales: four stages and one deal type."""
    r = cli("pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal,Negotiation", "--types", "Renewal")
    assert r.code == 0, r.err
    return cli


# -- the commands -----------------------------------------------------------------------------------


def test_pipeline_create_and_list(cli: Any) -> None:
    r = cli("pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal", "--currency", "eur",
            "--target", "1.5M")
    assert (r.code, r.out.strip(), r.err) == (0, "Created pipeline 1: Sales", "")
    cli("pipeline", "create", "Partners", "--stages", "Intro,Deal", "--default")
    doc = json.loads(cli("pipeline", "list", "--json").out)
    assert doc["pipelines"][0] == {"id": 1, "name": "Sales", "currency": "EUR", "target": 1500000, "stale_days": 10,
                                   "default": False, "stages": ["Lead", "Qualified", "Proposal"]}
    assert doc["pipelines"][1]["default"] is True
    human = cli("pipeline", "list").out
    assert "Sales" in human and "€1,500,000" in human and "Partners (default)" in human
    assert "Lead, Qualified, Proposal" in human


def test_pipeline_list_when_empty(cli: Any, db: Any) -> None:
    r = cli("pipeline", "list")
    assert r.code == 0
    assert r.out.startswith("No pipelines yet. Create one: tuikanban pipeline create")


def test_a_read_at_a_mistyped_db_creates_nothing(cli: Any, tmp_path: Path) -> None:
    typo = tmp_path / "bord.db"
    creators = "a board is created by opening it (tuikanban --db PATH), 'pipeline create', 'import' or 'demo'."
    for command in (["pipeline", "list"], ["deal", "list", "--json"], ["aging"], ["metrics"], ["deal", "add", "X"]):
        r = cli("--db", str(typo), *command)
        assert (r.code, r.err.strip()) == (1, f"There is no database at {typo}; {creators}"), command
        assert not typo.exists()
    typo.write_bytes(b"")  # an empty file (touch, a failed copy) is not silently turned into a board either
    r = cli("--db", str(typo), "deal", "list")
    assert (r.code, r.err.strip()) == (1, f"The file {typo} is empty, not a board, and was left as it is; {creators}")
    assert typo.read_bytes() == b""
    assert cli("--db", str(typo), "pipeline", "create", "Sales", "--stages", "Lead").code == 0  # a creating command


def test_stage_add_set_list(sales: Any) -> None:
    r = sales("stage", "set", "proposal", "--wip-max", "2", "--wip-min", "1", "--rep-wip-max", "1",
              "--expected-days", "10", "--probability", "40", "--exit-criteria", "Proposal sent")
    assert r.code == 0, r.err
    assert r.out.strip() == ("Stage Proposal: WIP max 2, WIP min 1, per-rep max 1, expected days 10, "
                             "probability 40%.")
    r = sales("stage", "add", "Contract", "--position", "4", "--wip-max", "3", "--probability", "80")
    assert r.out.strip() == "Added stage Contract at position 4."
    r = sales("stage", "set", "Proposal", "--clear", "wip-min")
    assert "WIP min none," in r.out
    doc = json.loads(sales("stage", "list", "--json").out)
    assert doc["pipeline"] == "Sales"
    assert [(s["name"], s["position"]) for s in doc["stages"]] == [
        ("Lead", 1), ("Qualified", 2), ("Proposal", 3), ("Contract", 4), ("Negotiation", 5)]
    proposal = doc["stages"][2]
    assert {k: proposal[k] for k in ("wip_max", "wip_min", "rep_wip_max", "expected_days", "probability",
                                     "exit_criteria", "open_deals", "open_value", "wip_state")} == {
        "wip_max": 2, "wip_min": None, "rep_wip_max": 1, "expected_days": 10, "probability": 40,
        "exit_criteria": "Proposal sent", "open_deals": 0, "open_value": 0, "wip_state": "ok"}
    human = sales("stage", "list").out
    lines = human.splitlines()
    assert "Stage" in lines[0] and "WIP" in lines[0]
    assert any("Proposal" in line and "0/2" in line and "40%" in line for line in lines)


def test_type_list_when_empty(cli: Any) -> None:
    cli("pipeline", "create", "Sales", "--stages", "Lead")
    assert cli("type", "list").out.strip() == (
        "No deal types yet (one lane for all deals); add one with 'tuikanban type add NAME'.")


def test_type_add_and_list(sales: Any) -> None:
    r = sales("type", "add", "New business")
    assert (r.code, r.out.strip()) == (0, "Added deal type New business.")
    doc = json.loads(sales("type", "list", "--json").out)
    assert [t["name"] for t in doc["types"]] == ["Renewal", "New business"]
    assert sales("type", "list").out.splitlines() == ["Renewal", "New business"]


def test_deal_lifecycle_with_json_at_and_events(sales: Any) -> None:
    r = sales("deal", "add", "Acme renewal", "--value", "12,500.50", "--company", "Acme", "--contact", "Jo",
              "--owner", "bob", "--type", "renewal", "--close", "2026-04-01", "--at", "2026-03-01T09:00")
    assert r.code == 0, r.err
    deal_id = int(r.out.strip())
    r = sales("deal", "move", str(deal_id), "Qualified", "--at", "2026-03-03T09:00")
    assert r.out.strip() == "Moved deal 1 from Lead to Qualified."
    r = sales("deal", "edit", str(deal_id), "--value", "13k", "--close", "2026-05-01", "--at", "2026-03-04T09:00")
    assert r.out.strip() == "Deal 1: changed value, close."
    r = sales("deal", "won", str(deal_id), "--at", "2026-03-05T09:00")
    assert r.out.strip() == "Deal 1 won: Acme renewal ($13,000)."
    r = sales("deal", "reopen", str(deal_id), "Proposal", "--at", "2026-03-06T09:00")
    assert r.out.strip() == "Deal 1 reopened in Proposal."
    r = sales("deal", "lost", str(deal_id), "--reason", "Went silent", "--at", "2026-03-07T09:00")
    assert r.out.strip() == "Deal 1 lost: Acme renewal (Went silent)."

    doc = json.loads(sales("deal", "show", str(deal_id), "--json").out)
    assert {k: doc[k] for k in ("id", "title", "stage", "status", "value", "owner", "type", "company", "contact",
                                "expected_close", "created_at", "closed_at", "lost_reason")} == {
        "id": 1, "title": "Acme renewal", "stage": "Proposal", "status": "lost", "value": 13000, "owner": "bob",
        "type": "Renewal", "company": "Acme", "contact": "Jo", "expected_close": "2026-05-01",
        "created_at": "2026-03-01T09:00:00+00:00", "closed_at": "2026-03-07T09:00:00+00:00",
        "lost_reason": "Went silent"}
    assert [(e["kind"], e["at"][:10], e["user"], e["field"]) for e in doc["events"]] == [
        ("create", "2026-03-01", "tester", None),
        ("move", "2026-03-03", "tester", None),
        ("edit", "2026-03-04", "tester", "value"),
        ("edit", "2026-03-04", "tester", "close"),
        ("won", "2026-03-05", "tester", None),
        ("reopen", "2026-03-06", "tester", None),
        ("lost", "2026-03-07", "tester", None),
    ]
    value_edit = doc["events"][2]
    assert (value_edit["old"], value_edit["new"]) == (12500.5, 13000)  # money in major units

    listing = json.loads(sales("deal", "list", "--status", "all", "--json").out)
    assert listing["status"] == "all"
    assert [d["id"] for d in listing["deals"]] == [1]
    assert json.loads(sales("deal", "list", "--json").out)["deals"] == []  # open only by default
    assert [d["id"] for d in json.loads(sales("deal", "list", "--status", "lost", "--json").out)["deals"]] == [1]

    shown = sales("deal", "show", str(deal_id)).out
    assert "Deal 1: Acme renewal" in shown
    assert "value: $12,500.50 → $13,000" in shown
    assert "lost in Proposal: Went silent" in shown


def test_the_user_comes_from_user_option(sales: Any) -> None:
    deal_id = sales("--user", "carol", "deal", "add", "Mine").out.strip()
    doc = json.loads(sales("deal", "show", deal_id, "--json").out)
    assert doc["owner"] == "carol"
    assert doc["events"][0]["user"] == "carol"


def test_wip_limit_force_and_reason(sales: Any, db_target: str) -> None:
    db_path = db_target
    sales("stage", "set", "Proposal", "--wip-max", "1")
    first = sales("deal", "add", "First", "--stage", "Proposal")
    assert first.code == 0
    second = sales("deal", "add", "Second").out.strip()
    before = snapshot(db_path)
    refused = sales("deal", "move", second, "Proposal")
    assert assert_one_sentence_error(refused) == (
        "Proposal is at its WIP limit (1/1); add --force --reason TEXT to override it"
    )
    no_reason = sales("deal", "move", second, "Proposal", "--force")
    assert assert_one_sentence_error(no_reason) == "--force needs --reason TEXT saying why the WIP limit is overridden."
    stray_reason = sales("deal", "move", second, "Proposal", "--reason", "because")
    assert assert_one_sentence_error(stray_reason) == "--reason goes with --force."
    assert snapshot(db_path) == before
    forced = sales("deal", "move", second, "Proposal", "--force", "--reason", "Board decision")
    assert forced.code == 0
    assert forced.out.strip() == "Moved deal 2 from Lead to Proposal (WIP limit overridden)."
    events = json.loads(sales("deal", "show", second, "--json").out)["events"]
    assert [(e["kind"], e["reason"]) for e in events] == [
        ("create", None), ("wip_override", "Board decision"), ("move", "Board decision")]
    stages = json.loads(sales("stage", "list", "--json").out)["stages"]
    assert next(s for s in stages if s["name"] == "Proposal")["wip_state"] == "over"


def test_deal_list_human_table(sales: Any) -> None:
    sales("deal", "add", "Acme [bold]renewal[/bold]", "--value", "1.2M", "--company", "Acme", "--owner", "bob")
    sales("deal", "add", "Beta", "--stage", "Proposal")
    out = sales("deal", "list").out
    lines = out.splitlines()
    header = lines[0]
    for column in ("Id", "Title", "Stage", "Status", "Value", "Owner", "Days"):
        assert column in header
    assert "Acme [bold]renewal[/bold]" in out  # markup in user text is shown literally
    assert "$1,200,000" in out  # money is never cut
    assert len(lines) == 4  # header, rule, one line per deal
    assert sales("deal", "list", "--status", "won").out.strip() == "No won deals in Sales."
    assert "\x1b" not in out


def test_deal_list_and_show_on_an_empty_pipeline(sales: Any) -> None:
    assert sales("deal", "list").out.strip() == "No open deals in Sales."
    assert sales("deal", "list", "--status", "all").out.strip() == "No deals in Sales."


def test_pipeline_option_is_needed_with_several(sales: Any) -> None:
    sales("pipeline", "create", "Partners", "--stages", "Intro")
    r = sales("deal", "add", "Where")
    assert assert_one_sentence_error(r) == "There are several pipelines (Sales, Partners); choose one with -p."
    assert sales("deal", "add", "Here", "-p", "partners").code == 0
    assert sales("-p", "Partners", "deal", "list", "--json").code == 0
    assert [d["title"] for d in json.loads(sales("deal", "list", "-p", "Partners", "--json").out)["deals"]] == [
        "Here"]


# -- bad input: one sentence, exit 1, nothing changed ------------------------------------------------

BAD_INPUT = [
    (("deal", "add", "X", "-p", "Nope"), r"^There is no pipeline named 'Nope' \(pipelines: Sales\)\.$"),
    (("stage", "set", "Nope", "--wip-max", "3"), r"^Pipeline Sales has no stage named 'Nope' \(stages: "),
    (("stage", "list", "-p", "Nope"), "^There is no pipeline named 'Nope'"),
    (("deal", "add", "X", "--stage", "Nope"), "^Pipeline Sales has no stage named 'Nope'"),
    (("deal", "add", "X", "--type", "Nope"), r"^Pipeline Sales has no deal type named 'Nope' \(types: Renewal\)\.$"),
    (("deal", "move", "99", "Proposal"), r"^There is no deal with id 99\.$"),
    (("deal", "edit", "99", "--value", "5"), r"^There is no deal with id 99\.$"),
    (("deal", "won", "99"), r"^There is no deal with id 99\.$"),
    (("deal", "lost", "99", "--reason", "Price"), r"^There is no deal with id 99\.$"),
    (("deal", "reopen", "99", "Lead"), r"^There is no deal with id 99\.$"),
    (("deal", "show", "99"), r"^There is no deal with id 99\.$"),
    (("deal", "move", "1", "Nope"), "^Pipeline Sales has no stage named 'Nope'"),
    (("deal", "edit", "1", "--type", "nope"), "^Pipeline Sales has no deal type named 'nope'"),
    (("pipeline", "create", "sales", "--stages", "A"), r"^A pipeline named 'Sales' already exists\.$"),
    (("pipeline", "create", "Other", "--stages", "A,B,a"), r"^The stage names repeat: A, a\.$"),
    (("stage", "add", "lead"), r"^Pipeline Sales already has a stage named 'Lead'\.$"),
    (("type", "add", "RENEWAL"), r"^Pipeline Sales already has a deal type named 'Renewal'\.$"),
    (("stage", "set", "Proposal", "--wip-max", "-1"), r"^The WIP max of Proposal cannot be negative \(-1\)\.$"),
    (("stage", "set", "Proposal", "--wip-min", "-2"), r"^The WIP min of Proposal cannot be negative \(-2\)\.$"),
    (("stage", "set", "Proposal", "--rep-wip-max", "-1"), "^The per-rep WIP max of Proposal cannot be negative"),
    (("stage", "set", "Proposal", "--wip-max", "2", "--wip-min", "3"),
     r"^The WIP min of Proposal \(3\) is greater than its WIP max \(2\)\.$"),
    (("stage", "set", "Proposal", "--probability", "101"), "^The probability of Proposal must be between 0 and 100"),
    (("stage", "set", "Proposal", "--clear", "colour"), "^--clear takes wip-max"),
    (("stage", "set", "Proposal", "--wip-max", "two"), r"^Invalid value for '--wip-max'"),
    (("deal", "add", "X", "--close", "2026-02-30"), r"^'2026-02-30' is not a valid close date; use YYYY-MM-DD"),
    (("deal", "add", "X", "--close", "next week"), "^'next week' is not a valid close date"),
    (("deal", "add", "X", "--at", "yesterday"), r"^'yesterday' is not a valid --at time; use ISO 8601"),
    (("deal", "move", "1", "Qualified", "--at", "2026-99-01"), "^'2026-99-01' is not a valid --at time"),
    (("deal", "move", "1", "Qualified", "--at", "2020-01-01"), "^The move time 2020-01-01 00:00 is before deal 1"),
    (("deal", "edit", "1", "--close", "31/12/2026"), "^'31/12/2026' is not a valid close date"),
    (("deal", "add", "X", "--value", "abc"), r"^'abc' is not an amount; type a number such as 12500"),
    (("deal", "add", "X", "--value", "-5"), r"^'-5' is negative; a deal value must be zero or more\.$"),
    (("deal", "add", "X", "--value", "1e400"), "^'1e400' is in exponent notation"),
    (("deal", "edit", "1", "--value", "12.345"), r"^'12\.345' has more precision than USD allows"),
    (("pipeline", "create", "Other", "--stages", "A", "--target", "lots"), "^'lots' is not an amount"),
    (("pipeline", "create", "Other", "--stages", "A", "--currency", "dollars"), "^'dollars' is not a currency code"),
    (("deal", "add", ""), r"^A deal needs a title\.$"),
    (("deal", "edit", "1"), r"^Nothing to change; give at least one option"),
    (("deal", "lost", "1", "--reason", "  "), r"^Marking a deal lost needs a reason\.$"),
    (("deal", "lost", "1"), r"^Missing option '--reason'"),
    (("deal", "reopen", "1", "Lead"), r"^Deal 1 is already open\.$"),
    (("deal", "move", "1", "Lead"), r"^Deal 1 is already in Lead\.$"),
    (("deal", "move", "one", "Lead"), r"^Invalid value for 'ID'"),
    (("deal", "list", "--status", "closed"), r"^'closed' is not a status; use open, won, lost or all\.$"),
    (("deal", "frobnicate"), r"^No such command 'frobnicate'"),
    (("deal", "add", "X", "--colour", "red"), r"^No such option: --colour"),
]


def _seed(target: str) -> None:
    from tuikanban.services.deals import create_deal
    from tuikanban.services.pipelines import create_pipeline
    from tuikanban.store.engine import open_database

    db = open_database(target)
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal,Negotiation", types=["Renewal"])
    assert create_deal(db, "Sales", "Existing", user="tester", at="2026-03-01T09:00").id == 1
    db.close()


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The `sales` database plus deal 1 in Lead, built once and copied for each bad-input case (fast)."""

    path = tmp_path_factory.mktemp("template") / "seeded.db"
    _seed(str(path))
    assert not Path(f"{path}-wal").exists()  # closed cleanly: the one file holds everything
    return path.read_bytes()


@pytest.mark.parametrize(("args", "pattern"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_sentence_and_changes_nothing(cli: Any, db_target: str, engine: str,
                                                       request: pytest.FixtureRequest,
                                                       args: tuple[str, ...], pattern: str) -> None:
    import re

    if engine == "sqlite":
        Path(db_target).write_bytes(request.getfixturevalue("seeded_template"))
    else:
        _seed(db_target)
    db_path = db_target
    before = snapshot(db_path)
    assert before["deal"] and before["pipeline"]
    message = assert_one_sentence_error(cli(*args))
    assert re.search(pattern, message), message
    assert snapshot(db_path) == before


def test_bad_tuikanban_now(sales: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKANBAN_NOW", "tomorrow")
    message = assert_one_sentence_error(sales("deal", "add", "X"))
    assert message.startswith("'tomorrow' is not a valid TUIKANBAN_NOW value")


# -- --db pointing at something that is not a tuikanban database ---------------------------------------


def _other_app_db(path: Path, *, wal: bool = False) -> None:
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes (body) VALUES ('keep me')")
    con.commit()
    con.close()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("kind", ["text", "binary", "other-sqlite", "other-sqlite-wal", "meta-of-another-app"])
def test_db_that_is_not_ours_is_left_byte_for_byte(cli: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.db"
    if kind == "text":
        path.write_text("name,value\nAcme,12500\n")
        expected = f"The file {path} is not a tuikanban database (not an SQLite file); it was left untouched."
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 8)
        expected = f"The file {path} is not a tuikanban database (not an SQLite file); it was left untouched."
    elif kind == "meta-of-another-app":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE tk_meta (key TEXT PRIMARY KEY, value TEXT)")
        con.execute("INSERT INTO tk_meta VALUES ('app', 'somethingelse')")
        con.commit()
        con.close()
        expected = f"The file {path} is an SQLite database but not a tuikanban one; it was left untouched."
    else:
        _other_app_db(path, wal=kind.endswith("wal"))
        expected = f"The file {path} is an SQLite database but not a tuikanban one; it was left untouched."
    before = path.read_bytes()
    files_before = sorted(p.name for p in tmp_path.iterdir())
    for args in (("pipeline", "list"), ("pipeline", "create", "Sales", "--stages", "A,B"), ("deal", "add", "X")):
        message = assert_one_sentence_error(cli("--db", str(path), *args))
        assert message == expected
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before  # no -wal / -shm left behind either


@pytest.mark.sqlite_only
def test_db_env_variable_is_honoured_the_same_way(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notes.db"
    _other_app_db(path)
    before = path.read_bytes()
    monkeypatch.setenv("TUIKANBAN_DB", str(path))
    message = assert_one_sentence_error(cli("deal", "list"))
    assert message.endswith("is an SQLite database but not a tuikanban one; it was left untouched.")
    assert path.read_bytes() == before


@pytest.mark.sqlite_only
def test_db_that_is_a_folder(cli: Any, tmp_path: Path) -> None:
    message = assert_one_sentence_error(cli("--db", str(tmp_path), "pipeline", "list"))
    assert message == f"The path {tmp_path} is a folder, not a database file; give a file path with --db."


@pytest.mark.sqlite_only
def test_db_in_a_missing_folder_or_under_a_file(cli: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "x.db"
    create = ("pipeline", "create", "Sales", "--stages", "Lead")
    message = assert_one_sentence_error(cli("--db", str(missing), *create))
    assert message == f"The folder {missing.parent} does not exist; create it or choose another --db path."
    assert not missing.parent.exists()
    a_file = tmp_path / "plain.txt"
    a_file.write_text("hello")
    message = assert_one_sentence_error(cli("--db", str(a_file / "x.db"), *create))
    assert message == f"The path {a_file} is a file, not a folder; choose another --db path."
    assert a_file.read_text() == "hello"


@pytest.mark.sqlite_only
def test_db_in_an_unwritable_location(cli: Any, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes anywhere permissions allow nothing; /proc refuses new files even to root
        target = Path("/proc/tuikanban-test.db")
        if not Path("/proc").is_dir():
            pytest.skip("no /proc to stand for an unwritable folder")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = locked / "x.db"
    try:
        message = assert_one_sentence_error(cli("--db", str(target), "pipeline", "create", "S", "--stages", "A"))
    finally:
        if os.geteuid() != 0:
            (tmp_path / "locked").chmod(0o700)
    assert message.startswith(f"Cannot create the database at {target} (")
    assert message.endswith("); choose a writable location with --db.")
    assert not target.exists()


@pytest.mark.sqlite_only
def test_read_only_database_refuses_changes(cli: Any, db_path: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write to read-only files")
    assert cli("pipeline", "create", "Sales", "--stages", "A").code == 0
    folder = tmp_path / "ro"
    folder.mkdir()
    ro = folder / "board.db"
    ro.write_bytes(db_path.read_bytes())
    ro.chmod(0o444)
    folder.chmod(0o500)
    try:
        before = ro.read_bytes()
        assert cli("--db", str(ro), "pipeline", "list").code == 0
        message = assert_one_sentence_error(cli("--db", str(ro), "deal", "add", "X"))
        assert "is open read-only" in message and "nothing can be changed" in message
        assert ro.read_bytes() == before
    finally:
        folder.chmod(0o700)
