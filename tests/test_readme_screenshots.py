"""The README's pictures are snapshot tests: every scenario of tests/screenshot_scenarios.py (board, themes, aging
panel and chart, metrics, detail, form, help) is compared with its SVG snapshot, and the README's copy in
screenshots/ must be that same snapshot.

After a deliberate change of the look, run `python screenshots/make_screenshots.py`: it updates these snapshots
(`--snapshot-update`) and copies them to screenshots/ (with PNGs). Look at the pictures before committing them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import normalize_svg
from textual.pilot import Pilot

from screenshot_scenarios import (
    SCENARIOS,
    SCREENSHOTS,
    SIZE,
    SNAPSHOTS,
    Scenario,
    build_demo_database,
    environment,
    make_app,
    play,
    snapshot_name,
)
from tuikanban.store.engine import Database, open_database

pytestmark = pytest.mark.sqlite_only  # the README's pictures from a demo file; one SVG per scenario

STEMS = [s.stem for s in SCENARIOS]


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    for name, value in environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TUIKANBAN_DB", raising=False)
    db = open_database(build_demo_database(tmp_path))
    yield db
    db.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=STEMS)
def test_readme_screenshot(scenario: Scenario, demo_db: Database, snap_compare: Any) -> None:
    app = make_app(demo_db, scenario)

    async def before(pilot: Pilot[Any]) -> None:
        await play(pilot, scenario)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=STEMS)
def test_the_readme_image_is_the_snapshot(scenario: Scenario) -> None:
    snapshot = SNAPSHOTS / snapshot_name(scenario)
    image = SCREENSHOTS / f"{scenario.stem}.svg"
    assert image.read_text(encoding="utf-8") == normalize_svg(snapshot.read_text(encoding="utf-8")), (
        f"{image} is not the snapshot {snapshot.name}: run `python screenshots/make_screenshots.py`")


def test_every_readme_image_has_a_scenario() -> None:
    readme = (SCREENSHOTS.parent / "README.md").read_text(encoding="utf-8")
    linked = {Path(link).stem for link in _image_links(readme)}
    assert linked, "the README links no screenshot"
    assert linked <= set(STEMS), f"README images without a scenario: {sorted(linked - set(STEMS))}"
    assert {p.stem for p in SCREENSHOTS.glob("*.svg")} == set(STEMS)


def _image_links(readme: str) -> list[str]:
    import re

    return re.findall(r"\(screenshots/([\w-]+\.svg)\)", readme)
