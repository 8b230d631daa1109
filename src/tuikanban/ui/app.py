"""The board application: `TuikanbanApp` holds the app-wide parts (themes, the database lanes, the command
palette's board commands) and shows the board screen (`tuikanban.ui.board`). It is started by
`tuikanban.ui.launch.run_board`.

Start-up is kept lean on purpose (importing the ORM alone costs more than a bare Textual app's first paint): the
first screen is read with the database driver itself (`store.fastread`), and the ORM is imported and the database
opened for writing only after the first paint. Database work runs on the app's lanes (`tuikanban.ui.jobs`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from tuikanban.domain.targets import Target, parse_target
from tuikanban.domain.text import clean_text, display
from tuikanban.store import fastread
from tuikanban.ui import gc_pause, themes
from tuikanban.ui.board.gateway import BoardGateway
from tuikanban.ui.board.keymap import user_keymap
from tuikanban.ui.board.keys import BINDING_SECTIONS, PALETTE_ALSO, key_label
from tuikanban.ui.board.messages import Loaded
from tuikanban.ui.board.screen import BoardScreen
from tuikanban.ui.board.state import BoardSession
from tuikanban.ui.jobs import Lanes, key_arrived, screen_opening
from tuikanban.ui.presence import PresenceLink
from tuikanban.ui.spares import Spares
from tuikanban.ui.terminal_watch import watch_terminal

if TYPE_CHECKING:
    from tuikanban.store.engine import Database

_VAR_REF = re.compile(r"\$([A-Za-z0-9_-]+)")
# How long quitting waits for the writes still queued: longer than a write's own wait for a locked database
# (it then fails with its sentence), so that a queued write ends one way or the other, never cut off.
WRITES_AT_EXIT = 30.0


def resolve_variables(variables: dict[str, str]) -> dict[str, str]:
    """Replace `$name` references inside variable values (Textual does not resolve them in variables)."""
    out = dict(variables)
    for _ in range(4):
        changed = False
        for key, value in out.items():
            if "$" in value:
                new = _VAR_REF.sub(lambda m: out.get(m.group(1), m.group(0)), value)
                if new != value:
                    out[key] = new
                    changed = True
        if not changed:
            break
    return out


def remembered_theme() -> str | None:
    """The theme the user chose last (tuikanban.settings), if any."""
    from tuikanban.settings import load_settings

    try:
        return load_settings().theme
    except Exception:  # a broken settings file never stops the board
        return None


def keys_noted(driver_class: type[Driver], on_key: Callable[[], None]) -> type[Driver]:
    """`driver_class` calling `on_key()` for every key it reads, on its input thread, before the key is sent to the
    app's event loop (`Driver.process_message`, which Textual runs on that thread)."""

    class KeysNoted(driver_class):  # type: ignore[valid-type,misc]
        def process_message(self, message: Message) -> None:
            if isinstance(message, events.Key):
                on_key()
            super().process_message(message)

    KeysNoted.__name__ = KeysNoted.__qualname__ = f"KeysNoted{driver_class.__name__}"
    return KeysNoted


