"""The board's read path in plain sqlite3: what the board paints, without importing SQLAlchemy or SQLModel.

Why: `import sqlmodel` costs about 0.3-0.45 s, longer than a bare Textual app takes to paint (docs/PERFORMANCE.md,
Start-up). The board reads its first screen through this module and imports the ORM (for writes) only after the
first paint. The results are the same value types as `tuikanban.services.board.load_board` (a test compares the
two on the same database), so nothing above the store can tell which path produced them.

Only reads live here, and only of a database whose schema this module knows (`probe`); anything else (a new
file, an older or newer schema, a file that is not ours) goes through `store.engine.open_database`, which
creates, migrates or refuses it with a clear sentence.

The SQL is portable: on PostgreSQL the same functions run on a `store.fastread_pg.PgConnection` (psycopg
directly, still no ORM); `first_read` and `connect_target` pick the engine from the target.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

from tuikanban.domain import clock
from tuikanban.domain.errors import DatabaseError, NotFoundError
from tuikanban.domain.models import DealTypeInfo, DealView, PipelineInfo, StageInfo
from tuikanban.domain.targets import Target, sqlite_target
from tuikanban.domain.text import name_key
from tuikanban.store.version import SCHEMA_VERSION
from tuikanban.store.walowner import foreign_log, read_header

# The schema this reader understands (a test reads a fresh database both ways and compares).
FAST_SCHEMA = SCHEMA_VERSION
APP_MARKER = "tuikanban"
BUSY_TIMEOUT_S = 5.0

_CARD_COLUMNS = (
    "id, pipeline_id, title, company, contact, value_minor, currency, owner, type_id, expected_close, stage_id, "
    "status, rank, stage_entered_at, version, snoozed_until, last_activity_at"
)
# Snoozed deals are off the board's default view until their date (store.queries.awake says the same in Core).
_AWAKE = "AND (snoozed_until IS NULL OR snoozed_until <= ?)"


class Connection(Protocol):
    """What fastread needs of a connection: sqlite3's (or store.fastread_pg's PgConnection on PostgreSQL)."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def close(self) -> None: ...


def _uri(path: Path, **params: str) -> str:
    uri = "file:" + quote(str(path.absolute()), safe="/")
    if params:
        uri += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return uri


