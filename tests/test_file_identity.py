"""A board notices when the file at its path is no longer the database it opened."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tuikanban.services.deals import create_deal
from tuikanban.services.pipelines import create_pipeline
from tuikanban.store.engine import open_database
from tuikanban.store.identity import identity, what_changed
from tuikanban.store.tables import SCHEMA_VERSION

pytestmark = pytest.mark.sqlite_only  # the file at the board's path replaced by another one (inode)


def _board(path: Path, deals: int) -> None:
    db = open_database(path)
    create_pipeline(db, "Sales", ["Lead"])
    for i in range(deals):
        create_deal(db, "Sales", f"Deal {i}", user="alice")
    db.close()


def test_every_way_the_file_can_stop_being_the_board(tmp_path: Path) -> None:
    path = tmp_path / "board.db"
    _board(path, 3)
    older = tmp_path / "older.db"
    shutil.copyfile(path, older)  # a copy taken now: older than what follows
    db = open_database(path)
    create_deal(db, "Sales", "Deal 3", user="bob")
    db.close()
    opened = identity(path)
    assert opened is not None and opened.schema == SCHEMA_VERSION
    assert what_changed(path, opened, identity(path)) is None
    db = open_database(path)  # its own writes move the file forward, which is fine
    create_deal(db, "Sales", "Deal 4", user="bob")
    db.close()
    assert what_changed(path, opened, identity(path)) is None
    # cp of an older copy over it (same inode, history goes back in time)
    saved = tmp_path / "saved.db"
    shutil.copyfile(path, saved)
    shutil.copyfile(older, path)
    assert what_changed(path, opened, identity(path)) == (
        f"The board file {path} was overwritten by an older copy; nothing more is written to it until it is reopened.")
    # cp of another board's file over it (same inode, a newer history that began elsewhere)
    busier = tmp_path / "busier.db"
    _board(busier, 9)
    shutil.copyfile(busier, path)
    assert what_changed(path, opened, identity(path)) == (
        f"The board file {path} was overwritten by another board's file; nothing more is written to it until it is "
        "reopened.")
    shutil.copyfile(saved, path)
    assert what_changed(path, opened, identity(path)) is None  # its own content back
    # mv another file over it (another inode)
    shutil.copyfile(saved, tmp_path / "other.db")
    (tmp_path / "other.db").replace(path)
    assert what_changed(path, opened, identity(path)) == (
        f"The board file {path} was replaced by another file; nothing more is written to the old one.")
    # upgraded by a newer tuikanban (same inode, newer schema)
    now = identity(path)
    assert now is not None
    con = sqlite3.connect(path)
    con.execute("UPDATE tk_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    assert what_changed(path, now, identity(path)) == (
        f"The board file {path} was upgraded by a newer tuikanban (schema {SCHEMA_VERSION + 1}); this board stops "
        "writing to it.")
    path.unlink()
    assert what_changed(path, opened, identity(path)) == (
        f"The board file {path} was deleted or moved away; nothing more is written to it.")
