"""Collaboration claims: filing, the confirm/review flow, guards, points and case records.

Services flush; the view commits once (or rolls back). Every state move is a conditional UPDATE on
(id, status) so that of several racing requests exactly one wins; the losers get a DomainError and
their transaction is rolled back, so nothing they did is kept.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import OperationalError

from scoring.team import ClaimSet, PointsRules, pair_affinity, score_team

from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import (
    CaseRecord,
    ClaimConfirmation,
    ClaimEvent,
    ClaimParticipant,
    CollaborationClaim,
    Cycle,
    Officer,
    Unit,
    User,
    utcnow,
)
from ..models.claims import FULL_SHARE_BP

# ---- labels ------------------------------------------------------------------------------------
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
FLAG_LABELS = {"duplicate": _l("编号重复"), "reciprocal": _l("互报频繁"), "unverified": _l("未核实")}

# Claims that still count: the others were closed without points.
ACTIVE_STATUSES = ("draft", "submitted", "confirmed", "disputed", "returned", "approved")
REVIEW_STATUSES = ("submitted", "confirmed", "disputed")

SEVERITY_ORDER = ("一般", "较大", "重大", "特别重大")
# Used for a cycle that opened without rules of its own (written into its config on open).
DEFAULT_POINTS_RULES = PointsRules(
    base_points={
        ("刑事", "一般"): 10, ("刑事", "较大"): 15, ("刑事", "重大"): 25, ("刑事", "特别重大"): 40,
        ("治安", "一般"): 5, ("治安", "较大"): 8, ("治安", "重大"): 12,
        ("电信诈骗", "一般"): 8, ("电信诈骗", "较大"): 12, ("电信诈骗", "重大"): 20,
        ("交通", "一般"): 4, ("交通", "较大"): 6, ("交通", "重大"): 10,
    },
    multiplier_step=0.25,
    multiplier_cap=2.0,
    officer_cap=60.0,
)
DEFAULT_RECIPROCITY = {"min_claims": 3, "ratio": 3.0, "z": 3.0}


# ---- points rules ------------------------------------------------------------------------------
def points_rules(cycle: Cycle) -> PointsRules:
    """The cycle's frozen rules, or the defaults when it has none."""
    data = (cycle.config or {}).get("points_rules")
    if not data:
        return DEFAULT_POINTS_RULES
    return PointsRules.from_dict(data)


def _severity_key(severity: str):
    return (SEVERITY_ORDER.index(severity), "") if severity in SEVERITY_ORDER else (len(SEVERITY_ORDER), severity)


def case_types(rules: PointsRules) -> list[str]:
    return sorted({ct for ct, _sev in rules.base_points})


def severities(rules: PointsRules) -> list[str]:
    return sorted({sev for _ct, sev in rules.base_points}, key=_severity_key)


def rules_as_text(rules: PointsRules) -> str:
    """One line per entry: ``案件类别 严重程度 分值`` (what the admin edits)."""
    rows = sorted(rules.base_points.items(), key=lambda kv: (kv[0][0], _severity_key(kv[0][1])))
    return "\n".join(f"{ct} {sev} {pts:g}" for (ct, sev), pts in rows)


