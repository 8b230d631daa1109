"""User text is stored cleaned and shown literally and safely in every CLI place (docs/RULES.md, Safe text).

Each kind of hostile or unusual text goes into every text field a rep can fill (title, company, contact,
owner, notes, lost reason, and the names of pipelines, stages and deal types), then comes out through every
command that shows it. Safe means: Rich markup is shown as typed, no escape or control sequence reaches the
terminal (the only escapes in the output are the SGR colour codes the program itself adds), and bidi overrides
cannot reorder the line. The expected cleaned texts below are written out by hand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from board_helpers import settle
from tuikanban.domain.text import clean_text
from tuikanban.services import deals
from tuikanban.store.engine import open_database
from tuikanban.ui.app import TuikanbanApp

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

FIXTURES = Path(__file__).parent / "fixtures"

# kind: (text as typed, text as stored and shown)
TEXTS: dict[str, tuple[str, str]] = {
    "markup": ("[red]x[/] [link=https://evil.example]click[/link] [bold]b",
               "[red]x[/] [link=https://evil.example]click[/link] [bold]b"),
    "csi": ("\x1b[31mALERT\x1b[0m now\x1b[2J\x1b[?1049h", "ALERT now"),
    "osc52": ("copy\x1b]52;c;ZXZpbCBjb21tYW5k\x07me", "copyme"),
    "osc8": ("\x1b]8;;https://evil.example\x1b\\click here\x1b]8;;\x1b\\", "click here"),
    "c0": ("bell\x07 back\x08space nul\x00 cr\rlf", "bell  back space nul  cr lf"),
    "c1": ("eight\x9b31mbit \x9d0;title\x9c", "eightbit"),
    "bidi": ("abc\u202edcba\u2066x\u2069", "abcdcbax"),
    "wide": ("商談 🚀 ｗｉｄｅ 👨\u200d👩\u200d👧", "商談 🚀 ｗｉｄｅ 👨\u200d👩\u200d👧"),
    "rtl": ("עסקה גדולה صفقة", "עסקה גדולה صفقة"),
    "long": ("L" * 190 + "END", "L" * 190 + "END"),
}
# Names (pipelines, stages, deal types) are at most 80 characters.
NAMES = {k: v for k, v in TEXTS.items() if k != "long"} | {"long": ("S" * 77 + "END", "S" * 77 + "END")}

SGR = re.compile(r"\x1b\[[0-9;]*m")
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def assert_terminal_safe(output: str, *, colours: bool = False) -> None:
    """Nothing but printable text, newlines and (when `colours`) the program's own SGR colour codes."""
    rest = SGR.sub("", output) if colours else output
    bad = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(rest)})
    assert bad == [], f"unsafe characters reached the terminal: {bad}"


def _json_strings(doc: Any) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in (*_json_strings(k), *_json_strings(v))]
    if isinstance(doc, list):
        return [s for v in doc for s in _json_strings(v)]
    return []


def _board(kind: str) -> tuple[list[list[str]], dict[str, str]]:
    """Commands that build a pipeline full of one kind of text, and the names to use afterwards."""
    text, _shown = TEXTS[kind]
    name, name_shown = NAMES[kind]
    build = [
        ["pipeline", "create", name, "--stages", f"{name},Next", "--types", name],
        ["deal", "add", text, "-p", name_shown, "--company", text, "--contact", text, "--owner", text,
         "--notes", text, "--type", name_shown, "--value", "100"],
        ["deal", "add", f"second {text}", "-p", name_shown, "--value", "50"],
    ]
    return build, {"p": name_shown}


def _places(p: str, first: str, second: str) -> list[list[str]]:
    """Every command that shows user text, for one pipeline whose deals are `first` and `second`."""
    return [
        ["deal", "move", first, "Next"],
        ["deal", "lost", second, "--reason", "PLACEHOLDER"],
        ["pipeline", "list"], ["pipeline", "list", "--json"],
        ["stage", "list", "-p", p], ["stage", "list", "-p", p, "--json"],
        ["deal", "list", "-p", p, "--status", "all"], ["deal", "list", "-p", p, "--status", "all", "--json"],
        ["deal", "show", first], ["deal", "show", first, "--json"],
        ["deal", "show", second], ["deal", "show", second, "--json"],
        ["aging", "-p", p], ["aging", "-p", p, "--json"],
        ["metrics", "-p", p], ["metrics", "-p", p, "--json"],
    ]


