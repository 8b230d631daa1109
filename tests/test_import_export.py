"""`tuikanban import` and `tuikanban export` (docs/RULES.md, Import and export): CSV in any column order,
validated as a whole and written all or nothing; exports safe to open in a spreadsheet; a JSON export that
recreates a pipeline."""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engines import rows
from tuikanban.services import deals
from tuikanban.services.io import neutralise
from tuikanban.store.engine import open_database

FIXTURES = Path(__file__).parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))
tk_checks: Any = importlib.import_module("tk_checks")

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def counts(db_target: str) -> tuple[int, int, int]:
    return tuple(rows(db_target, f"SELECT count(*) FROM {t}")[0][0]  # type: ignore[return-value]
                 for t in ("deal", "event", "stay"))


def digest(db_target: str) -> str:
    """Every row of the board's tables, hashed (on either engine): equal digests mean nothing was written."""
    parts = [repr(rows(db_target, f"SELECT * FROM {t} ORDER BY id"))
             for t in ("pipeline", "stage", "deal_type", "deal", "event", "stay", "activity")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@pytest.fixture
def sales(cli: Any, fixed_now: str) -> Any:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal,Negotiation",
               "--types", "New business,Renewal").code == 0
    assert cli("stage", "set", "Proposal", "--wip-max", "2").code == 0
    return cli


# -- CSV import --------------------------------------------------------------------------------------


def test_csv_columns_in_any_order_and_only_title_required(sales: Any, db_target: str, tmp_path: Path) -> None:
    f = tmp_path / "deals.csv"
    f.write_text(
        "Value, Title ,stage,STATUS,created-at,closed_at,lost_reason,type,company,expected_close,owner,contact\n"
        '"12,500.50",Acme renewal,qualified,,2026-01-05,,,renewal,Acme,2026-04-30,ann,Jo\n'
        "3k,Beta,Lead,won,2025-11-01,2026-02-01T09:30,,New business,Beta Ltd,,bob,\n"
        ",Gamma,,lost,2025-12-01,2026-01-20,No budget,,,,,\n"
        "\n"
        ',"Delta, with a comma",,,,,,,,,,\n',
        encoding="utf-8")
    r = sales("import", str(f))
    assert r.code == 0, r.err
    assert r.out.strip() == "Imported 4 deals into Sales (2 open, 1 won, 1 lost)."
    listed = {d["title"]: d for d in json.loads(sales("deal", "list", "--status", "all", "--json").out)["deals"]}
    assert set(listed) == {"Acme renewal", "Beta", "Gamma", "Delta, with a comma"}
    acme = listed["Acme renewal"]
    assert (acme["value"], acme["stage"], acme["status"], acme["type"], acme["company"], acme["owner"],
            acme["contact"], acme["expected_close"], acme["created_at"]) == (
        12500.5, "Qualified", "open", "Renewal", "Acme", "ann", "Jo", "2026-04-30", "2026-01-05T00:00:00+00:00")
    beta = listed["Beta"]
    assert (beta["value"], beta["status"], beta["closed_at"], beta["type"]) == (
        3000, "won", "2026-02-01T09:30:00+00:00", "New business")
    gamma = listed["Gamma"]
    assert (gamma["value"], gamma["stage"], gamma["status"], gamma["lost_reason"], gamma["owner"]) == (
        None, "Lead", "lost", "No budget", "tester")  # defaults: the first stage, the importing user
    delta = listed["Delta, with a comma"]
    assert delta["created_at"] == "2026-03-02T12:00:00+00:00"  # now, from the one clock
    # the history a hand-made deal would have: create (+ won/lost) events and stays, so metrics work
    _replay, problems = tk_checks.check_database(db_target)
    assert problems == []
    kinds = dict(rows(db_target, "SELECT kind, count(*) FROM event GROUP BY kind"))
    users = {r[0] for r in rows(db_target, 'SELECT DISTINCT "user" FROM event')}
    beta_stay = rows(db_target, "SELECT entered_at, left_at, outcome FROM stay WHERE deal_id = :d", d=beta["id"])[0]
    assert kinds == {"create": 4, "won": 1, "lost": 1}
    assert users == {"tester"}
    assert str(beta_stay[0]).startswith("2025-11-01 00:00:00") and str(beta_stay[1]).startswith("2026-02-01 09:30:00")
    assert beta_stay[2] == "advanced"
    metrics = sales("metrics", "--json", "--window", "90")
    if metrics.code == 0:  # the metrics command exists: the imported closes count in the window
        doc = json.loads(metrics.out)
        assert doc["win_rate"] == 0.5


