"""Filing a claim: the cycle it goes into, the case and participant checks, saving a draft and
submitting it to the participating units."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import delete, select

from .. import scope
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import (
    ClaimConfirmation,
    ClaimParticipant,
    CollaborationClaim,
    Cycle,
    Officer,
    Unit,
    User,
    utcnow,
)
from ..models.claims import FULL_SHARE_BP
from .points import points_rules
from .states import REVIEW_STATUSES, ROLE_LABELS, claim_event, claim_snapshot, lock_claim, move_claim


def open_cycle() -> Cycle | None:
    """The cycle new claims go into: the open one (the latest if several)."""
    return db.session.execute(
        select(Cycle).filter_by(status="open").where(scope.cycle_clause()).order_by(Cycle.starts_on.desc())
    ).scalars().first()


def pick_cycle(cycle_id: int | None) -> Cycle | None:
    if cycle_id:
        cycle = db.session.get(Cycle, cycle_id)
        return cycle if cycle is not None and scope.can_see(cycle) else None
    from ..main.services import current_cycle

    return current_cycle()


def cycles() -> list[Cycle]:
    return list(db.session.execute(select(Cycle).where(scope.cycle_clause())
                                   .order_by(Cycle.starts_on.desc(), Cycle.kind)).scalars().all())


def normalise_ref(ref: str) -> str:
    return "".join((ref or "").split()).upper()


def parse_share(text, what: str = "") -> int:
    """'33.33' → 3333 basis points; DomainError for anything but 0–100 with at most two decimals."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("%(who)s的比例“%(v)s”不是数字。", who=what, v=text), field="participants") from None
    if not value.is_finite():
        raise DomainError(_("%(who)s的比例“%(v)s”不是数字。", who=what, v=text), field="participants")
    if value < 0 or value > 100:
        raise DomainError(_("%(who)s的比例应在 0 到 100 之间。", who=what), field="participants")
    if value != value.quantize(Decimal("0.01")):
        raise DomainError(_("%(who)s的比例最多保留两位小数。", who=what), field="participants")
    return int(value * 100)


def format_bp(bp: int | None) -> str:
    if bp is None:
        return ""
    return f"{bp / 100:.2f}".rstrip("0").rstrip(".")


@dataclass
class ParticipantInput:
    unit_id: int
    officer: Officer
    role: str
    share_bp: int


def _check_participants(rows: list[dict]) -> list[ParticipantInput]:
    """Participants from form/API rows ({unit_id, badge_no or officer_id, role, share})."""
    units = {u.id: u for u in db.session.execute(select(Unit).where(scope.clause(Unit.bureau_id))).scalars()}
    out: list[ParticipantInput] = []
    seen: set[int] = set()
    for number, row in enumerate(rows, start=1):
        who = _("第 %(n)d 位参与人", n=number)
        unit = units.get(int(row.get("unit_id") or 0))
        if unit is None:
            raise DomainError(_("%(who)s没有选择单位。", who=who), field="participants")
        officer = None
        if row.get("officer_id"):
            officer = db.session.get(Officer, int(row["officer_id"]))
        elif (row.get("badge_no") or "").strip():
            officer = db.session.execute(
                select(Officer).filter_by(badge_no=row["badge_no"].strip())
            ).scalar_one_or_none()
        else:
            raise DomainError(_("%(who)s没有填写警号。", who=who), field="participants")
        if officer is None or not officer.is_active:
            raise DomainError(_("%(who)s：找不到警号为“%(b)s”的在岗民警。", who=who, b=row.get("badge_no", "")),
                              field="participants")
        if officer.unit_id != unit.id:
            raise DomainError(_("%(who)s：%(name)s（%(b)s）不属于%(unit)s。", who=who, name=officer.name,
                                b=officer.badge_no, unit=unit.name), field="participants")
        if officer.id in seen:
            raise DomainError(_("%(name)s（%(b)s）在参与人中出现了两次。", name=officer.name, b=officer.badge_no),
                              field="participants")
        seen.add(officer.id)
        role = row.get("role") or ""
        if role not in ROLE_LABELS:
            raise DomainError(_("%(who)s没有选择角色（主办、协办或支援）。", who=who), field="participants")
        share = parse_share(row.get("share", ""), who)
        if share <= 0:
            raise DomainError(_("%(who)s的比例应大于 0。", who=who), field="participants")
        out.append(ParticipantInput(unit.id, officer, role, share))
    if len({p.unit_id for p in out}) < 2:
        raise DomainError(_("跨单位协作申报至少需要两个不同单位的参与人。"), field="participants")
    total = sum(p.share_bp for p in out)
    if total != FULL_SHARE_BP:
        raise DomainError(_("各参与人的比例之和应为 100%%，现为 %(t)s%%。", t=format_bp(total)),
                          field="participants")
    return out


