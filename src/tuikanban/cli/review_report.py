"""What `tuikanban changes` and `digest` print, without Typer: the Typer commands (`cli/review.py`) and the fast
path (`cli/fast.py`) both call these, so the two paths print the same bytes.

The report is read without the ORM when the database allows it (`store.fastread.connect_target`: a file or a
PostgreSQL database of the known schema, one snapshot), and the review mark is written through `State.writer`
(store.uow); a database either cannot take goes through the ORM, which opens, migrates or refuses it with its own
sentence. `services.review_core` computes the report the same way on both (docs/PERFORMANCE.md, The review's
speed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from itertools import repeat
from json.encoder import encode_basestring
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tuikanban.cli.common import (
    PLAIN_TABLE_ROWS,
    State,
    cell,
    cell_text,
    cell_texts,
    dumps,
    fitted_columns,
    print_block,
    stdout_console,
    table,
)
from tuikanban.domain.money import exponent, format_money, money_formatter
from tuikanban.domain.text import json_safe, name_key

if TYPE_CHECKING:
    from rich.console import Console

BUCKET_LABELS = {
    "created": ("+", "created"), "reopened": ("+", "reopened"), "pulled_in": ("+", "pulled in"),
    "increased": ("+", "value increased"), "decreased": ("-", "value decreased"), "won": ("-", "won"),
    "lost": ("-", "lost"), "deleted": ("-", "deleted"), "pushed_out": ("-", "pushed out"),
}


def build_report(st: State, pipeline: str | None, since: str, until: str | None, owner: str | None,
                 closing: str | None, idle_days: int) -> Any:
    """The report, read in one snapshot on a connection of its own when the database allows it (started early,
    on a thread, when the command line asked for it: `cli.review_early`), else through the ORM database
    (`State.read_plain`)."""
    from tuikanban.cli import review_early

    def read(u: Any) -> Any:
        return review_early.report_in(u, st.user, pipeline, since, until, owner, closing, idle_days)

    if not st.opened and st.refused is None:
        report = review_early.claim(review_early.key_of(st.target, st.user, pipeline, since, until, owner, closing,
                                                        idle_days))
        if report is not None:
            return report
    report = st.read_plain(read, twin=True)
    if report is not None:
        return report
    from tuikanban.store.uow import of_session

    with st.db().read() as s:
        return read(of_session(s))


def mark_review(st: State, pipeline_id: int, at: datetime) -> None:
    """Record `at` as the user's last review of the pipeline: through the DB-API writer when the database takes
    it, else the ORM's write transaction."""
    from tuikanban.services.reviews import record_review, record_review_in

    writer = st.writer()
    if writer is not None:
        writer(lambda u: record_review_in(u, pipeline_id, st.user, at))
        return
    record_review(st.db(), pipeline_id, st.user, at)


def changes(st: State, pipeline: str | None, since: str, until: str | None, owner: str | None,
            closing: str | None, idle_days: int, no_mark: bool, as_json: bool) -> None:
    """`changes`: the bridge and the lists, as tables or one JSON document; records the review mark when run
    for now, for yourself and without --no-mark."""
    from tuikanban.domain.errors import ReadOnlyError
    from tuikanban.services.review_core import collector_paused

    # the tables' Rich, imported while the report is read (on a thread, started as the command started, when a
    # core is free: `cli.review_early`); `--json` prints without it
    console = None if as_json else stdout_console()
    report = build_report(st, pipeline, since, until, owner, closing, idle_days)
    not_marked: str | None = None
    if until is None and not no_mark and (owner is None or name_key(owner) == name_key(st.user)):
        try:
            mark_review(st, report.pipeline.id, report.until)
        except ReadOnlyError:  # a rep who may only read still sees the changes; only the mark is left out
            not_marked = "This was not recorded as your last review: the database is open read-only."
    if as_json:
        with collector_paused():
            sys.stdout.write(json_safe(changes_text(report)))
        sys.stdout.write("\n")
    else:
        print_changes(report, console)
    if not_marked is not None:
        from tuikanban.cli.common import err  # (Rich, imported here only: `--json` prints without it)

        sys.stdout.flush()
        err.print(not_marked, markup=False, highlight=False)


LISTS = ("new", "moved", "pushed", "idle", "closing_soon")  # lists of deals: flat objects (review_core._line_json)
_UNDATED = ("new", "moved")  # lists whose details hold no date or time (review_core._lines_json's `dated=False`)
_MARK, _EDGE = "\x01", "\x02"  # control characters: inside a JSON string they are always escaped
_one_call = json.JSONEncoder(ensure_ascii=False, default=str, separators=("," + _MARK, ": "))
_scalar = json.JSONEncoder(ensure_ascii=False, default=str).encode  # one value, as `_one_call` writes it in a list
_LINE_KEYS = ("id", "title", "owner", "stage", "value")  # a line's own members, before its details


