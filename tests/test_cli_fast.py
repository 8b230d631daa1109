"""The fast path (cli/fast.py, store/reads.py) against the Typer path and the ORM reads: the same bytes on stdout
and stderr, the same exit codes, the same deals; and `tuikanban batch`."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from tuikanban.cli import fast, guarded
from tuikanban.cli.root import run_typer
from tuikanban.services.deals import create_deal, lose_deal, move_deal, win_deal
from tuikanban.services.pipelines import create_pipeline, set_stage
from tuikanban.store import reads
from tuikanban.store.engine import Database, default_db_path
from tuikanban.store.queries import deal_views

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


def _capture(work: Any, args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = guarded(work, args)
    return code, out.getvalue(), err.getvalue()


def _both(args: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(fast path, Typer path) results of one command line; the fast one must have taken it."""
    def quick() -> int:
        code = fast.dispatch(args)
        assert code is not None, f"the fast path did not take {args}"
        return code

    return _capture(quick, args), _capture(lambda: run_typer(args), args)


@pytest.fixture
def board(db: Database, fixed_now: str) -> Database:
    create_pipeline(db, "Sales", "Lead,Qualified,Proposal,Won't fit", types=["New", "Renewal"])
    create_pipeline(db, "Partners", "Intro,Deal")
    set_stage(db, "Sales", "Qualified", exit_criteria="Budget confirmed")
    set_stage(db, "Sales", "Proposal", wip_max=1)
    for i, title in enumerate(["Acme \x1b[31mred", "Globex", "Initech", "Umbrella"]):
        create_deal(db, "Sales", title, user="tester", value=f"{1000 * (i + 1)}", company=f"Co {i}",
                    dtype="Renewal" if i % 2 else None, close="2026-04-01", at="2026-02-01T10:00:00+00:00")
    move_deal(db, 1, "Proposal", user="tester", at="2026-02-10T10:00:00+00:00")
    win_deal(db, 2, user="tester", at="2026-02-11T10:00:00+00:00")
    lose_deal(db, 3, "Price", user="tester", at="2026-02-12T10:00:00+00:00")
    return db


READS = [
    ["deal", "list"], ["deal", "list", "--json"], ["deal", "list", "--status", "all"],
    ["deal", "list", "--status=won", "--json"], ["deal", "list", "--status", "LOST"],
    ["deal", "list", "-p", "Partners"], ["deal", "list", "--pipeline", "Nope"], ["--pipeline=Sales", "deal", "list"],
    ["deal", "list", "--status", "bad"],
]


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_deal_list_prints_what_the_typer_path_prints(board: Database, args: list[str]) -> None:
    with_pipeline = args if "-p" in args or "--pipeline" in args or args[0].startswith("--") else [
        *args, "-p", "Sales"]
    quick, typer_path = _both(with_pipeline)
    assert quick == typer_path
    assert quick[1] or quick[2]


def test_a_read_without_a_pipeline_is_refused_alike(board: Database) -> None:
    quick, typer_path = _both(["deal", "list"])  # two pipelines, no default
    assert quick == typer_path
    assert quick[0] == 1 and "several pipelines" in quick[2]


WRITES = [
    ["deal", "add", "New one", "-p", "Sales", "--value", "2.5k", "--type", "New", "--at", "2026-02-20T09:00:00Z"],
    ["deal", "add", "Bad value", "-p", "Sales", "--value", "abc"],
    ["deal", "add", "Forced", "-p", "Sales", "--stage", "Proposal"],
    ["deal", "add", "Forced", "-p", "Sales", "--stage", "Proposal", "--force", "--reason", "CEO asked"],
    ["deal", "add", "Reason alone", "-p", "Sales", "--reason", "why"],
    ["deal", "move", "4", "Qualified", "--at", "2026-02-21T09:00:00Z"],
    ["deal", "move", "4", "Proposal"],
    ["deal", "move", "2", "Lead"],
    ["deal", "move", "99", "Lead"],
]


@pytest.mark.sqlite_only  # each run on a copy made with SQLite's backup API (both engines: test_cli_fast_writes)
@pytest.mark.parametrize("args", WRITES, ids=" ".join)
def test_writes_print_what_the_typer_path_prints(board: Database, db_path: Path, args: list[str]) -> None:
    """Each write runs on a copy of the same database, once per path."""
    results = []
    for run in ("fast", "typer"):
        copy = db_path.parent / f"{run}.db"
        source, target = sqlite3.connect(db_path), sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        line = ["--db", str(copy), *args]
        work = (lambda line=line: _must(fast.dispatch(line))) if run == "fast" else (lambda line=line: run_typer(line))
        results.append(_capture(work, line))
    assert results[0] == results[1]
    assert results[0][1] or results[0][2]


