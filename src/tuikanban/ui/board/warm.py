"""Warming what the board's keys open, after the first paint and off the key path.

Every screen and dialog is imported where its key opens it (so that the first paint imports none of them), which
made a key's first press wait for the import: 0.1-0.4 s each on a quiet machine (the deal detail and the metrics
the longest). Right after the first paint, `warm_job` imports them all, most used first, then `orm_job` the ORM,
then the database opens: three jobs in that order on the writes lane, submitted in one place
(`BoardBase._after_first_paint`). The screens' modules import no ORM (their services are named through
`tuikanban.ui.lazy`), so a key pressed in the first second finds its screen imported, or waits only for the module
it needs (Python's import lock), never for the ORM. Only one thread runs Python at a time, so both jobs import a
module at a time and wait between two while a screen is opening (`jobs.step_aside`): a screen opened in the first
second does not share the interpreter with them for long. Nothing here touches the database or the screen.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from collections.abc import Callable
from typing import Any

from textual.widget import Widget

from tuikanban.ui.board.messages import ScreensImported
from tuikanban.ui.jobs import step_aside

# most used first: the deal detail and the forms, then the screens of the view keys
MODULES = (
    "tuikanban.ui.screens.deal_detail",
    "tuikanban.ui.screens.deal_form",
    "tuikanban.services.screen_reads",  # (their reads, which need no ORM: the first one does not import them)
    "tuikanban.ui.screens.help",
    "tuikanban.ui.screens.today",
    "tuikanban.ui.widgets.log_bar",
    "tuikanban.ui.dialogs.reason",
    "tuikanban.ui.dialogs.confirm",
    "tuikanban.ui.dialogs.picker",
    "tuikanban.ui.widgets.aging_panel",
    "tuikanban.ui.screens.metrics",
    "tuikanban.ui.screens.review",
    "tuikanban.ui.screens.pipelines",
    "tuikanban.ui.screens.closed",
    "tuikanban.ui.screens.settings",
    "tuikanban.ui.dialogs.gate",
    "tuikanban.ui.dialogs.ask",
)


# The ORM's import, in steps (a package's modules come with the package, so the steps are coarse: `sqlalchemy`
# alone is about half of it), for `orm_job`; the database's opening imports whatever is left.
ORM_STEPS = (
    "typing_extensions",
    "pydantic_core",
    "pydantic.main",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "sqlmodel",
    "tuikanban.store.tables",
    "tuikanban.store.engine",
)


def import_stepping_aside(names: tuple[str, ...], step: Callable[[], None] | None = None) -> None:
    """Import `names` in turn, waiting between them while a screen is opening (`step`, by default
    `jobs.step_aside`)."""
    for name in names:
        (step or step_aside)()
        try:
            importlib.import_module(name)
        except Exception:  # the key (or the opening) that needs it will show what went wrong
            continue


def warm_job() -> ScreensImported:
    """Import the screens the board's keys open (a job on the writes lane)."""
    import_stepping_aside(MODULES)
    return ScreensImported()


def add_screen_styles(app: Any) -> None:
    """Add the default CSS of every widget class the warmed screens' modules name to the app's stylesheet and
    parse it once, on the UI thread after `warm_job`. Textual adds a class's CSS when its first widget mounts and
    parses the whole stylesheet again then (more sources than its parse cache holds: every source again), so a
    screen's first open paid 50-150 ms for it; now the first open finds every source parsed. A source is the one
    Textual would add at that open (same text, location, scope), so the rules are those the app has after every
    screen was opened once."""
    from tuikanban.ui.textual_seam import INNER_WIDGET_MODULES, add_default_css

    classes: dict[type[Widget], None] = {}
    for name in MODULES + INNER_WIDGET_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Widget):
                classes.setdefault(value, None)
    add_default_css(app.stylesheet, classes)


class _StepAsideEachModule(importlib.abc.MetaPathFinder):
    """A finder that finds nothing: asked first for every module the ORM's import brings in, on the thread of
    `orm_job`, it steps aside there (`jobs.step_aside`) before each, so the steps are each module, not each
    package (`import sqlalchemy` alone was one step of 0.15 s of CPU quiet, 1-2 s at a load of 9). A screen
    opened meanwhile then has the interpreter to itself within a module's import, and a job pressed meanwhile
    that needs no ORM (jobs.EARLY: a card move, the deal detail's, the form's and the settings' reads) runs at
    the next module, not after the package. It steps aside only with ORM modules' import locks held, which no
    other thread takes; the modules an EARLY job imports while it runs there are imported straight through (no
    step inside a step: the job would wait for the screen it fills)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.stepping = False

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if threading.get_ident() == self.thread:
            self.step()
        return None

    def step(self) -> None:
        """`jobs.step_aside`, unless this is a step already (a job it runs is importing)."""
        if not self.stepping:
            self.stepping = True
            try:
                step_aside()
            finally:
                self.stepping = False


def orm_job() -> None:
    """Import the ORM before the job that opens the database (a job on the writes lane; it reports nothing): in
    steps, a module at a time (`_StepAsideEachModule`), so that a screen opened meanwhile has the interpreter to
    itself between them and an EARLY job runs at the next module."""
    finder = _StepAsideEachModule()
    sys.meta_path.insert(0, finder)
    try:
        import_stepping_aside(ORM_STEPS, finder.step)
    finally:
        sys.meta_path.remove(finder)