class TuikanbanApp(App[None]):
    """`TuikanbanApp(db, user, pipeline=None, theme=None)`; `run_board` passes the gateway holding the fast
    first-read connection, and that first read."""

    CSS_PATH = "app.tcss"
    TITLE = "tuikanban"
    # ctrl+c quits from anywhere (a terminal user's reflex), asking first when a form holds unsaved changes
    BINDINGS = [Binding("ctrl+c", "quit_asking", "quit", show=False, priority=True)]

    def __init__(
        self,
        db: Database | None = None,
        user: str = "",
        pipeline: str | int | None = None,
        theme: str | None = None,
        *,
        db_path: Path | Target | None = None,
        gateway: BoardGateway | None = None,
        initial: Loaded | None = None,
    ) -> None:
        super().__init__()
        self._said: dict[tuple[str, str, str], float] = {}  # notifications on screen: until when (notify)
        where = db.target if db is not None else db_path
        if where is None:
            raise ValueError("TuikanbanApp needs a database or a database path")
        target = parse_target(where)
        user = user or "unknown"
        # --theme and `config theme` take the same names; an unknown one is refused before the screen is taken
        name, self.theme_problems, self._themes_to_register = themes.register_start_theme(
            self, theme, None if theme else remembered_theme())
        self._start_in_theme(name)
        self.gateway = gateway or BoardGateway(path=target, user=user, db=db, con=None)
        self.lanes = Lanes(on_stop=self.gateway.close)
        self.presence = PresenceLink(self, user)
        readonly = db.readonly if db is not None else not fastread.target_writable(target)
        session = BoardSession(target, user, db, readonly)
        self.board_screen = BoardScreen(self.gateway, session, pipeline=pipeline, initial=initial)
        self.board_keymap = user_keymap()  # the [keymap] table of the settings file, checked
        self.spares = Spares(self)  # screens built in idle time, before their key (ui/spares.py)

    def _start_in_theme(self, name: str) -> None:
        """Start in theme `name`. Setting `App.theme` here runs its watcher, which parses the whole stylesheet again
        and restyles every widget once the app runs: a second pass over the CSS before the first paint (a bare
        Textual app makes one). A theme as dark or light as Textual's default needs none of the watcher's work but
        the theme's class, so the value is set without it; the ANSI colours follow darkness, so a light theme
        still goes through the watcher (docs/PERFORMANCE.md, Start-up)."""
        chosen = self.get_theme(name)
        if chosen is not None and chosen.dark == self.current_theme.dark:
            self.set_reactive(TuikanbanApp.theme, name)
            self.set_class(True, f"-theme-{name}", update=False)
            self.stylesheet.set_variables(self.get_css_variables())  # (made with the default theme's colours)
        else:
            self.theme = name

    def on_mount(self) -> None:
        watch_terminal(self)
        for problem in self.theme_problems + self.board_keymap.problems:
            self.notify(problem, severity="warning", timeout=8, markup=False)
        if self._themes_to_register:
            self.call_after_refresh(self._register_other_themes)
        self.set_keymap(self.board_keymap.keys)
        # a theme chosen while the board runs (command palette) is the next start's theme; the start-up theme
        # itself (--theme, the remembered one) was set before this and is not written back
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        # a screen opened over the board: the imports after the first paint wait a moment between two modules
        # (`jobs.step_aside`)
        self.screen_change_signal.subscribe(self, self._screen_changed)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, which tells the app's background work of each key as it reads it."""
        return keys_noted(super().get_driver_class(), self._key_arrived)

    def _key_arrived(self) -> None:
        """A key read from the terminal, not yet seen by the event loop (on the driver's input thread: the loop may
        be in the middle of a step): the imports after the first paint wait between two modules, and no spare screen
        starts a build step, until it has been handled and drawn (docs/PERFORMANCE.md, Round 6: a key before the
        work after the start)."""
        key_arrived()
        self.spares.key_arrived()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            key_arrived()  # (again: a key the driver did not read, as a test's)
            self.spares.touch(key=True)  # (no spare is built while keys come)
        await super().on_event(event)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        self.spares.touch()
        if screen is not self.board_screen:
            self.spares.screen_shown()
            screen_opening()

    def push_screen(self, screen: Screen[Any] | str, *args: Any, **kwargs: Any) -> Any:
        """Textual's, with no garbage collection from here until the new screen has been drawn (ui/gc_pause.py)."""
        # (a spare built ahead is mounted, but its first frame is still to draw)
        new = isinstance(screen, Screen) and getattr(screen, "PAUSE_GC_ON_OPEN", True) and screen is not self.screen
        if new:
            gc_pause.pause()
        pushed = super().push_screen(screen, *args, **kwargs)
        if new:
            assert isinstance(screen, Screen)
            gc_pause.resume_once_drawn(self, screen)  # (after the screen's ScreenResume, which draws it)
        return pushed

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification of every screen, made inert here once: they quote text read from the file (deal
        titles, stage names inside refusals, exit criteria, undo sentences), which another rep may have filled
        with escape sequences."""
        message, title = clean_text(message, multiline=True), display(title)
        # The same sentence again while it is still on screen (each key pressed while the server is down says it)
        # is not stacked: the copy on screen stands for it.
        key = (message, title, str(severity))
        now = time.monotonic()
        self._said = {k: t for k, t in self._said.items() if t > now}
        if key in self._said:
            return
        self._said[key] = now + (self.NOTIFICATION_TIMEOUT if timeout is None else timeout)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _register_other_themes(self) -> None:
        """The theme files other than the one started in (after the first paint: the command palette offers them);
        a broken one is reported in one sentence, as at start."""
        self._themes_to_register = False
        for problem in themes.register_themes(self):
            self.theme_problems.append(problem)
            self.notify(problem, severity="warning", timeout=8, markup=False)

    def on_unmount(self) -> None:
        self.board_screen.session.closing()  # (a screen's read waiting for a database that will not open now)
        self.presence.leave_at_exit()
        self.lanes.stop()  # the lanes finish their jobs, then close the board's connections
        # Wait for that: the board's seat is given up and its connections closed before the app is gone, whoever
        # runs it (run_board, a test, a host program). The writes lane is waited for until its queue is done (a rep
        # who quits right after a move, while the lane still opens the database, keeps the move: its thread is a
        # daemon, and a write cut off at exit would be rolled back without a word); the reads lane only briefly.
        self.lanes.writes.join(WRITES_AT_EXIT)
        self.lanes.reads.join(2.0)

    def _remember_theme(self, theme: Theme) -> None:
        from tuikanban.settings import remember

        problem = remember(theme=theme.name)
        if problem:
            self.notify(problem, severity="warning", timeout=8, markup=False)

    def get_default_screen(self) -> Screen[Any]:
        return self.board_screen

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(themes.APP_VARIABLES)

    def get_css_variables(self) -> dict[str, str]:
        variables = resolve_variables(super().get_css_variables())
        self.theme_variables = variables
        return variables

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, BoardScreen):
            seen: set[str] = set()
            for _title, bindings in BINDING_SECTIONS:
                for b in bindings:
                    if b.action in seen or b.action in ("quit",) or not (b.show or b.id in PALETTE_ALSO):
                        continue
                    seen.add(b.action)
                    yield SystemCommand(b.tooltip or b.description, f"Key: {key_label(b, self.board_keymap.keys)}",
                                        partial(screen.run_action, b.action))

    def action_quit_asking(self) -> None:
        from tuikanban.ui.dialogs.discard import quit_asking

        quit_asking(self)
