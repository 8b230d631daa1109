"""Count the instructions a start executes up to its first frame: the bare Textual app against each source tree's
board, under valgrind's callgrind (every thread), so the figures do not move with the machine's load.

    python bench/first_paint_instructions.py --src A=../base/src --src B=src --open 10
    python bench/first_paint_instructions.py --src A=../base/src --src B=src --classes

Each program runs on a pseudo-terminal of 160x45 (`script`) and leaves at its first frame: Textual's
`App._display` is wrapped to end the process once it has written that frame. Printed per program: the
instructions (callgrind's Ir, all threads), the ratio to the bare app's, and the share spent parsing and
compiling source text at run time (`exec` of generated code: every dataclass's methods, namedtuples), taken from
callgrind's inclusive costs of `_PyParser_ASTFromString` and `_PyAST_Compile`. A run under valgrind takes a
minute or two; the counts repeat within a fraction of a percent from run to run.
Figures only: nothing here asserts a count.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from board_bench import build

FIRST_FRAME = '''
import os, sys
CLASSES = os.environ.get("FIRST_FRAME_CLASSES")
if CLASSES:  # (--classes: the package's dataclasses built to the first frame, and the text compiled for each)
    import dataclasses
    built, now = [], [0, 0]
    def _hook(event, args):
        if event == "compile" and isinstance(args[0], (str, bytes)):
            now[0] += 1
            now[1] += len(args[0])
    sys.addaudithook(_hook)
    _process = dataclasses._process_class
    def _counted(cls, *args):
        before = list(now)
        out = _process(cls, *args)
        if cls.__module__.startswith("tuikanban"):
            built.append((now[1] - before[1], now[0] - before[0], cls.__module__ + "." + cls.__qualname__))
        return out
    dataclasses._process_class = _counted
from textual.app import App
_display = App._display
def _once(self, screen, renderable):
    _display(self, screen, renderable)
    if CLASSES:
        with open(CLASSES, "w") as fh:
            fh.writelines(f"{chars} {methods} {name}\\n" for chars, methods, name in built)
    os._exit(0)
App._display = _once
if os.environ.get("FIRST_FRAME_BARE"):
    from textual.widgets import Static
    class Bare(App):
        def compose(self):
            yield Static("BARE-TEXTUAL-APP")
    Bare().run()
else:
    sys.argv = ["tuikanban"]
    from tuikanban.cli import main
    main()
'''
PARSE = ("peg_api.c:_PyParser_ASTFromString", "compile.c:_PyAST_Compile ")


def count(script: Path, env: dict[str, str], work: Path) -> tuple[int, int]:
    """(instructions to the first frame, of which parsing and compiling source text)."""
    out, err = work / "callgrind.out", work / "valgrind.err"
    envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    inner = (f"stty cols 160 rows 45; env {envs} valgrind --tool=callgrind --callgrind-out-file={out} "
             f"{shlex.quote(sys.executable)} {script} 2>{err}")
    subprocess.run(["script", "-qec", inner, "/dev/null"], check=False, stdout=subprocess.DEVNULL)
    total = int(re.search(r"I\s+refs:\s+([\d,]+)", err.read_text()).group(1).replace(",", ""))
    notes = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(out)], capture_output=True,
                           text=True).stdout
    parse = 0
    for line in notes.splitlines():
        if "'2" not in line and any(p in line for p in PARSE):
            parse += int(line.split()[0].replace(",", ""))
    out.unlink()
    return total, parse


def run_to_frame(script: Path, env: dict[str, str]) -> int:
    """Run `script` on a pseudo-terminal of 160x45 to its first frame, without valgrind; its exit status."""
    envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    inner = f"stty cols 160 rows 45; env {envs} {shlex.quote(sys.executable)} {script}"
    return subprocess.run(["script", "-qec", inner, "/dev/null"], check=False, stdout=subprocess.DEVNULL).returncode


def print_classes(title: str, status: int, listing: Path) -> None:
    rows = [line.split(" ", 2) for line in listing.read_text().splitlines()] if listing.exists() else []
    if not rows:
        print(f"{title}: no first frame (exit status {status})")
        return
    chars, methods = sum(int(r[0]) for r in rows), sum(int(r[1]) for r in rows)
    print(f"{title}: {len(rows)} dataclasses of the package built to the first frame, {methods} methods compiled "
          f"from {chars:,} characters of text; the largest:")
    for r in sorted(rows, key=lambda r: -int(r[0]))[:8]:
        print(f"    {int(r[0]):>6,} characters, {r[1]} methods: {r[2]}")
    listing.unlink()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", action="append", required=True, help="NAME=PATH of a source tree's src folder")
    ap.add_argument("--open", type=int, action="append", help="open deals (default 10)")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "tuikanban-bench")
    ap.add_argument("--classes", action="store_true",
                    help="instead of counting: the package's dataclasses each board builds to its first frame, with "
                         "the methods and characters of text each compiles (no valgrind, a few seconds)")
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)
    trees = [(s.split("=", 1)[0], str(Path(s.split("=", 1)[1]).resolve())) for s in a.src]
    import compileall

    for _name, src in trees:  # (their bytecode first, as an installed copy has it)
        compileall.compile_dir(src, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = work / "first_frame.py"
        script.write_text(FIRST_FRAME)
        config = work / "config"
        config.mkdir()
        if a.classes:
            for size in a.open or [10]:
                db = build(a.dir, size)
                for name, src in trees:
                    listing = work / "classes.txt"
                    env = {"PYTHONPATH": src, "TUIKANBAN_DB": str(db), "TUIKANBAN_USER": "alice",
                           "XDG_CONFIG_HOME": str(config), "FIRST_FRAME_CLASSES": str(listing)}
                    print_classes(f"{size:>7,} open deals, {name}", run_to_frame(script, env), listing)
            return
        bare, bare_parse = count(script, {"FIRST_FRAME_BARE": "1", "XDG_CONFIG_HOME": str(config)}, work)
        print(f"bare Textual app: {bare:,} instructions to its first frame, {bare_parse:,} parsing and compiling "
              f"source text ({bare_parse / bare:.1%})")
        for size in a.open or [10]:
            db = build(a.dir, size)
            for name, src in trees:
                env = {"PYTHONPATH": src, "TUIKANBAN_DB": str(db), "TUIKANBAN_USER": "alice",
                       "XDG_CONFIG_HOME": str(config)}
                n, parse = count(script, env, work)
                print(f"{size:>7,} open deals, {name}: {n:,} instructions, {n / bare:.3f}x the bare app; parsing and "
                      f"compiling source text {parse:,} ({parse / n:.1%}; {parse - bare_parse:+,} beside the bare app)")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} (the counts do not depend on it)")


if __name__ == "__main__":
    main()
