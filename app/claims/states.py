"""A claim's states: labels, and the one way a claim moves between them.

Every state move is a conditional UPDATE on (id, status) so that of several racing requests exactly
one wins; the losers get a DomainError and their transaction is rolled back, so nothing they did is
kept. Every move leaves a ClaimEvent on the claim's timeline and an AuditLog row.
"""
from __future__ import annotations

from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import OperationalError

from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import (
    ClaimEvent,
    CollaborationClaim,
    User,
)
from ..notify.audience import role_users, unit_leader_users
from ..notify.services import notify

STATUS_LABELS = {
    "draft": _l("草稿"), "submitted": _l("待确认"), "confirmed": _l("待审核"), "disputed": _l("有异议"),
    "returned": _l("已退回"), "approved": _l("已批准"), "rejected": _l("已驳回"), "merged": _l("已合并"),
}

STATUS_COLOURS = {
    "draft": "secondary", "submitted": "info", "confirmed": "primary", "disputed": "warning",
    "returned": "warning", "approved": "success", "rejected": "danger", "merged": "dark",
}

ROLE_LABELS = {"lead": _l("主办"), "assist": _l("协办"), "support": _l("支援")}

ACTION_LABELS = {
    "create": _l("创建"), "edit": _l("修改"), "submit": _l("提交"), "confirm": _l("单位确认"),
    "dispute": _l("单位提出异议"), "approve": _l("批准"), "return": _l("退回修改"), "reject": _l("驳回"),
    "merge": _l("合并到另一条申报"), "merge_in": _l("并入重复申报"),
}

CASE_STATUS_LABELS = {"open": _l("在办"), "closed": _l("已结")}

FLAG_LABELS = {"duplicate": _l("编号重复"), "split": _l("疑似拆分"), "reciprocal": _l("互报频繁"),
               "unverified": _l("未核实")}


# Claims that still count: the others were closed without points.
ACTIVE_STATUSES = ("draft", "submitted", "confirmed", "disputed", "returned", "approved")

REVIEW_STATUSES = ("submitted", "confirmed", "disputed")


def busy() -> DomainError:
    return DomainError(_("该申报正被其他人处理，请刷新后重试。"))


def lock_claim(claim: CollaborationClaim, statuses: tuple[str, ...]) -> None:
    """Bump the version under the given statuses: takes the row lock, refuses if someone moved it."""
    try:
        result = cast(CursorResult[Any], db.session.execute(
            update(CollaborationClaim)
            .where(CollaborationClaim.id == claim.id, CollaborationClaim.status.in_(statuses))
            .values(version=CollaborationClaim.version + 1)
            .execution_options(synchronize_session=False)
        ))
    except OperationalError as error:  # SQLite: another writer got there first
        db.session.rollback()
        raise busy() from error
    if result.rowcount != 1:
        refuse_moved(claim)


def refuse_moved(claim: CollaborationClaim):
    db.session.rollback()
    current: Any = db.session.scalar(select(CollaborationClaim.status).where(CollaborationClaim.id == claim.id))
    if current == "approved":
        raise DomainError(_("该申报已批准并锁定，不能再更改。"))
    raise DomainError(_("该申报的状态已被其他人更改（现为“%(s)s”），请刷新后重试。",
                        s=current if current is None else STATUS_LABELS.get(current, current)))


def move_claim(claim: CollaborationClaim, from_statuses: tuple[str, ...], to_status: str, user: User, action: str,
               reason: str = "", unit_id: int | None = None, **values) -> None:
    """The atomic state move: UPDATE ... WHERE status IN from_statuses; exactly one racer wins."""
    before = claim.status
    try:
        result = cast(CursorResult[Any], db.session.execute(
            update(CollaborationClaim)
            .where(CollaborationClaim.id == claim.id, CollaborationClaim.status.in_(from_statuses))
            .values(status=to_status, version=CollaborationClaim.version + 1, **values)
            .execution_options(synchronize_session=False)
        ))
    except OperationalError as error:
        db.session.rollback()
        raise busy() from error
    if result.rowcount != 1:
        refuse_moved(claim)
    db.session.refresh(claim)
    claim_event(claim, user, action, before, to_status, reason, unit_id)
    _tell(claim, to_status)


def _tell(claim: CollaborationClaim, status: str) -> None:
    """Who must act on a claim that has just moved: the units' leaders confirm a submitted claim, the
    coordinators review a confirmed or disputed one. The key holds the claim's version, so a claim
    returned and submitted again asks again, and a retried request does not."""
    key, params, link = f"claim:{claim.id}:v{claim.version}", {"case": claim.case_ref}, f"/claims/{claim.id}"
    if status == "submitted":
        leaders = [user_id for unit_id in claim.unit_ids for user_id in unit_leader_users(unit_id)]
        notify(leaders, "claim_to_confirm", f"{key}:confirm", link=link, params=params)
    elif status in ("confirmed", "disputed"):
        coordinators = role_users("coordinator", bureau_id=claim.cycle.bureau_id)  # of the claim's bureau
        notify(coordinators, "claim_to_review", f"{key}:review", link=link, params=params)


def claim_event(claim, user, action, from_status, to_status, reason="", unit_id=None, audit_after=None) -> None:
    db.session.add(ClaimEvent(claim_id=claim.id, user_id=user.id if user else None, action=action,
                              from_status=from_status, to_status=to_status, unit_id=unit_id, reason=reason or ""))
    after = {"status": to_status, **({"unit_id": unit_id} if unit_id else {}), **(audit_after or {})}
    record(f"claim_{action}", "claim", claim.id, before={"status": from_status} if from_status else None,
           after=after, note=reason or "", user_id=user.id if user else None)
    db.session.flush()


def claim_snapshot(claim: CollaborationClaim) -> dict:
    return {"case_ref": claim.case_ref, "case_type": claim.case_type, "severity": claim.severity,
            "case_date": str(claim.case_date), "lead_unit_id": claim.lead_unit_id,
            "participants": [[p.officer_id, p.unit_id, p.role, p.proposed_bp] for p in claim.participants]}
