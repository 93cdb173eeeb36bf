"""Uploads: reading a table row by row, and the upload half of every all-or-nothing file import
(roster, case records, indicator values, batch invitations)."""
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from itertools import islice

from flask import flash
from flask_babel import gettext as _
from openpyxl import load_workbook

from .errors import DomainError
from .extensions import db


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(_("无法识别文件编码，请另存为 UTF-8 编码的 CSV 或 .xlsx 文件。"), field="file")


MAX_SHEET_BYTES = 200 * 1024 * 1024  # a sheet's XML once unzipped: 20,000 ordinary rows are about 5 MB
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")


def _too_many_rows(message_rows: int):
    return DomainError(_("文件超过 %(n)d 行数据，已停止读取，未导入任何内容。请拆分成多个文件分批上传。",
                         n=message_rows), field="file")


def _check_sheet_sizes(raw: bytes, max_rows: int) -> None:
    """Count each sheet's rows in its unzipped XML, chunk by chunk, before openpyxl opens the file.

    openpyxl reads a sheet that does not state its size (no <dimension>) to its end when the file is
    opened, even in read-only mode, so a long file would hold the worker before any row limit could
    stop it. Counting row tags is a byte search in C: it stops at row max_rows + 2 (the header
    and one too many), or at MAX_SHEET_BYTES of XML, without parsing anything."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        sheets = [i for i in archive.infolist() if i.filename.lower().startswith("xl/worksheets/")
                  and i.filename.lower().endswith(".xml")]
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DomainError(_("无法读取该 Excel 文件，请确认是 .xlsx 格式。"), field="file") from error
    with archive:
        for info in sheets:
            rows, read, tail = 0, 0, b""
            try:
                with archive.open(info) as stream:
                    while chunk := stream.read(1 << 20):
                        read += len(chunk)
                        if read > MAX_SHEET_BYTES:
                            raise DomainError(_("文件内容过大，已停止读取，未导入任何内容。请拆分成多个文件分批上传。"),
                                              field="file")
                        # A tag cut by the chunk's end starts in its last 64 bytes: those are searched
                        # again with the next chunk, and only matches starting before them count now.
                        text = tail + chunk
                        cut = max(len(text) - 64, 0)
                        rows += sum(1 for match in _ROW_TAG.finditer(text) if match.start() < cut)
                        tail = text[cut:]
                        if rows > max_rows + 1:
                            raise _too_many_rows(max_rows)
                    rows += len(_ROW_TAG.findall(tail))
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
                raise DomainError(_("无法读取该 Excel 文件，请确认是 .xlsx 格式。"), field="file") from error
            if rows > max_rows + 1:
                raise _too_many_rows(max_rows)


def _xlsx_lines(raw: bytes) -> Iterator[tuple]:
    """The first sheet's rows, streamed (openpyxl read-only mode), cut to the header's width: a small
    file whose sheet claims 16,384 columns would otherwise hand over 16,384 cells per row."""
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        header = next(sheet.iter_rows(max_row=1, values_only=True), None)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise DomainError(_("无法读取该 Excel 文件，请确认是 .xlsx 格式。"), field="file") from error
    try:
        if header is None:
            return
        width = max((i + 1 for i, v in enumerate(header) if v is not None and str(v).strip()), default=0)
        if width == 0:
            return
        yield header[:width]
        for row in sheet.iter_rows(min_row=2, max_col=width, values_only=True):
            yield row
    except DomainError:
        raise
    except Exception as error:
        raise DomainError(_("无法读取该 Excel 文件，请确认是 .xlsx 格式。"), field="file") from error
    finally:
        book.close()


def table_lines(filename: str, raw: bytes, max_rows: int) -> list[list]:
    """The raw lines (header first) of a .csv or .xlsx upload, read one at a time and no further than
    ``max_rows`` lines after the header: a longer file is refused as soon as line max_rows + 1 is
    read, with a message saying the limit, instead of after the whole file."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        lines: Iterator = csv.reader(io.StringIO(_decode(raw)))
    elif name.endswith(".xlsx"):
        _check_sheet_sizes(raw, max_rows)
        lines = _xlsx_lines(raw)
    else:
        raise DomainError(_("只支持 .csv 和 .xlsx 文件。"), field="file")
    try:
        out = [list(line) for line in islice(lines, max_rows + 2)]
    except csv.Error as error:
        raise DomainError(_("无法读取该 CSV 文件：%(reason)s", reason=str(error)), field="file") from error
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            close()  # stops the xlsx generator and closes the workbook
    if len(out) > max_rows + 1:
        raise _too_many_rows(max_rows)
    return out


def run_upload(form, importer, success_message):
    """Run ``importer(filename, raw)`` on the form's file and commit only a clean report.

    ``importer`` returns a report with ``ok``; ``success_message(report)`` is flashed when it is
    committed. A file that cannot be read at all gets its reason next to the form's file field.
    Returns the report, or None when there is none to show.
    """
    upload = form.file.data
    try:
        report = importer(upload.filename, upload.read())
    except DomainError as error:
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [error.message]
        return None
    if report.ok:
        db.session.commit()
        flash(success_message(report), "success")
    else:
        db.session.rollback()
    return report


def run_cli_import(load, summary) -> None:
    """The command-line half of an all-or-nothing file import: ``load()`` returns a report with
    ``ok`` and ``errors`` [(row number, message)]. On success commit and print ``summary(report)``;
    otherwise roll back, list the bad rows on stderr and exit 1; a refused file is a ClickException."""
    import sys

    import click

    from .errors import DomainError
    from .extensions import db

    try:
        report = load()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    if not report.ok:
        db.session.rollback()
        for number, message in report.errors:
            click.echo(f"row {number}: {message}", err=True)
        click.echo(f"{len(report.errors)} bad rows: nothing imported.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(summary(report))
