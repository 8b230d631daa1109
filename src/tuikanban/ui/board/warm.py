"""Warming what the board's keys open, after the first paint and off the key path.

Every screen and dialog is imported where its key opens it (so that the first paint imports none of them), which
made a key's first press wait for the import: 0.1-0.4 s each on a quiet machine (the deal detail and the metrics
the longest). Right after the first paint, one job imports them all, most used first, on the writes lane just
before the job that opens the database (and imports the ORM): the screens' modules import no ORM (their services
are named through `tuikanban.ui.lazy`), so a key pressed in the first second finds its screen imported, or waits
only for the module it needs (Python's import lock), never for the ORM; and the two imports never run at once,
sharing the GIL with the key's own work. Nothing here touches the database or the screen.
"""

from __future__ import annotations

import importlib

# most used first: the deal detail and the forms, then the screens of the view keys
MODULES = (
    "tuikanban.ui.screens.deal_detail",
    "tuikanban.ui.screens.deal_form",
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


def warm_job() -> None:
    """Import the screens the board's keys open (a job on the reads lane; it reports nothing)."""
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the key that needs it will show what went wrong
            continue
