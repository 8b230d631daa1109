"""The core (domain, store, services) runs without Textual: every module imports in a fresh interpreter that never
loads `textual`, and the import-linter contracts of pyproject.toml hold."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import importlib, json, pkgutil, sys
import tuikanban
names = []
for package in ("tuikanban.domain", "tuikanban.store", "tuikanban.services"):
    pkg = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        importlib.import_module(info.name)
        names.append(info.name)
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
ui = sorted(m for m in sys.modules if m.startswith(("tuikanban.ui", "tuikanban.cli")))
print(json.dumps({"imported": names, "textual": loaded, "ui": ui}))
"""


def test_core_imports_without_textual() -> None:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # the walk really found the modules (not just the packages)
    for expected in ("tuikanban.domain.money", "tuikanban.domain.wip", "tuikanban.store.engine",
                     "tuikanban.store.migrations", "tuikanban.services.deals", "tuikanban.services.pipelines",
                     "tuikanban.services.board"):
        assert expected in report["imported"]
    assert report["textual"] == []
    assert report["ui"] == []


def _lint_imports() -> str | None:
    venv_bin = Path(sys.executable).parent / "lint-imports"
    if venv_bin.exists():
        return str(venv_bin)
    return shutil.which("lint-imports")


def test_import_contracts_hold() -> None:
    exe = _lint_imports()
    if exe is None:
        pytest.skip("the lint-imports executable (import-linter) is not installed")
    proc = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout
