"""Import and export: deals from and to CSV, and a whole pipeline to and from JSON.

CSV import (`import_csv_text`): a header row, columns in any order, only `title` required (see CSV_COLUMNS).
Every row is checked and the good ones written in ONE write transaction, with bulk inserts, a chunk at a time;
every bad row is named with its line number and reason (`ImportProblems`) and then nothing is kept: either every
row is imported or none is. Each imported deal gets the history a deal created by hand would have: a `create`
event and a stay from `created_at`, plus a `won` or `lost` event that ends the stay at `closed_at`, so aging and
metrics work on imported data.

WIP limits hold for imports too: rows that would put an open deal into a stage at its `wip_max` (or an owner at
the stage's `rep_wip_max`) are refused like any other bad row, counted in file order on top of the deals already
open. With a force reason they are imported and each one is logged as a `wip_override` event, as a forced move is.

CSV export (`write_csv`) writes the same columns (so an export imports back) and neutralises every cell that a
spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) by prefixing a `'`; the
import removes that prefix again.

JSON export (`write_pipeline_json`) holds a pipeline's settings, stages, deal types, deals, events, stays and
activities; `import_pipeline_json` recreates it (in an empty database, or next to other pipelines) with the same
board, history and metrics, reading the file as it goes (`open_json`: memory stays flat, however big the file).
Ids are kept when they are free, otherwise renumbered consistently.
"""

from __future__ import annotations

from tuikanban.services.io.common import (
    CSV_COLUMNS,
    FORMULA_STARTS,
    JSON_FORMAT,
    ImportProblems,
    ImportResult,
    neutralise,
)
from tuikanban.services.io.csv_export import write_csv
from tuikanban.services.io.csv_import import import_csv_text
from tuikanban.services.io.files import file_is_json, looks_like_json, read_text_file
from tuikanban.services.io.json_export import write_pipeline_json
from tuikanban.services.io.json_import import import_pipeline_json, open_json, read_json

__all__ = [
    "CSV_COLUMNS", "FORMULA_STARTS", "JSON_FORMAT", "ImportProblems", "ImportResult", "file_is_json",
    "import_csv_text", "import_pipeline_json", "looks_like_json", "neutralise", "open_json", "read_json",
    "read_text_file",
    "write_csv", "write_pipeline_json",
]
