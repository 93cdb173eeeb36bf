"""Uploads: reading a table row by row, and the upload half of every all-or-nothing file import
(roster, case records, indicator values, batch invitations)."""
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Generator, Iterator

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


def iter_table_lines(filename: str, raw: bytes, max_rows: int) -> Generator[list, None, None]:
    """The raw lines (header first) of a .csv or .xlsx upload, one at a time and no further than
    ``max_rows`` lines after the header: a longer file is refused as soon as line max_rows + 1 is
    read, with a message saying the limit, instead of after the whole file. The file is checked
    (type, encoding, sheet sizes) before the first line comes."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        lines: Iterator = csv.reader(io.StringIO(_decode(raw)))
    elif name.endswith(".xlsx"):
        _check_sheet_sizes(raw, max_rows)
        lines = _xlsx_lines(raw)
    else:
        raise DomainError(_("只支持 .csv 和 .xlsx 文件。"), field="file")
    return _limited(lines, max_rows)


def _limited(lines: Iterator, max_rows: int) -> Generator[list, None, None]:
    try:
        for count, line in enumerate(lines):
            if count > max_rows:
                raise _too_many_rows(max_rows)
            yield list(line)
    except csv.Error as error:
        raise DomainError(_("无法读取该 CSV 文件：%(reason)s", reason=str(error)), field="file") from error
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            close()  # stops the xlsx generator and closes the workbook


def table_lines(filename: str, raw: bytes, max_rows: int) -> list[list]:
    """All the lines of ``iter_table_lines`` (header first)."""
    return list(iter_table_lines(filename, raw, max_rows))


def run_cli_import(kind: str, key: str, path, required: tuple[str, ...], summary, queue: bool = False,
                   **args) -> None:
    """The command-line half of an import job: the file at ``path`` goes through job ``kind`` as an
    upload does (read as a stream, no size limit but the job's). The job runs here, its steps
    printed, and needs no worker; with ``queue`` it is left to the worker (``flask --app wsgi
    worker``) and its number printed. A clean file: commit and print ``summary(result)``; bad rows:
    nothing stored, the rows listed on stderr, exit 1; a refused file: a ClickException."""
    import sys

    import click

    from .jobs.services import backend, run_job
    from .models import Job
    from .tabular import check_table

    if queue and backend() != "rq":
        raise click.ClickException("--queue needs the Redis queue (JOBS_REDIS_URL) and a worker; "
                                   "without it the import runs here.")
    raw = path.read_bytes()
    try:
        check_table(path.name, raw, required)
        job = queue_file_import(kind, key, path.name, raw, None, dispatch=queue, **args)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    del raw
    db.session.commit()
    job_id = job.id
    if queue:
        click.echo(f"Job {job_id} queued: see /jobs/{job_id}.")
        return
    run_job(job_id, echo=lambda text, progress: click.echo(f"  [{progress:>2}%] {text}"))
    job = db.session.get(Job, job_id)
    assert job is not None  # the job's row stays
    if job.state != "succeeded":
        raise click.ClickException(job.error or job.state)
    report = JobReport(job.result)
    if not report.ok:
        for number, message in report.errors:
            click.echo(f"row {number}: {message}", err=True)
        click.echo(f"{report.error_count} bad rows: nothing imported.", err=True)
        sys.exit(1)
    click.echo(summary(report))


# ---- imports as background jobs ----------------------------------------------------------------
# The upload is kept in the database (JobFile), not in instance/: the web process that receives it
# and the worker that imports it may be different machines, and PostgreSQL is what they share.
SHOWN_ERRORS = 1000  # row errors kept in a job's report (the count says how many there were)


def queue_file_import(kind: str, key: str, filename: str, raw: bytes, user_id: int | None, *,
                      dispatch: bool = True, **args):
    """Store an uploaded file and queue job ``kind`` to import it (``file_id`` and ``args`` are its
    arguments; ``dispatch``: see ``enqueue``). Raises JobAlreadyActive when an import of the same
    kind and key is under way."""
    from .jobs import enqueue
    from .models import JobFile

    stored = JobFile(filename=(filename or "")[:200], size=len(raw), content=raw, created_by_id=user_id)
    db.session.add(stored)
    db.session.flush()
    return enqueue(kind, key, user_id=user_id, dispatch=dispatch, file_id=stored.id, **args)


def start_file_import(form, kind: str, key: str, back_url: str, required: tuple[str, ...], **args):
    """The web half of an import job: check the form's file as far as its header (a file that cannot
    be imported is refused next to the form: returns None), keep it, queue job ``kind``, commit, and
    send the user to the job's page (its progress, then the import page with the report)."""
    from flask import redirect, url_for
    from flask_login import current_user

    from .jobs.services import JobAlreadyActive
    from .tabular import check_table

    upload = form.file.data
    raw = upload.read()
    try:
        check_table(upload.filename, raw, required)
    except DomainError as error:
        form.file.errors = list(form.file.errors) + [error.message]
        return None
    try:
        job = queue_file_import(kind, key, upload.filename, raw, current_user.id, **args)
    except JobAlreadyActive as error:
        flash(error.message, "warning")
        return redirect(url_for("jobs.show", job_id=error.job_id) if error.job_id else back_url)
    db.session.commit()
    return redirect(url_for("jobs.show", job_id=job.id))


