"""Read uploaded .csv and .xlsx tables into rows keyed by header, and write .xlsx files."""
import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape as _escape

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .errors import DomainError

# Rows per upload read in a request (config IMPORT_MAX_ROWS), as for the API's JSON (api MAX_ROWS):
# reading 100,000 rows held a worker ~10 s.
MAX_ROWS = 20_000
# Rows of a file imported by a background job (config IMPORT_JOB_MAX_ROWS; uploads, the CLI and the
# API's files): a province's roster or indicator file (50,000 officers × a few officer-level
# indicators) with room to spare.
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
    more than ``max_rows`` rows (default: the upload limit, ``upload_max_rows()``). ``progress(n)``
    is called after every PROGRESS_EVERY lines read."""
    return list(iter_rows(filename, raw, required, max_rows, progress))


def iter_rows(filename: str, raw: bytes, required: tuple[str, ...], max_rows: int | None = None,
              progress: Callable[[int], None] | None = None) -> Iterator[Row]:
    """``read_table`` one row at a time: a file of hundreds of thousands of rows is never held as
    rows. The file's type, encoding and header are checked at once (DomainError before the first
    row); a bad line or one row too many raises DomainError when it is reached."""
    lines, header = _open_table(filename, raw, required, upload_max_rows() if max_rows is None else max_rows)
    return _rows(lines, header, progress)


def _rows(lines, header: list[str], progress: Callable[[int], None] | None) -> Iterator[Row]:
    columns = [(i, column) for i, column in enumerate(header) if column]
    try:
        for number, line in enumerate(lines, start=2):
            if progress is not None and (number - 1) % PROGRESS_EVERY == 0:  # data lines read, this one too
                progress(number - 1)
            values = [_clean(v) for v in line]
            if not any(values):
                continue
            width = len(values)
            yield Row(number, {column: (values[i] if i < width else "") for i, column in columns})
    finally:
        lines.close()


def upload_max_rows() -> int:
    """Rows a file read in a request may hold: config IMPORT_MAX_ROWS, default MAX_ROWS."""
    return _limit("IMPORT_MAX_ROWS", MAX_ROWS)


def job_max_rows() -> int:
    """Rows a file imported by a job may hold: config IMPORT_JOB_MAX_ROWS, default JOB_MAX_ROWS."""
    return _limit("IMPORT_JOB_MAX_ROWS", JOB_MAX_ROWS)


def _limit(name: str, default: int) -> int:
    from flask import current_app, has_app_context

    value = current_app.config.get(name) if has_app_context() else None
    return int(value) if value else default


def check_table(filename: str, raw: bytes, required: tuple[str, ...]) -> None:
    """Refuse at once a file an import job could not read: its type, encoding, size (job_max_rows())
    and header (the ``required`` columns). Reads the header line only (and, for .xlsx, counts the
    rows in the unzipped XML, a byte search)."""
    lines, _header = _open_table(filename, raw, required, job_max_rows())
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
    """A response streaming a one-sheet workbook of any size as it is written: the first bytes leave
    before the last row is read, nothing is held in memory or on disk, and ``rows`` may be a lazy
    iterator reading the database in batches (the request context stays open while it is sent).
    Text cells pass ``safe_cell``, as in every export."""
    from flask import Response, stream_with_context

    return Response(stream_with_context(xlsx_stream(header, rows, title)), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


class _Pipe(io.RawIOBase):
    """A write-only, unseekable file whose bytes are taken out as they come (zipfile then writes
    each member's sizes after its data, which is what lets the archive stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


_ILLEGAL_XML = ILLEGAL_CHARACTERS_RE  # control characters an .xlsx cannot hold
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_PARTS = {
    "[Content_Types].xml": _XML + (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": _XML + (
        f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": _XML + (
        f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_REL}/worksheet" '
        f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
        '</Relationships>'),
    "xl/styles.xml": _XML + (
        f'<styleSheet xmlns="{_MAIN}"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}


def _cell_xml(ref: str, value, style: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = _ILLEGAL_XML.sub("", value)
        space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
        return f'<c r="{ref}" t="inlineStr"{style}><is><t{space}>{_escape(text)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"{style}><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        return f'<c r="{ref}"{style}><v>{value}</v></c>' if math.isfinite(value) else ""
    return _cell_xml(ref, str(value), style)


def xlsx_stream(header: list[str], rows: Iterable[list], title: str = "Sheet1") -> Iterator[bytes]:
    """The bytes of a one-sheet .xlsx (bold header row), yielded about every 64 KiB as ``rows`` are
    read. Text cells pass ``safe_cell``."""
    import zipfile
    from xml.sax.saxutils import quoteattr

    from openpyxl.utils import get_column_letter

    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/workbook.xml", _XML + (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name={quoteattr(str(title)[:31])} sheetId="1" r:id="rId1"/></sheets></workbook>'))
        yield pipe.take()
        letters: list[str] = []
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((_XML + f'<worksheet xmlns="{_MAIN}"><sheetData>').encode())
            for number, row in enumerate(_with_header(header, rows), start=1):
                row = safe_row(row)
                while len(letters) < len(row):
                    letters.append(get_column_letter(len(letters) + 1))
                style = ' s="1"' if number == 1 else ""
                cells = "".join(_cell_xml(f"{letters[i]}{number}", v, style) for i, v in enumerate(row))
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
                if len(pipe.buffer) >= 64 * 1024:
                    yield pipe.take()
            sheet.write(b"</sheetData></worksheet>")
    yield pipe.take()


def _with_header(header: list[str], rows: Iterable[list]) -> Iterator[list]:
    yield [str(h) for h in header]
    yield from rows
