"""What officers and the office are told along a result's path: 公示 opened, result final, an
objection filed (the office) and answered (whoever filed it)."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Objection, ResultApproval, ScoreResult, User
from ..notify.audience import role_users
from ..notify.services import notify


def _officer_users(run_id: int) -> list[int]:
    """The active accounts of the officers with a result in the run."""
    return list(db.session.execute(
        sa.select(User.id).join(ScoreResult, ScoreResult.officer_id == User.officer_id)
        .where(ScoreResult.run_id == run_id, ScoreResult.level == "officer", User.is_active_account.is_(True))
    ).scalars())


def _my_result(cycle_id: int) -> str:
    return f"/notifications/my-result/{cycle_id}"  # one link for all: it opens the reader's own report


def result_on_notice(approval: ResultApproval) -> None:
    notify(_officer_users(approval.run_id), "result_notice", f"result:{approval.id}:notice",
           link=_my_result(approval.cycle_id),
           params={"cycle": approval.cycle.name,
                   "ends": approval.notice_ends_on.isoformat() if approval.notice_ends_on else ""})


def result_final(approval: ResultApproval) -> None:
    notify(_officer_users(approval.run_id), "result_final", f"result:{approval.cycle_id}:final",
           link=_my_result(approval.cycle_id), params={"cycle": approval.cycle.name})


def objection_filed(objection: Objection) -> None:
    office = role_users("admin", bureau_id=objection.cycle.bureau_id)  # of the objection's bureau
    notify(office, "objection_filed", f"objection:{objection.id}:filed",
           link=f"/results/objections/{objection.id}",
           params={"cycle": objection.cycle.name, "due": objection.due_on.isoformat()})


def objection_answered(objection: Objection) -> None:
    notify([objection.filed_by_id], f"objection_{objection.status}", f"objection:{objection.id}:answered",
           link=f"/results/objections/{objection.id}", params={"cycle": objection.cycle.name})
