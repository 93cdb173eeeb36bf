"""Reviewing a claim: the participating units' leaders confirm or dispute, and a coordinator
approves (fixing the final shares), returns, rejects or merges it."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import (
    ClaimConfirmation,
    CollaborationClaim,
    User,
    utcnow,
)
from ..models.claims import FULL_SHARE_BP
from .filing import format_bp, parse_share
from .guards import duplicates_of, has_case_records, split_partners, verify_refs
from .states import ACTIVE_STATUSES, REVIEW_STATUSES, STATUS_LABELS, claim_event, lock_claim, move_claim


def _require_active_cycle(claim: CollaborationClaim) -> None:
    if claim.cycle.status not in ("open", "closed"):
        raise DomainError(_("周期“%(name)s”的结果已发布，申报不能再更改。", name=claim.cycle.name))


def leader_units(claim: CollaborationClaim, user: User) -> list[int]:
    """The participating units ``user`` leads (normally zero or one)."""
    officer = user.officer
    if officer is None or not officer.is_leader or not officer.is_active:
        return []
    return [u for u in claim.unit_ids if u == officer.unit_id]


def pending_units(claim: CollaborationClaim) -> list[int]:
    decided = {c.unit_id for c in claim.confirmations}
    return [u for u in claim.unit_ids if u not in decided]


def decide_for_unit(claim: CollaborationClaim, unit_id: int, user: User, decision: str, reason: str = "") -> None:
    """A participating unit's leader confirms or disputes the claim (once per unit).

    When every unit has confirmed the claim goes to the coordinators (confirmed); a dispute makes it
    disputed (the coordinator decides).
    """
    if decision not in ("confirmed", "disputed"):
        raise DomainError(_("无效的操作。"))
    reason = (reason or "").strip()
    if unit_id not in claim.unit_ids:
        raise DomainError(_("该单位没有参与此申报。"))
    if unit_id not in leader_units(claim, user):
        raise DomainError(_("只有该单位的领导才能代表其确认或提出异议。"))
    if claim.status not in ("submitted", "disputed"):
        if claim.status == "approved":
            raise DomainError(_("该申报已批准并锁定，不能再更改。"))
        raise DomainError(_("该申报当前不需要单位确认（状态：%(s)s）。", s=STATUS_LABELS[claim.status]))
    if decision == "disputed" and not reason:
        raise DomainError(_("提出异议时请说明理由。"), field="reason")
    _require_active_cycle(claim)
    lock_claim(claim, ("submitted", "disputed"))  # serialises the units' decisions on this claim
    already = db.session.execute(
        select(ClaimConfirmation).filter_by(claim_id=claim.id, unit_id=unit_id)
    ).scalar_one_or_none()
    if already is not None:
        db.session.rollback()
        raise DomainError(_("本单位已经对此申报作出过决定。"))
    db.session.add(ClaimConfirmation(claim_id=claim.id, unit_id=unit_id, decision=decision, reason=reason,
                                     user_id=user.id))
    flush_or_fail(_("本单位已经对此申报作出过决定。"))
    db.session.refresh(claim)
    decisions = {c.unit_id: c.decision for c in claim.confirmations}
    current = claim.status
    if "disputed" in decisions.values():
        target = "disputed"
    elif set(decisions) >= set(claim.unit_ids):
        target = "confirmed"
    else:
        target = current
    action = "confirm" if decision == "confirmed" else "dispute"
    if target != current:
        move_claim(claim, (current,), target, user, action, reason, unit_id)
    else:
        claim_event(claim, user, action, current, current, reason, unit_id)


def review_conflict(claim: CollaborationClaim, user: User) -> str | None:
    """Why ``user`` may not review this claim, or None."""
    if not user.has_role("coordinator"):
        return _("只有协作协调员可以审核申报。")
    if user.officer is not None and user.officer.unit_id in claim.unit_ids:
        return _("您所在单位参与了此申报，不能审核。")
    if claim.filed_by_id == user.id:
        return _("不能审核自己提交的申报。")
    return None


def _check_reviewer(claim: CollaborationClaim, user: User) -> None:
    problem = review_conflict(claim, user)
    if problem:
        raise DomainError(problem)
    _require_active_cycle(claim)


def _check_approvable(claim: CollaborationClaim, reason: str) -> None:
    """The claim's state, and the guards (duplicates, possible splits) that block or need a reason."""
    if claim.status == "approved":
        raise DomainError(_("该申报已批准并锁定，不能再更改。"))
    if claim.status not in ("confirmed", "disputed"):
        raise DomainError(_("各参与单位确认后才能批准（当前状态：%(s)s）。", s=STATUS_LABELS[claim.status]))
    if claim.status == "disputed" and not reason:
        raise DomainError(_("该申报有单位提出异议，批准时请说明理由。"), field="reason")
    others = [c for c in duplicates_of(claim) if c.status != "draft"]
    if others:
        raise DomainError(_("本周期还有案件编号相同的申报（%(ids)s），请先合并或驳回其中一条。",
                            ids="、".join(f"#{c.id}" for c in others)))
    parts = split_partners(claim)
    if parts and not reason:
        raise DomainError(_("此申报与 %(ids)s 同日、同单位、同民警且案件编号相近，可能是同一案件拆分申报；"
                            "确认不是拆分时请在批准说明中写明理由。",
                            ids="、".join(f"#{c.id} {c.case_ref}" for c in parts)), field="reason")