def test_every_bad_row_is_named_and_nothing_is_imported(sales: Any, db_target: str, tmp_path: Path) -> None:
    assert sales("deal", "add", "Existing").code == 0
    before = counts(db_target)
    f = tmp_path / "deals.csv"
    f.write_text(
        "title,value,stage,status,closed_at,lost_reason,type,created_at,expected_close,currency\n"
        "Good one,100,Lead,,,,,,,\n"                        # line 2
        "Bad value,abc,Lead,,,,,,,\n"                       # line 3
        '"Multi\nline title",100,Nowhere,,,,,,,\n'          # lines 4-5
        ",100,Lead,,,,,,,\n"                                # line 6: no title
        "Lost without reason,,Lead,lost,2026-01-01,,,,,\n"  # line 7
        "Closed before created,,Lead,won,2026-01-01,,,2026-02-01,,\n"  # line 8
        "Odd status,,Lead,pending,,,,,,\n"                  # line 9
        "Open but closed,,Lead,,2026-01-01,,,,,\n"          # line 10
        "Unknown type,,Lead,,,,Upsell,,,\n"                 # line 11
        "Bad date,,Lead,,,,,,31/12/2026,\n"                 # line 12
        "Future,,Lead,,,,,2027-01-01,,\n"                   # line 13
        "Bad currency,5,Lead,,,,,,,dollars\n"               # line 14
        "Good two,200,Lead,,,,,,,\n",                       # line 15
        encoding="utf-8")
    r = sales("import", str(f))
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert lines[-1] == "Nothing was imported: 11 of 13 rows have problems."
    problems = dict(line.split(": ", 1) for line in lines[:-1])
    assert list(problems) == [f"line {n}" for n in (3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14)]
    assert "'abc' is not an amount" in problems["line 3"]
    assert "no stage named 'Nowhere'" in problems["line 4"]
    assert problems["line 6"] == "the title is empty."
    assert problems["line 7"] == "a lost deal needs a lost_reason."
    assert problems["line 8"] == "closed_at 2026-01-01 is before created_at 2026-02-01."
    assert problems["line 9"] == "'pending' is not a status; use open, won or lost."
    assert "an open deal has no closed_at" in problems["line 10"]
    assert "no deal type named 'Upsell' (types: New business, Renewal" in problems["line 11"]
    assert "'31/12/2026' is not a valid expected_close date" in problems["line 12"]
    assert problems["line 13"] == "created_at 2027-01-01 is in the future."
    assert "'dollars' is not a currency code" in problems["line 14"]
    assert counts(db_target) == before  # all or nothing


