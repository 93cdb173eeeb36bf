"""Read uploaded .csv and .xlsx tables into rows keyed by header, and write .xlsx files."""
import csv
import io
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .errors import DomainError

MAX_ROWS = 100_000
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Row:
    number: int  # the row number a spreadsheet shows (header is row 1)
    values: dict[str, str]


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(_("无法识别文件编码，请另存为 UTF-8 编码的 CSV 或 .xlsx 文件。"), field="file")


def read_table(filename: str, raw: bytes, required: tuple[str, ...]) -> list[Row]:
    """Rows of a .csv or .xlsx upload; raises DomainError for an unreadable file or missing columns."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        reader = csv.reader(io.StringIO(_decode(raw)))
        lines = list(reader)
    elif name.endswith(".xlsx"):
        try:
            book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many types for a damaged file
            raise DomainError(_("无法读取该 Excel 文件，请确认是 .xlsx 格式。"), field="file") from error
        sheet = book.worksheets[0]
        lines = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        raise DomainError(_("只支持 .csv 和 .xlsx 文件。"), field="file")
    lines = [[_clean(v) for v in line] for line in lines]
    if not lines:
        raise DomainError(_("文件是空的。"), field="file")
    header = lines[0]
    missing = [column for column in required if column not in header]
    if missing:
        raise DomainError(_("缺少列：%(cols)s", cols="、".join(missing)), field="file")
    if len(lines) - 1 > MAX_ROWS:
        raise DomainError(_("文件行数过多（最多 %(n)d 行）。", n=MAX_ROWS), field="file")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not any(line):
            continue
        values = {column: (line[i] if i < len(line) else "") for i, column in enumerate(header) if column}
        rows.append(Row(number, values))
    return rows


def xlsx_bytes(header: list[str], rows: list[list], title: str = "Sheet1") -> bytes:
    """A one-sheet workbook with a bold header row."""
    return xlsx_workbook([(title, header, rows)])


def xlsx_workbook(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """A workbook of (title, header, rows) sheets, each with a bold header row and fitted columns."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(10, width * 2 + 2), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_download(header: list[str], rows: Iterable[list], filename: str, title: str = "Sheet1"):
    """A response sending a one-sheet workbook of any size: openpyxl's write-only mode keeps the
    rows on disk rather than in memory, and the file is sent in chunks. ``rows`` may be a lazy
    iterator reading the database in batches. Text a spreadsheet would run as a formula is written
    as text."""
    from flask import Response

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    bold = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    for row in rows:
        sheet.append([_as_text(v) for v in row])
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


def _as_text(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
