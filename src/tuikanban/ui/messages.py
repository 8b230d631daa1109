"""Messages the board posts to itself (results of database work done off the UI thread)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message


class JobDone(Message):
    """A database job finished on the board's database thread: its result or the exception it raised.

    The screen that submitted the job handles it on the UI thread by calling `on_done(result)` or
    `on_error(error)`.
    """

    def __init__(
        self,
        job_id: int,
        result: Any,
        error: BaseException | None,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.result = result
        self.error = error
        self.on_done = on_done
        self.on_error = on_error
