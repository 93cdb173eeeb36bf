"""Background work of the results path (see app.jobs): an accepted objection's correction, which
imports the corrected value and recomputes the cycle into a new run version on notice."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from ..errors import DomainError
from ..extensions import db
from ..models import Objection, ScoreRun, User
from .objections import accept_objection


def objection_correction(job, objection_id: int, reply: str, corrected_value: str, today: str) -> dict:
    """``accept_objection`` with the corrected value, its steps on the job's progress bar."""
    objection = db.session.get(Objection, objection_id)
    user = db.session.get(User, job.user_id) if job.user_id else None
    if objection is None or user is None:
        raise DomainError(_("找不到该申诉。"))
    job.expect(7)  # the import, the run's five steps, the new notice
    accept_objection(objection, user, reply, corrected_value, today=date.fromisoformat(today), progress=job.step)
    run = db.session.get(ScoreRun, objection.correction_run_id) if objection.correction_run_id else None
    return {"objection_id": objection.id, "version": run.version if run else 0, "endpoint": "results.objection",
            "values": {"objection_id": objection.id}}


def objection_correction_done(result: dict) -> str:
    return _("已答复申诉。更正后的第 %(v)d 版已进入公示。", v=result["version"])