def changes_text(report: Any) -> str:
    """`changes --json`'s document: `cli.common.dumps(review_core.changes_json(report))` byte for byte, the lists
    of deals written from the report's lines column by column (`_lines_text`), without a dictionary per deal."""
    from tuikanban.services.review_core import changes_json, money_json

    return document_text(changes_json(report, lines=False), money_json(report.currency))


def document_text(doc: dict[str, Any], money: Callable[[int | None], Any] | None = None) -> str:
    """`cli.common.dumps(doc)` (json.dumps with indent=2) byte for byte, the review's lists of deals (39,000 objects
    on 100,000 deals) each encoded in one call of the C encoder instead of one call per deal: the separators carry
    a control character that JSON text never holds raw, replaced by the newline and indentation afterwards. With
    `money` (the report's amounts as JSON numbers), the lists hold the report's `DealLine`s (`changes_text`)."""
    parts = []
    for key, value in doc.items():
        if key in LISTS and value:
            text = _flat_objects(value) if money is None else _lines_text(value, money, dated=key not in _UNDATED)
        else:
            text = dumps(value, 1)
        parts.append(f"{dumps(key)}: {text}")
    return "{\n  " + ",\n  ".join(parts) + "\n}"


def _lines_text(lines: Any, money: Callable[[int | None], Any], *, dated: bool) -> str:
    """`_flat_objects(review_core._lines_json(lines, money, dated=dated))` byte for byte, without the dictionaries:
    each member's values encoded as a column (a column of integers or of strings in one `map`: the C functions json
    itself calls), then each object laid out by one format string. Lines whose details differ in their keys (or
    name a line's own member) are written the other way."""
    keys = tuple(lines[0].detail)
    if set(keys) & set(_LINE_KEYS) or any(tuple(x.detail) != keys for x in lines):
        from tuikanban.services.review_core import _lines_json

        return _flat_objects(_lines_json(lines, money, dated=dated))
    columns = [list(map(_ID, lines)), list(map(_TITLE, lines)), list(map(_OWNER, lines)), list(map(_STAGE, lines)),
               list(map(money, map(_VALUE, lines)))]
    for k in keys:
        values = [x.detail[k] for x in lines]
        if dated:
            values = [v.isoformat() if isinstance(v, date | datetime) else v for v in values]
        columns.append(values)
    layout = ",\n      ".join(f"{dumps(name).replace('%', '%%')}: %s" for name in (*_LINE_KEYS, *keys))
    objects = map(("{\n      " + layout + "\n    }").__mod__, zip(*map(_json_column, columns), strict=True))
    return "[\n    " + ",\n    ".join(objects) + "\n  ]"


def _json_column(values: list[Any]) -> list[str]:
    """Each value as json writes it inside a document (`_one_call`): integers and strings by the functions the C
    encoder calls for them, a column at a time; anything else value by value."""
    kinds = set(map(type, values))
    if kinds <= {int}:
        return list(map(int.__repr__, values))
    if kinds <= {str}:
        return list(map(encode_basestring, values))
    if kinds <= {int, type(None)}:
        return ["null" if v is None else int.__repr__(v) for v in values]
    return list(map(_scalar, values))


def _flat_objects(items: list[dict[str, Any]]) -> str:
    """A list (at depth 1) of non-empty objects whose values are all scalars, as `dumps` writes it."""
    outer, inner = "\n    ", "\n      "  # a list item's indentation, an object member's
    body = _one_call.encode(items)[1:-1].replace("}," + _MARK + "{", _EDGE).replace(_MARK, inner)
    body = body.replace(_EDGE, outer + "}," + outer + "{" + inner)
    return "[" + outer + "{" + inner + body[1:-1] + outer + "}\n  ]"


def print_changes(report: Any, console: Console | None = None) -> None:
    """The report as tables on `console` (the command's standard output by default)."""
    out = console or stdout_console()
    for i, part in enumerate(render_changes(report)):
        if i:
            out.print()
        print_block(out, part)


