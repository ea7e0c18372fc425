"""The exercise metadata CSV (megaGymDataset.csv): the one reader, strict, one row per title.

Both the enrichment side (titles to generate, Type/Equipment/Level for fallbacks) and the batch
side (metadata joined onto events, from the object store's copy) read the CSV through
:func:`parse_exercises`, so they agree on what a valid file is: every column present, a title on
every row, ratings within 0-10 (empty stays null, never 0), and the first row of a duplicate
title wins, so a join never fans out the way the original pandas merge did.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fitray.exceptions import TerminalError
from fitray.schema import EXERCISE_CSV_COLUMNS, EXERCISE_REFERENCE_SCHEMA

__all__ = ["MAX_RATING", "BadExerciseData", "dedupe_by_title", "parse_exercises", "read_exercises"]

MAX_RATING = 10.0


class BadExerciseData(TerminalError):
    """The exercise CSV is unreadable, misses columns or has rows that cannot be used."""


def read_exercises(path: Path) -> pa.Table:
    """The validated exercise table of a local CSV file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadExerciseData(f"cannot read exercise CSV {path}: {exc.strerror}") from None
    return parse_exercises(data, source=str(path))


def parse_exercises(data: bytes, source: str = "exercise CSV") -> pa.Table:
    """CSV bytes -> :data:`EXERCISE_REFERENCE_SCHEMA` rows, one per title."""
    table = _read_csv(data, source)
    missing = [name for name in EXERCISE_CSV_COLUMNS if name not in table.column_names]
    if missing:
        raise BadExerciseData(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(EXERCISE_CSV_COLUMNS)}"
        )
    table = table.select(list(EXERCISE_CSV_COLUMNS)).rename_columns(
        list(EXERCISE_CSV_COLUMNS.values())
    )
    table = table.set_column(0, "title", pc.utf8_trim_whitespace(table["title"]))
    _check_rows(table, source)
    return dedupe_by_title(table).cast(EXERCISE_REFERENCE_SCHEMA)


def _read_csv(data: bytes, source: str) -> pa.Table:
    types = {name: pa.string() for name in EXERCISE_CSV_COLUMNS}
    types["Rating"] = pa.float64()
    convert = pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=True
    )
    try:
        return pacsv.read_csv(io.BytesIO(data), convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise BadExerciseData(f"{source}: unreadable CSV: {first_line}") from None


def _check_rows(table: pa.Table, source: str) -> None:
    titles, ratings = table["title"], table["rating"]
    bad_title = pc.equal(pc.utf8_length(pc.fill_null(titles, "")), 0)
    bad_rating = pc.or_(pc.less(ratings, 0.0), pc.greater(ratings, MAX_RATING))
    bad = pc.fill_null(pc.or_(bad_title, pc.fill_null(bad_rating, False)), False)
    count = pc.sum(bad).as_py() or 0
    if count:
        first = pc.index(bad, True).as_py()
        why = "empty Title" if bad_title[first].as_py() else f"Rating outside 0-{MAX_RATING:g}"
        raise BadExerciseData(
            f"{source}: {count} bad row(s), first at data row {first + 1} ({why}); "
            "fix the CSV and upload it again"
        )


def dedupe_by_title(table: pa.Table) -> pa.Table:
    """Keep the first row of each title (file order), so a join never fans out."""
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    first = numbered.group_by("title", use_threads=False).aggregate([("_row", "min")])
    keep = pc.is_in(numbered["_row"], value_set=first["_row_min"])
    return table.filter(keep)
