"""The user's keymap: a `[keymap]` table in the settings file that gives board bindings other keys, by id
(`"board.lanes" = "S"`), applied with Textual's `App.set_keymap`. An entry that names no binding, is not a key in
quotes, or gives a key that another binding has is left out, with one sentence each (a notification when the
board starts, and `tuikanban config show`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tuikanban.ui.board.keys import BINDING_SECTIONS

SECTION = "keymap"


def default_keys() -> dict[str, str]:
    """Every board binding id and its keys as written in the key table (`"left,h"`)."""
    return {b.id: b.key for _title, bindings in BINDING_SECTIONS for b in bindings if b.id}


@dataclass(eq=False)
class Keymap:
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, the entries that can be applied
    problems: list[str] = field(default_factory=list)  # one sentence per entry left out


def _split(keys: str) -> list[str]:
    return [k.strip() for k in keys.split(",") if k.strip()]


def check_keymap(table: Mapping[str, Any]) -> Keymap:
    """The entries of a `[keymap]` table that can be applied, and a sentence for each one that cannot."""
    defaults = default_keys()
    out = Keymap()
    for binding_id, keys in table.items():
        if binding_id not in defaults:
            out.problems.append(f"The keymap names '{binding_id}', which is no board binding (`tuikanban config "
                                "show` lists them); it was left out.")
        elif not isinstance(keys, str) or not _split(keys):
            out.problems.append(f"The keymap entry '{binding_id}' is not a key in quotes (such as \"S\" or "
                                "\"ctrl+l\"); it was left out.")
        else:
            out.keys[binding_id] = ",".join(_split(keys))
    owners: dict[str, list[str]] = {}
    for binding_id, keys in {**defaults, **out.keys}.items():
        for key in _split(keys):
            owners.setdefault(key, []).append(binding_id)
    for key, ids in owners.items():
        if len(ids) < 2:
            continue
        remapped = [i for i in ids if i in out.keys]
        for binding_id in remapped:
            out.keys.pop(binding_id, None)
        out.problems.append(f"The keymap gives the key '{key}' to {' and '.join(ids)}; "
                            f"{', '.join(remapped)} kept {'its' if len(remapped) == 1 else 'their'} default keys.")
    return out


def user_keymap() -> Keymap:
    """The keymap of the settings file (an empty one when the file is missing or broken: it says so itself)."""
    from tuikanban.settings import load_settings

    table = load_settings().extra.get(SECTION, {})
    if not isinstance(table, dict):
        return Keymap(problems=["The [keymap] table of the config file is not a table of binding ids and keys; it "
                                "was left out."])
    return check_keymap(table)


__all__ = ["Keymap", "check_keymap", "default_keys", "user_keymap"]
