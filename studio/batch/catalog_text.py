"""From a catalog's bytes to text and CSV rows, refusing what is not a text catalog.

Every way the bytes can be wrong ends in a CatalogError that names the line, never in a
Python exception: a file cut short in the middle of a UTF-16 character, binary junk, a
spreadsheet saved as .xlsx, a cell too large for a catalog.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from studio.batch.catalog_rows import CatalogError, RowProblem

DELIMITERS = ",;\t|"
# The csv module's own limit, kept: a cell this long is a pasted file, not a product field.
MAX_CELL_CHARS = csv.field_size_limit()
# The delimiter is guessed from the first lines of the file.
_SNIFF_LINES, _SNIFF_CHARS = 20, 64 * 1024
_ZIP_MAGIC = b"PK\x03\x04"


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), UTF-16 (with BOM), else Windows-1252, else Latin-1."""
    if data.startswith(_ZIP_MAGIC):
        raise CatalogError("This is a zip file (an Excel .xlsx or .ods workbook?), not a "
                           "catalog: save the sheet as CSV.")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _utf16(data), "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _utf16(data: bytes) -> str:
    if len(data) % 2:
        raise CatalogError(f"The catalog starts as UTF-16 but has an odd number of bytes "
                           f"({len(data)}): it was cut short or is not UTF-16.")
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        line = data[:exc.start - exc.start % 2].decode("utf-16", errors="replace").count("\n")
        raise CatalogError(f"Line {line + 1} of the UTF-16 catalog is not valid UTF-16 "
                           f"({exc.reason}).") from None


def refuse_binary(text: str) -> None:
    """A NUL character never belongs in a text catalog: it is binary junk or UTF-16 without
    its byte-order mark."""
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise CatalogError(f"Line {line} of the catalog holds binary data (a NUL byte): "
                           "a catalog is CSV, JSON or JSON Lines text, saved as UTF-8.")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of cells most often.

    csv.Sniffer is not used: its patterns backtrack, and a few lines like `,",",",…` take it
    minutes. Reading the sample once per candidate with the csv module is linear."""
    sample = text[:_SNIFF_CHARS]
    lines = sample.splitlines(keepends=True)[:_SNIFF_LINES]
    if len(sample) == _SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut short
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = Counter(len(row) for row in _sample_rows("".join(lines), delimiter) if row)
        if not counts:
            continue
        cells, rows = counts.most_common(1)[0]
        score = (rows, cells) if cells > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _sample_rows(sample: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error:
        pass  # what was read before the error still counts
    return rows


def csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]] | RowProblem]:
    """Rows with the line each starts on (a quoted cell may span lines); a row the csv module
    cannot read is a RowProblem, and reading goes on after it."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowProblem(start, _csv_reason(exc))
            start = reader.line_num + 1
            continue
        yield start, row
        start = reader.line_num + 1


def _csv_reason(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (f"has a cell over {MAX_CELL_CHARS:,} characters (a catalog cell is text, not "
                "a file; is a quote left open?).")
    return f"cannot be read as CSV ({exc})."