def connect(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to an existing tuikanban database of the known schema, else None.

    None means "use the full path" (open_database): no file, an empty file, not ours, another schema version,
    or a file that cannot be read this way. Nothing is ever written to the file from here.
    """
    try:
        header = read_header(path)  # (never closes a descriptor SQLite holds locks through)
    except OSError:
        return None
    if not header.startswith(b"SQLite format 3\x00"):
        return None
    is_wal = len(header) >= 20 and header[18] == 2 and header[19] == 2
    side_files = Path(f"{path}-wal").exists() or Path(f"{path}-shm").exists()
    if side_files and foreign_log(path) is not None:
        return None  # the log beside it is another file's: open_database says so in a sentence
    # A WAL database nobody has open has no -wal/-shm; a plain read-only open would fail to create them.
    params = {"mode": "ro", "immutable": "1"} if is_wal and not side_files else {"mode": "ro"}
    try:
        con = sqlite3.connect(_uri(path, **params), uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                              check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        if not probe(con):
            con.close()
            return None
    except sqlite3.Error:
        con.close()
        return None
    return con


def connect_live(path: Path) -> sqlite3.Connection:
    """A read-only connection for the board's background reads once the database is open (WAL files exist).

    A rep who cannot write to the folder cannot create the -shm file reading the log needs; where there is none,
    the file is read as it is (immutable), as the board's database itself is then (store.engine)."""
    folder = path.absolute().parent
    shut_out = not os.access(folder, os.W_OK | os.X_OK) and not Path(f"{path}-shm").exists()
    params = {"mode": "ro", "immutable": "1"} if shut_out else {"mode": "ro"}
    return sqlite3.connect(_uri(path, **params), uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           check_same_thread=False)


def probe(con: Connection) -> bool:
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "tk_meta" not in names:
        return False
    meta = dict(con.execute("SELECT key, value FROM tk_meta").fetchall())
    return meta.get("app") == APP_MARKER and meta.get("schema_version") == str(FAST_SCHEMA)


def meta_value(con: sqlite3.Connection, key: str) -> str | None:
    """One `tk_meta` value (None when it is not set)."""
    row = con.execute("SELECT value FROM tk_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def writable(path: Path) -> bool:
    """Whether open_database would open the file for writing (the same test it makes)."""
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    return not (path.exists() and not os.access(path, os.W_OK))


@contextmanager
def snapshot(con: Connection) -> Iterator[Connection]:
    """One read transaction: every query inside sees the same committed state (REPEATABLE READ READ ONLY on
    PostgreSQL, whose connection names its own BEGIN)."""
    con.execute(getattr(con, "begin_sql", "BEGIN"))
    try:
        yield con
    finally:
        con.execute("COMMIT")


# -- conversions ------------------------------------------------------------------------------------------------


def _instant(raw: Any) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        value = raw
    else:
        text = str(raw).strip()
        if not text:
            return None
        value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(raw: Any) -> date | None:
    """A DATE column: ISO text on SQLite, a date on PostgreSQL."""
    if raw is None or raw == "":
        return None
    return raw if isinstance(raw, date) else date.fromisoformat(raw[:10])


def _pipeline(r: Any) -> PipelineInfo:
    reasons = tuple(x for x in (r[5] or "").split("\n") if x.strip())
    return PipelineInfo(int(r[0]), r[1], r[2], r[3], int(r[4]), reasons, bool(r[6]), bool(r[7]))


_PIPELINE_SQL = ("SELECT id, name, currency, target_minor, stale_days, lost_reasons, is_default, next_step_signal "
                 "FROM pipeline")


def list_pipelines(con: Connection) -> list[PipelineInfo]:
    return [_pipeline(r) for r in con.execute(f"{_PIPELINE_SQL} ORDER BY id")]


def find_pipeline(con: Connection, name: str) -> PipelineInfo | None:
    key = name_key(name)
    return next((p for p in list_pipelines(con) if name_key(p.name) == key), None)


def resolve_pipeline(con: Connection, ref: str | int | None) -> tuple[PipelineInfo | None, bool]:
    """(pipeline, ambiguous): like services.common.resolve_pipeline, but with several pipelines and no default
    it returns the first and ambiguous=True instead of refusing (the board then offers the switcher).
    (None, False) when there is no pipeline at all."""
    if isinstance(ref, int):
        row = con.execute(f"{_PIPELINE_SQL} WHERE id = ?", (ref,)).fetchone()
        if row is None:
            raise NotFoundError(f"There is no pipeline with id {ref}.")
        return _pipeline(row), False
    pipelines = list_pipelines(con)
    if ref is None or not str(ref).strip():
        if not pipelines:
            return None, False
        if len(pipelines) == 1:
            return pipelines[0], False
        defaults = [p for p in pipelines if p.is_default]
        if defaults:
            return defaults[0], False
        return pipelines[0], True
    key = name_key(str(ref))
    for p in pipelines:
        if name_key(p.name) == key:
            return p, False
    names = ", ".join(p.name for p in pipelines)
    hint = f" (pipelines: {names})" if names else ""
    raise NotFoundError(f"There is no pipeline named '{ref}'{hint}.")


def _stages(con: Connection, pipeline_id: int) -> list[StageInfo]:
    rows = con.execute(
        "SELECT id, pipeline_id, name, position, wip_max, wip_min, rep_wip_max, expected_days, probability, "
        "exit_criteria, archived FROM stage WHERE pipeline_id = ? AND NOT archived ORDER BY position, id",
        (pipeline_id,),
    )
    return [StageInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] or 0, r[9] or "", bool(r[10]))
            for r in rows]