def _check_case(cycle: Cycle, data: dict) -> dict:
    ref = normalise_ref(data.get("case_ref", ""))
    if not ref:
        raise DomainError(_("请填写案件编号。"), field="case_ref")
    if len(ref) > 50:
        raise DomainError(_("案件编号过长（最多 50 个字符）。"), field="case_ref")
    case_date = data.get("case_date")
    if not isinstance(case_date, date):
        raise DomainError(_("请填写案发日期。"), field="case_date")
    if not (cycle.starts_on <= case_date <= cycle.ends_on):
        raise DomainError(_("案发日期应在本周期内（%(a)s 至 %(b)s）。", a=cycle.starts_on, b=cycle.ends_on),
                          field="case_date")
    rules = points_rules(cycle)
    case_type, severity = data.get("case_type", ""), data.get("severity", "")
    if (case_type, severity) not in rules.base_points:
        raise DomainError(_("本周期的积分规则中没有“%(t)s / %(s)s”这一类别。", t=case_type, s=severity),
                          field="case_type")
    if db.session.get(Unit, int(data.get("lead_unit_id") or 0)) is None:
        raise DomainError(_("请选择主办单位。"), field="lead_unit_id")
    summary = (data.get("summary") or "").strip()
    if len(summary) > 2000:
        raise DomainError(_("案情摘要过长（最多 2000 字）。"), field="summary")
    return {"case_ref": ref, "case_date": case_date, "case_type": case_type, "severity": severity,
            "lead_unit_id": int(data["lead_unit_id"]), "summary": summary}


def _require_open(cycle: Cycle) -> None:
    if cycle.status != "open":
        raise DomainError(_("周期“%(name)s”未在进行中，不能申报或修改。", name=cycle.name))


def save_claim(claim: CollaborationClaim | None, data: dict, user: User, cycle: Cycle | None = None
               ) -> CollaborationClaim:
    """File a new claim (as a draft) or edit a draft/returned one; validates everything.

    ``data``: case_ref, case_type, severity, case_date (date), summary, lead_unit_id and
    participants: [{unit_id, badge_no | officer_id, role ('lead'|'assist'|'support'), share ('33.33')}].
    """
    if claim is not None:
        if claim.filed_by_id != user.id:
            raise DomainError(_("只有申报人可以修改此申报。"))
        if not claim.is_editable:
            raise DomainError(_("只有草稿或已退回的申报可以修改。"))
        cycle = claim.cycle
    if cycle is None:
        raise DomainError(_("当前没有进行中的考评周期，暂不能申报。"))
    _require_open(cycle)
    case = _check_case(cycle, data)
    participants = _check_participants(list(data.get("participants") or []))
    if case["lead_unit_id"] not in {p.unit_id for p in participants}:
        raise DomainError(_("主办单位必须是参与单位之一。"), field="lead_unit_id")
    if claim is None:
        claim = CollaborationClaim(cycle_id=cycle.id, filed_by_id=user.id, status="draft", **case)
        db.session.add(claim)
        before = None
    else:
        lock_claim(claim, ("draft", "returned"))
        db.session.refresh(claim)
        before = claim_snapshot(claim)
        for key, value in case.items():
            setattr(claim, key, value)
        claim.participants.clear()
        db.session.flush()  # delete the old rows before the unique (claim, officer) rows come back
    for p in participants:
        claim.participants.append(ClaimParticipant(unit_id=p.unit_id, officer_id=p.officer.id, role=p.role,
                                                   proposed_bp=p.share_bp))
    flush_or_fail(_("同一民警在一条申报中只能出现一次。"), field="participants")
    if before is None:
        claim_event(claim, user, "create", None, claim.status, audit_after=claim_snapshot(claim))
    else:
        claim_event(claim, user, "edit", claim.status, claim.status, audit_after=claim_snapshot(claim))
    return claim


def submit_claim(claim: CollaborationClaim, user: User) -> None:
    """Draft or returned → submitted: the participating units' leaders are asked to confirm."""
    if claim.filed_by_id != user.id:
        raise DomainError(_("只有申报人可以提交此申报。"))
    if not claim.is_editable:
        raise DomainError(_("该申报已提交，不能重复提交。") if claim.status in REVIEW_STATUSES
                          else _("该申报当前状态不能提交。"))
    _require_open(claim.cycle)
    move_claim(claim, ("draft", "returned"), "submitted", user, "submit", submitted_at=utcnow())
    db.session.execute(delete(ClaimConfirmation).where(ClaimConfirmation.claim_id == claim.id))
    db.session.flush()