def test_rows_past_a_wip_limit_are_refused_unless_forced(sales: Any, db_target: str, tmp_path: Path) -> None:
    assert sales("deal", "add", "Already there", "--stage", "Proposal").code == 0
    f = tmp_path / "deals.csv"
    f.write_text("title,stage\nP1,Proposal\nL1,Lead\nP2,Proposal\nP3,Proposal\nP4,proposal\n", encoding="utf-8")
    before = counts(db_target)
    r = sales("import", str(f))
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        "line 4: Proposal is at its WIP limit (2/2).",
        "line 5: Proposal is at its WIP limit (2/2).",
        "line 6: Proposal is at its WIP limit (2/2).",
        "Nothing was imported: 3 rows would go past a WIP limit (use --force with --reason to import them anyway, "
        "logged as WIP overrides).",
    ]
    assert counts(db_target) == before
    assert sales("import", str(f), "--force").err.strip() == (
        "--force needs --reason TEXT saying why WIP limits or stage gates are overridden.")
    r = sales("import", str(f), "--force", "--reason", "migrating from the old CRM")
    assert r.code == 0, r.err
    assert r.out.strip().splitlines() == [
        "Imported 5 deals into Sales (5 open, 0 won, 0 lost).",
        "3 of them went past a WIP limit; each is logged as a WIP override.",
    ]
    overrides = rows(db_target, "SELECT d.title, e.reason FROM event e JOIN deal d ON d.id = e.deal_id "
                                "WHERE e.kind = 'wip_override' ORDER BY d.title")
    assert overrides == [("P2", "migrating from the old CRM"), ("P3", "migrating from the old CRM"),
                         ("P4", "migrating from the old CRM")]
    _replay, problems = tk_checks.check_database(db_target)
    assert problems == []


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The file is empty; it needs a header row with at least a 'title' column."),
    (b"title\n", "The file has a header row but no deals."),
    (b"name,value\nAcme,1\n", "Line 1: unknown column 'name'; the columns are title, company, contact, value, "
                              "currency, owner, type, stage, status, created_at, closed_at, lost_reason, "
                              "expected_close, notes."),
    (b"value,company\n1,Acme\n", "Line 1: the header has no 'title' column (the one column required)."),
    (b"title,Title\nA,B\n", "Line 1: the column title appears twice."),
    (b"title\nok\n\"broken\"quote\n", "Line 3 is not valid CSV (',' expected after '\"'); nothing was imported."),
    (b"title,company\nCaf\xe9,X\n", "{file} is not UTF-8 text (line 2); save it as UTF-8 (CSV UTF-8 in a "
                                    "spreadsheet) and import it again."),
])
def test_a_file_that_cannot_be_imported(sales: Any, db_target: str, tmp_path: Path, content: bytes,
                                        message: str) -> None:
    f = tmp_path / "deals.csv"
    f.write_bytes(content)
    before = counts(db_target)
    r = sales("import", str(f))
    assert r.code == 1
    assert r.err.strip() == message.format(file=f)
    assert counts(db_target) == before


def test_a_missing_file(sales: Any, tmp_path: Path) -> None:
    r = sales("import", str(tmp_path / "nope.csv"))
    assert r.code == 1
    assert r.err.strip() == f"There is no file {tmp_path / 'nope.csv'}."


def test_semicolons_and_a_byte_order_mark(sales: Any, tmp_path: Path) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes("\ufefftitle;value;company\nAcme;1500;Acme GmbH\n".encode())
    r = sales("import", str(f))
    assert r.code == 0, r.err
    deal = json.loads(sales("deal", "list", "--json").out)["deals"][0]
    assert (deal["title"], deal["value"], deal["company"]) == ("Acme", 1500, "Acme GmbH")


def test_ten_thousand_rows_in_one_transaction(sales: Any, db_target: str, tmp_path: Path) -> None:
    f = tmp_path / "big.csv"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["title", "value", "stage", "status", "created_at", "closed_at", "lost_reason", "owner"])
    for i in range(10_000):
        status = ("open", "open", "open", "won", "lost")[i % 5]
        w.writerow([f"Deal {i}", f"{i}.25", ("Lead", "Qualified")[i % 2], status, "2025-10-01",
                    "2026-01-15" if status != "open" else "", "Price" if status == "lost" else "",
                    ("ann", "bob", "cy")[i % 3]])
    f.write_text(buf.getvalue(), encoding="utf-8")
    r = sales("import", str(f))
    assert r.code == 0, r.err
    assert r.out.strip() == "Imported 10,000 deals into Sales (6,000 open, 2,000 won, 2,000 lost)."
    assert r.err == ""  # no progress bar when stderr is not a terminal
    assert counts(db_target) == (10_000, 10_000 + 4_000, 10_000)
    total = rows(db_target, "SELECT sum(value_minor) FROM deal")[0][0]
    assert total == sum(i * 100 + 25 for i in range(10_000))
    _replay, problems = tk_checks.check_database(db_target)
    assert problems == []


