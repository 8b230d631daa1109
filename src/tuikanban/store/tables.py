"""SQLModel tables. Timestamps are aware UTC; money is integer minor units plus an ISO currency code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Text, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from tuikanban.store.version import SCHEMA_VERSION


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC; always returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself: the schema version and the application marker."""

    __tablename__ = "tk_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="")


class Pipeline(SQLModel, table=True):
    __tablename__ = "pipeline"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    name_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    currency: str = Field(default="USD", max_length=3)
    target_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    stale_days: int = Field(default=10)
    lost_reasons: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    is_default: bool = Field(default=False)
    created_at: datetime = _ts()
    # whether open deals without an open task carry the no_next_step risk signal (schema 5)
    next_step_signal: bool = Field(default=True)


class Stage(SQLModel, table=True):
    __tablename__ = "stage"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "name_key"),
        Index("ix_stage_pipeline_pos", "pipeline_id", "position"),
    )
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    name: str = Field(sa_column=Column(String(200), nullable=False))
    name_key: str = Field(sa_column=Column(String(200), nullable=False))
    position: int = Field(default=0)
    wip_max: int | None = None
    wip_min: int | None = None
    rep_wip_max: int | None = None
    expected_days: int | None = None
    probability: int = Field(default=0)
    exit_criteria: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    archived: bool = Field(default=False)
    # Stage gates (schema 4): fields a deal needs before it enters (comma-separated, see services.gates) and the
    # exit-criteria checklist, one item a line.
    required: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))
    checklist: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))


class DealType(SQLModel, table=True):
    __tablename__ = "deal_type"
    __table_args__ = (UniqueConstraint("pipeline_id", "name_key"),)
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    name: str = Field(sa_column=Column(String(200), nullable=False))
    name_key: str = Field(sa_column=Column(String(200), nullable=False))
    position: int = Field(default=0)
    archived: bool = Field(default=False)  # no longer offered nor a swimlane; deals keep it (schema 5)


class Deal(SQLModel, table=True):
    __tablename__ = "deal"
    __table_args__ = (
        Index("ix_deal_board", "pipeline_id", "status", "stage_id", "rank"),
        Index("ix_deal_closed", "pipeline_id", "status", "closed_at"),
        # The Today queue walks open deals by the time they entered their stage (schema 5).
        Index("ix_deal_waiting", "stage_entered_at"),
        # The board's cells (schema 7): each (stage, type) cell's first cards in rank order, and every cell's
        # count and sum, read from the index alone (docs/PERFORMANCE.md, The board at 100,000 deals).
        Index("ix_deal_cells", "pipeline_id", "status", "stage_id", "type_id", "rank", "currency", "value_minor",
              "snoozed_until"),
    )
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    title: str = Field(sa_column=Column(Text, nullable=False))
    company: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    contact: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    value_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    currency: str = Field(default="USD", max_length=3)
    owner: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    type_id: int | None = Field(default=None, foreign_key="deal_type.id")
    expected_close: date | None = None
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    stage_id: int = Field(foreign_key="stage.id")
    status: str = Field(default="open", max_length=8)
    lost_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()
    stage_entered_at: datetime = _ts()
    closed_at: datetime | None = _ts(nullable=True)
    last_activity_at: datetime | None = _ts(nullable=True)
    rank: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    version: int = Field(default=1)
    # Off the board, the aging signals and the Today queue before this date; back by itself on it (schema 5).
    snoozed_until: date | None = None


# Every event but a value change (an edit, undo or redo of the value): the predicate of ix_event_deal_state, spelled
# the same in the queries that read it (SQLite uses a partial index only for a term written as its predicate).
NOT_VALUE_CHANGE = "field IS NULL OR field != 'value' OR kind NOT IN ('edit', 'undo', 'redo')"