def _parse_rules_text(text: str) -> dict[tuple[str, str], float]:
    table: dict[tuple[str, str], float] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        parts = line.replace(",", " ").replace("，", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            raise DomainError(_("第 %(n)d 行应为“案件类别 严重程度 分值”三项。", n=number), field="base_points")
        try:
            points = float(parts[2])
        except ValueError:
            raise DomainError(_("第 %(n)d 行的分值不是数字。", n=number), field="base_points") from None
        if not (0 <= points <= 10_000):
            raise DomainError(_("第 %(n)d 行的分值应在 0 到 10000 之间。", n=number), field="base_points")
        if (parts[0], parts[1]) in table:
            raise DomainError(_("第 %(n)d 行重复了“%(t)s %(s)s”。", n=number, t=parts[0], s=parts[1]),
                              field="base_points")
        if len(parts[0]) > 20 or len(parts[1]) > 20:
            raise DomainError(_("第 %(n)d 行的类别或严重程度过长（最多 20 个字）。", n=number), field="base_points")
        table[(parts[0], parts[1])] = points
    if not table:
        raise DomainError(_("至少需要一条基础分值。"), field="base_points")
    return table


def save_points_rules(cycle: Cycle, data: dict, user: User | None = None) -> PointsRules:
    """Store a cycle's points rules (only while it is a draft). ``data``: base_points text,
    multiplier_step, multiplier_cap, officer_cap (None = no cap)."""
    if cycle.is_frozen:
        raise DomainError(_("周期已开启，积分规则已冻结，不能再修改。"))
    table = _parse_rules_text(data.get("base_points", ""))
    try:
        rules = PointsRules(base_points=table, multiplier_step=data["multiplier_step"],
                            multiplier_cap=data["multiplier_cap"], officer_cap=data.get("officer_cap"))
    except (TypeError, ValueError) as error:
        raise DomainError(_("积分规则无效：%(e)s", e=str(error))) from error
    before = (cycle.config or {}).get("points_rules")
    cycle.config = {**(cycle.config or {}), "points_rules": rules.to_dict()}
    db.session.flush()
    record("points_rules_saved", "cycle", cycle.id, before={"points_rules": before},
           after={"points_rules": rules.to_dict()}, user_id=user.id if user else None)
    return rules


def freeze_points_rules(cycle: Cycle) -> None:
    """BEFORE_TRANSITION["open"] hook: a cycle opens with explicit rules (the defaults if none)."""
    if not (cycle.config or {}).get("points_rules"):
        cycle.config = {**(cycle.config or {}), "points_rules": DEFAULT_POINTS_RULES.to_dict()}
        db.session.flush()


def reciprocity_settings(cycle: Cycle) -> dict:
    settings = dict(DEFAULT_RECIPROCITY)
    settings.update(current_app.config.get("CLAIMS_RECIPROCITY", {}))
    settings.update((cycle.config or {}).get("reciprocity", {}))
    return settings


# ---- cycles ------------------------------------------------------------------------------------
def open_cycle() -> Cycle | None:
    """The cycle new claims go into: the open one (the latest if several)."""
    return db.session.execute(
        select(Cycle).filter_by(status="open").order_by(Cycle.starts_on.desc())
    ).scalars().first()


def pick_cycle(cycle_id: int | None) -> Cycle | None:
    if cycle_id:
        return db.session.get(Cycle, cycle_id)
    from ..main.services import current_cycle

    return current_cycle()


def cycles() -> list[Cycle]:
    return db.session.execute(select(Cycle).order_by(Cycle.starts_on.desc(), Cycle.kind)).scalars().all()


# ---- filing ------------------------------------------------------------------------------------
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
    units = {u.id: u for u in db.session.execute(select(Unit)).scalars()}
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


def _busy() -> DomainError:
    return DomainError(_("该申报正被其他人处理，请刷新后重试。"))


def _lock(claim: CollaborationClaim, statuses: tuple[str, ...]) -> None:
    """Bump the version under the given statuses: takes the row lock, refuses if someone moved it."""
    try:
        result = db.session.execute(
            update(CollaborationClaim)
            .where(CollaborationClaim.id == claim.id, CollaborationClaim.status.in_(statuses))
            .values(version=CollaborationClaim.version + 1)
            .execution_options(synchronize_session=False)
        )
    except OperationalError as error:  # SQLite: another writer got there first
        db.session.rollback()
        raise _busy() from error
    if result.rowcount != 1:
        _refuse_moved(claim)


def _refuse_moved(claim: CollaborationClaim):
    db.session.rollback()
    current = db.session.scalar(select(CollaborationClaim.status).where(CollaborationClaim.id == claim.id))
    if current == "approved":
        raise DomainError(_("该申报已批准并锁定，不能再更改。"))
    raise DomainError(_("该申报的状态已被其他人更改（现为“%(s)s”），请刷新后重试。",
                        s=STATUS_LABELS.get(current, current)))


def _move(claim: CollaborationClaim, from_statuses: tuple[str, ...], to_status: str, user: User, action: str,
          reason: str = "", unit_id: int | None = None, **values) -> None:
    """The atomic state move: UPDATE ... WHERE status IN from_statuses; exactly one racer wins."""
    before = claim.status
    try:
        result = db.session.execute(
            update(CollaborationClaim)
            .where(CollaborationClaim.id == claim.id, CollaborationClaim.status.in_(from_statuses))
            .values(status=to_status, version=CollaborationClaim.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
    except OperationalError as error:
        db.session.rollback()
        raise _busy() from error
    if result.rowcount != 1:
        _refuse_moved(claim)
    db.session.refresh(claim)
    _event(claim, user, action, before, to_status, reason, unit_id)


def _event(claim, user, action, from_status, to_status, reason="", unit_id=None, audit_after=None) -> None:
    db.session.add(ClaimEvent(claim_id=claim.id, user_id=user.id if user else None, action=action,
                              from_status=from_status, to_status=to_status, unit_id=unit_id, reason=reason or ""))
    after = {"status": to_status, **({"unit_id": unit_id} if unit_id else {}), **(audit_after or {})}
    record(f"claim_{action}", "claim", claim.id, before={"status": from_status} if from_status else None,
           after=after, note=reason or "", user_id=user.id if user else None)
    db.session.flush()


def _snapshot(claim: CollaborationClaim) -> dict:
    return {"case_ref": claim.case_ref, "case_type": claim.case_type, "severity": claim.severity,
            "case_date": str(claim.case_date), "lead_unit_id": claim.lead_unit_id,
            "participants": [[p.officer_id, p.unit_id, p.role, p.proposed_bp] for p in claim.participants]}


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
        _lock(claim, ("draft", "returned"))
        db.session.refresh(claim)
        before = _snapshot(claim)
        for key, value in case.items():
            setattr(claim, key, value)
        claim.participants.clear()
        db.session.flush()  # delete the old rows before the unique (claim, officer) rows come back
    for p in participants:
        claim.participants.append(ClaimParticipant(unit_id=p.unit_id, officer_id=p.officer.id, role=p.role,
                                                   proposed_bp=p.share_bp))
    flush_or_fail(_("同一民警在一条申报中只能出现一次。"), field="participants")
    if before is None:
        _event(claim, user, "create", None, claim.status, audit_after=_snapshot(claim))
    else:
        _event(claim, user, "edit", claim.status, claim.status, audit_after=_snapshot(claim))
    return claim


def submit_claim(claim: CollaborationClaim, user: User) -> None:
    """Draft or returned → submitted: the participating units' leaders are asked to confirm."""
    if claim.filed_by_id != user.id:
        raise DomainError(_("只有申报人可以提交此申报。"))
    if not claim.is_editable:
        raise DomainError(_("该申报已提交，不能重复提交。") if claim.status in REVIEW_STATUSES
                          else _("该申报当前状态不能提交。"))
    _require_open(claim.cycle)
    _move(claim, ("draft", "returned"), "submitted", user, "submit", submitted_at=utcnow())
    db.session.execute(delete(ClaimConfirmation).where(ClaimConfirmation.claim_id == claim.id))
    db.session.flush()


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
    _lock(claim, ("submitted", "disputed"))  # serialises the units' decisions on this claim
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
        _move(claim, (current,), target, user, action, reason, unit_id)
    else:
        _event(claim, user, action, current, current, reason, unit_id)


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


def duplicates_of(claim: CollaborationClaim) -> list[CollaborationClaim]:
    """Other claims of the cycle with the same case reference that still count."""
    return db.session.execute(
        select(CollaborationClaim).where(
            CollaborationClaim.cycle_id == claim.cycle_id, CollaborationClaim.case_ref == claim.case_ref,
            CollaborationClaim.id != claim.id, CollaborationClaim.status.in_(ACTIVE_STATUSES),
        ).order_by(CollaborationClaim.id)
    ).scalars().all()


def approve_claim(claim: CollaborationClaim, user: User, final_shares: dict | None = None, reason: str = "") -> None:
    """A coordinator approves: the final shares (default: as proposed) are fixed and the claim is locked.

    ``final_shares``: {participant id: '40.5'}; changing any share needs a reason.
    """
    reason = (reason or "").strip()
    _check_reviewer(claim, user)
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
    final: dict[int, int] = {}
    for p in claim.participants:
        given = (final_shares or {}).get(p.id, (final_shares or {}).get(str(p.id)))
        final[p.id] = p.proposed_bp if given in (None, "") else parse_share(given, p.officer.name)
    total = sum(final.values())
    if total != FULL_SHARE_BP:
        raise DomainError(_("最终比例之和应为 100%%，现为 %(t)s%%。", t=format_bp(total)), field="final_shares")
    adjusted = any(final[p.id] != p.proposed_bp for p in claim.participants)
    if adjusted and not reason:
        raise DomainError(_("调整分配比例时请说明理由。"), field="reason")
    _move(claim, ("confirmed", "disputed"), "approved", user, "approve", reason,
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
    _move(claim, REVIEW_STATUSES, "returned", user, "return", reason, decision_reason=reason)
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
    _move(claim, REVIEW_STATUSES + ("returned",), "rejected", user, "reject", reason,
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
    _move(claim, REVIEW_STATUSES + ("returned",), "merged", user, "merge", reason,
          merged_into_id=target.id, decided_at=utcnow(), decision_reason=reason)
    _event(target, user, "merge_in", target.status, target.status,
           _("并入申报 #%(id)d。", id=claim.id) + (f" {reason}" if reason else ""))


# ---- who sees what -----------------------------------------------------------------------------
def can_view(claim: CollaborationClaim, user: User) -> bool:
    if user.has_role("admin", "coordinator") or claim.filed_by_id == user.id:
        return True
    officer = user.officer
    if officer is None:
        return False
    if any(p.officer_id == officer.id for p in claim.participants):
        return True
    return officer.is_leader and officer.unit_id in claim.unit_ids


def _status_counts(query) -> dict[str, int]:
    sub = query.with_only_columns(CollaborationClaim.id, CollaborationClaim.status).order_by(None).subquery()
    rows = db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all()
    return {status: n for status, n in rows}


def my_claims_query(user: User, cycle: Cycle | None):
    """Claims I filed or take part in."""
    conditions = [CollaborationClaim.filed_by_id == user.id]
    if user.officer_id:
        conditions.append(CollaborationClaim.id.in_(
            select(ClaimParticipant.claim_id).where(ClaimParticipant.officer_id == user.officer_id)))
    query = select(CollaborationClaim).where(or_(*conditions))
    if cycle is not None:
        query = query.where(CollaborationClaim.cycle_id == cycle.id)
    return query.order_by(CollaborationClaim.id.desc())


def to_confirm_query(user: User, cycle: Cycle | None):
    """Claims waiting for my unit's decision (for unit leaders)."""
    officer = user.officer
    if officer is None or not officer.is_leader:
        return None
    decided = select(ClaimConfirmation.claim_id).where(ClaimConfirmation.unit_id == officer.unit_id)
    query = select(CollaborationClaim).where(
        CollaborationClaim.status.in_(("submitted", "disputed")),
        CollaborationClaim.id.in_(select(ClaimParticipant.claim_id).where(ClaimParticipant.unit_id == officer.unit_id)),
        CollaborationClaim.id.not_in(decided),
    )
    if cycle is not None:
        query = query.where(CollaborationClaim.cycle_id == cycle.id)
    return query.order_by(CollaborationClaim.submitted_at, CollaborationClaim.id)


def counts(query) -> dict:
    by_status = _status_counts(query) if query is not None else {}
    return {"total": sum(by_status.values()), "by_status": by_status}


# ---- guards: duplicates, reciprocity, verification -------------------------------------------------
@dataclass
class CycleFlags:
    duplicates: dict[int, list[int]] = field(default_factory=dict)  # claim id → other claim ids
    reciprocal_pairs: list[dict] = field(default_factory=list)  # flagged unit pairs
    reciprocal_claims: set[int] = field(default_factory=set)
    verified: dict[int, bool] = field(default_factory=dict)  # empty when no case records exist
    has_case_records: bool = False

    def of(self, claim_id: int) -> list[str]:
        flags = []
        if claim_id in self.duplicates:
            flags.append("duplicate")
        if claim_id in self.reciprocal_claims:
            flags.append("reciprocal")
        if self.has_case_records and not self.verified.get(claim_id, False):
            flags.append("unverified")
        return flags


def has_case_records() -> bool:
    return db.session.execute(select(CaseRecord.id).limit(1)).first() is not None


def verify_refs(cycle: Cycle, refs: list[str]) -> dict[str, CaseRecord | None]:
    """Case record of each reference when it exists and its date lies in the cycle (else None)."""
    found: dict[str, CaseRecord | None] = {ref: None for ref in refs}
    unique = sorted(set(refs))
    for start in range(0, len(unique), 500):
        for rec in db.session.execute(
            select(CaseRecord).where(CaseRecord.case_ref.in_(unique[start:start + 500]))
        ).scalars():
            if cycle.starts_on <= rec.case_date <= cycle.ends_on:
                found[rec.case_ref] = rec
    return found


def cycle_flags(cycle: Cycle) -> CycleFlags:
    """Duplicate references, reciprocal unit pairs and verification for every claim of a cycle."""
    flags = CycleFlags()
    rows = db.session.execute(
        select(CollaborationClaim.id, CollaborationClaim.case_ref, CollaborationClaim.status)
        .where(CollaborationClaim.cycle_id == cycle.id, CollaborationClaim.status.in_(ACTIVE_STATUSES))
    ).all()
    by_ref: dict[str, list[int]] = {}
    for claim_id, ref, _status in rows:
        by_ref.setdefault(ref, []).append(claim_id)
    for ids in by_ref.values():
        if len(ids) > 1:
            for claim_id in ids:
                flags.duplicates[claim_id] = [other for other in ids if other != claim_id]
    flags.has_case_records = has_case_records()
    if flags.has_case_records:
        found = verify_refs(cycle, [ref for _id, ref, _s in rows])
        flags.verified = {claim_id: found.get(ref) is not None for claim_id, ref, _s in rows}

    # Reciprocity over claims that left the filer's hands.
    parts = db.session.execute(
        select(ClaimParticipant.claim_id, ClaimParticipant.unit_id).join(CollaborationClaim)
        .where(CollaborationClaim.cycle_id == cycle.id,
               CollaborationClaim.status.in_(("submitted", "confirmed", "disputed", "approved")))
    ).all()
    if parts:
        claim_ids = sorted({c for c, _u in parts})
        unit_ids = sorted({u for _c, u in parts})
        ci = {c: i for i, c in enumerate(claim_ids)}
        ui = {u: i for i, u in enumerate(unit_ids)}
        claim_idx = np.array([ci[c] for c, _u in parts])
        unit_idx = np.array([ui[u] for _c, u in parts])
        affinity = pair_affinity(claim_idx, unit_idx, len(unit_ids))
        settings = reciprocity_settings(cycle)
        hit = (affinity.count >= settings["min_claims"]) & (
            (affinity.ratio >= settings["ratio"]) | (affinity.z >= settings["z"]))
        units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(unit_ids))).scalars()}
        flagged_pairs = set()
        for k in np.flatnonzero(hit):
            a, b = (unit_ids[int(i)] for i in affinity.pairs[k])
            flagged_pairs.add((a, b))
            flags.reciprocal_pairs.append({
                "units": (units[a], units[b]), "count": int(affinity.count[k]),
                "expected": float(affinity.expected[k]), "ratio": float(affinity.ratio[k]),
                "z": float(affinity.z[k]),
            })
        if flagged_pairs:
            units_of: dict[int, set[int]] = {}
            for c, u in parts:
                units_of.setdefault(c, set()).add(u)
            for c, us in units_of.items():
                if any(a in us and b in us for a, b in flagged_pairs):
                    flags.reciprocal_claims.add(c)
    return flags


def review_queue(cycle: Cycle, statuses: tuple[str, ...] = REVIEW_STATUSES, unit_id: int | None = None,
                 flag: str | None = None, flags: CycleFlags | None = None) -> list[CollaborationClaim]:
    """The coordinator's list with filters (state, participating unit, flag)."""
    query = select(CollaborationClaim).where(CollaborationClaim.cycle_id == cycle.id)
    if statuses:
        query = query.where(CollaborationClaim.status.in_(statuses))
    if unit_id:
        query = query.where(CollaborationClaim.id.in_(
            select(ClaimParticipant.claim_id).where(ClaimParticipant.unit_id == unit_id)))
    claims = db.session.execute(
        query.order_by(CollaborationClaim.submitted_at, CollaborationClaim.id)).scalars().all()
    if flag:
        flags = flags or cycle_flags(cycle)
        claims = [c for c in claims if flag in flags.of(c.id)]
    return claims


# ---- points ------------------------------------------------------------------------------------
@dataclass
class TeamStanding:
    """Points of a cycle's approved claims (see scoring.team.score_team); cents = 0.01 point."""

    cycle: Cycle
    rules: PointsRules
    units: list[dict] = field(default_factory=list)  # best first: unit, cents, uncapped, rank, claims
    teams: list[dict] = field(default_factory=list)  # best first: units, cents, claims, rank
    officers: dict[int, dict] = field(default_factory=dict)  # officer id → cents, uncapped, capped, claims
    claims: dict[int, dict] = field(default_factory=dict)  # claim id → cents, multiplier, rows {officer: cents}
    skipped: list[int] = field(default_factory=list)  # approved claims whose category has no points
    top_officers: list[dict] = field(default_factory=list)  # best first: officer, cents, uncapped, capped


def team_standing(cycle: Cycle) -> TeamStanding:
    rules = points_rules(cycle)
    standing = TeamStanding(cycle=cycle, rules=rules)
    claims = db.session.execute(
        select(CollaborationClaim).where(CollaborationClaim.cycle_id == cycle.id,
                                         CollaborationClaim.status == "approved")
        .order_by(CollaborationClaim.id)
    ).scalars().all()
    kept = []
    for c in claims:
        if (c.case_type, c.severity) in rules.base_points:
            kept.append(c)
        else:
            standing.skipped.append(c.id)
    if not kept:
        return standing
    rows = db.session.execute(
        select(ClaimParticipant).where(ClaimParticipant.claim_id.in_([c.id for c in kept]))
        .order_by(ClaimParticipant.claim_id, ClaimParticipant.id)
    ).scalars().all()
    claim_index = {c.id: i for i, c in enumerate(kept)}
    officer_ids = sorted({r.officer_id for r in rows})
    unit_ids = sorted({r.unit_id for r in rows})
    oi = {o: i for i, o in enumerate(officer_ids)}
    ui = {u: i for i, u in enumerate(unit_ids)}
    claim_set = ClaimSet(
        case_type=np.array([c.case_type for c in kept]), severity=np.array([c.severity for c in kept]),
        claim=np.array([claim_index[r.claim_id] for r in rows], dtype=np.int64),
        officer=np.array([oi[r.officer_id] for r in rows], dtype=np.int64),
        unit=np.array([ui[r.unit_id] for r in rows], dtype=np.int64),
        share=np.array([(r.final_bp if r.final_bp is not None else r.proposed_bp) / 100 for r in rows]),
        n_officers=len(officer_ids), n_units=len(unit_ids),
    )
    result = score_team(claim_set, rules)
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(unit_ids))).scalars()}
    unit_claims: dict[int, set[int]] = {}
    for k, r in enumerate(rows):
        cid = r.claim_id
        entry = standing.claims.setdefault(cid, {
            "cents": int(result.claim_cents[claim_index[cid]]),
            "multiplier": float(result.claim_multiplier[claim_index[cid]]), "rows": {}})
        entry["rows"][r.officer_id] = int(result.row_cents[k])
        unit_claims.setdefault(r.unit_id, set()).add(cid)
        off = standing.officers.setdefault(r.officer_id, {"claims": []})
        off["claims"].append({"claim_id": cid, "case_ref": kept[claim_index[cid]].case_ref,
                              "points": int(result.row_cents[k]) / 100})
    for o, i in oi.items():
        standing.officers[o].update(cents=int(result.officer_cents[i]),
                                    uncapped=int(result.officer_cents_uncapped[i]),
                                    capped=bool(result.officer_capped[i]))
    for i in result.unit_order:
        uid = unit_ids[int(i)]
        standing.units.append({"unit": units[uid], "cents": int(result.unit_cents[i]),
                               "uncapped": int(result.unit_cents_uncapped[i]), "rank": int(result.unit_rank[i]),
                               "claims": len(unit_claims.get(uid, ()))})
    named = {o.id: o for o in db.session.execute(select(Officer).where(Officer.id.in_(officer_ids))).scalars()}
    for i in np.lexsort((np.arange(len(officer_ids)), -result.officer_cents)):
        oid = officer_ids[int(i)]
        standing.top_officers.append({"officer": named[oid], "cents": int(result.officer_cents[i]),
                                      "uncapped": int(result.officer_cents_uncapped[i]),
                                      "capped": bool(result.officer_capped[i])})
    for t in range(result.team_cents.shape[0]):
        members = [units[unit_ids[int(u)]] for u in result.team_units[t] if u >= 0]
        standing.teams.append({"units": members, "cents": int(result.team_cents[t]),
                               "claims": int(result.team_claims[t]), "rank": int(result.team_rank[t])})
    return standing


