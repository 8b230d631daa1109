"""`copy`: move a whole board (every pipeline with its stages, types, deals, history, stays, activities, ticked
checklist items and each user's last review) from
one database to another, for example from an SQLite file to PostgreSQL when a team outgrows one host.

All or nothing: the source is read in one consistent read transaction and the target written in one write
transaction, so a failure leaves the target as it was. Ids are kept, so event references (undo) and everything
that names a deal by id stay true; on PostgreSQL the id sequences move past the copied ids in the same
transaction (store.pg). The target must hold no pipeline yet: a copy never merges boards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session

from tuikanban.domain.errors import DuplicateError, ValidationError
from tuikanban.store.engine import Database
from tuikanban.store.tables import Activity, Deal, DealCheck, DealType, Event, Pipeline, ReviewMark, Stage, Stay

# Parents before children (foreign keys). Every table a user's work lives in; not presence (who has the source
# open is not who has the copy open) nor tk_meta (facts about the database itself).
COPY_ORDER = (Pipeline, Stage, DealType, Deal, Event, Stay, Activity, DealCheck, ReviewMark)
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class CopyResult:
    source: str
    target: str
    rows: dict[str, int]


def _table(model: Any) -> Any:
    return model.__table__


def copy_board(source: Database, target: Database) -> CopyResult:
    """Copy every row of `source` into the empty `target` in one transaction; returns rows per table."""
    if str(source.target) == str(target.target) and source.target.query == target.target.query:
        raise ValidationError(f"The source and the target are the same database ({target.target}).")
    with source.read() as s:
        conn = s.connection()
        data = {_table(m).name: [dict(r._mapping) for r in conn.execute(select(_table(m)).order_by(
            _table(m).c.id))] for m in COPY_ORDER}

    def write(session: Session) -> None:
        conn = session.connection()
        if conn.execute(select(func.count()).select_from(_table(Pipeline))).scalar():
            raise DuplicateError(f"The database {target.target} already holds pipelines; copy into an empty "
                                 "database (a copy never merges boards). Nothing was changed.")
        for model in COPY_ORDER:
            rows = data[_table(model).name]
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(_table(model)), rows[start:start + CHUNK])

    target.write(write)
    target.analyze(_table(m).name for m in COPY_ORDER)  # (PostgreSQL: statistics for the rows just copied)
    return CopyResult(source=str(source.target), target=str(target.target),
                      rows={name: len(rows) for name, rows in data.items()})


__all__ = ["COPY_ORDER", "CopyResult", "copy_board"]
