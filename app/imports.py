"""The upload half of every all-or-nothing file import (roster, case records, indicator values)."""
from flask import flash

from .errors import DomainError
from .extensions import db


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
