"""The UI's one worker style (ui/jobs.py): jobs run in order, results and failures come back as messages."""

from __future__ import annotations

import threading

import pytest
from textual import on
from textual.app import App
from textual.message import Message

from tuikanban.ui.jobs import JobFailed, Lane


class Counted(Message):
    def __init__(self, n: int, thread: str) -> None:
        super().__init__()
        self.n = n
        self.thread = thread


class JobsApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []
        self.failures: list[tuple[str, str]] = []
        self.threads: set[str] = set()

    @on(Counted)
    def counted(self, message: Counted) -> None:
        self.seen.append(message.n)
        self.threads.add(message.thread)

    @on(JobFailed)
    def failed(self, message: JobFailed) -> None:
        self.failures.append((message.job, str(message.error)))


def _job(n: int) -> Counted:
    return Counted(n, threading.current_thread().name)


def _boom() -> Message | None:
    raise ValueError("no such deal")


async def test_jobs_run_in_order_and_report_by_message() -> None:
    app = JobsApp()
    async with app.run_test() as pilot:
        lane = Lane("test-lane")
        for n in range(50):
            lane.submit(app, lambda n=n: _job(n))
        lane.submit(app, _boom, name="move")
        lane.submit(app, lambda: None)  # a job with nothing to report still settles
        for _ in range(200):
            if lane.pending == 0:
                break
            await pilot.pause(0.01)
        assert lane.pending == 0
        assert app.seen == list(range(50))
        assert app.threads == {"test-lane"}
        assert app.failures == [("move", "no such deal")]
        stopped = threading.Event()
        lane2 = Lane("stopping", on_stop=stopped.set)
        lane2.stop()
        lane2.join(2)
        assert stopped.is_set()
        lane.stop()
        lane.join(2)


async def test_a_lane_starts_its_thread_with_its_first_job() -> None:
    """The app makes its lanes before the first paint; their threads start with the first job (after it)."""

    def named(name: str) -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == name]

    app = JobsApp()
    async with app.run_test() as pilot:
        lane = Lane("idle-lane")
        assert named("idle-lane") == []
        lane.join(2)  # (nothing to wait for: returns at once)
        lane.submit(app, lambda: _job(1))
        for _ in range(200):
            if lane.pending == 0:
                break
            await pilot.pause(0.01)
        assert app.seen == [1] and app.threads == {"idle-lane"}
        lane.stop()
        lane.join(2)
        assert named("idle-lane") == []
        stopped = threading.Event()
        unused = Lane("unused-lane", on_stop=stopped.set)
        unused.stop()  # a lane never given a job still runs its on_stop (the connections are closed)
        unused.join(2)
        assert stopped.is_set() and named("unused-lane") == []


def test_background_steps_wait_while_screens_open(monkeypatch: pytest.MonkeyPatch) -> None:
    from tuikanban.ui import jobs

    clock = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds
        if held:  # screens opened one after the other
            jobs.screen_opening()

    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(jobs.time, "sleep", sleep)
    monkeypatch.setattr(jobs, "_last_screen", 0.0)
    monkeypatch.setattr(jobs, "_last_key", 0.0)  # (a key another test in this process pressed is not this one's)
    held = False
    jobs.step_aside()
    assert slept == []  # no screen lately: the work goes on at once
    jobs.screen_opening()
    jobs.step_aside()
    assert abs(sum(slept) - jobs.SCREEN_QUIET_S) < 0.03  # a screen just now: the step waits a moment
    slept.clear()
    clock[0] += 10
    held = True
    jobs.screen_opening()
    jobs.step_aside()
    assert abs(sum(slept) - jobs.STEP_ASIDE_AT_MOST_S) < 0.03  # never for good


def test_background_steps_wait_a_moment_after_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from tuikanban.ui import jobs

    clock = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(jobs.time, "sleep", sleep)
    monkeypatch.setattr(jobs, "_last_screen", 0.0)
    monkeypatch.setattr(jobs, "_last_key", 0.0)
    jobs.key_arrived()  # a key that opens no screen (a focus move): the work waits for its frame, not longer
    jobs.step_aside()
    assert abs(sum(slept) - jobs.KEY_QUIET_S) < 0.03
    slept.clear()
    clock[0] += 1
    jobs.step_aside()
    assert slept == []


async def test_an_early_job_goes_before_the_warm_up_but_never_before_another_job() -> None:
    from tuikanban.ui import jobs

    app = JobsApp()
    async with app.run_test() as pilot:
        lane = Lane("early-lane")
        release = threading.Event()
        inside: list[str] = []

        def warm() -> Message | None:  # warm-up work in steps, as `ui/board/warm.py`
            while not release.wait(0.01):
                jobs.step_aside()
            inside.append("warm")
            return None

        lane.submit(app, warm, kind=jobs.WARM)
        lane.submit(app, lambda: _job(1), kind=jobs.WARM)  # (the ORM's import, the opening)
        lane.submit(app, lambda: _job(2), kind=jobs.EARLY)  # a move: runs between two steps of `warm`
        for _ in range(300):
            if app.seen:
                break
            await pilot.pause(0.01)
        assert app.seen == [2] and inside == []
        lane.submit(app, lambda: _job(3))  # an ordinary job waits for the warm-up...
        lane.submit(app, lambda: _job(4), kind=jobs.EARLY)  # ...and an early one after it waits for it
        await pilot.pause(0.2)
        assert app.seen == [2]
        release.set()
        for _ in range(300):
            if lane.pending == 0:
                break
            await pilot.pause(0.01)
        assert app.seen == [2, 1, 3, 4] and inside == ["warm"]
        lane.stop()
        lane.join(2)


async def test_the_warm_up_does_not_step_aside_for_a_screen_whose_read_waits_behind_it() -> None:
    from tuikanban.ui import jobs

    app = JobsApp()
    async with app.run_test() as pilot:
        lane = Lane("waited-lane")
        queued = threading.Event()
        paused: list[float] = []

        def warm() -> Message | None:
            queued.wait(5)
            jobs.screen_opening()  # a screen opened just now...
            start = jobs.time.monotonic()
            jobs.step_aside()
            paused.append(jobs.time.monotonic() - start)
            return None

        lane.submit(app, warm, kind=jobs.WARM)
        lane.submit(app, lambda: _job(1))  # ...whose read comes after the warm-up
        queued.set()
        for _ in range(300):
            if lane.pending == 0:
                break
            await pilot.pause(0.01)
        assert app.seen == [1]
        assert paused and paused[0] < jobs.SCREEN_QUIET_S / 2  # (it would wait SCREEN_QUIET_S for the screen)
        lane.stop()
        lane.join(2)