@pytest.mark.parametrize("kind", list(TEXTS))
def test_text_is_stored_cleaned_and_shown_literally(cli: Any, db_target: str, monkeypatch: pytest.MonkeyPatch,
                                                    kind: str) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    text, shown = TEXTS[kind]
    build, names = _board(kind)
    for args in build:
        r = cli(*args)
        assert r.code == 0, (args, r.err)
    assert_terminal_safe(r.out)
    db = open_database(db_target)
    listed = deals.list_deals(db, names["p"], status="all")
    db.close()
    first, second = (str(d.id) for d in sorted(listed, key=lambda d: d.id))
    stored = next(d for d in listed if str(d.id) == first)
    assert (stored.title, stored.company, stored.contact, stored.owner) == (shown,) * 4
    # notes keep their lines: control characters are dropped rather than turned into spaces, CR ends a line
    assert stored.notes == ("bell backspace nul cr\nlf" if kind == "c0" else shown)
    assert stored.stage_name == NAMES[kind][1] and stored.type_name == NAMES[kind][1]

    places = _places(names["p"], first, second)
    places[1][-1] = text  # the lost reason
    outputs: dict[str, Any] = {}
    for args in places:
        r = cli(*args)
        assert r.code == 0, (args, r.err)
        assert_terminal_safe(r.out + r.err)
        key = " ".join(args[:2]) + (f" {args[2]}" if args[1] == "show" else "") + (" json" if "--json" in args
                                                                                   else "")
        outputs[key] = r
    # the lost reason is stored cleaned too
    db = open_database(db_target)
    assert deals.get_deal(db, int(second)).lost_reason == shown
    db.close()

    visible = shown[:30]  # tables cut long text (with an ellipsis); the start is always shown as typed
    for key in ("deal list", f"deal show {first}"):
        assert visible in outputs[key].out, (key, outputs[key].out)
    if kind == "long":
        assert "L" * 39 + "…" in outputs["deal list"].out
    assert NAMES[kind][1][:30] in outputs["stage list"].out
    assert NAMES[kind][1][:30] in outputs["pipeline list"].out
    # JSON carries the cleaned text exactly
    listed_json = json.loads(outputs["deal list json"].out)["deals"]
    by_id = {str(d["id"]): d for d in listed_json}
    assert (by_id[first]["title"], by_id[first]["company"], by_id[first]["owner"]) == (shown, shown, shown)
    assert by_id[second]["lost_reason"] == shown
    shown_json = json.loads(outputs[f"deal show {first} json"].out)
    assert shown_json["title"] == shown and shown_json["type"] == NAMES[kind][1]
    lost_json = json.loads(outputs[f"deal show {second} json"].out)
    assert lost_json["lost_reason"] == shown
    assert [e["reason"] for e in lost_json["events"] if e["kind"] == "lost"] == [shown]
    for key, r in outputs.items():
        if key.endswith("json"):
            for s in _json_strings(json.loads(r.out)):
                assert s == clean_text(s, multiline=True), (key, s)
    for key in ("aging", "metrics"):  # the pipeline's name heads both reports
        if key in outputs:
            assert NAMES[kind][1][:30] in outputs[key].out, outputs[key].out
    if "metrics json" in outputs:
        metrics = json.loads(outputs["metrics json"].out)
        assert [item["reason"] for item in metrics["lost_reasons"]] == [shown]
    if "aging json" in outputs:
        titles = [item["title"] for item in json.loads(outputs["aging json"].out)["deals"]]
        assert shown in titles


