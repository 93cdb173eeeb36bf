"""Read uploaded .csv and .xlsx tables into rows keyed by header, and write .xlsx files."""
import csv
import io
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .errors import DomainError

# Rows per upload, as for the API (api.routes.MAX_ROWS): reading 100,000 rows held a worker ~10 s.
MAX_ROWS = 20_000
# Rows of a file imported by a background job (app.imports.queue_file_import): a province's roster
# or indicator file (50,000 officers × a few officer-level indicators) with room to spare.
JOB_MAX_ROWS = 500_000
PROGRESS_EVERY = 10_000  # lines read between two progress reports
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # the row number a spreadsheet shows (header is row 1)
    values: dict[str, str]


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_table(filename: str, raw: bytes, required: tuple[str, ...], max_rows: int | None = None,
               progress: Callable[[int], None] | None = None) -> list[Row]:
    """Rows of a .csv or .xlsx upload; raises DomainError for an unreadable file, missing columns or
    more than ``max_rows`` rows (default MAX_ROWS). ``progress(n)`` is called after every
    PROGRESS_EVERY lines read."""
    lines, header = _open_table(filename, raw, required, MAX_ROWS if max_rows is None else max_rows)
    columns = [(i, column) for i, column in enumerate(header) if column]
    rows = []
    for number, line in enumerate(lines, start=2):
        if progress is not None and (number - 1) % PROGRESS_EVERY == 0:  # data lines read, this one too
            progress(number - 1)
        values = [_clean(v) for v in line]
        if not any(values):
            continue
        width = len(values)
        rows.append(Row(number, {column: (values[i] if i < width else "") for i, column in columns}))
    return rows


def check_table(filename: str, raw: bytes, required: tuple[str, ...]) -> None:
    """Refuse at once a file an import job could not read: its type, encoding, size (JOB_MAX_ROWS)
    and header (the ``required`` columns). Reads the header line only (and, for .xlsx, counts the
    rows in the unzipped XML, a byte search)."""
    lines, _header = _open_table(filename, raw, required, JOB_MAX_ROWS)
    lines.close()


def _open_table(filename: str, raw: bytes, required: tuple[str, ...], max_rows: int):
    """(the remaining lines, the cleaned header) of a file whose header has the ``required`` columns."""
    from .imports import iter_table_lines  # streams the file and stops at max_rows

    lines = iter_table_lines(filename, raw, max_rows)
    first = next(lines, None)
    if first is None:
        raise DomainError(_("文件是空的。"), field="file")
    header = [_clean(v) for v in first]
    missing = [column for column in required if column not in header]
    if missing:
        lines.close()
        raise DomainError(_("缺少列：%(cols)s", cols="、".join(missing)), field="file")
    return lines, header


# A spreadsheet runs a cell that starts with one of these as a formula (or, for tab and CR, may
# shift it into one when the file is pasted or re-imported as CSV).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """What every export writes for ``value``: text that a spreadsheet would run as a formula gets a
    leading single quote; numbers, dates and None stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row) -> list:
    return [safe_cell(v) for v in row]


def xlsx_bytes(header: list[str], rows: list[list], title: str = "Sheet1") -> bytes:
    """A one-sheet workbook with a bold header row."""
    return xlsx_workbook([(title, header, rows)])


def xlsx_workbook(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """A workbook of (title, header, rows) sheets, each with a bold header row and fitted columns,
    written in openpyxl's streaming mode. The one xlsx writer of every export: text cells pass
    ``safe_cell``."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title=str(title)[:31])
        body = [safe_row(row) for row in rows]
        head = safe_row(str(h) for h in header)
        widths: dict[int, int] = {}
        for line in (head, *body):
            for i, v in enumerate(line):
                widths[i] = max(widths.get(i, 0), len(str(v if v is not None else "")))
        for i, width in widths.items():
            sheet.column_dimensions[get_column_letter(i + 1)].width = min(max(10, width * 2 + 2), 60)
        cells = []
        for h in head:
            cell = WriteOnlyCell(sheet, value=h)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)
        for row in body:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """A CSV file (UTF-8 with BOM, which Excel in China opens correctly); text cells pass ``safe_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(str(h) for h in header))
    writer.writerows(safe_row(row) for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_download(header: list[str], rows: Iterable[list], filename: str, title: str = "Sheet1"):
    """A response sending a one-sheet workbook of any size: openpyxl's write-only mode keeps the
    rows on disk rather than in memory, and the file is sent in chunks. ``rows`` may be a lazy
    iterator reading the database in batches. Text cells pass ``safe_cell``, as in every export."""
    from flask import Response

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    bold = []
    for value in safe_row(str(h) for h in header):
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    for row in rows:
        sheet.append(safe_row(row))
    out = tempfile.TemporaryFile()
    book.save(out)
    size = out.tell()
    out.seek(0)

    def chunks():
        try:
            while chunk := out.read(64 * 1024):
                yield chunk
        finally:  # sent, or the client went away (the server closes the response)
            out.close()

    return Response(chunks(), mimetype=XLSX_MIMETYPE, direct_passthrough=True,
                    headers={"Content-Disposition": f"attachment; filename={filename}", "Content-Length": str(size)})