def soft_indicator_values(cycle: Cycle) -> dict:
    """The 团队协作 soft indicator for the main assessment, from the cycle's approved claims.

    Returns ``{"team_points": {"level": "officer", "values": {officer_id: points}, "details":
    {officer_id: {"claims": [{claim_id, case_ref, points}], "uncapped": points, "capped": bool}}},
    "team_points_unit": {"level": "unit", "values": {unit_id: points}, "details": {unit_id: {"claims": n,
    "uncapped": points, "rank": r}}}}``. Points are floats with two decimals; officers and units
    without approved claims are absent (the caller decides whether that means 0).
    """
    standing = team_standing(cycle)
    officer_values, officer_details = {}, {}
    for officer_id, off in standing.officers.items():
        officer_values[officer_id] = off["cents"] / 100
        officer_details[officer_id] = {"claims": off["claims"], "uncapped": off["uncapped"] / 100,
                                       "capped": off["capped"]}
    unit_values, unit_details = {}, {}
    for row in standing.units:
        unit_values[row["unit"].id] = row["cents"] / 100
        unit_details[row["unit"].id] = {"claims": row["claims"], "uncapped": row["uncapped"] / 100,
                                        "rank": row["rank"]}
    return {
        "team_points": {"level": "officer", "values": officer_values, "details": officer_details},
        "team_points_unit": {"level": "unit", "values": unit_values, "details": unit_details},
    }


