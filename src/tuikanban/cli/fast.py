"""The commands run most often, parsed by hand so that they skip Typer (docs/PERFORMANCE.md, Commands).

Typer's import and app building (it imports click, Rich's help machinery and pydantic bits) cost more than the
work of a small command. This module parses the plain forms of `tuikanban [BOARD OPTIONS]` (open the board),
`deal add`, `deal move`, `deal list`, `aging` and `changes` and calls the same bodies as the Typer commands
(`cli/deals.py`, `cli/aging_report.py`, `cli/review_report.py`).
Anything it does not recognise exactly (an unknown or repeated option, `--help`, a value that looks like an
option, a missing or extra argument, an ID that is not plain digits) returns None, and the caller takes the
Typer path, which parses, refuses or explains it as always. So the fast path never changes what a command
accepts; it only skips the import.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuikanban.cli.target import current_user, db_choice

if TYPE_CHECKING:
    from tuikanban.cli.common import State

ROOT_OPTIONS = {"--db": "db", "--user": "user", "--theme": "theme", "--pipeline": "pipeline", "-p": "pipeline"}


@dataclass(frozen=True, eq=False)
class Spec:
    """A command's arguments: positional names, options taking a value and flags (option -> parameter name)."""

    positionals: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)


_FORCE = {"--force": "force"}
_WIP = {"--at": "at", "--reason": "reason"}
_PIPELINE = {"--pipeline": "pipeline", "-p": "pipeline"}
SPECS = {
    ("deal", "add"): Spec(("title",), {**_PIPELINE, **_WIP, **{f"--{n}": n for n in (
        "stage", "value", "currency", "company", "contact", "owner", "close", "notes")}, "--type": "dtype"},
        _FORCE),
    ("deal", "move"): Spec(("deal_id", "stage"), _WIP, _FORCE),
    ("deal", "list"): Spec((), {**_PIPELINE, "--status": "status"}, {"--json": "as_json"}),
    ("aging",): Spec((), {**_PIPELINE, "--limit": "limit"}, {"--json": "as_json", "--flagged": "flagged"}),
    ("changes",): Spec((), {**_PIPELINE, **{f"--{n}": n for n in ("since", "until", "owner", "closing")},
                            "--idle-days": "idle_days"}, {"--no-mark": "no_mark", "--json": "as_json"}),
}

Parsed = dict[str, str | bool]


def parse(args: list[str], spec: Spec, *, allow_rest: bool = False) -> tuple[Parsed, list[str]] | None:
    """The options and positionals of `args` as click would read them, or None when anything is unusual.

    With `allow_rest`, parsing stops at the first positional (the root options before a command)."""
    values: Parsed = {}
    positionals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            if allow_rest:
                return values, args[i:]
            positionals.append(arg)
            i += 1
            continue
        name, eq, value = arg.partition("=")
        if eq and not name.startswith("--"):  # click reads "-p=x" as the value "=x"
            return None
        dest = spec.options.get(name) or spec.flags.get(name)
        if dest is None or dest in values:
            return None
        if name in spec.flags:
            if eq:
                return None
            values[dest] = True
        else:
            if not eq:
                if i + 1 >= len(args) or args[i + 1].startswith("-"):
                    return None
                i += 1
                value = args[i]
            values[dest] = value
        i += 1
    if len(positionals) != len(spec.positionals):
        return None
    values.update(zip(spec.positionals, positionals, strict=True))
    return values, []


def split_root(args: list[str]) -> tuple[State, list[str]] | None:
    """The root options (--db, --user, --theme, -p) as the State a command gets, and the command line after them."""
    from tuikanban.cli.common import State

    parsed = parse(args, Spec((), ROOT_OPTIONS), allow_rest=True)
    if parsed is None:
        return None
    opts, rest = parsed
    db = text(opts, "db") or os.environ.get("TUIKANBAN_DB") or None
    strict = not (rest and rest[0] == "config")  # the config commands show (and fix) a refused config file
    target, refused = db_choice(db, strict=strict)  # a refused config file: said when a command needs the database
    return State(target, current_user(text(opts, "user")), text(opts, "theme"), text(opts, "pipeline"),
                 refused=refused), rest