def render_changes(r: Any) -> list[Any]:
    """The report as Rich renderables: the bridge, then one table per list (a list of more than
    PLAIN_TABLE_ROWS deals as plain aligned lines: a Rich table of 25,000 rows takes half a minute)."""
    from rich.text import Text

    from tuikanban.domain.metrics import plural  # (the tables only: `--json` runs without it and its Fraction)

    def money(minor: int | None) -> str:
        return format_money(minor, r.currency)

    head = Text.assemble(Text(r.pipeline.name, style="bold"),
                         f": changes from {r.since:%Y-%m-%d %H:%M} to {r.until:%Y-%m-%d %H:%M} UTC")
    if r.owner:
        head.append(", owner ")
        head.append(cell(r.owner))
    if r.closing:
        head.append(f", closing {r.closing[0]:%Y-%m-%d} to {r.closing[1]:%Y-%m-%d}")
    parts: list[Any] = [head]
    t = table("Bridge", "Value", "Deals", title="Open value")
    t.add_row("open at the start", money(r.start_value_minor), "")
    for key, b in r.bridge.items():
        if b.deals or key not in ("pulled_in", "pushed_out", "deleted"):
            sign, label = BUCKET_LABELS[key]
            t.add_row(f"{sign} {label}", money(b.value_minor), ids_text(b.deals))
    t.add_row(Text("open at the end", style="bold"), Text(money(r.end_value_minor), style="bold"), "")
    parts.append(t)
    lists = (
        ("New deals", r.new, ("Status", lambda x: x.detail["status"])),
        ("Moved", r.moved, ("Move", lambda x: f"{x.detail['from_stage']} → {x.detail['to_stage']} "
                                             f"({x.detail['direction']}, {plural(x.detail['moves'], 'move')})")),
        ("Close date pushed", r.pushed, ("Pushed", lambda x: f"{x.detail['pushes']}x: {day(x.detail['close_before'])}"
                                                            f" → {day(x.detail['close_after'])}")),
        (f"Idle {r.idle_days}+ days", r.idle, ("Idle", lambda x: "never touched" if x.detail["idle_days"] is None
                                               else f"{x.detail['idle_days']} days")),
        ("Closing in the next 30 days", r.closing_soon, ("Close", lambda x: day(x.detail["expected_close"]))),
    )
    columns = ["Id", "Title", "Owner", "Stage", "Value"]
    for title, rows, (what, fn) in lists:
        if not rows:
            parts.append(Text(f"{title}: none", style="dim"))
        elif len(rows) > PLAIN_TABLE_ROWS:
            texts = [list(map(str, map(_ID, rows))), cell_texts(list(map(_TITLE, rows)), 40),
                     _each_once(map(_OWNER, rows), lambda text: cell_text(text, 16)),
                     _each_once(map(_STAGE, rows), lambda text: cell_text(text, 24)),
                     money_column(list(map(_VALUE, rows)), r.currency), cell_texts(list(map(fn, rows)), 80)]
            parts.append(fitted_columns([*columns, what], texts, title=f"{title}: {len(rows)}"))
        else:
            lt = table(*columns, what, title=f"{title}: {len(rows)}")
            for x in rows:
                lt.add_row(str(x.id), cell(x.title, 40, one_line=True), cell(x.owner, 16), cell(x.stage, 24),
                           format_money(x.value_minor, r.currency), cell(fn(x), 80))
            parts.append(lt)
    return parts


_ID, _TITLE, _OWNER, _STAGE, _VALUE = map(attrgetter, ("id", "title", "owner", "stage", "value_minor"))


def _each_once(values: Iterable[Any], text: Callable[[Any], str]) -> list[str]:
    """`[text(v) for v in values]`, `text` called once per distinct value (a listing's owners and stages are a few
    names; its amounts repeat too)."""
    values = list(values)
    known = {v: text(v) for v in set(values)}
    return list(map(known.__getitem__, values))


def money_column(values: list[int | None], currency: str) -> list[str]:
    """`[format_money(v, currency) for v in values]`: amounts that are all whole (most) written by one call of
    `format` each, without a Python call per amount; any other list amount by amount."""
    text = money_formatter(currency)
    unit = 10 ** exponent(currency)
    if None not in values and not any(map(unit.__rmod__, values)):
        prefix = text(0)[:-1]  # (the symbol or code before a whole amount, as `money_formatter` writes it)
        return list(map(prefix.__add__, map(format, map(unit.__rfloordiv__, values), repeat(","))))
    return _each_once(values, text)


def ids_text(ids: tuple[int, ...], limit: int = 12) -> str:
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f" … (+{len(ids) - limit})" if len(ids) > limit else "")


def day(value: Any) -> str:
    return value.isoformat() if value is not None else "none"


__all__ = ["build_report", "changes", "changes_text", "day", "ids_text", "mark_review", "money_column", "print_changes",
           "render_changes"]