class Event(SQLModel, table=True):
    """The append-only event log. `kind` is one of EVENT_KINDS.

    The partial indexes name their predicate for SQLite only: store.pgddl gives PostgreSQL the same predicate when
    the PostgreSQL engine is set up (naming `postgresql_where` here imported SQLAlchemy's PostgreSQL dialect into
    every process, SQLite boards' too)."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_deal", "deal_id", "id"),
        Index("ix_event_pipeline_at", "pipeline_id", "at"),
        # Aging: the latest event per deal (index-only) and the close-date edits (a small partial index).
        Index("ix_event_deal_at", "deal_id", "at"),
        Index("ix_event_close_edit", "deal_id", "old_value", "new_value",
              sqlite_where=text("kind = 'edit' AND field = 'close'")),
        # close_pushed: the undo and redo of close-date edits (a push undone no longer counts; schema 8).
        Index("ix_event_close_undo", "deal_id", "kind", "old_value", "new_value",
              sqlite_where=text("kind IN ('undo', 'redo') AND field = 'close'")),
        # (ix_event_review, schema 4's covering index of the whole log per pipeline and time, was dropped in schema
        # 12: every read it served is served as fast by the partial indexes below.)
        # The forecast's backtest: each deal's events other than value changes, in time order, read from the index
        # alone for the few deals that can count at a past point (services.forecast_backtest; schema 9).
        Index("ix_event_deal_state", "deal_id", "at", "kind", "field", "from_stage_id", "to_stage_id", "old_value",
              "new_value", "pipeline_id", sqlite_where=text(NOT_VALUE_CHANGE)),
        # The review's reads (services.review_core, schema 10): the period's events but value changes, read from a
        # covering range (40 % of the log), each deal's value changes after a moment, and the period's new deals.
        Index("ix_event_review_slim", "pipeline_id", "at", "kind", "field", "deal_id", "from_stage_id",
              "to_stage_id", "old_value", "new_value",
              sqlite_where=text("field IS NULL OR field != 'value'")),
        Index("ix_event_value", "deal_id", "at", "pipeline_id", "kind", "field", "old_value", "new_value",
              sqlite_where=text("field = 'value'")),
        Index("ix_event_create", "pipeline_id", "at", "kind", "deal_id", "to_stage_id",
              sqlite_where=text("kind = 'create'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    deal_id: int | None = Field(default=None, foreign_key="deal.id")
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    at: datetime = _ts()
    user: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    from_stage_id: int | None = None
    to_stage_id: int | None = None
    field: str | None = Field(default=None, max_length=32)
    old_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    new_value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ref_id: int | None = None  # for undo: the event it reverses


class Stay(SQLModel, table=True):
    """One deal's stay in one stage: written in the same transaction as the event that starts or ends it.

    `outcome` is set when the stay ends: advanced (to a later stage or won) or dropped (lost or moved back).
    """

    __tablename__ = "stay"
    __table_args__ = (
        # Covering: stage baselines and per-stage metrics read stays by stage and end time without table lookups.
        Index("ix_stay_stage_span", "stage_id", "left_at", "entered_at", "outcome"),
        Index("ix_stay_pipeline_left", "pipeline_id", "left_at"),
        Index("ix_stay_deal", "deal_id", "entered_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    deal_id: int = Field(foreign_key="deal.id")
    stage_id: int = Field(foreign_key="stage.id")
    entered_at: datetime = _ts()
    left_at: datetime | None = _ts(nullable=True)
    outcome: str | None = Field(default=None, max_length=10)


class Activity(SQLModel, table=True):
    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_deal", "deal_id", "at"),
        # Next steps and the Today queue read only open tasks: a small partial index (schema 5).
        Index("ix_activity_open_task", "deal_id", "due", sqlite_where=text("kind = 'task' AND done = 0")),
    )
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id")
    pipeline_id: int = Field(foreign_key="pipeline.id")
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    at: datetime = _ts()
    user: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    due: date | None = None
    done: bool = Field(default=False)


class Presence(SQLModel, table=True):
    """Who has a board open now: one row per open board, kept fresh by heartbeats.

    Not part of the history: rows are deleted when a board closes or stops beating (a board killed with -9
    leaves a row that expires). No foreign keys, so a deleted deal never blocks a heartbeat."""

    __tablename__ = "presence"
    token: str = Field(primary_key=True, max_length=36)
    user: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    host: str = Field(default="", sa_column=Column(String(255), nullable=False, default=""))
    pid: int = Field(default=0)
    since: datetime = _ts()
    seen: datetime = _ts(index=True)
    viewing: int | None = None
    editing: int | None = None


class ReviewMark(SQLModel, table=True):
    """When each user last reviewed each pipeline's changes (schema 4): what `--since last-review` reads."""

    __tablename__ = "review_mark"
    __table_args__ = (UniqueConstraint("pipeline_id", "user"),)
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = Field(foreign_key="pipeline.id")
    user: str = Field(sa_column=Column(String(200), nullable=False))
    at: datetime = _ts()


class DealCheck(SQLModel, table=True):
    """A ticked exit-criteria item of one deal in one stage (schema 4); unticking deletes the row."""

    __tablename__ = "deal_check"
    __table_args__ = (UniqueConstraint("deal_id", "stage_id", "item"),)
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id")
    stage_id: int = Field(foreign_key="stage.id")
    item: str = Field(sa_column=Column(Text, nullable=False))
    user: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    at: datetime = _ts()


EVENT_KINDS = (
    "create", "move", "reorder", "won", "lost", "reopen", "edit", "wip_override", "undo", "activity",
    "snoozed", "woken", "deleted", "restored", "task", "gate_override", "check", "redo", "undo_skipped",
)
ACTIVITY_KINDS = ("call", "email", "meeting", "note", "task")
STATUSES = ("open", "won", "lost")
# A deal deleted by mistake keeps its rows with this status, so `deal restore` can bring it back; every read
# that filters on open, won or lost leaves it out.
DELETED = "deleted"

__all__ = [
    "ACTIVITY_KINDS", "DELETED", "EVENT_KINDS", "NOT_VALUE_CHANGE", "SCHEMA_VERSION", "STATUSES", "Activity", "Deal",
    "DealCheck", "DealType", "Event", "Meta", "Pipeline", "Presence", "ReviewMark", "Stage", "Stay", "UTCDateTime",
]