def test_every_place_on_a_colour_terminal(db_target: str, cli: Any) -> None:
    """The exact bytes a colour terminal gets from every place, for every kind of text at once."""
    commands: list[list[str]] = []
    for kind in TEXTS:
        build, _names = _board(kind)
        for args in build:
            assert cli(*args).code == 0
    db = open_database(db_target)
    for kind in TEXTS:
        p = NAMES[kind][1]
        ids = sorted(d.id for d in deals.list_deals(db, p, status="all"))
        places = _places(p, str(ids[0]), str(ids[1]))
        places[1][-1] = TEXTS[kind][0]
        commands += places
    db.close()
    commands = [["--db", db_target, *a] for a in commands]
    r = subprocess.run([sys.executable, str(FIXTURES / "run_cli_many.py"), json.dumps(commands)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads(r.stdout)
    assert len(results) == len(commands)
    coloured = 0
    for res in results:
        assert res["code"] == 0, (res["args"], res["err"])
        assert_terminal_safe(res["out"] + res["err"], colours=True)
        coloured += bool(SGR.search(res["out"]))
    assert coloured > 0  # the terminal really was a colour one (so Rich styles were live)
    tables = "".join(res["out"] for res in results if "--json" not in res["args"])
    plain = SGR.sub("", tables)
    assert "[red]x[/] [link=https://evil.example]click[/link]" in plain  # markup shown, not interpreted
    assert "\x1b]8" not in tables and "\x1b]52" not in tables


def test_too_long_text_is_refused_with_a_sentence(cli: Any) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Next").code == 0
    r = cli("deal", "add", "T" * 301)
    assert r.code == 1
    assert r.err.strip() == "The title is longer than 300 characters (301)."
    r = cli("deal", "add", "Fine", "--company", "C" * 400)
    assert r.code == 1
    assert r.err.strip() == "The company is longer than 300 characters (400)."
    r = cli("pipeline", "create", "P" * 81, "--stages", "A")
    assert r.code == 1
    assert r.err.strip() == "The pipeline name is longer than 80 characters."


def test_long_notes_are_kept_and_shown_safely(cli: Any, db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Next").code == 0
    notes = ("line one\n" + "\x1b[31m" + "n" * 19_000 + "\x07\n[b]end[/b]")
    added = cli("deal", "add", "Acme", "--notes", notes)
    assert added.code == 0, added.err
    db = open_database(db_target)
    stored = deals.get_deal(db, int(added.out)).notes
    db.close()
    assert stored == "line one\n" + "n" * 19_000 + "\n[b]end[/b]"  # newlines kept in notes, controls gone
    shown = cli("deal", "show", added.out.strip())
    assert shown.code == 0
    assert_terminal_safe(shown.out)


def test_error_messages_quoting_user_text_are_safe(cli: Any) -> None:
    assert cli("pipeline", "create", "Sales", "--stages", "Lead,Next").code == 0
    added = cli("deal", "add", "Acme")
    r = cli("deal", "move", added.out.strip(), "x\x1b]52;c;ZXZpbA==\x07y[red]z")
    assert r.code == 1
    assert_terminal_safe(r.err)
    assert "'xy[red]z'" in r.err
    r = cli("no-such-\x1b[2Jcommand")
    assert r.code == 1
    assert_terminal_safe(r.err)


# -- the board (when the UI is there): cards, detail, aging panel, metrics screen ----------------------


def _screen_segments(app: Any) -> tuple[str, list[str]]:
    """The whole screen as text, and every segment's text, as Textual would send them to the terminal."""
    update = app.screen._compositor.render_full_update()
    lines: list[str] = []
    texts: list[str] = []
    for row in update.strips:
        strips = [row] if hasattr(row, "text") else list(row)
        lines.append("".join(s.text for s in strips))
        texts += [seg.text for s in strips for seg in s]
    return "\n".join(lines), texts


async def test_board_detail_aging_and_metrics_show_text_literally(db: Any, fixed_now: str) -> None:
    from tuikanban.services import pipelines as ps

    markup_name = NAMES["markup"][0]
    p = ps.create_pipeline(db, markup_name, [markup_name[:40], NAMES["osc52"][0], "Next"],
                           types=[NAMES["bidi"][0], NAMES["wide"][0]])
    for text, _shown in TEXTS.values():
        deals.create_deal(db, p.id, text, user="tester", stage=markup_name[:40], company=text, owner=text[:200],
                          value="100", at="2026-01-01", dtype=NAMES["bidi"][0])
    lost = deals.create_deal(db, p.id, "Lost one", user="tester", at="2026-01-01")
    deals.lose_deal(db, lost.id, TEXTS["osc8"][0] + " " + TEXTS["markup"][0], user="tester", at="2026-02-01")
    app = TuikanbanApp(db, "tester", None)
    seen: dict[str, str] = {}
    async with app.run_test(size=(220, 70)) as pilot:
        await settle(pilot)
        for place, keys in (("board", []), ("detail", ["enter"]), ("aging", ["escape", "a"]),
                            ("metrics", ["a", "m"])):
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            text, segments = _screen_segments(app)
            for seg in segments:
                assert_terminal_safe(seg)
            seen[place] = text
    assert "[red]x[/]" in seen["board"]  # a card title and the pipeline name, as typed
    assert "copyme" in seen["board"]  # the OSC 52 stage name, without its escape sequence
    assert "[red]x[/]" in seen["detail"]
    assert "[red]x[/]" in seen["aging"]
    assert "[red]x[/]" in seen["metrics"]  # the lost reason and the pipeline name


def test_json_safe_keeps_the_indentation_and_escapes_the_rest() -> None:
    from tuikanban.domain.text import json_safe

    document = '{\n  "a": "x\u2028\x1b\ty\u202e",\n  "b": [\n    1\n  ]\n}'
    assert json_safe(document) == '{\n  "a": "x\\u2028\\u001b\\u0009y\\u202e",\n  "b": [\n    1\n  ]\n}'
    assert json.loads(json_safe(document)) == json.loads(document.replace("\x1b", "\\u001b").replace("\t", "\\t"))
    # an ASCII document: each unsafe ASCII character escaped, none else touched (a safe one returned as it is)
    for bad in (*range(0x00, 0x0a), *range(0x0b, 0x20), 0x7f):
        assert json_safe(f'{{\n  "a": "x{chr(bad)}y"\n}}') == f'{{\n  "a": "x\\u{bad:04x}y"\n}}'
    plain = '{\n  "a": "x ~ y"\n}'
    assert json_safe(plain) is plain