# ---- case records (the data pool) ----------------------------------------------------------------
CASE_COLUMNS = ("案件编号", "案发日期", "案件类别", "单位代码", "可防性", "案件状态", "办理阶段", "受理日期",
                "立案日期", "破案结案日期", "移送日期", "办理期限", "主办民警警号")
CASE_KEYS = {"案件编号": "case_ref", "案发日期": "case_date", "案件类别": "case_type", "单位代码": "unit_code",
             "可防性": "is_preventable", "案件状态": "status", "办理阶段": "stage", "受理日期": "accepted_on",
             "立案日期": "filed_on", "破案结案日期": "solved_on", "移送日期": "transferred_on", "办理期限": "deadline",
             "主办民警警号": "officer_badge"}
STAGE_DATE_KEYS = (("accepted", "accepted_on"), ("filed", "filed_on"), ("solved", "solved_on"),
                   ("transferred", "transferred_on"))
YES = {"是", "可防", "y", "yes", "1", "true"}
NO = {"", "否", "不可防", "n", "no", "0", "false"}
CASE_STATUS_WORDS = {"": "open", "在办": "open", "open": "open", "已结": "closed", "结案": "closed",
                     "closed": "closed"}


@dataclass
class CaseImportReport:
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, message)
    created: int = 0
    updated: int = 0
    rows: int = 0
    batch: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "created": self.created, "updated": self.updated,
                "batch": self.batch, "errors": [{"row": n, "message": m} for n, m in self.errors]}


def parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for candidate in (text[:10], text):
        for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    return None


def import_case_records(rows: list[dict], row_numbers: list[int] | None = None, source: str = "api",
                        user: User | None = None) -> CaseImportReport:
    """Create or update case records: all rows or none, with a row-by-row report.

    Each row: case_ref, case_date (YYYY-MM-DD), case_type, unit_code, is_preventable (bool or 是/否),
    status (在办/已结 or open/closed), and the case's progress: stage (受理/立案/破案/结案/移送),
    accepted_on, filed_on, solved_on, transferred_on, deadline (the current stage's, else the
    statutory one of ``monitoring.stages``), officer_badge (主办民警); the Chinese column names of
    the upload file work too. An existing reference is updated. The caller commits when ``report.ok``, else rolls back.
    """
    report = CaseImportReport(rows=len(rows), batch=uuid.uuid4().hex[:16])
    numbers = row_numbers or list(range(1, len(rows) + 1))
    units = {u.code: u for u in db.session.execute(select(Unit)).scalars()}
    badges = {str(row.get(k) or "").strip() for row in rows for k in ("officer_badge", "主办民警警号")} - {""}
    officers = _officers_by_badge(sorted(badges))
    seen: dict[str, int] = {}
    parsed = []
    for number, raw in zip(numbers, rows, strict=True):
        v = {CASE_KEYS.get(k, k): val for k, val in dict(raw).items()}
        problems = []
        ref = normalise_ref(str(v.get("case_ref") or ""))
        if not ref:
            problems.append(_("缺少案件编号"))
        elif len(ref) > 50:
            problems.append(_("案件编号过长（最多 50 个字符）"))
        elif ref in seen:
            problems.append(_("案件编号 %(ref)s 与第 %(row)d 行重复", ref=ref, row=seen[ref]))
        case_date = parse_date(v.get("case_date"))
        if case_date is None:
            problems.append(_("案发日期“%(d)s”无法识别（应为 2026-10-01 这样的日期）", d=v.get("case_date") or ""))
        case_type = str(v.get("case_type") or "").strip()
        if not case_type:
            problems.append(_("缺少案件类别"))
        elif len(case_type) > 20:
            problems.append(_("案件类别过长"))
        code = str(v.get("unit_code") or "").strip()
        if code not in units:
            problems.append(_("未知的单位代码“%(code)s”", code=code) if code else _("缺少单位代码"))
        prev = v.get("is_preventable")
        if isinstance(prev, bool):
            preventable = prev
        elif str(prev or "").strip().lower() in YES | NO:
            preventable = str(prev or "").strip().lower() in YES
        else:
            preventable = None
            problems.append(_("“可防性”应填“是”或“否”"))
        status = CASE_STATUS_WORDS.get(str(v.get("status") or "").strip().lower())
        if status is None:
            problems.append(_("“案件状态”应填“在办”或“已结”"))
        progress = _case_progress(v, case_date, case_type, status, officers, problems)
        if ref and ref not in seen:
            seen[ref] = number
        if problems:
            report.errors.append((number, "；".join(problems)))
        else:
            parsed.append((ref, case_date, case_type, units[code], preventable, progress))
    if not rows:
        report.errors.append((1, _("没有数据行。")))
    if report.errors:
        return report
    existing = {}
    refs = [p[0] for p in parsed]
    for start in range(0, len(refs), 500):
        for rec in db.session.execute(select(CaseRecord).where(CaseRecord.case_ref.in_(refs[start:start + 500]))
                                      ).scalars():
            existing[rec.case_ref] = rec
    now = utcnow()
    for ref, case_date, case_type, unit, preventable, progress in parsed:
        rec = existing.get(ref)
        if rec is None:
            rec = CaseRecord(case_ref=ref)
            db.session.add(rec)
            report.created += 1
        else:
            report.updated += 1
        rec.case_date, rec.case_type, rec.unit_id = case_date, case_type, unit.id
        rec.is_preventable = preventable
        for key, value in progress.items():
            setattr(rec, key, value)
        rec.import_batch, rec.imported_at = report.batch, now
    flush_or_fail(_("导入时发现重复的案件编号（可能有人同时导入），请重试。"), field="file")
    record("case_records_imported", "case_record", report.batch,
           after={"created": report.created, "updated": report.updated, "source": source},
           user_id=user.id if user else None)
    db.session.flush()
    return report


