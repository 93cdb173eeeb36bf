"""Background work of the data pool's business records (see app.jobs): incident and case files
imported by a worker. Case files are uploaded from the records page and from the claims' case page;
the job returns to the page it came from."""
from __future__ import annotations

from flask_babel import gettext as _

from ..imports import import_file_job

CASE_REQUIRED = ("案件编号", "案发日期", "案件类别", "单位代码")
RETURN_PAGES = ("monitoring.records", "claims.cases")


# ``api_client_id``: the API client that sent the file (kept in the job's arguments, so that only
# it reads the job through /api/v1/jobs/<id>).
def import_incidents(job, file_id: int, endpoint: str = "monitoring.records", api_client_id: int | None = None) -> dict:
    from ..trends.services import INCIDENT_COLUMNS, import_incident_rows

    def load(filename: str, table):
        return import_incident_rows([(row.number, row.values) for row in table])

    return import_file_job(job, file_id, INCIDENT_COLUMNS, load, counts=("created", "updated"),
                           endpoint=_page(endpoint))


def import_case_records(job, file_id: int, endpoint: str = "monitoring.records",
                        api_client_id: int | None = None) -> dict:
    from ..claims.services import import_case_records as store
    from ..extensions import db
    from ..models import User

    user = db.session.get(User, job.user_id) if job.user_id else None

    def load(filename: str, table):
        rows = list(table)
        return store([row.values for row in rows], [row.number for row in rows], source=filename, user=user)

    return import_file_job(job, file_id, CASE_REQUIRED, load, counts=("created", "updated", "batch"),
                           endpoint=_page(endpoint))


def _page(endpoint: str) -> str:
    return endpoint if endpoint in RETURN_PAGES else RETURN_PAGES[0]


def _done(result: dict) -> str:
    if not result.get("ok"):
        return ""  # the import page lists the bad rows
    return _("导入成功：新增 %(c)d 条，更新 %(u)d 条。", c=result["created"], u=result["updated"])


import_incidents_done = import_case_records_done = _done
