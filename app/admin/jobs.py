"""Background work of the admin pages (see app.jobs): a roster file imported by a worker."""
from __future__ import annotations

from flask_babel import gettext as _

from .. import scope
from ..imports import import_file_job
from . import services


def import_roster(job, file_id: int) -> dict:
    """Import the stored roster file (all rows or none), reporting its progress."""
    with scope.acting_as(job.user_id):  # a bureau's admin imports into their bureau only
        return import_file_job(job, file_id, services.ROSTER_REQUIRED, services.import_roster_rows,
                               counts=("created", "updated"), endpoint="admin.import_roster")


def import_roster_done(result: dict) -> str:
    if not result.get("ok"):
        return ""  # the import page lists the bad rows
    return _("导入成功：新增 %(c)d 人，更新 %(u)d 人。", c=result["created"], u=result["updated"])
