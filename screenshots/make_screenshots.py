"""Render the README screenshots of tuikanban: the snapshot tests' pictures, copied here (with PNGs).

Usage (from the repository root):

    .venv/bin/python screenshots/make_screenshots.py            # writes screenshots/*.svg (+ *.png)
    .venv/bin/python screenshots/make_screenshots.py --out DIR  # somewhere else
    .venv/bin/python screenshots/make_screenshots.py --no-png   # SVGs only

The pictures are the scenarios of `tests/screenshot_scenarios.py` (the demo database, seed 7, the clock fixed at
2026-03-02 12:00 UTC, the real board at 160x45 driven with keys like a user; that module says what each picture
shows and how it is kept deterministic). This script runs their snapshot tests with `--snapshot-update`, so the
snapshots in `tests/__snapshots__/test_readme_screenshots/` are rewritten, and copies each snapshot to
`<stem>.svg`. The test suite checks both on every run: each scenario against its snapshot, and each README image
against its snapshot; a README image that differs fails the suite until this script is run.

A scenario that cannot be pictured (the screen still loading, the aging panel empty) fails its test; then nothing
is copied and the script exits with status 1.

PNGs are written next to the SVGs when `rsvg-convert` (Debian package librsvg2-bin) is on PATH; otherwise the script
says so and writes SVGs only. For the PNGs the SVG is drawn without anti-aliasing (sharp cell edges and text, and
files about five times smaller) and with plain spaces (librsvg would drop the leading no-break spaces of a text
run, gluing words together).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

from screenshot_scenarios import SCENARIOS, SNAPSHOTS, snapshot_name  # noqa: E402


def update_snapshots() -> int:
    """Run the README scenarios' snapshot tests with --snapshot-update; returns pytest's exit status."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
               "tests/test_readme_screenshots.py::test_readme_screenshot", "--snapshot-update"]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


# Only for the PNG copy: plain spaces instead of the no-break spaces Rich writes (librsvg drops a segment's leading
# ones), and no anti-aliasing (crisp cell edges and text: the PNGs stay about five times smaller, and sharp).
PNG_STYLE = "rect { shape-rendering: crispEdges; }\ntext { text-rendering: optimizeSpeed; }\n"


def to_png(svg: Path) -> Path:
    """Convert the SVG to a PNG beside it with `rsvg-convert`."""
    png = svg.with_suffix(".png")
    text = svg.read_text(encoding="utf-8").replace("&#160;", " ")
    text = text.replace("<svg ", '<svg xml:space="preserve" ', 1).replace("<style>", "<style>\n" + PNG_STYLE, 1)
    subprocess.run(["rsvg-convert", "--format", "png", "--output", str(png)], input=text.encode("utf-8"),
                   check=True)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    parser.add_argument("--no-png", action="store_true", help="write SVGs only")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    status = update_snapshots()
    if status != 0:
        print(f"problem: the screenshot scenarios failed (pytest exit status {status}); nothing was copied",
              file=sys.stderr)
        return 1
    svgs = []
    for scenario in SCENARIOS:
        svg = out / f"{scenario.stem}.svg"
        shutil.copyfile(SNAPSHOTS / snapshot_name(scenario), svg)
        svgs.append(svg)
        print(f"  {svg}")
    if args.no_png:
        pass
    elif shutil.which("rsvg-convert") is None:
        print("rsvg-convert is not installed (Debian: apt install librsvg2-bin), so no PNGs were written.")
    else:
        for svg in svgs:
            png = to_png(svg)
            print(f"  {png} ({png.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