def test_a_bad_row_after_chunks_were_written_leaves_nothing(sales: Any, db_target: str, tmp_path: Path) -> None:
    """Rows are written a chunk at a time while the file is read: a bad row near the end still undoes them all."""
    f = tmp_path / "big.csv"
    f.write_text("title,value\n" + "".join(f"Deal {i},{i}\n" for i in range(2500)) + ",5\nLast,oops\n",
                 encoding="utf-8")
    before = counts(db_target)
    r = sales("import", str(f))
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        "line 2502: the title is empty.",
        "line 2503: 'oops' is not an amount; type a number such as 12500, 12,500.50 or 12.5k.",
        "Nothing was imported: 2 of 2502 rows have problems.",
    ]
    assert counts(db_target) == before


def test_an_insert_that_fails_on_the_insert_thread_is_raised_and_rolled_back(db: Any, db_target: str) -> None:
    from sqlalchemy.exc import IntegrityError

    from tuikanban.domain.errors import DatabaseError
    from tuikanban.services.pipelines import create_pipeline
    from tuikanban.store.bulk import BackgroundInserts
    from tuikanban.store.tables import DealType

    p = create_pipeline(db, "Sales", "Lead")
    table = DealType.__table__  # type: ignore[attr-defined]
    keys = ("id", "pipeline_id", "name", "name_key", "position", "archived")

    def work(s: Any) -> None:
        with BackgroundInserts(s.connection()) as inserts:
            inserts.put(table, keys, [(100, p.id, "A", "a", 0, 0), (101, p.id, "B", "b", 1, 0)])
            inserts.put(table, keys, [(100, p.id, "Again", "again", 2, 0)])  # the same id: the insert fails
            inserts.finish()

    with pytest.raises((IntegrityError, sqlite3.IntegrityError, DatabaseError)):
        db.write(work)
    assert rows(db_target, "SELECT count(*) FROM deal_type WHERE id >= 100") == [(0,)]


def test_import_json_output(sales: Any, tmp_path: Path) -> None:
    assert sales("stage", "set", "Qualified", "--require", "value").code == 0
    f = tmp_path / "deals.csv"
    f.write_text("title,stage,status,closed_at,lost_reason\nA,Qualified,,,\nB,Lead,won,2026-01-02,\n"
                 "C,Proposal,lost,2026-01-03,Price\n", encoding="utf-8")
    r = sales("import", str(f), "--json", "--force", "--reason", "old data")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"pipeline": "Sales", "deals": 3, "open": 1, "won": 1, "lost": 1, "events": 6,
                                 "wip_overrides": 0, "gate_overrides": 1, "renumbered": False}