def text(values: Parsed, name: str) -> str | None:
    value = values.get(name)
    return value if isinstance(value, str) else None


def _pipeline(st: State, values: Parsed) -> str | None:
    """The command's own -p, else the root's (as `cli.core._pipeline`)."""
    return text(values, "pipeline") if "pipeline" in values else st.pipeline


def _flag(values: Parsed, name: str) -> bool:
    return values.get(name) is True


def _deal_add(st: State, v: Parsed) -> None:
    from tuikanban.cli import deals

    deals.add(st, str(v["title"]), _pipeline(st, v),
              stage=text(v, "stage"), value=text(v, "value"), currency=text(v, "currency"),
              company=text(v, "company"), contact=text(v, "contact"), owner=text(v, "owner"),
              dtype=text(v, "dtype"), close=text(v, "close"), notes=text(v, "notes"), at=text(v, "at"),
              force=_flag(v, "force"), reason=text(v, "reason"))


def _deal_move(st: State, v: Parsed) -> None:
    from tuikanban.cli import deals

    deals.move(st, int(str(v["deal_id"])), str(v["stage"]), at=text(v, "at"), force=_flag(v, "force"),
               reason=text(v, "reason"))


def _deal_list(st: State, v: Parsed) -> None:
    from tuikanban.cli import deals

    deals.list_(st, _pipeline(st, v), text(v, "status") or "open", _flag(v, "as_json"))


def _aging(st: State, v: Parsed) -> None:
    from tuikanban.cli import aging_report

    limit = text(v, "limit")
    aging_report.report(st, _pipeline(st, v), _flag(v, "as_json"), _flag(v, "flagged"),
                        int(limit) if limit is not None else aging_report.DEFAULT_LIMIT)


def _changes(st: State, v: Parsed) -> None:
    from tuikanban.cli import review_report

    idle_days = text(v, "idle_days")
    review_report.changes(st, _pipeline(st, v), str(v["since"]), text(v, "until"), text(v, "owner"),
                          text(v, "closing"), int(idle_days) if idle_days is not None else 14,
                          _flag(v, "no_mark"), _flag(v, "as_json"))


_RUNNERS: dict[tuple[str, ...], Callable[[State, Parsed], None]] = {
    ("deal", "add"): _deal_add, ("deal", "move"): _deal_move, ("deal", "list"): _deal_list, ("aging",): _aging,
    ("changes",): _changes,
}
# options Typer requires: without them, Typer says so in its own words
_REQUIRED: dict[tuple[str, ...], tuple[str, ...]] = {("changes",): ("since",)}


def valid(values: Parsed) -> bool:
    """What click would refuse or convert differently goes to Typer: an ID or a limit that is not plain digits."""
    return all(not isinstance(values.get(name), str) or (str(values[name]).isascii() and str(values[name]).isdigit())
               for name in ("deal_id", "limit", "idle_days"))


def dispatch(args: list[str]) -> int | None:
    """Run `args` if this module knows the command line exactly; None means "use Typer"."""
    root = split_root(args)
    if root is None:
        return None
    st, rest = root
    if not rest:
        return _open_board(st)
    command: tuple[str, ...] = (rest[0],) if (rest[0],) in _RUNNERS else tuple(rest[:2])
    if command not in _RUNNERS:
        return None
    parsed = parse(rest[len(command):], SPECS[command])
    if parsed is None or not valid(parsed[0]) or any(n not in parsed[0] for n in _REQUIRED.get(command, ())):
        return None
    try:
        _RUNNERS[command](st, parsed[0])
    finally:
        st.close()
    return 0


def _open_board(st: State) -> int:
    """`tuikanban [--db PATH] [--user NAME] [--theme NAME] [-p PIPELINE]`: the board, which paints before the
    ORM is imported (Typer's option parsing alone would take longer than the first paint)."""
    from tuikanban.cli import board

    try:
        board.open_board(st)
    finally:
        st.close()
    return 0