def import_file_job(job, file_id: int, required: tuple[str, ...], load, counts: tuple[str, ...],
                    endpoint: str, values: dict | None = None) -> dict:
    """The worker half: stream the stored file's rows (its progress every PROGRESS_EVERY lines)
    into ``load(filename, rows)`` → report, keep what it stored only when the report is clean, drop
    the file, and return the report as the job's result (``counts`` names the report's own figures).
    ``rows`` is an iterator of tabular.Row, read once: a loader that can store as it reads holds no
    more than a slice of the file's rows.

    A file that cannot be read (type, encoding, columns, too many rows) fails the job with the
    reason; bad rows do not: the job ends with the row-by-row report and nothing stored.
    """
    from sqlalchemy import delete

    from .models import JobFile
    from .tabular import iter_rows, job_max_rows

    stored = db.session.get(JobFile, file_id)
    if stored is None:
        raise DomainError(_("找不到上传的文件（可能已被处理），请重新上传。"))
    filename, raw = stored.filename, stored.content
    db.session.expunge(stored)  # the bytes are held once, by the reader below
    try:
        job.step(_("读取文件 %(name)s", name=filename), progress=2)
        size = max(1, raw.count(b"\n")) if filename.lower().endswith(".csv") else 0

        def reading(lines: int) -> None:
            share = min(lines / size, 1.0) if size else 0.5
            job.step(_("已读取 %(n)s 行", n=f"{lines:,}"), progress=2 + int(93 * share))

        rows = iter_rows(filename, raw, required, max_rows=job_max_rows(), progress=reading)
        del raw, stored
        report = load(filename, rows)
    except BaseException:
        db.session.rollback()  # the file goes whatever happened; what the import stored does not stay
        db.session.execute(delete(JobFile).where(JobFile.id == file_id))
        db.session.commit()
        raise
    if not report.ok:
        db.session.rollback()
    db.session.execute(delete(JobFile).where(JobFile.id == file_id))
    result = {"ok": report.ok, "rows": report.rows, "filename": filename,
              "errors": [[number, message] for number, message in report.errors[:SHOWN_ERRORS]],
              "error_count": len(report.errors), **{name: getattr(report, name) for name in counts}}
    return {**result, "endpoint": endpoint, "values": {**(values or {}), "job": job.job_id}}


class JobReport:
    """An import job's stored report, read by the import pages as they read a report made in the
    request (``ok``, ``rows``, ``errors`` [(row, message)], and the kind's counts)."""

    def __init__(self, result: dict):
        self.__dict__.update(result)
        self.ok: bool = bool(result.get("ok"))
        self.errors = [tuple(error) for error in result.get("errors", [])]
        self.error_count = result.get("error_count", len(self.errors))

    @property
    def cut(self) -> bool:
        return self.error_count > len(self.errors)


def job_report(kind: str):
    """The report of the import job named by ?job= on an import page, if it is one of ``kind``."""
    from flask import request

    from .dbutil import db_id
    from .models import Job

    job_id = request.args.get("job", type=db_id)
    if job_id is None:
        return None
    job = db.session.get(Job, job_id)
    if job is None or job.kind != kind or job.state != "succeeded" or "ok" not in (job.result or {}):
        return None
    return JobReport(job.result)
