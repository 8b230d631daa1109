"""Card density (`d`): normal cards (three lines) or compact ones (one line: title, value, marks, days in stage),
remembered per user in the settings file as a `[density]` table (`alice = "compact"`): the density the board starts
with. Each pipeline's own is remembered with the rest of its view (`view_memory.py`) and put back when it is shown."""

from __future__ import annotations

from typing import Any

COMPACT, NORMAL = "compact", "normal"
SECTION = "density"


def remembered_compact(user: str) -> bool:
    """Whether `user` last chose compact cards (a missing or broken settings file: normal cards)."""
    from tuikanban.settings import load_settings

    try:
        table: Any = load_settings().extra.get(SECTION, {})
    except Exception:  # a broken settings file never stops the board
        return False
    return isinstance(table, dict) and table.get(user) == COMPACT


def remember_job(user: str, compact: bool) -> None:
    """Save the choice (a job on the writes lane: file work off the UI thread; best effort, never raises)."""
    from tuikanban.settings import changing, load_settings, save_settings

    try:
        with changing():
            settings = load_settings()
            if settings.problem is not None:
                return
            table = settings.extra.get(SECTION)
            table = dict(table) if isinstance(table, dict) else {}
            table[user] = COMPACT if compact else NORMAL
            settings.extra[SECTION] = table
            save_settings(settings)
    except Exception:  # the choice still holds for this session
        return
