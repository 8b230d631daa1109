"""What `deal add`, `deal move` and `deal list` do, without Typer: the Typer commands (`cli/core.py`) and the
fast path (`cli/fast.py`) both call these, so the two paths print the same bytes.

`deal list` reads with plain sqlite3 (`store.reads`) when the file is a tuikanban database of the known schema,
and through the ORM otherwise (a missing, older or foreign file gets the ORM path's own sentence).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuikanban.cli.common import PLAIN_TABLE_ROWS, State, cell, cell_text, emit_json, fitted_table, out, say
from tuikanban.domain import clock
from tuikanban.domain.errors import ValidationError
from tuikanban.domain.models import DealView, PipelineInfo
from tuikanban.domain.money import format_money, to_json_number

if TYPE_CHECKING:
    from tuikanban.services.deal_actions import Write

STATUSES = ("open", "won", "lost", "all")


def force_reason(force: bool, reason: str | None) -> str | None:
    """The WIP override reason of --force / --reason, refused when one comes without the other."""
    if not force:
        if reason:
            raise ValidationError("--reason goes with --force.")
        return None
    if not reason or not reason.strip():
        raise ValidationError("--force needs --reason TEXT saying why the WIP limit is overridden.")
    return reason


def _write(st: State) -> Write:
    """Where `add` and `move` write: a DB-API writer (store.uow) when the database allows it, else the ORM
    database's write transaction (which opens, migrates or refuses the file with its own sentence)."""
    writer = st.writer()
    if writer is not None:
        return writer
    from tuikanban.services.deals import OrmWrite

    return OrmWrite(st.db())


def add(st: State, title: str, pipeline: str | None, *, stage: str | None = None, value: str | None = None,
        currency: str | None = None, company: str | None = None, contact: str | None = None,
        owner: str | None = None, dtype: str | None = None, close: str | None = None, notes: str | None = None,
        at: str | None = None, force: bool = False, reason: str | None = None) -> None:
    """`deal add`: prints the new deal's id. Written without the ORM when the database allows it (`State.writer`):
    the same action (services.deal_actions) either way."""
    from tuikanban.services.deal_actions import create_deal

    why = force_reason(force, reason)
    deal = create_deal(_write(st), pipeline, title, user=st.user, stage=stage, value=value, currency=currency,
                       company=company, contact=contact, owner=owner, dtype=dtype, close=close, notes=notes, at=at,
                       force_reason=why)
    out.print(str(deal.id))


def move(st: State, deal_id: int, stage: str, *, at: str | None = None, force: bool = False,
         reason: str | None = None) -> None:
    """`deal move`: one line saying from where to where, and the exit criteria of the stage it entered (written
    without the ORM when the database allows it, as `add`)."""
    from tuikanban.services.deal_actions import move_deal

    why = force_reason(force, reason)
    result = move_deal(_write(st), deal_id, stage, user=st.user, at=at, force_reason=why)
    overridden = [what for what, used in (("WIP limit", result.forced), ("stage gate", result.gate_forced)) if used]
    say(f"Moved deal {deal_id} from ", cell(result.from_stage), " to ", cell(result.to_stage),
        f" ({' and '.join(overridden)} overridden)." if overridden else ".")
    if result.exit_criteria:
        say("Exit criteria of ", cell(result.to_stage), ": ", cell(result.exit_criteria, 400))


def deal_json(d: Any, now: Any) -> dict[str, Any]:
    return {
        "id": d.id, "title": d.title, "stage": d.stage_name, "status": d.status,
        "value": to_json_number(d.value_minor, d.currency), "currency": d.currency, "owner": d.owner,
        "type": d.type_name, "company": d.company, "contact": d.contact,
        "expected_close": d.expected_close.isoformat() if d.expected_close else None,
        "created_at": d.created_at.isoformat(), "stage_entered_at": d.stage_entered_at.isoformat(),
        "closed_at": d.closed_at.isoformat() if d.closed_at else None,
        "lost_reason": d.lost_reason or None,
        "days_in_stage": round(clock.days_between(d.stage_entered_at, now), 1) if d.status == "open" else None,
        "snoozed_until": d.snoozed_until.isoformat() if d.snoozed_until else None,
        "version": d.version,
    }


