"""store.libpq, the ctypes libpq client of the PostgreSQL fast paths: it must send and read values as psycopg does
(the differential tests below run the same statements through both), fail as psycopg fails (SQLSTATE, a lost
connection), and keep the commands that use it from importing psycopg at all."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tuikanban.domain.targets import parse_target
from tuikanban.store import libpq, pgconn

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parent.parent


def _open(target: str, driver: str) -> Any:
    t = parse_target(target)
    if driver == "libpq":
        return libpq.connect(pgconn.conninfo_params(t, options=f"{pgconn.base_options(t)} -c DateStyle=ISO",
                                                    application_name="test"))
    import psycopg

    return psycopg.connect(pgconn.make_conninfo(t, options=pgconn.base_options(t), application_name="test"),
                           autocommit=True)


@pytest.fixture
def both(db_target: str) -> Iterator[tuple[Any, Any]]:
    assert libpq.available(), "the test environment has psycopg[binary], whose libpq this module loads"
    mine, theirs = _open(db_target, "libpq"), _open(db_target, "psycopg")
    yield mine, theirs
    mine.close()
    theirs.close()


def _same(mine: Any, theirs: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    got = mine.execute(sql, params).fetchall()
    expected = theirs.execute(sql, params).fetchall()
    assert got == expected
    assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in expected]
    return got


PARAMS: list[Any] = [None, True, False, 0, -1, 2**15, -(2**31), 2**40, 2**70, "", "né ✓ 'quoted'", "12",
                     1.5, float("inf"), Decimal("12.3400"), date(2027, 2, 28),
                     datetime(2026, 3, 1, 14, 30, 0, 123456), datetime(2026, 3, 1, 14, 30)]


def _outcome(con: Any, sql: str, params: Any) -> Any:
    """The rows (with their types), or the SQLSTATE of the failure."""
    try:
        rows = con.execute(sql, params).fetchall()
    except Exception as exc:
        return getattr(exc, "sqlstate", None) or type(exc).__name__
    return rows, [[type(v) for v in r] for r in rows]


@pytest.mark.parametrize("value", PARAMS, ids=repr)
def test_a_parameter_is_sent_and_read_back_as_psycopg_does(both: tuple[Any, Any], value: Any) -> None:
    mine, theirs = both
    (row,) = _same(mine, theirs, "SELECT %s", (value,))
    assert row[0] == value or (value is None and row[0] is None)
    # the type the server gave it (str and None are "unknown": both drivers fail the same way on pg_typeof)
    typed = _outcome(mine, "SELECT pg_typeof(%s)::text", (value,))
    assert typed == _outcome(theirs, "SELECT pg_typeof(%s)::text", (value,))
    assert typed == "42P18" if value is None or isinstance(value, str) else typed[0][0][0] != "unknown"


def test_the_columns_of_the_schema_are_read_as_psycopg_reads_them(both: tuple[Any, Any]) -> None:
    mine, theirs = both
    mine.execute("CREATE TABLE t (i BIGINT, s VARCHAR, x TEXT, b BOOLEAN, d DATE, ts TIMESTAMP, c CHAR(3))")
    mine.execute("INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s, %s), (NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
                 "(%s, %s, %s, %s, %s, %s, %s)",
                 (9007199254740993, "a\tb\nc", "", True, date(2026, 1, 31), datetime(2026, 1, 31, 23, 59, 59), "ab",
                  -5, "ü", "100%", False, date(1999, 12, 31), datetime(2000, 1, 1), "xyz"))
    rows = _same(mine, theirs, "SELECT * FROM t ORDER BY i")
    assert rows[0][0] == -5 and rows[2] == (None,) * 7
    _same(mine, theirs, "SELECT count(*), sum(i), avg(i), 1.5::float4, 'x'::name, 7::oid, 'y', 'c'::\"char\", "
                        "to_regclass('t'), pg_advisory_xact_lock(1) FROM t")
    with pytest.raises(libpq.Error) as caught:  # psycopg reads an interval as a timedelta: not read as text here
        mine.execute("SELECT max(ts) - min(ts) FROM t")
    assert caught.value.sqlstate == "0A000"


def test_timestamptz_is_the_same_instant(both: tuple[Any, Any]) -> None:
    mine, theirs = both
    sql = "SELECT %s::timestamptz"
    moment = datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    got = mine.execute(sql, (moment,)).fetchone()[0]
    assert got == theirs.execute(sql, (moment,)).fetchone()[0] == moment
    assert got.astimezone(UTC) == moment.astimezone(UTC)


def test_percent_signs_and_placeholders_follow_psycopg(both: tuple[Any, Any]) -> None:
    mine, theirs = both
    _same(mine, theirs, "SELECT '100%%', %s", ("a",))
    _same(mine, theirs, "SELECT '100%'")  # no parameters: the statement is sent as it is
    with pytest.raises(libpq.Error):
        mine.execute("SELECT %s, %s", (1,))
    with pytest.raises(libpq.Error):
        mine.execute("SELECT '%d', %s", (1,))
    with pytest.raises(libpq.Error):
        mine.execute("SELECT %s", ("nul\x00byte",))


def test_cursor_calls(both: tuple[Any, Any]) -> None:
    mine, _theirs = both
    cur = mine.execute("SELECT generate_series(1, 3)")
    assert cur.fetchone() == (1,)
    assert list(cur) == [(2,), (3,)]
    assert cur.fetchone() is None
    assert mine.execute("SELECT 1 WHERE false").fetchall() == []
    assert mine.execute("CREATE TEMP TABLE n (i int)").fetchall() == []


def test_a_failed_statement_carries_its_sqlstate_and_leaves_the_connection_usable(both: tuple[Any, Any]) -> None:
    mine, _theirs = both
    with pytest.raises(libpq.Error) as caught:
        mine.execute("SELECT * FROM no_such_table")
    assert caught.value.sqlstate == "42P01"
    assert "no_such_table" in str(caught.value)
    assert not isinstance(caught.value, libpq.OperationalError)
    assert mine.execute("SELECT 2").fetchone() == (2,)


def test_a_transaction_commits_or_rolls_back(both: tuple[Any, Any]) -> None:
    mine, theirs = both
    mine.execute("CREATE TABLE w (i int)")
    with mine.transaction():
        mine.execute("INSERT INTO w VALUES (%s)", (1,))
        assert theirs.execute("SELECT count(*) FROM w").fetchone() == (0,)  # not yet committed
    with pytest.raises(ZeroDivisionError), mine.transaction():
        mine.execute("INSERT INTO w VALUES (%s)", (2,))
        raise ZeroDivisionError
    assert mine.idle
    assert theirs.execute("SELECT i FROM w").fetchall() == [(1,)]


def test_a_connection_the_server_ends_is_broken(both: tuple[Any, Any]) -> None:
    mine, theirs = both
    pid = mine.execute("SELECT pg_backend_pid()").fetchone()[0]
    theirs.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(libpq.OperationalError):
        mine.execute("SELECT 1")
    assert mine.broken and not mine.closed
    mine.close()
    assert mine.closed


def test_a_board_read_reconnects_after_the_server_ended_its_connection(db_target: str, cli: Any) -> None:
    from tuikanban.store import fastread, fastread_pg

    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    con = fastread_pg.connect_live(parse_target(db_target))
    assert [p.name for p in fastread.list_pipelines(con)] == ["Sales"]
    pid = con.execute("SELECT pg_backend_pid()").fetchone()[0]
    killer = _open(db_target, "psycopg")
    killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
    killer.close()
    assert [p.name for p in fastread.list_pipelines(con)] == ["Sales"]
    con.close()


def test_a_bad_connection_is_an_operational_error_without_the_password() -> None:
    with pytest.raises(libpq.OperationalError) as caught:
        libpq.connect({"host": "127.0.0.1", "port": "1", "dbname": "x", "password": "s3cret", "connect_timeout": "2"})
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


def _run(args: list[str], db: str, code: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TUIKANBAN_DB": db}
    script = ("import sys\nfrom tuikanban.cli import run\ncode = run(sys.argv[1:])\n" + code + "sys.exit(code)\n")
    return subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_fast_commands_never_import_psycopg(db_target: str) -> None:
    check = "print('psycopg imported' if 'psycopg' in sys.modules else 'no psycopg', file=sys.stderr)\n"
    assert _run(["pipeline", "create", "Sales", "--stages", "Lead,Won"], db_target).returncode == 0
    for args in (["deal", "add", "Acme", "--value", "10"], ["deal", "move", "1", "Won"], ["deal", "list", "--json"],
                 ["aging", "--json"]):
        done = _run(args, db_target, check)
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip() == "no psycopg", args


def test_without_libpq_the_fast_commands_use_psycopg(db_target: str, cli: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(libpq, "_tried", True)
    monkeypatch.setattr(libpq, "_lib", None)
    assert not libpq.available()
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Won").code == 0
    assert cli("deal", "add", "Acme", "--value", "10").out.strip() == "1"
    assert cli("deal", "move", "1", "Won").code == 0
    listed = cli("deal", "list", "--status", "all", "--json")
    assert '"stage": "Won"' in listed.out


def test_a_stopped_server_is_one_sentence_for_each_fast_command(tmp_path: Path) -> None:
    url = "postgresql://tk:s3cret@127.0.0.1:1/board"
    for args in (["deal", "add", "Acme"], ["deal", "list"], ["aging"]):
        done = _run(args, url)
        assert done.returncode == 1
        assert done.stderr.strip() == ("The PostgreSQL server for postgresql://tk@127.0.0.1:1/board cannot be reached "
                                       "(is it running?); nothing was changed."), args
        assert "s3cret" not in done.stderr + done.stdout


def test_server_notices_are_not_printed(db_target: str) -> None:
    code = ("from tuikanban.store import libpq, pgconn\nfrom tuikanban.domain.targets import parse_target\n"
            "import os\nt = parse_target(os.environ['TUIKANBAN_DB'])\n"
            "c = libpq.connect(pgconn.conninfo_params(t, options=pgconn.base_options(t), application_name='t'))\n"
            "c.execute(\"DO $$ BEGIN RAISE NOTICE 'hello'; RAISE WARNING 'careful'; END $$\")\nc.close()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TUIKANBAN_DB": db_target}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_board_connection_moves_to_psycopg_once_psycopg_is_imported(db_target: str) -> None:
    """The first read goes through libpq; once the process imports psycopg (the ORM after the first paint), the
    next read outside a snapshot opens the connection again with psycopg, whose loaders are faster."""
    code = ("import os, sys\nfrom tuikanban.domain.targets import parse_target\n"
            "from tuikanban.store import fastread, fastread_pg\n"
            "con = fastread_pg.connect(parse_target(os.environ['TUIKANBAN_DB']))\n"
            "def driver():\n    return type(con._conn).__module__.split('.')[0]\n"
            "first = fastread.load_board(con, None, window=5)\n"
            "print(driver(), 'psycopg' in sys.modules)\n"
            "import psycopg\n"
            "with fastread.snapshot(con):\n    print(driver())\n"
            "again = fastread.load_board(con, None, window=5)\n"
            "print(driver(), again.board == first.board)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TUIKANBAN_DB": db_target}
    assert _run(["pipeline", "create", "Sales", "--stages", "Lead,Won"], db_target).returncode == 0
    assert _run(["deal", "add", "Acme", "--value", "10"], db_target).returncode == 0
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == ["tuikanban False", "psycopg", "psycopg True", ""]


def test_the_board_read_connection_keeps_its_settings_without_jit(db_target: str) -> None:
    from tuikanban.store import fastread_pg

    con = fastread_pg.connect_live(parse_target(db_target))
    settings = con.execute("SELECT current_setting('jit'), current_setting('idle_in_transaction_session_timeout'), "
                           "current_setting('DateStyle')").fetchone()
    con.close()
    assert settings == ("off", "1min", "ISO, MDY")
