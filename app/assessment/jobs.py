"""Background work of the main assessment (see app.jobs): a score run computed by a worker."""
from __future__ import annotations

from flask_babel import gettext as _

from ..errors import DomainError
from ..extensions import db
from ..models import Cycle
from . import runs


def score_run(job, cycle_id: int, reason: str = "", rollup_method: str = "") -> dict:
    """``runs.compute_run`` for the cycle, reporting its steps on the job's progress bar."""
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        raise DomainError(_("找不到该周期。"))
    job.expect(3 if rollup_method else 5)
    run = runs.compute_run(cycle, user_id=job.user_id, reason=reason, rollup_method=rollup_method,
                           progress=job.step)
    return {"run_id": run.id, "version": run.version, "endpoint": "assessment.run", "values": {"run_id": run.id}}


def score_run_done(result: dict) -> str:
    return _("已生成第 %(v)d 版计算结果。", v=result["version"])


def import_values(job, file_id: int, cycle_id: int, api_client_id: int | None = None) -> dict:
    """Import a stored indicator file into the cycle's data pool (all rows or none); the file came
    from an upload, the CLI, or an API client (``api_client_id``)."""
    from ..imports import import_file_job
    from . import datapool

    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        raise DomainError(_("找不到该周期。"))

    def load(filename: str, table) -> datapool.ImportReport:
        return datapool.import_indicator_values(cycle, datapool.api_rows(table), "api" if api_client_id else "upload",
                                                filename, user_id=job.user_id, api_client_id=api_client_id)

    return import_file_job(job, file_id, datapool.FILE_REQUIRED, load, counts=("stored", "superseded", "batch_id"),
                           endpoint="assessment.import_values", values={"cycle_id": cycle_id})


def import_values_done(result: dict) -> str:
    if not result.get("ok"):
        return ""  # the import page lists the bad rows
    return _("导入成功：%(n)d 条数据，其中 %(s)d 条替换了之前的数据（历史保留）。",
             n=result["stored"], s=result["superseded"])
