"""Text written into the shared database by any rep with write access past tuikanban (`sqlite3` on the file, `psql`
on the server) reaches no terminal as control sequences (issue 12): every read command, in table and --json form,
is scanned byte by byte, and --json keeps the text losslessly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from engines import execute
from tuikanban.services import deals, pipelines, presence
from tuikanban.store.engine import open_database

pytestmark = pytest.mark.engines  # on SQLite and on PostgreSQL

EVIL = "x\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m\x85\u202eevil\u2066y"
# ESC, BEL, the 8-bit C1 range, the bidi overrides/isolates and the Unicode line separators
UNSAFE = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]")


def plant(target: str) -> None:
    """What a hostile rep with write access to the database can do: bypass tuikanban and write raw text."""
    e = EVIL
    execute(
        target,
        ("UPDATE pipeline SET name = :name, lost_reasons = :reasons", {"name": f"Sales{e}", "reasons": f"Price{e}"}),
        ("UPDATE stage SET name = name || :e, exit_criteria = :criteria", {"e": e, "criteria": f"Signed{e}"}),
        ("UPDATE deal_type SET name = :name", {"name": f"New{e}"}),
        ("UPDATE deal SET title = :t, company = :c, contact = :p, owner = :o, notes = :n, lost_reason = :r",
         {"t": f"Acme{e}", "c": f"Co{e}", "p": f"Ann{e}", "o": f"bob{e}", "n": f"n{e}", "r": f"r{e}"}),
        ('UPDATE event SET "user" = :u, reason = :e, old_value = :e, new_value = :e', {"u": f"mallory{e}", "e": e}),
        ('UPDATE presence SET "user" = :u, host = :h', {"u": f"eve{e}", "h": f"h{e}"}),
    )


def test_no_command_prints_control_sequences_from_the_file(cli: Any, db_target: str) -> None:
    db = open_database(db_target)
    pipelines.create_pipeline(db, "Sales", "Lead,Proposal,Won")
    deals.create_deal(db, "Sales", "Acme", user="alice", value="10k")
    deals.move_deal(db, 1, "Proposal", user="alice")
    presence.join(db, "alice", "host", 1)
    db.close()
    plant(db_target)
    commands = [
        ("pipeline", "list"), ("stage", "list"), ("type", "list"), ("deal", "list"), ("deal", "show", "1"),
        ("aging",), ("metrics",), ("who",), ("doctor",), ("export", "--format", "json"),
    ]
    commands += [(*c, "--json") for c in commands if c[0] not in ("export",)]
    for command in commands:
        r = cli(*command)
        assert r.code in (0, 1), (command, r.err)
        found = UNSAFE.findall(r.out + r.err)
        assert found == [], (command, found)
    # JSON escapes rather than drops: a program reading it gets the file's text back exactly
    doc = json.loads(cli("deal", "show", "1", "--json").out)
    assert doc["title"] == f"Acme{EVIL}"
    exported = json.loads(cli("export", "--format", "json").out)
    assert exported["deals"][0]["title"] == f"Acme{EVIL}"
    assert json.loads(cli("who", "--json").out)["here"][0]["user"] == f"eve{EVIL}"


def test_theme_and_config_values_are_shown_literally(cli: Any, tmp_path: Path) -> None:
    themes = tmp_path / "xdg-config" / "tuikanban" / "themes"
    themes.mkdir(parents=True)
    (themes / "bad\x1b[31m\u202e.toml").write_text('name = "x\\u001b]0;pwned\\u0007"\n')
    # TOML's own escapes: the parsed values hold real ESC characters
    (themes.parent / "config.toml").write_text('theme = "dark\\u001b[2J"\n"odd\\u001b[5mkey" = 1\n')
    for command in (("config", "show"), ("config", "themes"), ("config", "theme"), ("config", "path")):
        r = cli(*command)
        assert UNSAFE.findall(r.out + r.err) == [], command
    shown = cli("config", "show").out
    assert "dark\\x1b[2J" in shown  # the escape is visible as text, not run by the terminal