def _must(code: int | None) -> int:
    assert code is not None
    return code


def test_unusual_command_lines_go_to_typer() -> None:
    for args in (["deal", "list", "--help"], ["deal", "list", "--json", "--json"], ["deal", "list", "-pSales"],
                 ["deal", "list", "-p=Sales"], ["deal", "move", "+3", "Lead"], ["deal", "move", "3"],
                 ["deal", "add", "-x"], ["deal", "add", "a", "b"], ["deal", "list", "--json=1"],
                 ["deal", "show", "1"], ["--db", "--user", "deal", "list"], ["deal", "add", "T", "--"]):
        assert fast.dispatch(args) is None, args


def test_reads_return_the_orm_reads(board: Database, db_target: str) -> None:
    con = reads.connect(db_target)
    assert con is not None
    sales = reads.resolve_pipeline(con, "sales")
    for status in ("open", "won", "lost", None):
        with board.read() as s:
            expected = deal_views(s, sales.id, status)
        assert reads.deal_views(con, sales.id, status) == expected
        assert expected, status
    con.close()


def test_the_default_file_is_the_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUIKANBAN_DB")
    assert reads.db_file(None) == default_db_path()


def test_commands_skip_typer_and_the_orm(board: Database, db_target: str) -> None:
    code = ("import sys; from tuikanban.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('typer', 'sqlalchemy', 'sqlmodel') if m in sys.modules), file=sys.stderr)")
    env = {"PYTHONPATH": str(Path(__file__).parent.parent / "src"), "TUIKANBAN_USER": "tester"}
    listed = subprocess.run([sys.executable, "-c", code, "--db", db_target, "deal", "list", "-p", "Sales"],
                            capture_output=True, text=True, env=env, check=True)
    assert listed.stderr.strip().splitlines()[-1] == "[]"
    added = subprocess.run([sys.executable, "-c", code, "--db", db_target, "deal", "add", "X", "-p", "Sales"],
                           capture_output=True, text=True, env=env, check=True)
    assert added.stderr.strip().splitlines()[-1] == "[]"  # written with store.uow (tests/test_cli_fast_writes.py)
    moved = subprocess.run([sys.executable, "-c", code, "--db", db_target, "deal", "move", "5", "Qualified"],
                           capture_output=True, text=True, env=env, check=True)
    assert moved.stderr.strip().splitlines()[-1] == "[]"
    aging = subprocess.run([sys.executable, "-c", code, "--db", db_target, "aging", "--json", "-p", "Sales"],
                           capture_output=True, text=True, env=env, check=True)
    assert aging.stderr.strip().splitlines()[-1] == "[]"


def _project_version() -> str:
    import tomllib

    return str(tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]["version"])


def test_version_is_the_packages_and_costs_no_import(cli: Any, tmp_path: Path) -> None:
    """`tuikanban --version` prints the version (the installed package's, else the source's, which is
    pyproject.toml's) without importing Typer, Rich or the ORM; after root options too (Typer's eager option),
    and it opens no database: not even a config file whose db is refused stops it."""
    import tuikanban
    from tuikanban.settings import config_path

    assert tuikanban.__version__ == _project_version()  # the fallback when run from a source tree
    line = f"tuikanban {_project_version()}\n"
    assert (cli("--version").code, cli("--version").out) == (0, line)
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('db = "postgresql://ana:s3cret@host/sales"\n')  # refused: --version still answers
    path = tmp_path / "none.db"
    for args in (["--version"], ["--db", str(path), "--version"], ["-p", "Sales", "--version", "deal", "list"]):
        r = cli(*args)
        assert (r.code, r.out, r.err) == (0, line, ""), args
    assert not path.exists()
    assert "--version" in cli("--help").out
    code = ("import sys; from tuikanban.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('typer', 'click', 'rich', 'sqlalchemy', 'sqlmodel', 'textual')"
            " if m in sys.modules), file=sys.stderr)")
    env = {"PYTHONPATH": str(Path(__file__).parent.parent / "src")}
    done = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True, env=env,
                          check=True)
    assert (done.stdout, done.stderr) == (line, "[]\n")