def _officers_by_badge(badges: list[str]) -> dict[str, int]:
    found = {}
    for start in range(0, len(badges), 500):
        found.update(db.session.execute(select(Officer.badge_no, Officer.id)
                                        .where(Officer.badge_no.in_(badges[start:start + 500]))).all())
    return found


def _case_progress(v: dict, case_date: date | None, case_type: str, status: str | None,
                   officers: dict[str, int], problems: list[str]) -> dict:
    """Stage, stage dates, deadline, officer and status of one case row (see ``monitoring.stages``).

    Without a stage the latest stage with a date counts (a legacy 已结 row without dates is solved).
    """
    from ..monitoring.stages import STAGE_WORDS, statutory_deadline

    dates: dict[str, date | None] = {}
    for _stage, key in STAGE_DATE_KEYS:
        text = v.get(key)
        dates[key] = parse_date(text) if text not in (None, "") else None
        if text not in (None, "") and dates[key] is None:
            problems.append(_("日期“%(d)s”无法识别（应为 2026-10-01 这样的日期）", d=str(text)[:20]))
    dates["accepted_on"] = dates["accepted_on"] or case_date
    word = str(v.get("stage") or "").strip().lower()
    stage = STAGE_WORDS.get(word) if word else None
    if word and stage is None:
        problems.append(_("“办理阶段”应填受理、立案、破案、结案或移送"))
    if stage is None:
        stage = next((s for s, key in reversed(STAGE_DATE_KEYS) if dates[key]), "accepted")
        if status == "closed" and stage in ("accepted", "filed"):
            stage = "solved"
    elif stage != "accepted" and dates[dict(STAGE_DATE_KEYS)[stage]] is None:
        problems.append(_("办理阶段为“%(stage)s”时需要填写该阶段的日期", stage=v.get("stage")))
    done = stage in ("solved", "transferred")
    if word and v.get("status") not in (None, "") and status is not None and (status == "closed") != done:
        problems.append(_("“案件状态”与“办理阶段”不一致"))
    accepted = dates["accepted_on"]
    if accepted is not None and any(d is not None and d < accepted for d in dates.values()):
        problems.append(_("各阶段日期不能早于受理日期"))
    if dates["solved_on"] and dates["transferred_on"] and dates["transferred_on"] < dates["solved_on"]:
        problems.append(_("移送日期不能早于破案/结案日期"))
    deadline_text = v.get("deadline")
    deadline = None
    if deadline_text not in (None, ""):
        deadline = parse_date(deadline_text)
        if deadline is None:
            problems.append(_("办理期限“%(d)s”无法识别（应为 2026-10-01 这样的日期）", d=str(deadline_text)[:20]))
    if deadline is None and not done:
        deadline = statutory_deadline(case_type, stage, dates)
    badge = str(v.get("officer_badge") or "").strip()
    if badge and badge not in officers:
        problems.append(_("未知的警号“%(badge)s”", badge=badge[:20]))
    return {"stage": stage, **dates, "stage_deadline": None if done else deadline,
            "officer_id": officers.get(badge), "status": "closed" if done else "open"}


