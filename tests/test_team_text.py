"""Text written into the shared file by any rep with `sqlite3` reaches no terminal as control sequences (issue 12):
every read command, in table and --json form, is scanned byte by byte, and --json keeps the text losslessly."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tuikanban.services import deals, pipelines, presence
from tuikanban.store.engine import open_database

pytestmark = pytest.mark.sqlite_only  # hostile text planted in the shared file with sqlite3

EVIL = "x\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m\x85\u202eevil\u2066y"
# ESC, BEL, the 8-bit C1 range, the bidi overrides/isolates and the Unicode line separators
UNSAFE = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]")


def plant(path: Path) -> None:
    """What a hostile rep with write access to the file can do: bypass tuikanban and write raw bytes."""
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE pipeline SET name = ?, lost_reasons = ?", (f"Sales{EVIL}", f"Price{EVIL}"))
        con.execute("UPDATE stage SET name = name || ?, exit_criteria = ?", (EVIL, f"Signed{EVIL}"))
        con.execute("UPDATE deal_type SET name = ?", (f"New{EVIL}",))
        con.execute("UPDATE deal SET title = ?, company = ?, contact = ?, owner = ?, notes = ?, lost_reason = ?",
                    (f"Acme{EVIL}", f"Co{EVIL}", f"Ann{EVIL}", f"bob{EVIL}", f"n{EVIL}", f"r{EVIL}"))
        con.execute('UPDATE event SET "user" = ?, reason = ?, old_value = ?, new_value = ?',
                    (f"mallory{EVIL}", EVIL, EVIL, EVIL))
        con.execute('UPDATE presence SET "user" = ?, host = ?', (f"eve{EVIL}", f"h{EVIL}"))
    con.close()


def test_no_command_prints_control_sequences_from_the_file(cli: Any, db_path: Path) -> None:
    db = open_database(db_path)
    pipelines.create_pipeline(db, "Sales", "Lead,Proposal,Won")
    deals.create_deal(db, "Sales", "Acme", user="alice", value="10k")
    deals.move_deal(db, 1, "Proposal", user="alice")
    presence.join(db, "alice", "host", 1)
    db.close()
    plant(db_path)
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
