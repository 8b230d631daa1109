"""Errors a user can cause. Each carries one clear sentence; the CLI and the board show it as is."""

from __future__ import annotations


class TuikanbanError(Exception):
    """Base class: the message is one sentence meant for the user."""


class ValidationError(TuikanbanError):
    """Bad input: a name, a number, a date or money that cannot be used."""


class TaskDoneError(ValidationError):
    """A task finished (or snoozed) that someone finished meanwhile; `deal_id` is its deal."""

    def __init__(self, message: str, *, deal_id: int) -> None:
        super().__init__(message)
        self.deal_id = deal_id


class NotFoundError(TuikanbanError):
    """A pipeline, stage, deal type or deal that does not exist."""


class DuplicateError(TuikanbanError):
    """A name that is already taken."""


class WipLimitError(TuikanbanError):
    """A move or create refused because the target stage (or owner) is at its WIP limit."""

    def __init__(self, message: str, *, stage: str, count: int, limit: int, per_owner: bool = False,
                 batch: int | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.count = count
        self.limit = limit
        self.per_owner = per_owner
        self.batch = batch  # a bulk action: how many deals it would act on (the marked ones others left alone)


class StaleEditError(TuikanbanError):
    """An edit based on a version of the deal that someone else has changed since."""


class StaleMoveError(StaleEditError):
    """A move, reorder, close or reopen of a deal that someone else moved or closed since the user saw it."""

    def __init__(self, message: str, *, deal_id: int) -> None:
        super().__init__(message)
        self.deal_id = deal_id


class DatabaseError(TuikanbanError):
    """The database file cannot be used: not ours, damaged, locked, read-only, newer, full."""


class ReadOnlyError(DatabaseError):
    """The database is open read-only, so nothing can be changed."""


class FileReplacedError(ReadOnlyError):
    """A write refused because the file at the database's path is no longer the file it opened (deleted, moved away
    or replaced); nothing was written."""


class GateError(TuikanbanError):
    """A move, create or reopen refused because the target stage requires fields the deal lacks."""

    def __init__(self, message: str, *, stage: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.stage = stage
        self.missing = missing
