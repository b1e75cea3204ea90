"""CSV uploads: reading a file row by row through a schema (all errors collected, nothing half-read).
Writing CSV is core/csvcells.py's."""
import csv
import io
from dataclasses import dataclass

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

