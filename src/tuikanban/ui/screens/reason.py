"""Where the board (ui/app.py) still loads the reason dialog by name; the dialog is `tuikanban.ui.dialogs.reason`.

Delete this module once the board imports `ReasonScreen` from `tuikanban.ui.dialogs.reason` directly."""

from tuikanban.ui.dialogs.reason import ReasonScreen

__all__ = ["ReasonScreen"]
