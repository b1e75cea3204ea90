"""CSV the product writes: every cell neutralised against formula injection, so a spreadsheet opening the
file shows text and never runs `=HYPERLINK(...)` or `=cmd|...` from a firm, person, site or cargo name."""
import csv
import io
from typing import Iterable, Iterator

from flask import Response

# A spreadsheet treats a cell starting with these as a formula (OWASP "CSV injection"), after leading
# spaces too; the full-width forms are included because Chinese input methods type them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise(value) -> str:
    """The cell as text; a leading apostrophe when it could start a formula (spreadsheets hide it)."""
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_STARTS) else text


def restore(cell: str) -> str:
    """Undo neutralise() on a cell read back from one of our files, so an export imports again unchanged."""
    return cell[1:] if cell.startswith("'") and cell[1:].lstrip(" ").startswith(FORMULA_STARTS) else cell


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """A download line by line, so a long one can be streamed: a UTF-8 byte-order mark first (spreadsheet
    programs then read Chinese right), CRLF lines, every cell neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(cell) for cell in cells])
        return buffer.getvalue()
    yield "\ufeff" + line(header)
    for row in rows:
        yield line(row)


def csv_bytes(header: Iterable[str], rows: Iterable[Iterable]) -> bytes:
    """The whole file at once (see csv_lines)."""
    return "".join(csv_lines(header, rows)).encode("utf-8")


def csv_download(filename: str, header: Iterable[str], rows: Iterable[Iterable]) -> Response:
    """A CSV file to save (`filename` is ASCII, chosen by the app, never by a user)."""
    response = Response(csv_bytes(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
