"""Typer's private click names are used in one module only; this fails, naming the Typer version, if one goes."""

from __future__ import annotations

import importlib
from importlib.metadata import version
from pathlib import Path

from tuikanban.cli import click_seam

SRC = Path(__file__).resolve().parent.parent / "src" / "tuikanban"


def test_every_private_click_name_still_exists() -> None:
    module = importlib.import_module("typer._click.exceptions")
    missing = [name for name in click_seam.__all__ if not isinstance(getattr(module, name, None), type)]
    assert not missing, f"typer {version('typer')} has no typer._click.exceptions.{', '.join(missing)}"
    assert issubclass(click_seam.UsageError, click_seam.ClickException)
    assert issubclass(click_seam.NoArgsIsHelpError, click_seam.UsageError)


def test_no_other_module_names_typer_private_click() -> None:
    users = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
             if "typer._click" in p.read_text(encoding="utf-8")]
    assert users == ["cli/click_seam.py"]
