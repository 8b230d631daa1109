"""Every test that takes the test's database says which engines it is for (tests/conftest.py): `engines` (SQLite
and PostgreSQL), `sqlite_only` (about the file itself) or `postgres_only` (a PostgreSQL mechanism). Without one a
test would quietly run on SQLite alone, and nobody could tell from the markers which half it belongs to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engines import ENV_MARKER_REPORT, MARKER_CHECK, MarkerCheck, marker_problems

TESTS = Path(__file__).parent
# What the check looks for in a module's source, split: this module's own source must not hold them.
OPENS = "open_database" + "("
DB_OPTION = "'-" + "-db'"


@dataclass
class FakeMark:
    name: str


@dataclass
class FakeModule:
    """What the check reads of a collected module: its node id, its own markers (`pytestmark`) and its source."""

    nodeid: str
    path: Path
    own_markers: list[FakeMark] = field(default_factory=list)


@dataclass
class FakeItem:
    """What the check reads of a collected test."""

    nodeid: str
    fixturenames: list[str]
    markers: set[str] = field(default_factory=set)
    module: FakeModule | None = None
    engine: str | None = None  # the `engine` parameter it was collected with

    @property
    def name(self) -> str:
        return self.nodeid.split("::")[-1]

    @property
    def callspec(self) -> Any:
        return None if self.engine is None else type("CallSpec", (), {"params": {"engine": self.engine}})()

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.markers or name in {m.name for m in self.module.own_markers} else None  # type: ignore[union-attr]

    def getparent(self, cls: type) -> FakeModule | None:
        return self.module


def fake_module(tmp_path: Path, name: str, source: str, *marks: str) -> FakeModule:
    path = tmp_path / name
    path.write_text(source)
    return FakeModule(name, path, [FakeMark(m) for m in marks])


def test_the_check_names_each_unmarked_database_test_and_nothing_else(tmp_path: Path) -> None:
    t = fake_module(tmp_path, "t.py", "", "slow")  # (a marker that says nothing of engines)
    items = [
        FakeItem("t.py::pure", ["tmp_path"], module=t),
        FakeItem("t.py::both", ["db", "engine"], {"engines"}, t, "postgresql"),
        FakeItem("t.py::file", ["db_path"], {"sqlite_only"}, t),
        FakeItem("t.py::notify", ["db_target"], {"postgres_only"}, t, "postgresql"),
        FakeItem("t.py::forgot", ["cli", "tmp_path"], module=t),
        FakeItem("t.py::forgot_file", ["db_path"], module=t),
        FakeItem("t.py::torn", ["pg_schema"], {"sqlite_only", "postgres_only"}, t, "postgresql"),
    ]
    problems = marker_problems(items)
    assert problems[:3] == [
        "t.py::forgot: takes the database but is marked none of engines, sqlite_only, postgres_only",
        "t.py::forgot_file: takes the database but is marked none of engines, sqlite_only, postgres_only",
        "t.py::torn: marked both sqlite_only and postgres_only",
    ]
    assert problems[3:] == ["t.py: uses a database (both takes the database) but has no module marker "
                            "(pytestmark = pytest.mark.engines, sqlite_only or postgres_only)"]


def test_a_module_that_uses_a_database_says_which_engines_at_module_level(tmp_path: Path) -> None:
    """Whether its tests take the database fixtures or it opens a database itself (a path of its own, a CLI
    process given --db), a module names its half of the suite; `engines` on a module where nothing runs on
    PostgreSQL is a problem too."""
    opens = f"def test_x(tmp_path):\n    db = {OPENS}tmp_path / 'x.db')\n"
    cli_process = f"def test_y(tmp_path):\n    run(['tuikanban', {DB_OPTION}, str(tmp_path / 'x.db'), 'list'])\n"
    pure = "def test_z():\n    assert plural(2, 'day') == '2 days'\n"
    cases = {  # module source, its markers, its tests as (fixtures, engine[, marker]) -> the problem, if any
        "own_file.py": (opens, (), [(["tmp_path"], None)],
                        "own_file.py: uses a database (its source names open_database) but has no module marker "
                        "(pytestmark = pytest.mark.engines, sqlite_only or postgres_only)"),
        "own_file_marked.py": (opens, ("sqlite_only",), [(["tmp_path"], None)], None),
        "cli_process.py": (cli_process, (), [(["tmp_path"], None)],
                           f"cli_process.py: uses a database (its source names {DB_OPTION}) but has no module marker "
                           "(pytestmark = pytest.mark.engines, sqlite_only or postgres_only)"),
        # (each test marked on its own, the module not)
        "fixture.py": (pure, (), [(["db_target"], "sqlite", "engines"), (["db_target"], "postgresql", "engines")],
                       "fixture.py: uses a database (test_db_target takes the database) but has no module marker "
                       "(pytestmark = pytest.mark.engines, sqlite_only or postgres_only)"),
        "fixture_marked.py": (pure, ("engines",), [(["db_target"], "sqlite"), (["db_target"], "postgresql")], None),
        "pure.py": (pure, (), [([], None)], None),
        "pure_engines.py": (pure, ("engines",), [([], None)],
                            "pure_engines.py: marked engines but none of its tests takes the database, so none runs "
                            "on PostgreSQL (drop the marker, or take db / db_target)"),
    }
    for name, (source, marks, tests, expected) in cases.items():
        module = fake_module(tmp_path, name, source, *marks)
        items = [FakeItem(f"{name}::test_{'_'.join(test[0]) or 'pure'}", test[0], set(test[2:]), module, test[1])
                 for test in tests]
        assert marker_problems(items) == ([expected] if expected else []), name


def test_the_collection_of_an_unmarked_database_module_reports_it(tmp_path: Path) -> None:
    """The check as the suite's own conftest runs it, on a folder of two modules that open a database file of
    their own (no fixture): the unmarked one is named, the marked one is not."""
    folder = tmp_path / "suite"
    folder.mkdir()
    for helper in ("conftest.py", "engines.py"):
        (folder / helper).write_text((TESTS / helper).read_text())
    body = ("from tuikanban.store.engine import open_database\n\n\n"
            f"def test_opens(tmp_path):\n    {OPENS}tmp_path / 'x.db').close()\n")
    (folder / "test_unmarked.py").write_text(body)
    (folder / "test_marked.py").write_text("import pytest\n\npytestmark = pytest.mark.sqlite_only\n" + body)
    report = tmp_path / "markers.json"
    env = {**os.environ, ENV_MARKER_REPORT: str(report),
           "PYTHONPATH": os.pathsep.join([str(TESTS.parent / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
                           "-p", "no:xdist", "-p", "no:cacheprovider", "--rootdir", str(folder), str(folder)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads(report.read_text())
    assert found["modules"] == ["test_marked.py", "test_unmarked.py"]
    assert found["problems"] == ["test_unmarked.py: uses a database (its source names open_database) but has no "
                                 "module marker (pytestmark = pytest.mark.engines, sqlite_only or postgres_only)"]


def _collect_the_whole_suite(tmp_path: Path) -> MarkerCheck:
    """The check of a collection of every test module, in a pytest process of its own."""
    report = tmp_path / "markers.json"
    env = {**os.environ, ENV_MARKER_REPORT: str(report)}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
                           "-p", "no:xdist", "-p", "no:cacheprovider", str(TESTS)],
                          cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads(report.read_text())
    return MarkerCheck(set(found["modules"]), found["problems"])


def test_every_test_that_takes_the_database_is_marked_with_its_engines(request: pytest.FixtureRequest,
                                                                        tmp_path: Path) -> None:
    every_module = {path.name for path in TESTS.glob("test_*.py")}
    check = request.config.stash[MARKER_CHECK]
    if not every_module <= check.modules:  # this run collected part of the suite: collect all of it
        check = _collect_the_whole_suite(tmp_path)
    assert every_module <= check.modules, "a test module gave no tests (did it fail to import?)"
    assert check.problems == []


@pytest.mark.parametrize("half", ["sqlite", "postgresql"])
def test_engine_option_collects_one_half(half: str) -> None:
    """`--engine` keeps the tests of one engine: an `engines` test once, a `*_only` test on its own engine."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
                           "-p", "no:xdist", "-p", "no:cacheprovider", "--engine", half, "tests/test_feed.py"],
                          cwd=TESTS.parent, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    other = "postgresql" if half == "sqlite" else "sqlite"
    assert ids and not any(other in item.partition("[")[2] for item in ids), ids  # nothing of the other half
    assert half == "sqlite" or all(item.endswith("[postgresql]") for item in ids), ids
    assert any("idle_sqlite_feed" in item for item in ids) == (half == "sqlite")  # a `sqlite_only` one (no param)
    assert any("test_a_commit_elsewhere_is_seen_within_a_second" in item for item in ids)  # an `engines` test
    assert any("reconnects" in item for item in ids) == (half == "postgresql")  # a `postgres_only` one
