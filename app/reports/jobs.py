"""Background work of the reports (see app.jobs): a cycle's 360 reliability, computed by a worker
(it scores every answer of the cycle: tens of seconds for a province)."""
from __future__ import annotations

from flask_babel import gettext as _

from ..errors import DomainError
from ..extensions import db
from ..models import Cycle
from . import services


def compute_reliability(job, cycle_id: int, back: int | None = None) -> dict:
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        raise DomainError(_("找不到该周期。"))
    job.step(_("对全部 360 评价评分并计算信度"), progress=10)
    stored = services.compute_reliability(cycle, user_id=job.user_id)
    return {"cycle": cycle.name, "answers": stored.answers, "endpoint": "reports.bureau",
            "values": {"cycle": back} if back else {}}


def compute_reliability_done(result: dict) -> str:
    return _("已计算“%(c)s”的 360 评价信度。", c=result["cycle"])
