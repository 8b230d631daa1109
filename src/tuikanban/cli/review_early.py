"""`changes`' report started on a thread as the command starts, before the output's modules (Rich, the listings)
are imported: SQLite releases the GIL while a query runs, so the imports and the report's first reads share the two
cores (docs/PERFORMANCE.md, The review's speed). This module imports neither Rich nor Typer.

`start` is called with the command line before anything else is imported (`cli.run`); for a plain `changes`
command line (`cli.fast` takes it) it reads the report on a thread through `cli.target.read_plain`, as
`review_report.build_report` would. `build_report` then `claim`s it when it asks for the same report (the same
database, user, pipeline, moments, owner, closing period and idle days), and reads it itself otherwise. An error
of the read (a mistyped --since, an unknown pipeline) is raised where the report is claimed, as it would have been
raised there.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from tuikanban.domain import clock

Key = tuple[str, str, str | None, str, str | None, str | None, str | None, int]


class _Early:
    __slots__ = ("done", "error", "key", "report")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.done = threading.Event()
        self.report: Any = None
        self.error: BaseException | None = None


_early: _Early | None = None


def key_of(db_path: Path | str | None, user: str, pipeline: str | None, since: str, until: str | None,
           owner: str | None, closing: str | None, idle_days: int) -> Key:
    return (str(db_path) if db_path is not None else "", user, pipeline, since, until, owner, closing, idle_days)


def start(args: list[str]) -> None:
    """Start reading the report of `args` on a thread when they are a `changes` command line the fast path takes
    (with the database's target known without asking the config file); otherwise do nothing."""
    global _early
    from tuikanban.cli import fast

    root = fast.parse(args, fast.Spec((), fast.ROOT_OPTIONS), allow_rest=True)
    if root is None or not root[1] or root[1][0] != "changes":
        return
    opts, rest = root
    parsed = fast.parse(rest[1:], fast.SPECS["changes",])
    if parsed is None or not fast.valid(parsed[0]) or "since" not in parsed[0]:
        return
    v = parsed[0]
    db = fast.text(opts, "db") or os.environ.get("TUIKANBAN_DB") or None
    if db is None:  # the config file's: read by the command itself
        return
    from tuikanban.store.twin import second_core_free

    if not second_core_free():  # no core for the thread: it would only wait on the imports for the GIL
        return
    idle = fast.text(v, "idle_days")
    pipeline = fast.text(v, "pipeline") if "pipeline" in v else fast.text(opts, "pipeline")
    user_option = fast.text(opts, "user")
    early = _Early(key_of(db, "", pipeline, str(v["since"]), fast.text(v, "until"), fast.text(v, "owner"),
                          fast.text(v, "closing"), int(idle) if idle is not None else 14))
    _early = early
    threading.Thread(target=_read, args=(early, user_option), name="tuikanban-early", daemon=True).start()


def _read(early: _Early, user_option: str | None) -> None:
    try:
        from tuikanban.cli.target import current_user, read_plain

        db, _user, pipeline, since, until, owner, closing, idle_days = early.key
        user = current_user(user_option)
        early.key = (db, user, *early.key[2:])
        early.report = read_plain(db, lambda u: report_in(u, user, pipeline, since, until, owner, closing,
                                                          idle_days), twin=True)
    except BaseException as exc:  # raised again where the report is claimed
        early.error = exc
    finally:
        early.done.set()


def claim(key: Key) -> Any:
    """The report read early for `key` (raising what its read raised), or None: none was started for it, or
    the database could not be read that way (the caller reads it as it would have)."""
    global _early
    early = _early
    if early is None:
        return None
    _early = None
    early.done.wait()
    if early.key != key:
        return None
    if early.error is not None:
        raise early.error
    return early.report


def report_in(u: Any, user: str, pipeline: str | None, since: str, until: str | None, owner: str | None,
              closing: str | None, idle_days: int) -> Any:
    """The review of `since` .. `until` on a unit (one snapshot): the moments parsed, the review mark read for
    `last-review`."""
    from tuikanban.domain.periods import LAST_REVIEW, parse_period, parse_when
    from tuikanban.services.pipeline_ref import resolve_pipeline
    from tuikanban.services.review_core import changes_in
    from tuikanban.services.reviews import last_review_in

    now = clock.now()
    mark = (last_review_in(u, resolve_pipeline(u, pipeline).id, user) if since.strip().lower() == LAST_REVIEW
            else None)
    start = parse_when(since, now=now, last_review=mark)
    end = parse_when(until, now=now, what="--until") if until else None
    period = parse_period(closing, today=(end or now).date()) if closing else None
    return changes_in(u, pipeline, since=start, until=end, owner=owner, closing=period, idle_days=idle_days)


__all__ = ["claim", "key_of", "report_in", "start"]