def _read_deals(st: State, pipeline: str | None, wanted: str) -> tuple[PipelineInfo, list[DealView]]:
    """The pipeline and its deals: the pipeline is resolved (and refused) before the status is checked.

    Read without the ORM when the database allows it (store.reads); any driver error (a damaged file, say) takes
    the ORM path, which checks the database when it opens it and refuses it with one sentence."""
    import sqlite3

    from tuikanban.domain.errors import DatabaseError
    from tuikanban.store import reads

    con = reads.connect(st.db_path)
    if con is not None:
        try:
            p = reads.resolve_pipeline(con, pipeline)
            if wanted not in STATUSES:
                raise ValidationError(f"'{wanted}' is not a status; use open, won, lost or all.")
            return p, reads.deal_views(con, p.id, None if wanted == "all" else wanted)
        except (sqlite3.Error, DatabaseError):
            pass
        finally:
            con.close()
    from tuikanban.services.deals import list_deals
    from tuikanban.services.pipelines import get_pipeline

    db = st.db()
    found = get_pipeline(db, pipeline)
    return found, list_deals(db, found.id, status=wanted)


def _review_deals(st: State, pipeline: str | None, wanted: str, chosen: dict[str, Any], now: Any
                  ) -> tuple[PipelineInfo, list[DealView]]:
    from tuikanban.domain.periods import parse_when
    from tuikanban.services.pipelines import get_pipeline
    from tuikanban.services.review_lists import ReviewQuery, find_deals

    db = st.db()
    p = get_pipeline(db, pipeline)
    since = chosen.pop("created_since", None)
    query = ReviewQuery(
        status=wanted, created_since=parse_when(since, now=now, what="--created-since") if since else None,
        **{**chosen, "sort": str(chosen.get("sort", "board")).strip().lower()},
    )
    return p, list(find_deals(db, p.id, query))


def list_(st: State, pipeline: str | None, status: str, as_json: bool, review: dict[str, Any] | None = None) -> None:
    """`deal list`: a table, or one JSON document. `review` holds the review-list options (owner, stage, dtype,
    closing_within, idle_days, created_since, sort, limit); with any of them set the deals are found by
    services.review_lists, otherwise read as the board reads them."""
    wanted = status.strip().lower()
    now = clock.now()
    chosen = {k: v for k, v in (review or {}).items() if v is not None and not (k == "sort" and v == "board")}
    if chosen:
        p, deals = _review_deals(st, pipeline, wanted, chosen, now)
    else:
        p, deals = _read_deals(st, pipeline, wanted)
    if as_json:
        emit_json({"pipeline": p.name, "status": wanted, "deals": [deal_json(d, now) for d in deals]})
        return
    if not deals:
        label = "" if wanted == "all" else f"{wanted} "
        say(f"No {label}deals in ", cell(p.name), ".")
        return
    # a long listing is printed as plain lines (fitted_table): its cells need no Text
    text = cell if len(deals) <= PLAIN_TABLE_ROWS else cell_text
    rows: list[list[Any]] = []
    for d in deals:
        days = f"{clock.days_between(d.stage_entered_at, now):.0f}" if d.status == "open" else ""
        rows.append([str(d.id), text(d.title, 40, one_line=True), text(d.company, 24, one_line=True),
                     text(d.stage_name, one_line=True), d.status, format_money(d.value_minor, d.currency),
                     text(d.owner, 16, one_line=True), text(d.type_name or "", 16, one_line=True), days])
    columns = ["Id", "Title", "Company", "Stage", "Status", "Value", "Owner", "Type", "Days"]
    out.print(fitted_table(columns, rows, optional=("Company", "Type")))
