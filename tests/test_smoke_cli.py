"""The first-run path a new user takes through the CLI (docs/RULES.md, Command line)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL


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
    assert third.err.strip() == "Proposal is at its WIP limit (2/2); add --force --reason TEXT to override it"
    listing = json.loads(cli("deal", "list", "--json").out)
    by_id = {d["id"]: d for d in listing["deals"]}
    assert by_id[ids[0]]["stage"] == "Proposal"
    assert by_id[ids[2]]["stage"] == "Lead"
    assert by_id[ids[1]]["value"] == 12500.5
    assert set(by_id[ids[1]]) >= {"id", "title", "stage", "status", "value", "owner", "type"}
    assert by_id[ids[1]]["owner"] == "tester"


# -- where the database lives ---------------------------------------------------------------------------


@pytest.mark.sqlite_only  # the default data path
def test_default_database_is_private_under_the_user_data_dir(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import stat
    import sys
    from pathlib import Path

    from tuikanban.store.engine import default_db_path

    monkeypatch.delenv("TUIKANBAN_DB")
    expected = default_db_path()
    assert expected.name == "tuikanban.db"
    if sys.platform.startswith("linux"):
        # platformdirs honours XDG_DATA_HOME, which the test fixtures point into tmp_path
        assert expected == tmp_path / "xdg-data" / "tuikanban" / "tuikanban.db"
    assert not expected.parent.exists()
    r = cli("pipeline", "create", "Sales", "--stages", "Lead,Won")
    assert r.code == 0, r.err
    assert expected.is_file()
    assert stat.S_IMODE(expected.stat().st_mode) == 0o600
    assert stat.S_IMODE(expected.parent.stat().st_mode) == 0o700
    for side in ("-wal", "-shm"):
        extra = Path(f"{expected}{side}")
        if extra.exists():
            assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0
    assert json.loads(cli("pipeline", "list", "--json").out)["pipelines"][0]["name"] == "Sales"


@pytest.mark.sqlite_only  # the default data path
def test_an_existing_data_dir_keeps_its_permissions(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import stat

    from tuikanban.store.engine import default_db_path

    monkeypatch.delenv("TUIKANBAN_DB")
    folder = default_db_path().parent
    folder.mkdir(parents=True)
    folder.chmod(0o750)
    assert cli("pipeline", "create", "Sales", "--stages", "Lead").code == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750  # not ours to change
    assert stat.S_IMODE(default_db_path().stat().st_mode) == 0o600


@pytest.mark.sqlite_only  # the default data path
def test_db_option_and_environment_override_the_default(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tuikanban.store.engine import default_db_path

    monkeypatch.delenv("TUIKANBAN_DB")
    by_option = tmp_path / "team.db"
    assert cli("--db", str(by_option), "pipeline", "create", "Team", "--stages", "A").code == 0
    by_env = tmp_path / "env.db"
    monkeypatch.setenv("TUIKANBAN_DB", str(by_env))
    assert cli("pipeline", "create", "Env", "--stages", "A").code == 0
    # --db wins over the environment
    assert cli("--db", str(by_option), "pipeline", "create", "Team2", "--stages", "A").code == 0
    assert not default_db_path().exists()
    names = [p["name"] for p in json.loads(cli("--db", str(by_option), "pipeline", "list", "--json").out)["pipelines"]]
    assert names == ["Team", "Team2"]
    assert [p["name"] for p in json.loads(cli("pipeline", "list", "--json").out)["pipelines"]] == ["Env"]


def test_python_dash_m_help() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "tuikanban", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: tuikanban [OPTIONS] COMMAND [ARGS]...")
    for command in ("pipeline", "stage", "type", "deal", "--db", "--user"):
        assert command in proc.stdout
    assert proc.stderr == ""
