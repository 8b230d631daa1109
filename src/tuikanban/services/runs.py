"""When the scheduled jobs the README suggests (`digest`, `backup`) last ran: one `tk_meta` row each
(`last_digest`, `last_backup`, an ISO time), written by the commands and reported by `doctor`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from tuikanban.domain import clock
from tuikanban.domain.errors import DatabaseError
from tuikanban.store.engine import Database
from tuikanban.store.tables import Meta

# job -> how old its last run may be before doctor mentions it (a daily backup, a weekly digest, with slack)
DUE = {"backup": timedelta(days=2), "digest": timedelta(days=8)}


def _key(job: str) -> str:
    return f"last_{job}"


def record_run(db: Database, job: str, at: datetime | None = None) -> bool:
    """Remember that `job` ran now; False when the database cannot be written (read-only): the job itself still
    did its work, so nothing is said."""
    when = (clock.as_utc(at) if at is not None else clock.now()).isoformat()

    def work(s: Session) -> None:
        s.merge(Meta(key=_key(job), value=when))

    try:
        db.write(work)
    except DatabaseError:
        return False
    return True


def last_runs(db: Database) -> dict[str, datetime | None]:
    with db.read() as s:
        out: dict[str, datetime | None] = {}
        for job in DUE:
            row = s.get(Meta, _key(job))
            out[job] = clock.as_utc(datetime.fromisoformat(row.value)) if row is not None and row.value else None
        return out


def overdue(runs: dict[str, datetime | None], now: datetime) -> list[str]:
    """The jobs that never ran or ran longer ago than `DUE` allows."""
    return [job for job, at in runs.items() if at is None or now - at > DUE[job]]


def describe(runs: dict[str, datetime | None]) -> str:
    parts = [f"last {job}: {'never' if at is None else f'{at:%Y-%m-%d %H:%M} UTC'}" for job, at in runs.items()]
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


__all__ = ["DUE", "describe", "last_runs", "overdue", "record_run"]
