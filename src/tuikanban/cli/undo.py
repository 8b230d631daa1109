"""`tuikanban undo` and `tuikanban redo`: the user's last action in a pipeline, as `u` does on the board."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from tuikanban.cli.common import say, state
from tuikanban.cli.core import PipelineOpt, _pipeline
from tuikanban.cli.deals import force_reason as _force
from tuikanban.cli.root import app
from tuikanban.domain.errors import WipLimitError

ForceOpt = Annotated[bool, typer.Option("--force", help="Override a WIP limit (needs --reason).")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why the WIP limit is overridden.")]


@app.command("undo")
def undo(ctx: typer.Context, pipeline: PipelineOpt = None, force: ForceOpt = False, reason: ReasonOpt = None) -> None:
    """Undo your last action in the pipeline: a move, reorder, won, lost, delete or edit (see docs/RULES.md)."""
    from tuikanban.services.undo import undo_last

    _step(ctx, undo_last, pipeline, force, reason)


@app.command("redo")
def redo(ctx: typer.Context, pipeline: PipelineOpt = None, force: ForceOpt = False, reason: ReasonOpt = None) -> None:
    """Redo your last undone action, if nothing changed the deal since."""
    from tuikanban.services.undo import redo_last

    _step(ctx, redo_last, pipeline, force, reason)


def _step(ctx: typer.Context, action: Callable[..., str], pipeline: str | None, force: bool,
          reason: str | None) -> None:
    """Run undo or redo and print its sentence; a WIP refusal says how to force it."""
    st = state(ctx)
    try:
        say(action(st.db(), _pipeline(ctx, pipeline), user=st.user, force_reason=_force(force, reason)))
    except WipLimitError as exc:
        raise _forceable(exc) from None


def _forceable(exc: WipLimitError) -> WipLimitError:
    if "--force" in str(exc):
        return exc
    return WipLimitError(f"{exc}; add --force --reason TEXT to override it", stage=exc.stage, count=exc.count,
                         limit=exc.limit, per_owner=exc.per_owner)
