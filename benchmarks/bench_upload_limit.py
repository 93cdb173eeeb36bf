"""Uploads stop at the row limit (issue 13, item 5): time to refuse or read hostile .xlsx files.

Prints, per file: its size, the seconds the old whole-sheet read took (every row, every cell the
sheet's dimension claims) and the seconds app.imports.table_lines takes (streamed, header-wide, stops
at MAX_ROWS). Run: .venv/bin/python benchmarks/bench_upload_limit.py
"""
import io
import time
import zipfile

from openpyxl import Workbook, load_workbook

from app import create_app
from app.errors import DomainError
from app.imports import table_lines
from app.tabular import MAX_ROWS


def workbook(rows: int, wide_dimension: bool = False) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["业务编号", "业务类型", "单位代码", "手机号"])
    for i in range(rows):
        sheet.append([f"J{i:07d}", "110 接处警", "PS01", f"138{i % 10**8:08d}"])
    out = io.BytesIO()
    book.save(out)
    if not wide_dimension:
        return out.getvalue()
    source, patched = zipfile.ZipFile(io.BytesIO(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                head, tail = data.split(b"<sheetData>", 1)
                data = head + f'<dimension ref="A1:XFD{rows + 1}"/><sheetData>'.encode() + tail
            target.writestr(item.filename, data)
    return patched.getvalue()


def old_read(raw: bytes) -> int:
    book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    lines = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return len(lines)


def new_read(raw: bytes) -> str:
    try:
        return f"{len(table_lines('f.xlsx', raw, MAX_ROWS)) - 1} rows"
    except DomainError as error:
        return "refused: " + error.message[:20]


def timed(fn, raw):
    start = time.perf_counter()
    result = fn(raw)
    return time.perf_counter() - start, result


def main():
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    cases = [("1,000 rows, dimension A1:XFD", workbook(1_000, wide_dimension=True)),
             (f"{MAX_ROWS:,} rows (the limit)", workbook(MAX_ROWS)),
             ("400,000 rows", workbook(400_000))]
    with app.test_request_context():
        for label, raw in cases:
            old_s, old_n = timed(old_read, raw)
            new_s, new_result = timed(new_read, raw)
            print(f"{label:<32} {len(raw) / 1024:8.0f} KB   old read {old_s:6.2f} s ({old_n:,} lines)   "
                  f"streamed {new_s:6.2f} s ({new_result})")


if __name__ == "__main__":
    main()