def _types(con: Connection, pipeline_id: int) -> list[DealTypeInfo]:
    # archived types are no swimlane, unless an open deal still has one (services.board says the same)
    rows = con.execute(
        "SELECT id, pipeline_id, name, position, archived FROM deal_type WHERE pipeline_id = ? AND (NOT archived "
        "OR id IN (SELECT type_id FROM deal WHERE pipeline_id = ? AND status = 'open')) ORDER BY position, id",
        (pipeline_id, pipeline_id),
    )
    return [DealTypeInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


@dataclass(frozen=True, slots=True)
class BoardCard:
    """What a card on the board shows and filters on: a slice of a deal (DealView has every field)."""

    id: int
    pipeline_id: int
    title: str
    company: str
    contact: str
    value_minor: int | None
    currency: str
    owner: str
    type_id: int | None
    type_name: str | None
    expected_close: date | None
    stage_id: int
    status: str
    rank: int
    stage_entered_at: datetime
    version: int
    snoozed_until: date | None = None
    last_activity_at: datetime | None = None  # with stage_entered_at, the board's `idle:>14d` filter

    @property
    def last_touch(self) -> datetime:
        """The later of entering its stage and its last activity: what the board's `idle:` term looks at."""
        act = self.last_activity_at
        return self.stage_entered_at if act is None or act < self.stage_entered_at else act


def card_from_deal(deal: DealView) -> BoardCard:
    return BoardCard(
        deal.id, deal.pipeline_id, deal.title, deal.company, deal.contact, deal.value_minor, deal.currency,
        deal.owner, deal.type_id, deal.type_name, deal.expected_close, deal.stage_id, deal.status, deal.rank,
        deal.stage_entered_at, deal.version, deal.snoozed_until, deal.last_activity_at,
    )


def _cards(con: Connection, pipeline_id: int, type_names: dict[int, str], where: str,
           params: tuple[Any, ...], *, order: bool = True) -> list[BoardCard]:
    """Cards in (stage id, rank, id) order: the order of the ix_deal_board index, so SQLite does not sort (without
    `order`, `where` ends with its own ORDER BY)."""
    fromiso = datetime.fromisoformat
    tname = type_names.get
    rows = con.execute(
        f"SELECT {_CARD_COLUMNS} FROM deal WHERE pipeline_id = ? {where}"
        + (" ORDER BY stage_id, rank, id" if order else ""),
        (pipeline_id, *params),
    )
    return [
        BoardCard(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], tname(r[8]) if r[8] else None,
                  _day(r[9]), r[10], r[11], r[12],
                  fromiso(r[13]).replace(tzinfo=UTC) if isinstance(r[13], str) else _instant(r[13]),  # type: ignore[arg-type]
                  r[14], _day(r[15]), _instant(r[16]))
        for r in rows
    ]


# A value counts in a pipeline's sums only in the pipeline's own currency: deals are never converted, and a deal in
# another currency is counted (and said: "2 deals in EUR not included") instead of being added as if it were.
# The pipeline is a parameter (its id, given once more), not `deal.pipeline_id`: PostgreSQL ran a subquery that
# names the row once per row (about 1 s of a 100,000-deal board's first read), an uncorrelated one once.
_OWN_VALUE = ("coalesce(sum(CASE WHEN currency = (SELECT currency FROM pipeline WHERE id = ?) "
              "THEN value_minor ELSE 0 END), 0)")
# The open deals valued in another currency (`other_currencies` counts them by currency), counted with the cells.
_OTHER_COUNT = ("coalesce(sum(CASE WHEN value_minor IS NOT NULL AND currency != (SELECT currency FROM pipeline "
                "WHERE id = ?) THEN 1 ELSE 0 END), 0)")