def _final_shares(claim: CollaborationClaim, final_shares: dict | None) -> dict[int, int]:
    """{participant id: basis points}: the given share, or the proposed one; they must add up to 100 %."""
    given_shares = final_shares or {}
    final: dict[int, int] = {}
    for p in claim.participants:
        given = given_shares.get(p.id, given_shares.get(str(p.id)))
        final[p.id] = p.proposed_bp if given in (None, "") else parse_share(given, p.officer.name)
    total = sum(final.values())
    if total != FULL_SHARE_BP:
        raise DomainError(_("最终比例之和应为 100%%，现为 %(t)s%%。", t=format_bp(total)), field="final_shares")
    return final


def is_unverified(claim: CollaborationClaim) -> bool:
    """Case records are kept, but none in the claim's cycle carries its case reference."""
    return has_case_records() and verify_refs(claim.cycle, [claim.case_ref])[claim.case_ref] is None


def approve_claim(claim: CollaborationClaim, user: User, final_shares: dict | None = None, reason: str = "",
                  unverified_acknowledged: bool = False) -> None:
    """A coordinator approves: the final shares (default: as proposed) are fixed and the claim is locked.

    ``final_shares``: {participant id: '40.5'}; changing any share needs a reason. A claim whose case
    reference matches no case record is approved only when the coordinator acknowledges that.
    """
    reason = (reason or "").strip()
    _check_reviewer(claim, user)
    _check_approvable(claim, reason)
    if not unverified_acknowledged and is_unverified(claim):
        raise DomainError(_("案件编号 %(ref)s 在案件记录中找不到，请先核实，并勾选“我已核实此案件”后再批准。",
                            ref=claim.case_ref), field="unverified_acknowledged")
    final = _final_shares(claim, final_shares)
    adjusted = any(final[p.id] != p.proposed_bp for p in claim.participants)
    if adjusted and not reason:
        raise DomainError(_("调整分配比例时请说明理由。"), field="reason")
    move_claim(claim, ("confirmed", "disputed"), "approved", user, "approve", reason,
               decided_at=utcnow(), decision_reason=reason)
    for p in claim.participants:
        p.final_bp = final[p.id]
    db.session.flush()
    if adjusted:
        record("claim_shares_adjusted", "claim", claim.id,
               before={str(p.officer_id): p.proposed_bp for p in claim.participants},
               after={str(p.officer_id): p.final_bp for p in claim.participants}, note=reason, user_id=user.id)
        db.session.flush()


def return_claim(claim: CollaborationClaim, user: User, reason: str) -> None:
    """Back to the filer for changes; the units confirm again after the resubmission."""
    reason = (reason or "").strip()
    _check_reviewer(claim, user)
    if claim.status not in REVIEW_STATUSES:
        if claim.status == "approved":
            raise DomainError(_("该申报已批准并锁定，不能再更改。"))
        raise DomainError(_("该申报当前状态不能退回。"))
    if not reason:
        raise DomainError(_("退回时请说明需要修改什么。"), field="reason")
    move_claim(claim, REVIEW_STATUSES, "returned", user, "return", reason, decision_reason=reason)
    db.session.execute(delete(ClaimConfirmation).where(ClaimConfirmation.claim_id == claim.id))
    db.session.flush()


def reject_claim(claim: CollaborationClaim, user: User, reason: str) -> None:
    reason = (reason or "").strip()
    _check_reviewer(claim, user)
    if claim.status not in REVIEW_STATUSES + ("returned",):
        if claim.status == "approved":
            raise DomainError(_("该申报已批准并锁定，不能再更改。"))
        raise DomainError(_("该申报当前状态不能驳回。"))
    if not reason:
        raise DomainError(_("驳回时请说明理由。"), field="reason")
    move_claim(claim, REVIEW_STATUSES + ("returned",), "rejected", user, "reject", reason,
               decided_at=utcnow(), decision_reason=reason)


def merge_claim(claim: CollaborationClaim, user: User, target_id: int, reason: str = "") -> None:
    """Close ``claim`` as a duplicate of ``target`` (same cycle and case reference).

    Its participants are not copied: if the kept claim misses someone, return it for changes.
    """
    reason = (reason or "").strip()
    _check_reviewer(claim, user)
    target = db.session.get(CollaborationClaim, target_id)
    if target is None or target.id == claim.id or target.cycle_id != claim.cycle_id \
            or target.case_ref != claim.case_ref or target.status not in ACTIVE_STATUSES:
        raise DomainError(_("只能合并到本周期内案件编号相同、仍有效的另一条申报。"), field="target")
    if claim.status not in REVIEW_STATUSES + ("returned",):
        raise DomainError(_("该申报当前状态不能合并。"))
    move_claim(claim, REVIEW_STATUSES + ("returned",), "merged", user, "merge", reason,
               merged_into_id=target.id, decided_at=utcnow(), decision_reason=reason)
    claim_event(target, user, "merge_in", target.status, target.status,
                _("并入申报 #%(id)d。", id=claim.id) + (f" {reason}" if reason else ""))
