"""Placeholder until the board lands."""

from __future__ import annotations

from pathlib import Path


def run_board(*, db_path: Path | None, user: str, theme: str | None, pipeline: str | None) -> None:
    from textual.app import App
    from textual.widgets import Static

    from tuikanban.store.engine import open_database

    db = open_database(db_path)

    class Placeholder(App[None]):
        BINDINGS = [("q", "quit", "Quit")]

        def compose(self):  # type: ignore[no-untyped-def]
            yield Static(f"tuikanban: {db.path} (press q to quit)")

    Placeholder().run()
