"""Command-line reads without the ORM: what `deal list` prints, without importing SQLAlchemy or SQLModel.

Why: a command that only reads would spend most of its time importing the ORM (docs/PERFORMANCE.md, Start-up
and Commands). The results are the same value types as the ORM reads (`store.queries.deal_views`,
`services.common.resolve_pipeline`), with the same refusals; tests compare the two on the same database.

Like `store.fastread` (whose connections this module uses: sqlite3, or psycopg through `store.fastread_pg`), only a
database of the known schema is read here; `connect` returns None for anything else and the caller takes the ORM
path, which creates, migrates or refuses the database with its own sentence.
"""

from __future__ import annotations

import os
from pathlib import Path

from tuikanban.domain.errors import NotFoundError, ValidationError
from tuikanban.domain.models import DealView, PipelineInfo
from tuikanban.domain.targets import Target, is_url, parse_target, sqlite_target
from tuikanban.domain.text import name_key
from tuikanban.store import fastread

ENV_DB = "TUIKANBAN_DB"
DELETED = "deleted"  # store.tables.DELETED, which imports the ORM

_DEAL_COLUMNS = (
    "id, pipeline_id, title, company, contact, value_minor, currency, owner, type_id, expected_close, notes, "
    "stage_id, status, lost_reason, created_at, stage_entered_at, closed_at, last_activity_at, rank, version, "
    "snoozed_until"
)


def db_file(path: Path | str | None) -> Path | None:
    """The file `store.engine.open_database(path)` opens: `path`, else TUIKANBAN_DB, else the user data folder;
    None for a PostgreSQL target (those reads go through the engine)."""
    chosen = path if path is not None else os.environ.get(ENV_DB) or None
    if chosen is not None:
        return None if is_url(str(chosen)) else Path(chosen).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tuikanban", appauthor=False)) / "tuikanban.db"


def target_of(path: Path | str | None) -> Target:
    """The target `store.engine.open_database(path)` opens: a PostgreSQL URL, or the file of `db_file`."""
    chosen = path if path is not None else os.environ.get(ENV_DB) or None
    if chosen is not None and is_url(str(chosen)):
        return parse_target(str(chosen))
    file = db_file(chosen)
    assert file is not None
    return sqlite_target(file)


def connect(path: Path | str | None) -> fastread.Connection | None:
    """A read-only connection to the database `path` names (a file, or PostgreSQL), if it is a tuikanban database
    of the known schema."""
    return fastread.connect_target(target_of(path))


def resolve_pipeline(con: fastread.Connection, ref: str | None) -> PipelineInfo:
    """A pipeline by case-insensitive name; None means the only one, or the default one (the refusals of
    `services.common.resolve_pipeline`)."""
    pipelines = fastread.list_pipelines(con)
    if ref is None or not str(ref).strip():
        if not pipelines:
            raise NotFoundError("There is no pipeline yet; create one with 'tuikanban pipeline create NAME'.")
        if len(pipelines) == 1:
            return pipelines[0]
        defaults = [p for p in pipelines if p.is_default]
        if defaults:
            return defaults[0]
        names = ", ".join(p.name for p in pipelines)
        raise ValidationError(f"There are several pipelines ({names}); choose one with -p.")
    key = name_key(str(ref))
    found = next((p for p in pipelines if name_key(p.name) == key), None)
    if found is None:
        names = ", ".join(p.name for p in pipelines)
        hint = f" (pipelines: {names})" if names else ""
        raise NotFoundError(f"There is no pipeline named '{ref}'{hint}.")
    return found


def deal_views(con: fastread.Connection, pipeline_id: int, status: str | None = "open") -> list[DealView]:
    """Deals of a pipeline (status None = every status but deleted) in board order: stage position, rank, id."""
    with fastread.snapshot(con):
        stages = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT id, name, position FROM stage WHERE pipeline_id = ?", (pipeline_id,))}
        types = dict(con.execute("SELECT id, name FROM deal_type WHERE pipeline_id = ?", (pipeline_id,)).fetchall())
        where, arg = ("status = ?", status) if status is not None else ("status != ?", DELETED)
        rows = con.execute(f"SELECT {_DEAL_COLUMNS} FROM deal WHERE pipeline_id = ? AND {where} "
                           "ORDER BY stage_id, rank, id", (pipeline_id, arg)).fetchall()
    instant, day = fastread._instant, fastread._day  # text on SQLite, datetime and date on PostgreSQL
    out = [
        DealView(
            id=r[0], pipeline_id=r[1], title=r[2], company=r[3], contact=r[4], value_minor=r[5], currency=r[6],
            owner=r[7], type_id=r[8], type_name=types.get(r[8]) if r[8] else None, expected_close=day(r[9]),
            notes=r[10], stage_id=r[11], stage_name=stages.get(r[11], ("?", 0))[0], status=r[12],
            lost_reason=r[13], created_at=instant(r[14]), stage_entered_at=instant(r[15]),  # type: ignore[arg-type]
            closed_at=instant(r[16]), last_activity_at=instant(r[17]), rank=r[18], version=r[19],
            snoozed_until=day(r[20]),
        )
        for r in rows
    ]
    out.sort(key=lambda d: (stages.get(d.stage_id, ("", 0))[1], d.rank, d.id))
    return out


__all__ = ["connect", "db_file", "deal_views", "resolve_pipeline", "target_of"]
