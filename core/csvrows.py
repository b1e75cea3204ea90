"""CSV files: reading an upload row by row through a schema (all errors collected, nothing half-read), and
writing a download whose cells a spreadsheet will never run as formulas."""
import csv
import io
from dataclasses import dataclass
from typing import Iterable, Iterator

from marshmallow import Schema, ValidationError

from core.csvcells import restore


@dataclass(frozen=True)
class RowError:
    row: int      # line number in the file; the header is line 1
    column: str
    message: str


def load_csv_rows(body: bytes, columns: tuple[str, ...], schema: Schema) -> tuple[list[tuple[int, dict]],
                                                                                  list[RowError]]:
    """Decode (UTF-8, optional BOM), check the header, and load every row with `schema`.

    Returns (line, data) for the valid rows and every error found; callers import nothing unless the
    error list is empty."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return [], [RowError(body[:e.start].count(b"\n") + 1, "", f"the file is not UTF-8 (byte {e.start})")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in columns if c not in header]
    if missing:
        return [], [RowError(1, c, "missing column") for c in missing]
    reader.fieldnames = header
    rows, errors, line = [], [], 1
    try:
        for record in reader:
            line = reader.line_num
            if None in record:
                errors.append(RowError(line, "", "more values than columns"))
                continue
            try:
                rows.append((line, schema.load({c: restore((record.get(c) or "").strip()) for c in columns})))
            except ValidationError as e:
                errors.extend(RowError(line, col, "; ".join(_messages(msgs))) for col, msgs in sorted(e.messages.items()))
    except csv.Error as e:
        errors.append(RowError(line + 1, "", f"unreadable CSV: {e}"))
    if not rows and not errors:
        errors.append(RowError(1, "", "the file has no data rows"))
    return rows, errors


def _messages(msgs) -> list[str]:
    if isinstance(msgs, dict):
        return [m for v in msgs.values() for m in _messages(v)]
    return [str(m) for m in msgs]


# A cell starting with one of these is a formula to Excel, LibreOffice or Sheets (tab and CR too: some
# programs drop them and read what follows). OWASP "CSV injection": such a cell gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A value as a CSV cell that a spreadsheet shows as text and never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """A download line by line (so a long one can be streamed): a UTF-8 byte-order mark first (Excel then
    reads Chinese), the header, then the rows, every cell through safe_cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(c) for c in cells])
        return buffer.getvalue()
    yield "\ufeff" + line(header)
    for row in rows:
        yield line(row)
