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


@dataclass
class FakeItem:
    """What the check reads of a collected test."""

    nodeid: str
    fixturenames: list[str]
    markers: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.markers else None


def test_the_check_names_each_unmarked_database_test_and_nothing_else() -> None:
    items = [
        FakeItem("t.py::pure", ["tmp_path"]),
        FakeItem("t.py::both", ["db", "engine"], {"engines"}),
        FakeItem("t.py::file", ["db_path"], {"sqlite_only"}),
        FakeItem("t.py::notify", ["db_target"], {"postgres_only"}),
        FakeItem("t.py::forgot", ["cli", "tmp_path"]),
        FakeItem("t.py::forgot_file", ["db_path"]),
        FakeItem("t.py::torn", ["pg_schema"], {"sqlite_only", "postgres_only"}),
    ]
    assert marker_problems(items) == [
        "t.py::forgot: takes the database but is marked none of engines, sqlite_only, postgres_only",
        "t.py::forgot_file: takes the database but is marked none of engines, sqlite_only, postgres_only",
        "t.py::torn: marked both sqlite_only and postgres_only",
    ]


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
    assert ids and all(item.endswith(f"[{half}]") for item in ids), ids
    assert any("test_a_commit_elsewhere_is_seen_within_a_second" in item for item in ids)  # an `engines` test
    assert any("reconnects" in item for item in ids) == (half == "postgresql")  # a `postgres_only` one
