"""Screens built before their key: composed and mounted in idle time, so that the key only shows them.

Opening a screen cost 35-90 ms of the UI thread's CPU on a quiet machine (the forms and settings the most),
nearly all of it Textual composing, mounting and styling the screen's widgets (docs/PERFORMANCE.md, Every screen
opens at once). `Spares` builds one fresh instance of each screen the board's keys open while the board is idle
(no key for IDLE_S, no screen over the board), one screen at a time, one after another while it stays idle, and
the key takes it:

- The first ones are built as soon as they are wanted (the screens' modules imported, before the database has
  opened) unless a key came in the last IDLE_S; those wanted `later` (the board's less used screens) once the
  board is in use and has settled: a key has been pressed, the first ones are built, no job of the app's lanes
  is left, and no key or screen change came for SETTLED_S (or at once when a screen has been shown over the
  board), one right after the other. Their first open then finds them built whether or not another screen was
  opened before; a board only looked at (a wall display) builds none of them and stays quiet (docs/PERFORMANCE.md,
  Settled with its spares).
- A build runs in steps (compose and mount, then the layout), and a step starts only when no key came in the last
  IDLE_S: a key pressed during a build waits for the step under way, and what it shows is drawn before the next.
- A spare is a new instance, never shown before: nothing typed into an earlier form, no scroll position, no read
  result can be in it. Its reads start when it is taken (`AheadOfKey.start`, which a screen's `on_mount` runs
  itself when the screen was not built ahead), so what it shows is read at the key, as before. Once shown it is
  an ordinary screen: its dismissal removes it (Textual removes a screen that is not installed when it is popped),
  and the next spare is built in the next idle moment.
- A spare is kept for a `key` (what its widgets were composed from: the pipeline, the user, the theme, the
  terminal's width where the layout depends on it); a spare whose key no longer matches is removed, and the key
  composes a screen at once, as before.
- The help is the same for the whole run (the keymap is read at start): it is built once and shown again at every
  `?` (`keep=True`), scrolled back to its top.
- A widget of the board can be built ahead too (`want_widget`: the aging panel): mounted hidden into its parent,
  and ready only once its mount, with every widget its compose made, has completed. `take_widget` gives it, shown;
  a key that comes while it is still mounting waits for that mount (never a half-mounted widget, whose inner
  widgets are not there yet), and a key that finds none composes its own, as before.

Textual's public API starts a screen only when it is pushed; `textual_seam.build_screen` starts one without showing
it. Nothing here touches the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from textual.app import App
from textual.screen import Screen
from textual.widget import Widget

from tuikanban.ui.textual_seam import build_screen, lay_out

IDLE_S = 0.25  # no key and no screen change for this long: a spare may be built
SETTLED_S = 0.25  # ... and for this long, with no job left on the lanes: the board has settled (the `later` ones)
POLL_S = 0.05  # while the lanes still work: when to look again
NEXT_S = 0.005  # between two steps of the builds (a key pressed meanwhile goes first: it waits for one step at most)


class AheadOfKey:
    """Mixed into a screen that `Spares` may build before its key. Its `on_mount` sets up the widgets and calls
    `start_unless_ahead()`; what the opening reads is in `start()`, which runs when the screen is taken (or at
    once, for a screen made at its key)."""

    built_ahead = False
    taken = False  # (a screen built ahead: its key took it)

    def start(self) -> None:
        """What opening the screen starts (its reads), at the key."""

    def start_unless_ahead(self) -> None:
        if not self.built_ahead:
            self.start()

    def built_while_closing(self) -> bool:
        """True in the `on_mount` of a screen built ahead while the app closed: its widgets were not composed."""
        app = getattr(self, "app", None)
        return self.built_ahead and (app is None or not app.is_running)


def waiting_for_key(screen: object) -> bool:
    """True for a screen built ahead of its key and not taken yet: a widget in it reads nothing and tells nobody it
    is shown (`HereLine`) until its screen's `start()`."""
    return isinstance(screen, AheadOfKey) and screen.built_ahead and not screen.taken


class _Wanted(NamedTuple):
    key: Hashable
    make: Callable[[], Any]  # a Screen, or (with `into`) a Widget
    keep: bool
    later: bool
    into: Callable[[], Widget] | None = None  # (a widget spare: the parent it is mounted into, hidden)


class _Spare(NamedTuple):
    key: Hashable
    screen: Widget  # (a Screen, or a widget spare)
    keep: bool


