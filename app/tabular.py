"""Read uploaded .csv and .xlsx tables into rows keyed by header, and write .xlsx files."""
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from .errors import DomainError

# Rows per upload, as for the API (api.routes.MAX_ROWS): reading 100,000 rows held a worker ~10 s.
MAX_ROWS = 20_000


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


def read_table(filename: str, raw: bytes, required: tuple[str, ...]) -> list[Row]:
    """Rows of a .csv or .xlsx upload; raises DomainError for an unreadable file or missing columns."""
    from .imports import table_lines  # streams the file and stops at MAX_ROWS

    lines = [[_clean(v) for v in line] for line in table_lines(filename, raw, MAX_ROWS)]
    if not lines:
        raise DomainError(_("文件是空的。"), field="file")
    header = lines[0]
    missing = [column for column in required if column not in header]
    if missing:
        raise DomainError(_("缺少列：%(cols)s", cols="、".join(missing)), field="file")
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