def stage_totals(con: Connection, pipeline_id: int, stage_id: int | None = None) -> dict[int, tuple[int, int]]:
    """stage id -> (open deals, their value in the pipeline's currency); with `stage_id`, that stage's only (a
    search of ix_deal_cells on the stage, not an aggregate of the pipeline's every open deal)."""
    one, args = ("AND stage_id = ? ", (stage_id,)) if stage_id is not None else ("", ())
    rows = con.execute(
        f"SELECT stage_id, count(*), {_OWN_VALUE} FROM deal WHERE pipeline_id = ? AND status = 'open' {one}"
        "GROUP BY stage_id", (pipeline_id, pipeline_id, *args),
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def totals_and_others(con: Connection, pipeline_id: int) -> tuple[dict[int, tuple[int, int]], dict[str, int]]:
    """`stage_totals` and `other_currencies` in one pass over the pipeline's open deals when every valued deal is
    in the pipeline's currency (the usual board): the deals in another currency are counted with the totals, and
    read by currency only when there are some. A live board reads them at every change another rep makes, so the
    second pass cost each change a round trip and, at 100,000 open deals, a second scan (docs/PERFORMANCE.md, The
    board on PostgreSQL)."""
    totals: dict[int, tuple[int, int]] = {}
    others = 0
    for sid, n, v, o in con.execute(
        f"SELECT stage_id, count(*), {_OWN_VALUE}, {_OTHER_COUNT} FROM deal WHERE pipeline_id = ? "
        "AND status = 'open' GROUP BY stage_id", (pipeline_id, pipeline_id, pipeline_id),
    ):
        totals[sid] = (int(n), int(v))
        others += int(o)
    return totals, other_currencies(con, pipeline_id) if others else {}


def other_currencies(con: Connection, pipeline_id: int) -> dict[str, int]:
    """currency -> open deals of the pipeline valued in it, for every currency other than the pipeline's."""
    rows = con.execute(
        "SELECT currency, count(*) FROM deal WHERE pipeline_id = ? AND status = 'open' AND value_minor IS NOT NULL "
        "AND currency != (SELECT currency FROM pipeline WHERE id = ?) GROUP BY currency ORDER BY currency",
        (pipeline_id, pipeline_id),
    )
    return {str(r[0]): int(r[1]) for r in rows}


# -- what the board reads ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signature:
    """What the board has seen: the newest event and activity, and the pipeline's configuration.

    Every change to a deal appends an event; stage, type and pipeline settings are compared as rows."""

    max_event: int
    max_activity: int
    config: tuple[Any, ...]


def signature(con: Connection, pipeline_id: int) -> Signature:
    max_event = con.execute("SELECT coalesce(max(id), 0) FROM event").fetchone()[0]
    max_activity = con.execute("SELECT coalesce(max(id), 0) FROM activity").fetchone()[0]
    config = (
        tuple(con.execute(f"{_PIPELINE_SQL} ORDER BY id").fetchall()),
        tuple(con.execute("SELECT * FROM stage WHERE pipeline_id = ? ORDER BY id", (pipeline_id,)).fetchall()),
        tuple(con.execute("SELECT * FROM deal_type WHERE pipeline_id = ? ORDER BY id", (pipeline_id,)).fetchall()),
    )
    return Signature(int(max_event), int(max_activity), config)


def events_since(con: Connection, event_id: int) -> list[tuple[int, int | None, str]]:
    """(id, deal_id, user) of the events after `event_id`, oldest first."""
    return [(int(r[0]), r[1], r[2]) for r in con.execute(
        'SELECT id, deal_id, "user" FROM event WHERE id > ? ORDER BY id', (event_id,))]


class LastChange(NamedTuple):
    """The newest event of a deal that can take it off a board or move it (a task or a ticked checklist item
    cannot): its kind, who wrote it, the field of an edit, and the stage it went into (a move, a reopen)."""

    kind: str
    user: str
    field: str | None
    to_stage: str | None


def last_change(con: Connection, deal_id: int) -> LastChange | None:
    """The newest event of `deal_id` but tasks and checklist ticks (None: no such event, or no such deal)."""
    row = con.execute(
        'SELECT e.kind, e."user", e.field, s.name FROM event e LEFT JOIN stage s ON s.id = e.to_stage_id '
        "WHERE e.deal_id = ? AND e.kind NOT IN ('task', 'check') ORDER BY e.id DESC LIMIT 1", (deal_id,)).fetchone()
    return LastChange(str(row[0]), str(row[1]), row[2], row[3]) if row is not None else None


def activities_since(con: Connection, activity_id: int) -> list[tuple[int, int | None, str]]:
    """(id, deal_id, user) of the activities after `activity_id`, oldest first."""
    return [(int(r[0]), r[1], r[2]) for r in con.execute(
        'SELECT id, deal_id, "user" FROM activity WHERE id > ? ORDER BY id', (activity_id,))]


@dataclass(slots=True)
class BoardSnapshot:
    """What the board paints for one pipeline: like domain.models.BoardData, with cards instead of full deals."""

    pipeline: PipelineInfo
    stages: list[StageInfo]
    types: list[DealTypeInfo]
    cards: list[BoardCard]
    counts: dict[int, int]  # stage id -> open deals (whatever the filter)
    sums: dict[int, int]  # stage id -> open value in minor units
    # A first read may hold only the top cards of each (stage, type) cell ("window"); then `partial` is True and
    # `cell_counts` ((stage id, type id) -> open deals) gives the true size of every cell.
    partial: bool = False
    # currency -> open deals valued in a currency other than the pipeline's (left out of `sums`)
    other_currencies: dict[str, int] = field(default_factory=dict)
    cell_counts: dict[tuple[int, int | None], int] | None = None


class BoardRead(NamedTuple):
    board: BoardSnapshot | None  # None: the database has no pipeline yet (first run)
    signature: Signature | None
    ambiguous: bool = False  # several pipelines and no default: the first is shown
    pipeline_count: int = 0


def _awake(snoozed: bool) -> tuple[str, tuple[Any, ...]]:
    """The WHERE part leaving out snoozed deals (none with `snoozed`: the board's filter shows them)."""
    return ("", ()) if snoozed else (_AWAKE, (clock.today().isoformat(),))


def _cell_cards(con: Connection, pipeline_id: int, type_names: dict[int, str],
                cell_counts: dict[tuple[int, int | None], int], window: int,
                deeper: dict[tuple[int, int | None], int], awake: str, awake_args: tuple[Any, ...]
                ) -> list[BoardCard]:
    """The first `window` cards (or `deeper[cell]`) of every (stage, type) cell, in (stage, rank, id) order: one
    query per cell walking the index ix_deal_cells, so the cost follows the cards read, not the pipeline."""
    out: list[BoardCard] = []
    for (sid, tid), visible in sorted(cell_counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        if not visible:
            continue
        limit = max(window, deeper.get((sid, tid), 0))
        type_term = "type_id IS NULL" if tid is None else "type_id = ?"
        out += _cards(con, pipeline_id, type_names,
                      f"AND status = 'open' AND stage_id = ? AND {type_term} {awake} ORDER BY rank, id LIMIT ?",
                      (sid, *(() if tid is None else (tid,)), *awake_args, limit), order=False)
    out.sort(key=lambda c: (c.stage_id, c.rank, c.id))
    return out


def cell_depth(con: Connection, deal_id: int) -> tuple[tuple[int, int | None], int] | None:
    """((stage id, type id), how many open cards come before it in its cell + 1) of an open deal, else None: how
    deep a windowed read must go in that cell to hold the deal."""
    row = con.execute("SELECT pipeline_id, stage_id, type_id, rank FROM deal WHERE id = ? AND status = 'open'",
                      (deal_id,)).fetchone()
    if row is None:
        return None
    pid, sid, tid, rank = row
    type_term = "type_id IS NULL" if tid is None else "type_id = ?"
    before = con.execute(
        f"SELECT count(*) FROM deal WHERE pipeline_id = ? AND status = 'open' AND stage_id = ? AND {type_term} "
        "AND (rank < ? OR (rank = ? AND id <= ?))", (pid, sid, *(() if tid is None else (tid,)), rank, rank, deal_id),
    ).fetchone()[0]
    return (sid, tid), int(before)


def last_in_cell(con: Connection, pipeline_id: int, stage_id: int, type_id: int | None, *,
                 any_type: bool = False) -> int | None:
    """The id of the last card (in rank order) of a cell: the open, awake deals of `stage_id` with `type_id`
    (None: no type; `any_type`: whatever their type, a column without swimlanes)."""
    awake, awake_args = _awake(False)
    type_term = "" if any_type else ("AND type_id IS NULL" if type_id is None else "AND type_id = ?")
    row = con.execute(
        f"SELECT id FROM deal WHERE pipeline_id = ? AND status = 'open' AND stage_id = ? {type_term} {awake} "
        "ORDER BY rank DESC, id DESC LIMIT 1",
        (pipeline_id, stage_id, *(() if any_type or type_id is None else (type_id,)), *awake_args),
    ).fetchone()
    return None if row is None else int(row[0])


def cell_totals(con: Connection, pipeline_id: int, stage_ids: Collection[int] | None, *, snoozed: bool = False,
                ) -> tuple[dict[tuple[int, int | None], int], dict[int, tuple[int, int]], int]:
    """The counts of a windowed board, from the index ix_deal_cells alone (no table row is read): (stage id, type
    id) -> open deals shown (snoozed ones only with `snoozed`), stage id -> (open deals, their value in the
    pipeline's currency), and how many open deals are valued in another currency. Of the stages `stage_ids` only
    (a search of the index on each), or of every stage (None)."""
    awake, awake_args = _awake(snoozed)
    shown = f"1 = 1 {awake}"  # "1 = 1 AND (not snoozed)", or just 1 = 1
    only = ""
    only_args: tuple[int, ...] = ()
    if stage_ids is not None:
        if not stage_ids:
            return {}, {}, 0
        only_args = tuple(sorted(stage_ids))
        only = f"AND stage_id IN ({', '.join('?' * len(only_args))}) "
    cell_counts: dict[tuple[int, int | None], int] = {}
    totals: dict[int, tuple[int, int]] = {}
    in_others = 0
    for sid, tid, n, v, visible, others in con.execute(
        f"SELECT stage_id, type_id, count(*), {_OWN_VALUE}, "
        f"coalesce(sum(CASE WHEN {shown} THEN 1 ELSE 0 END), 0), {_OTHER_COUNT} FROM deal "
        f"WHERE pipeline_id = ? AND status = 'open' {only}GROUP BY stage_id, type_id",
        (pipeline_id, *awake_args, pipeline_id, pipeline_id, *only_args),
    ):
        cell_counts[(sid, tid)] = int(visible)
        tn, tv = totals.get(sid, (0, 0))
        totals[sid] = (tn + int(n), tv + int(v))
        in_others += int(others)
    return cell_counts, totals, in_others


def load_board(con: Connection, pipeline: str | int | None, *, window: int | None = None,
               snoozed: bool = False, deeper: dict[tuple[int, int | None], int] | None = None) -> BoardRead:
    """The board of a pipeline (its open deals as cards, with the counts and sums of every open deal) and its
    signature, read in one snapshot.

    With `window`, only the first `window` cards of each (stage, deal type) cell are read (`deeper` may ask more
    of some cells): the board's first screen, and a big pipeline's board for good (it reads more as the focus
    goes down). Each cell is one LIMIT query on an index, so such a read costs what it returns, not the pipeline.
    The result is marked partial and carries every cell's true count.

    Snoozed deals are left out of the cards (and of `cell_counts`) unless `snoozed`; counts and sums include
    them, like WIP limits do."""
    with snapshot(con):
        p, ambiguous = resolve_pipeline(con, pipeline)
        count = con.execute("SELECT count(*) FROM pipeline").fetchone()[0]
        if p is None:
            return BoardRead(None, None, False, 0)
        types = _types(con, p.id)
        names = {t.id: t.name for t in types}
        cell_counts: dict[tuple[int, int | None], int] | None = None
        awake, awake_args = _awake(snoozed)
        in_others = 1  # (unknown: read them)
        read_others: dict[str, int] | None = None  # (read with the totals)
        if window is None:
            cards = _cards(con, p.id, names, f"AND status = 'open' {awake}", awake_args)
            totals, read_others = totals_and_others(con, p.id)
        else:
            # `other_currencies` (a second pass over the pipeline's open deals, a third of this one's time) is read
            # only when there are some
            cell_counts, totals, in_others = cell_totals(con, p.id, None, snoozed=snoozed)
            cards = _cell_cards(con, p.id, names, cell_counts, window, deeper or {}, awake, awake_args)
        board = BoardSnapshot(
            pipeline=p, stages=_stages(con, p.id), types=types, cards=cards,
            counts={sid: n for sid, (n, _v) in totals.items()}, sums={sid: v for sid, (_n, v) in totals.items()},
            partial=window is not None, cell_counts=cell_counts,
            other_currencies=(read_others if read_others is not None
                              else other_currencies(con, p.id) if in_others else {}),
        )
        return BoardRead(board, signature(con, p.id), ambiguous, int(count))


def load_stage(con: Connection, pipeline_id: int, stage_id: int, *, snoozed: bool = False,
               limit: int | None = None) -> tuple[list[BoardCard], int, int]:
    """One column: its open deals in rank order (snoozed ones only with `snoozed`; the first `limit` only), and
    the stage's open count and value."""
    with snapshot(con):
        types = dict(con.execute("SELECT id, name FROM deal_type WHERE pipeline_id = ?", (pipeline_id,)).fetchall())
        awake, awake_args = _awake(snoozed)
        if limit is None:
            cards = _cards(con, pipeline_id, types, f"AND status = 'open' AND stage_id = ? {awake}",
                           (stage_id, *awake_args))
        else:
            cards = _cards(con, pipeline_id, types, f"AND status = 'open' AND stage_id = ? {awake} "
                           "ORDER BY rank, id LIMIT ?", (stage_id, *awake_args, limit), order=False)
        n, v = stage_totals(con, pipeline_id, stage_id).get(stage_id, (0, 0))
        return cards, n, v


def load_card(con: Connection, deal_id: int) -> BoardCard | None:
    row = con.execute("SELECT pipeline_id FROM deal WHERE id = ?", (deal_id,)).fetchone()
    if row is None:
        return None
    types = dict(con.execute("SELECT id, name FROM deal_type WHERE pipeline_id = ?", (row[0],)).fetchall())
    found = _cards(con, row[0], types, "AND id = ?", (deal_id,))
    return found[0] if found else None


# -- for the board (the UI never touches sqlite3 itself) -----------------------------------------------------------

def stage_name(con: Connection, stage_id: int) -> str | None:
    row = con.execute("SELECT name FROM stage WHERE id = ?", (stage_id,)).fetchone()
    return str(row[0]) if row else None


def connect_target(target: Target) -> Connection | None:
    """`connect` for a file, or its PostgreSQL counterpart (store.fastread_pg) for a URL."""
    if target.path is not None:
        return connect(target.path)
    from tuikanban.store import fastread_pg

    return fastread_pg.connect(target)


def connect_live_target(target: Target) -> Connection:
    """`connect_live` for a file, or its PostgreSQL counterpart for a URL."""
    if target.path is not None:
        return connect_live(target.path)
    from tuikanban.store import fastread_pg

    return fastread_pg.connect_live(target)


def target_writable(target: Target) -> bool:
    """`writable` for a file; on PostgreSQL the role's rights are known only once the database is open."""
    return writable(target.path) if target.path is not None else True


def first_read(target: Target | Path, pipeline: str | None,
               remembered: str | None) -> tuple[Connection | None, str | None]:
    """A connection for the board's first read, and the pipeline to show: `pipeline`, else `remembered` (the one
    shown last time) when it still exists. (None, pipeline) when the database cannot be read this way (new, older
    or unusual: the ORM path creates, migrates or refuses it). A pipeline that does not exist raises
    NotFoundError."""
    con = connect_target(target if isinstance(target, Target) else sqlite_target(target))
    if con is None:
        return None, pipeline
    try:
        if not pipeline and remembered and find_pipeline(con, remembered) is not None:
            pipeline = remembered
        resolve_pipeline(con, pipeline)
    except (sqlite3.Error, DatabaseError):
        con.close()
        return None, pipeline
    except BaseException:
        con.close()
        raise
    return con, pipeline