class Spares:
    """The app's spare screens, by name (`want`, `take`)."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.ready: dict[str, _Spare] = {}
        self._wanted: dict[str, _Wanted] = {}
        self._busy_until = 0.0
        self._building: tuple[str, Widget] | None = None
        self._built = asyncio.Event()  # (set whenever no build is under way: a widget's key waits for its mount)
        self._built.set()
        self._scheduled = False
        self._screen_shown = False  # (a screen was shown over the board: the spares wanted `later` are built too)
        self._last_touch = 0.0
        self._in_use = False  # (a key was pressed: the spares wanted `later` are built once the board has settled)

    def touch(self, *, key: bool = False) -> None:
        """A key (`key`) or a screen change: nothing is built for IDLE_S."""
        self._last_touch = time.monotonic()
        self._busy_until = self._last_touch + IDLE_S
        if key and not self._in_use:
            self._in_use = True
            self._schedule()  # (the `later` ones, once the board has settled)

    def key_arrived(self) -> None:
        """A key came and the app has not handled it yet (called on the terminal's input thread): no build step
        starts before it (`touch` follows when the app handles the key)."""
        self._busy_until = max(self._busy_until, time.monotonic() + IDLE_S)

    def screen_shown(self) -> None:
        """A screen was shown over the board: from now on the spares wanted `later` are built too (in idle time)."""
        self._screen_shown = True

    def want(self, name: str, key: Hashable, make: Callable[[], Screen[Any]], *, keep: bool = False,
             later: bool = False) -> None:
        """Have a spare `name` built from `make()` in idle time, for `key` (one that is ready for another key is
        removed now); `later`: only once the board is in use (a key) and has settled (`settled_in`), or a screen
        was shown over it."""
        self._want(name, _Wanted(key, make, keep, later))

    def _want(self, name: str, wanted: _Wanted) -> None:
        ready = self.ready.get(name)
        if ready is not None and ready.key != wanted.key:
            self._drop(name)
        if name in self.ready or (self._building is not None and self._building[0] == name):
            self._wanted.pop(name, None)
        else:
            self._wanted[name] = wanted
        self._schedule()

    def want_widget(self, name: str, key: Hashable, make: Callable[[], Widget], into: Callable[[], Widget], *,
                    later: bool = False) -> None:
        """Have a widget `name` made by `make()` mounted hidden into `into()` in idle time, for `key`; `take_widget`
        shows it. The caller wants it only while no widget of its kind is shown (their ids are the same)."""
        self._want(name, _Wanted(key, make, False, later, into))

    async def take_widget(self, name: str, key: Hashable) -> Widget | None:
        """The widget spare `name` built for `key`, mounted (every widget its compose made included) and shown, or
        None: the key composes its own. One still mounting is waited for, not taken half-mounted."""
        if self._building is not None and self._building[0] == name:
            await self._built.wait()
        ready = self.ready.get(name)
        if ready is None:
            return None
        del self.ready[name]
        widget = ready.screen
        if ready.key != key or not widget.is_mounted or not widget.is_attached:
            if widget.is_attached:
                await widget.remove()  # (gone before the key mounts its own, with the same id)
            return None
        widget.display = True
        return widget

    def take(self, name: str, key: Hashable, fit: Callable[[Any], None] | None = None) -> Screen[Any] | None:
        """The spare `name` built for `key`, ready to push, or None: the key makes its screen. `fit(screen)` gives it
        what the key knows (the database, the deal, the focused stage), then its `start()` runs."""
        ready = self.ready.get(name)
        if ready is None or ready.screen in self.app.screen_stack or not isinstance(ready.screen, Screen):
            return None
        if ready.key != key or not ready.screen.is_running:
            self._drop(name)
            return None
        screen: Screen[Any] = ready.screen
        if not ready.keep:
            del self.ready[name]
            self.app.uninstall_screen(screen)  # (popped, Textual removes it: one open per spare)
        if fit is not None:
            fit(screen)
        if isinstance(screen, AheadOfKey):
            screen.taken = True
            screen.start()
        return screen

    def screens(self) -> list[Widget]:
        """The spares ready, and the one being built (screens, and widgets mounted hidden)."""
        building = [self._building[1]] if self._building is not None else []
        return [spare.screen for spare in self.ready.values()] + building

    def _drop(self, name: str) -> None:
        spare = self.ready.pop(name, None)
        if spare is not None and spare.screen not in self.app.screen_stack:
            self._let_go(spare.screen)

    def _let_go(self, screen: Widget) -> None:
        if isinstance(screen, Screen):
            self.app.uninstall_screen(screen)
        if screen.is_attached:
            screen.remove()

    def _idle_in(self) -> float:
        """Seconds until the board has been idle for IDLE_S (0: it is now)."""
        return max(0.0, self._busy_until - time.monotonic())

    def settled_in(self) -> float:
        """Seconds until the board counts as settled for the `later` spares (0: it has): no job on the app's
        lanes, the first spares built, and no key or screen change for SETTLED_S. They are then built one right
        after the other (each step still after the keys that came meanwhile), so that the board's work after
        start ends in one stretch rather than in later wake-ups."""
        lanes = getattr(self.app, "lanes", None)
        if (lanes is not None and lanes.pending) or self._building is not None or any(
                not w.later for w in self._wanted.values()):
            return POLL_S  # (asked again then)
        return max(0.0, self._last_touch + SETTLED_S - time.monotonic())

    def _schedule(self, delay: float | None = None) -> None:
        """Build the next spare after `delay`, or as soon as the board is idle (at once when no key came lately:
        right after the database opened, the first build need not wait IDLE_S more); only `later` spares left:
        once the board has settled."""
        if self._scheduled or not self._wanted:
            return
        wait = self._idle_in() if delay is None else delay
        if self._next() is None:
            if not (self._in_use or self._screen_shown):
                return  # (only `later` ones wanted: the first key asks again)
            wait = max(wait, self.settled_in())
        self._scheduled = True
        self.app.set_timer(max(NEXT_S, wait), self._build_next)

    def _next(self) -> str | None:
        """The spare to build next: the first wanted, but those wanted `later` only once the board is in use and
        has settled, or a screen was shown."""
        first = next((name for name, w in self._wanted.items() if not w.later), None)
        if first is not None or not self._wanted:
            return first
        ready = self._screen_shown or (self._in_use and self.settled_in() == 0)
        return next(iter(self._wanted)) if ready else None

    async def _until_idle(self, screen: Screen[Any]) -> None:
        """Between two steps of a build: a key that came meanwhile, and what it shows, go first."""
        await asyncio.sleep(NEXT_S)
        while (wait := self._idle_in()) > 0 and screen.is_running and self.app.is_running:
            await asyncio.sleep(wait + NEXT_S)

    async def _build_next(self) -> None:
        self._scheduled = False
        if not self.app.is_running or self.app.return_code is not None or self._building:
            return  # (the app is quitting, or a build is under way)
        name = self._next()
        if name is None:
            self._schedule()  # (only `later` spares left: once the board has settled)
            return
        if len(self.app.screen_stack) > 1:
            return  # a screen is open: the board asks again when it is shown (`want`)
        if self._idle_in() > 0:
            self._schedule()  # a key was just pressed
            return
        wanted = self._wanted.pop(name)
        key, keep = wanted.key, wanted.keep
        if wanted.into is not None:
            await self._mount_hidden(name, wanted, wanted.into)
            return
        screen = wanted.make()
        if isinstance(screen, AheadOfKey):
            screen.built_ahead = True
        self.app.install_screen(screen, f"spare-{name}-{id(screen)}")
        self._building = (name, screen)
        try:
            # In steps (compose and mount, then the layout), each after the keys that came before it: a key pressed
            # during a build waits for the step under way, not for the whole build.
            await build_screen(self.app, screen)
            await self._until_idle(screen)  # (its widgets handle what mounting sent them: their layout requests)
            if screen.is_running:
                lay_out(screen, self.app.size)  # (its first showing draws it with no layout on the key's path)
        finally:
            self._building = None
        if not screen.is_running:
            self._let_go(screen)
            return
        self.ready[name] = _Spare(key, screen, keep)
        self._schedule(NEXT_S)  # (the next one right after, while still idle: the board is busy for less long)

    async def _mount_hidden(self, name: str, wanted: _Wanted, into: Callable[[], Widget]) -> None:
        """A widget spare: mounted hidden into its parent, in one step; ready once its mount (and so the mount of
        every widget its compose made, and their `on_mount`) has completed."""
        widget = wanted.make()
        widget.display = False
        self._building = (name, widget)
        self._built.clear()
        try:
            parent = into()
            # (not beside one shown, or one still being removed, with the same id: its closing wants one again)
            if parent.is_attached and not any(widget.id is not None and child.id == widget.id
                                              for child in parent.children):
                await parent.mount(widget)
        finally:
            self._building = None
            self._built.set()
        if not widget.is_mounted or not self.app.is_running:
            self._let_go(widget)
            return
        self.ready[name] = _Spare(wanted.key, widget, False)
        self._schedule(NEXT_S)


__all__ = ["IDLE_S", "SETTLED_S", "AheadOfKey", "Spares", "waiting_for_key"]