def test_version_of_an_installed_package_is_its_metadatas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed (a wheel's `tuikanban-VERSION.dist-info` on the import path), the version is the installed one."""
    from tuikanban.cli import version_line

    (tmp_path / "tuikanban-9.8.7.dist-info").mkdir()
    (tmp_path / "tuikanban_other-1.0.dist-info").mkdir()  # another package's, whose name starts alike
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(tmp_path), *sys.path])
    assert version_line() == "tuikanban 9.8.7"


# -- batch ---------------------------------------------------------------------------------------------------


def test_batch_prints_what_separate_commands_print(cli: Any, board: Database, tmp_path: Path) -> None:
    lines = ['deal add "Batch one" -p Sales --value 5k  # a comment', "", "# only a comment",
             "deal move 4 Qualified", "deal list -p Sales --status all", "deal move 4 Nowhere",
             'deal add "unclosed', "deal move x Lead", "deal list"]
    file = tmp_path / "cmds.txt"
    file.write_text("\n".join(lines) + "\n")
    result = cli("batch", str(file))
    assert result.code == 1
    assert result.err.splitlines() == [
        "line 6: Pipeline Sales has no stage named 'Nowhere' (stages: Lead, Qualified, Proposal, Won't fit).",
        "line 7: No closing quotation; close the quote or escape the character.",
        "line 8: Invalid value for 'ID': it must be a whole number (see 'tuikanban deal move --help').",
        "line 9: There are several pipelines (Sales, Partners); choose one with -p.",
        "4 of 7 commands failed.",
    ]
    assert result.out.splitlines()[:3] == ["5", "Moved deal 4 from Lead to Qualified.",
                                           "Exit criteria of Qualified: Budget confirmed"]
    listing = cli("deal", "list", "-p", "Sales", "--status", "all")
    assert result.out.split("\n", 3)[3] == listing.out


def test_batch_options_apply_to_every_line_and_stdin_works(cli: Any, board: Database, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("deal add 'From stdin'\ndeal list --json\n"))
    result = cli("--user", "bob", "-p", "Partners", "batch", "-")
    assert result.code == 0, result.err
    assert result.out.startswith("5\n")
    assert '"owner": "bob"' in result.out and '"pipeline": "Partners"' in result.out


def test_batch_refuses_a_board_line_and_a_nested_batch(cli: Any, board: Database, tmp_path: Path) -> None:
    file = tmp_path / "cmds.txt"
    file.write_text("--user bob\nbatch other.txt\n")
    result = cli("batch", str(file))
    assert result.code == 1
    assert result.err.splitlines() == [
        "line 1: This line names no command; a batch runs commands, it does not open the board.",
        "line 2: A batch cannot run another batch.",
        "2 of 2 commands failed.",
    ]


def test_batch_of_a_missing_file_is_one_sentence(cli: Any, tmp_path: Path) -> None:
    result = cli("batch", str(tmp_path / "none.txt"))
    assert (result.code, result.err.strip()) == (1, f"There is no file {tmp_path / 'none.txt'}.")


def test_dumps_is_json_dumps_with_indent() -> None:
    from datetime import date
    from decimal import Decimal

    from tuikanban.cli.common import dumps

    documents: list[Any] = [
        {}, [], "x", 1, 2.5, None, True, {"a": {}}, {"a": []}, [[], {}],
        {"pipeline": "Sales \u00e9\u4e2d", "deals": [{"id": 1, "v": 1.5, "t": "q\"uote\\\n", "n": None, "b": False},
                                                      {"id": 2, "nested": {"x": [1, 2, {"y": "z"}]}}]},
        {7: "int key", 2.5: "float key", True: "bool key", None: "none key", "s": (1, 2)},
        {"day": date(2026, 3, 2), "money": Decimal("12.50"), "inf": float("inf"), "list": [date(2026, 1, 1)]},
        [{"deep": [{"deeper": [{"k": "v"}]}]}],
        {"bridge": {"created": {"value": 1.5, "deals": list(range(3000))}}, "mixed": [1, "a\u2028", None, 2.5, True]},
        [True, False], [1, True, None], [date(2026, 1, 1), 1], (1, 2), [float("nan"), -0.0, 10**20],
    ]
    for doc in documents:
        assert dumps(doc) == json.dumps(doc, ensure_ascii=False, indent=2, default=str), doc