def import_case_records_file(filename: str, raw: bytes, user: User | None = None) -> CaseImportReport:
    """An uploaded .csv/.xlsx with the columns of CASE_COLUMNS (可防性 and 案件状态 optional)."""
    from ..tabular import read_table

    table = read_table(filename, raw, required=("案件编号", "案发日期", "案件类别", "单位代码"))
    return import_case_records([r.values for r in table], [r.number for r in table], source=filename, user=user)


def case_record_summary() -> dict:
    total = db.session.scalar(select(func.count(CaseRecord.id)))
    last = db.session.execute(select(CaseRecord.import_batch, CaseRecord.imported_at)
                              .order_by(CaseRecord.imported_at.desc()).limit(1)).first()
    return {"total": total or 0, "last_batch": last[0] if last else None, "last_at": last[1] if last else None}


def cycle_summary(cycle: Cycle) -> dict:
    """For the admin cycle page: claims by status and whether rules are stored."""
    query = select(CollaborationClaim).where(CollaborationClaim.cycle_id == cycle.id)
    return {"claims": counts(query), "rules": points_rules(cycle),
            "rules_stored": bool((cycle.config or {}).get("points_rules"))}


# ---- landing page panels -----------------------------------------------------------------------
def home_todo(user: User) -> dict | None:
    """Counts of claims waiting for this user: their drafts/returned, their unit's confirmations, reviews."""
    cycle = pick_cycle(None)
    if cycle is None:
        return None
    data = {"cycle": cycle}
    mine = counts(my_claims_query(user, cycle))
    data["mine"] = mine["total"]
    data["mine_to_fix"] = mine["by_status"].get("draft", 0) + mine["by_status"].get("returned", 0)
    query = to_confirm_query(user, cycle)
    data["to_confirm"] = counts(query)["total"] if query is not None else None
    if user.has_role("coordinator"):
        data["to_review"] = db.session.scalar(
            select(func.count(CollaborationClaim.id)).where(CollaborationClaim.cycle_id == cycle.id,
                                                            CollaborationClaim.status.in_(("confirmed", "disputed"))))
    else:
        data["to_review"] = None
    if not user.officer and data["to_review"] is None:
        return None
    return data


def home_award(user: User) -> dict | None:
    cycle = pick_cycle(None)
    if cycle is None:
        return None
    standing = team_standing(cycle)
    if not standing.units:
        return None
    return {"cycle": cycle, "units": standing.units[:5], "teams": standing.teams[:3]}
