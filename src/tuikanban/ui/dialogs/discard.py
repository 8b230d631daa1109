"""Nothing typed is lost by a key: escape on a form with unsaved changes, and ctrl+c, ask before discarding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import Screen

from tuikanban.ui.dialogs.confirm import ConfirmScreen


class Unsaved:
    """A form that can say whether it holds typed changes not saved yet (mixin; `unsaved` is overridden)."""

    def unsaved(self) -> bool:
        raise NotImplementedError


def cancel_asking(screen: Screen[Any], discard: Callable[[], object]) -> None:
    """`discard()` at once when nothing typed would be lost, else after the user says yes."""
    if not (isinstance(screen, Unsaved) and screen.unsaved()):
        discard()
        return

    def answered(yes: bool | None) -> None:
        if yes:
            discard()

    screen.app.push_screen(ConfirmScreen("Discard the changes you typed?", title="Unsaved changes"), answered)


def quit_asking(app: App[Any]) -> None:
    """ctrl+c: quit, asking first when an open form holds unsaved changes."""
    if not any(isinstance(s, Unsaved) and s.unsaved() for s in app.screen_stack):
        app.exit()
        return

    def answered(yes: bool | None) -> None:
        if yes:
            app.exit()

    app.push_screen(ConfirmScreen("A form has changes you have not saved. Quit and discard them?",
                                  title="Unsaved changes"), answered)


__all__ = ["Unsaved", "cancel_asking", "quit_asking"]
