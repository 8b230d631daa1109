"""The dialog base (ui/dialogs/base.py): jobs on the write lane, typed results, refusals, and failures shown."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.pilot import Pilot

from tuikanban.domain.errors import DuplicateError
from tuikanban.ui.dialogs.base import Dialog, JobResult, Refusal
from tuikanban.ui.jobs import lanes_of


class Done(JobResult):
    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = value


class Refused(Refusal):
    pass


class Probe(Dialog[int | None]):
    def __init__(self) -> None:
        super().__init__()
        self.handled: list[str] = []

    def compose(self) -> ComposeResult:
        yield Vertical(classes="dialog")

    @on(Done)
    def _done(self, message: Done) -> None:
        self.handled.append(f"done {message.value}")

    @on(Refused)
    def _refused(self, message: Refused) -> None:
        self.handled.append(f"refused: {message.error}")


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.probe = Probe()
        self.reached_app: list[Message] = []
        self.notes: list[tuple[str, str]] = []

    def on_mount(self) -> None:
        self.push_screen(self.probe)

    @on(JobResult)
    def _reached(self, message: JobResult) -> None:  # only if a dialog's result bubbled up
        self.reached_app.append(message)

    def notify(self, message: str, *, severity: Any = "information", **kwargs: Any) -> None:
        self.notes.append((message, severity))


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(200):
        await pilot.pause(0.01)
        if lanes_of(pilot.app).pending == 0:
            return
    raise AssertionError("the jobs did not finish")


def duplicate() -> Message:
    raise DuplicateError("A pipeline named 'Sales' already exists.")


def broken() -> Message:
    raise ValueError("boom")


async def test_results_and_refusals_come_back_typed_in_order_and_stay_in_the_dialog() -> None:
    app = Host()
    async with app.run_test() as pilot:
        probe = app.probe
        probe.run_job(lambda: Done(1))
        probe.run_job(duplicate, refused=Refused)
        probe.run_job(lambda: Done(2))
        await settle(pilot)
        assert probe.handled == ["done 1", "refused: A pipeline named 'Sales' already exists.", "done 2"]
        assert app.reached_app == [] and app.notes == []


async def test_an_unexpected_failure_is_shown_and_frees_the_dialog() -> None:
    app = Host()
    async with app.run_test() as pilot:
        probe = app.probe
        probe.busy = True
        probe.run_job(duplicate)  # no `refused`: the refusal's own sentence, as a notification
        await settle(pilot)
        assert app.notes == [("A pipeline named 'Sales' already exists.", "error")]
        assert probe.busy is False
        probe.busy = True
        probe.run_job(broken, name="save")
        await settle(pilot)
        assert app.notes[-1] == ("Something went wrong: ValueError: boom", "error")
        assert probe.busy is False and probe.handled == []


async def test_a_result_for_a_dismissed_dialog_is_dropped() -> None:
    app = Host()
    async with app.run_test() as pilot:
        probe = app.probe
        probe.dismiss(None)
        await pilot.pause()
        probe.run_job(lambda: Done(3))
        await settle(pilot)
        assert probe.handled == [] and app.reached_app == []
