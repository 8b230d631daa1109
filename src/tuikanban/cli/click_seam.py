"""The one place that names Typer's private click module.

Typer vendors click as `typer._click` since 0.26 (pyproject requires `typer>=0.26`) and exports none of its
exceptions but `BadParameter` publicly. `main()` needs them to turn click's usage errors into one sentence on
stderr. `tests/test_click_seam.py` checks that every name below still exists and names the Typer version if not.
"""

from __future__ import annotations

from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

__all__ = ["ClickException", "NoArgsIsHelpError", "UsageError"]