def on_terminal(cmd: list[str]) -> tuple[int, bytes, bytes]:
    """Run a command with its stderr on a terminal (a pty): (exit code, stdout, what the terminal was shown)."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=secondary,
                            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"})
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(primary)
    return proc.returncode, out, shown


@pytest.mark.parametrize(("source", "flags", "bar"), [
    ("csv", [], b"3000/3000"),  # a CSV's bar counts rows
    ("json", [], b" MB"),  # a JSON file's bar counts megabytes
    ("csv", ["--json"], None),  # no bar with --json
])
def test_a_progress_bar_on_a_terminal(sales: Any, db_target: str, tmp_path: Path, source: str, flags: list[str],
                                      bar: bytes | None) -> None:
    f = tmp_path / "big.csv"
    f.write_text("title\n" + "".join(f"Deal {i}\n" for i in range(3000)), encoding="utf-8")
    target = db_target
    exe = str(Path(sys.executable).parent / "tuikanban")
    if source == "json":  # the same deals exported, imported into an empty database
        assert sales("import", str(f)).code == 0
        f = tmp_path / "big.json"
        assert sales("export", "--format", "json", "-o", str(f)).code == 0
        target = str(tmp_path / "copy.db")
        piped = subprocess.run([exe, "--db", str(tmp_path / "copy2.db"), "import", str(f)], capture_output=True,
                               env={**os.environ, "COLUMNS": "100", "TERM": "xterm"}, timeout=120)
        assert piped.returncode == 0 and piped.stderr == b""  # not a terminal: no bar
    code, out, shown = on_terminal([exe, "--db", target, "import", str(f), *flags])
    assert code == 0
    if bar is None:
        assert json.loads(out)["deals"] == 3000
        assert shown == b""
    else:
        assert out.decode().strip() == "Imported 3,000 deals into Sales (3,000 open, 0 won, 0 lost)."
        assert b"Importing" in shown and bar in shown


# -- CSV export --------------------------------------------------------------------------------------


def test_neutralise() -> None:
    assert [neutralise(c) for c in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "a=b", "")] == [
        "'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b", ""]


def test_csv_export_neutralises_formulas_and_imports_back(sales: Any, tmp_path: Path) -> None:
    assert sales("deal", "add", "=HYPERLINK(\"http://evil\",\"x\")", "--company", "+1-555", "--contact", "@boss",
                 "--value", "1,250.5", "--owner", "-ann", "--type", "Renewal", "--close", "2026-05-01",
                 "--notes", "=cmd|' /C calc'!A0", "--at", "2026-01-02T03:04:05").code == 0
    added = sales("deal", "add", "Plain", "--value", "10", "--at", "2026-01-03")
    assert sales("deal", "lost", added.out.strip(), "--reason", "-Price", "--at", "2026-02-01").code == 0
    exported = sales("export", "--format", "csv")
    assert exported.code == 0, exported.err
    rows = list(csv.reader(io.StringIO(exported.out)))
    assert rows[0] == ["title", "company", "contact", "value", "currency", "owner", "type", "stage", "status",
                       "created_at", "closed_at", "lost_reason", "expected_close", "notes"]
    assert rows[1] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+1-555", "'@boss", "1250.50", "USD", "'-ann",
                       "Renewal", "Lead", "open", "2026-01-02T03:04:05+00:00", "", "", "2026-05-01",
                       "'=cmd|' /C calc'!A0"]
    assert rows[2] == ["Plain", "", "", "10.00", "USD", "tester", "", "Lead", "lost", "2026-01-03T00:00:00+00:00",
                       "2026-02-01T00:00:00+00:00", "'-Price", "", ""]
    # and the export imports back into another pipeline with the same stages, unchanged
    out_file = tmp_path / "deals.csv"
    assert sales("export", "-o", str(out_file)).code == 0
    assert sales("pipeline", "create", "Copy", "--stages", "Lead,Qualified,Proposal,Negotiation",
                 "--types", "Renewal").code == 0
    r = sales("import", str(out_file), "-p", "Copy")
    assert r.code == 0, r.err

    def comparable(pipeline: str) -> list[dict[str, Any]]:
        listed = json.loads(sales("deal", "list", "-p", pipeline, "--status", "all", "--json").out)["deals"]
        return sorted(({k: v for k, v in d.items() if k not in ("id", "version")} for d in listed),
                      key=lambda d: d["title"])

    assert comparable("Copy") == comparable("Sales")
    assert comparable("Copy")[0]["title"] == "=HYPERLINK(\"http://evil\",\"x\")"
    assert len(comparable("Copy")) == 2


@pytest.mark.sqlite_only  # (exporting over the database file itself)
def test_export_refuses_to_overwrite_and_writes_json_by_suffix(sales: Any, tmp_path: Path, db_path: Path) -> None:
    target = tmp_path / "sales.json"
    target.write_text("keep me")
    r = sales("export", "-o", str(target))
    assert r.code == 1
    assert r.err.strip() == f"{target} already exists; choose another name, or add --force to replace it."
    assert target.read_text() == "keep me"
    r = sales("export", "--format", "csv", "-o", str(db_path), "--force")
    assert r.code == 1
    assert r.err.strip() == f"{db_path} is the database itself; choose another output file."
    assert sales("export", "-o", str(target), "--force").code == 0
    assert json.loads(target.read_text())["format"] == "tuikanban-pipeline"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file left
    r = sales("export", "--format", "xlsx")
    assert r.code == 1
    assert r.err.strip() == "'xlsx' is not an export format; use --format csv or --format json."


# -- JSON: a whole pipeline into an empty database ---------------------------------------------------


def _history(cli: Any, db_target: str) -> None:
    """A pipeline with a past: back-dated creates, moves, edits, closes, a reopen, an override, an undo."""
    steps = [
        ["pipeline", "create", "Sales", "--stages", "Lead,Qualified,Proposal,Negotiation", "--types",
         "New business,Renewal", "--target", "250k", "--currency", "EUR", "--stale-days", "14"],
        ["stage", "set", "Proposal", "--wip-max", "2", "--probability", "40", "--expected-days", "10",
         "--exit-criteria", "Budget confirmed"],
        ["stage", "set", "Negotiation", "--rep-wip-max", "1", "--probability", "70"],
    ]
    for i in range(8):
        steps.append(["--user", ("ann", "bob")[i % 2], "deal", "add", f"Deal {i}", "--value", f"{(i + 1) * 1500}",
                      "--type", ("New business", "Renewal")[i % 2], "--company", f"Co {i}",
                      "--at", f"2025-11-{i + 1:02d}T09:00", "--close", "2026-03-31"])
    steps += [
        ["deal", "move", "1", "Qualified", "--at", "2025-11-20"],
        ["deal", "move", "1", "Proposal", "--at", "2025-12-01"],
        ["deal", "move", "1", "Negotiation", "--at", "2025-12-20"],
        ["deal", "won", "1", "--at", "2026-01-10"],
        ["deal", "move", "2", "Proposal", "--at", "2025-12-02"],
        ["deal", "lost", "2", "--reason", "No budget", "--at", "2026-01-05"],
        ["deal", "reopen", "2", "Lead", "--at", "2026-02-01"],
        ["deal", "edit", "3", "--value", "9000", "--close", "2026-05-31", "--type", "Renewal",
         "--at", "2025-12-10"],
        ["deal", "move", "4", "Proposal", "--at", "2026-01-02"],
        ["deal", "move", "5", "Proposal", "--at", "2026-01-03"],
        ["deal", "move", "6", "Proposal", "--force", "--reason", "board asked", "--at", "2026-01-04"],
        ["deal", "lost", "7", "--reason", "Went silent", "--at", "2026-02-15"],
        ["deal", "move", "8", "Qualified", "--at", "2026-02-20"],
    ]
    for args in steps:
        r = cli(*args)
        assert r.code == 0, (args, r.err)
    db = open_database(db_target)
    deals.add_activity(db, 3, "call", "Discussed pricing", user="ann", at="2026-02-01T10:00")
    deals.add_activity(db, 3, "task", "Send proposal", user="ann", due="2026-03-10", at="2026-02-01T10:05")
    db.close()
    r = cli("--user", "tester", "deal", "move", "8", "Proposal")
    assert r.code == 1  # Proposal is full (2 of 2, plus the override)


def _views(cli: Any, db: Path | str) -> dict[str, Any]:
    views: dict[str, Any] = {}
    for name, args in {
        "deals": ["deal", "list", "--status", "all", "--json"],
        "stages": ["stage", "list", "--json"],
        "pipelines": ["pipeline", "list", "--json"],
        "aging": ["aging", "--json"],
        "metrics": ["metrics", "--json", "--seed", "7"],
        "metrics30": ["metrics", "--json", "--seed", "7", "--window", "30"],
    }.items():
        r = cli("--db", str(db), *args)
        if args[0] in ("aging", "metrics") and r.code != 0 and "No such command" in r.err:
            continue
        assert r.code == 0, (args, r.err)
        views[name] = json.loads(r.out)
    for deal_id in range(1, 9):
        views[f"deal {deal_id}"] = json.loads(cli("--db", str(db), "deal", "show", str(deal_id), "--json").out)
    return views


def test_json_export_recreates_the_pipeline_in_an_empty_database(cli: Any, db_target: str, tmp_path: Path,
                                                                 fixed_now: str) -> None:
    _history(cli, db_target)
    export = tmp_path / "sales.json"
    r = cli("export", "--format", "json", "-o", str(export))
    assert r.code == 0, r.err
    assert r.out.strip() == f"Exported 8 deals to {export} (JSON)."
    doc = json.loads(export.read_text())
    assert set(doc) >= {"format", "version", "pipeline", "stages", "types", "deals", "events", "stays",
                        "activities"}
    assert (doc["pipeline"]["currency"], doc["pipeline"]["target"], doc["pipeline"]["stale_days"]) == (
        "EUR", 250000, 14)
    assert len(doc["activities"]) == 2

    empty = tmp_path / "empty.db"
    r = cli("--db", str(empty), "import", str(export))
    assert r.code == 0, r.err
    assert r.out.strip() == "Imported 8 deals into Sales (6 open, 1 won, 1 lost)."
    assert _views(cli, empty) == _views(cli, db_target)  # same board, history, aging and metrics
    _replay, problems = tk_checks.check_database(empty)
    assert problems == []
    activities = rows(empty, 'SELECT deal_id, kind, subject, "user", due, done FROM activity ORDER BY id')
    assert activities == [(3, "call", "Discussed pricing", "ann", None, 0),
                          (3, "task", "Send proposal", "ann", "2026-03-10", 0)]


def test_json_import_keeps_the_ticked_checklist_items_as_the_history_left_them(cli: Any, db_target: str,
                                                                              tmp_path: Path) -> None:
    """Ticks are not a section of the file; their `check` events are. The import sets each deal's ticks from its
    last tick or untick of each item, so what the rep ticked survives the move (it came back all unticked)."""
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Proposal,Won").code == 0
    assert cli("stage", "set", "Proposal", "--checklist", "Budget confirmed;DM named;Legal").code == 0
    assert cli("stage", "set", "Lead", "--checklist", "Qualified").code == 0
    assert cli("deal", "add", "Acme", "--stage", "Lead", "--at", "2026-02-28T09:00:00Z").code == 0
    assert cli("--user", "ann", "deal", "check", "1", "Qualified", "--at", "2026-03-01T09:00:00Z").code == 0
    assert cli("deal", "move", "1", "Proposal", "--at", "2026-03-02T09:00:00Z").code == 0
    assert cli("--user", "bob", "deal", "check", "1", "Budget confirmed", "--at", "2026-03-03T09:00:00Z").code == 0
    assert cli("deal", "check", "1", "DM named", "--at", "2026-03-03T10:00:00Z").code == 0
    assert cli("deal", "check", "1", "DM named", "--undo", "--at", "2026-03-04T09:00:00Z").code == 0
    assert cli("deal", "check", "1", "Legal", "--undo", "--at", "2026-03-04T10:00:00Z").code == 0  # (was not ticked)
    export = tmp_path / "sales.json"
    assert cli("export", "--format", "json", "-o", str(export)).code == 0
    empty = tmp_path / "empty.db"
    r = cli("--db", str(empty), "import", str(export))
    assert r.code == 0, r.err
    ticks = 'SELECT deal_id, stage_id, item, "user" FROM deal_check ORDER BY stage_id, item'
    assert rows(empty, ticks) == [(1, 1, "Qualified", "ann"), (1, 2, "Budget confirmed", "bob")]
    assert rows(empty, ticks) == rows(db_target, ticks)
    shown = json.loads(cli("--db", str(empty), "deal", "show", "1", "--json").out)
    assert shown["gate"]["checklist"] == [{"item": "Budget confirmed", "done": True},
                                          {"item": "DM named", "done": False}, {"item": "Legal", "done": False}]


def test_json_import_next_to_other_pipelines(cli: Any, db_target: str, tmp_path: Path, fixed_now: str) -> None:
    _history(cli, db_target)
    export = tmp_path / "sales.json"
    assert cli("export", "--format", "json", "-o", str(export)).code == 0
    before = digest(db_target)
    r = cli("import", str(export))
    assert r.code == 1
    assert r.err.strip() == ("A pipeline named 'Sales' already exists; nothing was imported (import into an empty "
                             "database, or give the pipeline another name with -p).")
    assert digest(db_target) == before
    r = cli("import", str(export), "-p", "Sales copy")
    assert r.code == 0, r.err
    original = json.loads(cli("deal", "list", "-p", "Sales", "--status", "all", "--json").out)["deals"]
    copy = json.loads(cli("deal", "list", "-p", "Sales copy", "--status", "all", "--json").out)["deals"]
    strip = lambda ds: [{k: v for k, v in d.items() if k != "id"} for d in ds]  # noqa: E731
    assert strip(copy) == strip(original)
    assert {d["id"] for d in copy}.isdisjoint({d["id"] for d in original})  # renumbered
    # a type edit refers to the copy's own deal type after renumbering
    type_edit = rows(
        db_target,
        "SELECT e.new_value, t.name FROM event e JOIN deal d ON d.id = e.deal_id JOIN pipeline p ON p.id = "
        "d.pipeline_id JOIN deal_type t ON t.id = CAST(e.new_value AS INTEGER) WHERE e.kind = 'edit' AND "
        "e.field = 'type' AND p.name = 'Sales copy'")
    assert [name for _v, name in type_edit] == ["Renewal"]
    _replay, problems = tk_checks.check_database(db_target)
    assert problems == []


def test_a_broken_json_export_is_refused_whole(cli: Any, tmp_path: Path, fixed_now: str) -> None:
    _history(cli, os.environ["TUIKANBAN_DB"])
    export = tmp_path / "sales.json"
    assert cli("export", "--format", "json", "-o", str(export)).code == 0
    doc = json.loads(export.read_text())
    doc["deals"][0]["stage_id"] = 999
    doc["deals"][1]["status"] = "maybe"
    doc["events"][0]["kind"] = "teleport"
    doc["stays"][0]["deal_id"] = 12345
    export.write_text(json.dumps(doc))
    empty = tmp_path / "empty.db"
    r = cli("--db", str(empty), "import", str(export))
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert lines[-1] == "Nothing was imported: the file has 4 problems."
    assert lines[0] == "deals[0] (id 1): 'stage_id' 999 refers to nothing in the file."
    assert lines[1] == "deals[1] (id 2): 'status' must be one of open, won, lost."
    assert lines[2].startswith("events[0] (id 1): 'kind' must be one of create, move,")
    assert lines[3] == "stays[0] (id 1): 'deal_id' 12345 refers to nothing in the file."
    assert counts(empty) == (0, 0, 0)
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    r = cli("--db", str(empty), "import", str(tmp_path / "other.json"))
    assert r.code == 1
    assert r.err.strip() == ("The file is not a tuikanban pipeline export (its 'format' is not 'tuikanban-pipeline'); "
                             "nothing was imported.")
    (tmp_path / "bad.json").write_text('{"format": ')
    r = cli("--db", str(empty), "import", str(tmp_path / "bad.json"))
    assert r.code == 1
    assert r.err.strip() == ("The file is not valid JSON (line 1, column 12: Expecting value); nothing was "
                             "imported.")


@pytest.mark.parametrize(("rows", "said"), [
    ("Bad value,abc,Lead\n", "Nothing was imported: the one row has problems."),
    ("Good,1,Lead\nBad value,abc,Lead\n", "Nothing was imported: 1 of 2 rows has problems."),
    ("Bad,abc,Lead\nWorse,xyz,Lead\n", "Nothing was imported: 2 of 2 rows have problems."),
])
def test_the_summary_counts_rows_in_plain_english(sales: Any, tmp_path: Path, rows: str, said: str) -> None:
    f = tmp_path / "deals.csv"
    f.write_text("title,value,stage\n" + rows, encoding="utf-8")
    r = sales("import", str(f))
    assert r.code == 1
    assert r.err.strip().splitlines()[-1] == said
