"""Objections (申诉) during the public notice and their review (复核): who may object for which
subject, filing with evidence files, the office's answer, and an accepted correction that makes a
new run version with its own (shorter) notice. Services flush; views commit."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import current_app
from flask_babel import gettext as _

from ..assessment import runs as assessment_runs
from ..assessment.datapool import check_indicator_values, import_indicator_values, station_of
from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..jobs import enqueue
from ..models import Job, Objection, ObjectionEvidence, Officer, ResultApproval, Unit, User, utcnow
from ..models.results import EVIDENCE_TYPES, OBJECTION_ITEMS
from . import notices
from .calendar import bureau_today, notice_period

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
MAX_EVIDENCE_FILES = 5
# The first bytes each allowed type starts with: a renamed file of another type is refused.
MAGIC = {"pdf": (b"%PDF-",), "png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
         "xlsx": (b"PK\x03\x04",)}
DEFAULT_REVIEW_DAYS = 3
DEFAULT_CORRECTION_NOTICE_DAYS = 2


def led_station(user: User) -> Unit | None:
    """The station a user leads (a leader officer of the station or of a squad under it)."""
    officer = user.officer
    if officer is None or not officer.is_leader:
        return None
    return station_of(officer.unit)


def may_object_for(user: User, unit: Unit | None = None, officer: Officer | None = None) -> bool:
    if unit is not None:
        station = led_station(user)
        return station is not None and station.id == unit.id
    return officer is not None and user.officer is not None and user.officer.id == officer.id


def can_see(user: User, objection: Objection) -> bool:
    """The office, the filer, and the subject (the station's leaders, or the officer)."""
    if user.has_role("admin") or objection.filed_by_id == user.id:
        return True
    return may_object_for(user, unit=objection.unit, officer=objection.officer)


def _check_files(files: list[tuple[str, bytes]]) -> list[ObjectionEvidence]:
    if len(files) > MAX_EVIDENCE_FILES:
        raise DomainError(_("最多上传 %(n)d 个证明材料。", n=MAX_EVIDENCE_FILES), field="evidence")
    out = []
    for name, raw in files:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext not in EVIDENCE_TYPES:
            raise DomainError(_("证明材料只能是 PDF、JPG、PNG 或 XLSX 文件：%(f)s", f=name), field="evidence")
        if not raw:
            raise DomainError(_("证明材料是空文件：%(f)s", f=name), field="evidence")
        if len(raw) > MAX_EVIDENCE_BYTES:
            raise DomainError(_("证明材料不能超过 5 MB：%(f)s", f=name), field="evidence")
        if not raw.startswith(MAGIC[ext]):
            raise DomainError(_("文件内容与扩展名不符：%(f)s", f=name), field="evidence")
        out.append(ObjectionEvidence(filename=name[-200:], content_type=EVIDENCE_TYPES[ext], size=len(raw), data=raw))
    return out


def file_objection(approval: ResultApproval, user: User, *, unit: Unit | None = None, officer: Officer | None = None,
                   item_kind: str, item_code: str = "", reason: str,
                   files: list[tuple[str, bytes]] | None = None, today: date | None = None) -> Objection:
    """File an objection against one item of the subject's provisional result, during the notice."""
    today = today or bureau_today()
    reason = (reason or "").strip()
    if (unit is None) == (officer is None) or not may_object_for(user, unit=unit, officer=officer):
        raise DomainError(_("您不能为该对象提出申诉。"))
    item_code = _checked_item(item_kind, item_code, approval.cycle.bureau_id)
    if not reason:
        raise DomainError(_("请写明申诉理由。"), field="reason")
    evidence = _check_files(files or [])
    _lock_open_notice(approval, today)
    review_days = int(current_app.config.get("OBJECTION_REVIEW_DAYS") or DEFAULT_REVIEW_DAYS)
    subject_key = f"u{unit.id}" if unit is not None else f"o{officer.id}"  # type: ignore[union-attr]
    objection = Objection(
        cycle_id=approval.cycle_id, approval_id=approval.id, unit_id=unit.id if unit else None,
        officer_id=officer.id if officer else None, subject_key=subject_key,
        item_kind=item_kind, item_code=item_code, reason=reason, filed_by_id=user.id,
        due_on=notice_period(today, review_days)[1], evidence=evidence)
    db.session.add(objection)
    flush_or_fail(_("该项目已有一个未答复的申诉。"), field="item_kind")
    record("objection_filed", "objection", objection.id, user_id=user.id,
           after={"cycle": approval.cycle_id, "subject": objection.subject_key, "item": item_kind,
                  "code": item_code, "files": [e.filename for e in evidence]}, note=reason)
    notices.objection_filed(objection)
    return objection


def _checked_item(item_kind: str, item_code: str, bureau_id: int | None) -> str:
    """The indicator code an objection names (only for an indicator or a soft score), checked."""
    if item_kind not in OBJECTION_ITEMS:
        raise DomainError(_("请选择申诉的项目。"), field="item_kind")
    if item_kind not in ("indicator", "soft"):
        return ""
    item_code = (item_code or "").strip()
    from ..assessment.services import indicator_map

    indicator = indicator_map(bureau_id).get(item_code)  # the cycle's bureau's catalogue
    if indicator is None or indicator.is_soft != (item_kind == "soft"):
        raise DomainError(_("请选择申诉的指标。"), field="item_code")
    return item_code


def _lock_open_notice(approval: ResultApproval, today: date) -> None:
    """Refuse outside the notice; else lock the round while its window is open, so that final
    (which needs the window to have ended) cannot slip in between."""
    starts, ends = approval.notice_starts_on, approval.notice_ends_on
    if approval.status != "notice" or starts is None or ends is None or not starts <= today <= ends:
        raise DomainError(_("只能在公示期内提出申诉。"))
    locked = db.session.execute(
        db.update(ResultApproval).where(ResultApproval.id == approval.id, ResultApproval.status == "notice",
                                        ResultApproval.notice_ends_on >= today)
        .values(approvals=ResultApproval.approvals).execution_options(synchronize_session=False))
    if locked.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        db.session.rollback()
        raise DomainError(_("只能在公示期内提出申诉。"))


def _answer(objection: Objection, user: User, status: str, reply: str) -> None:
    result = db.session.execute(
        db.update(Objection).where(Objection.id == objection.id, Objection.status == "open")
        .values(status=status, reply=reply, answered_by_id=user.id, answered_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        db.session.rollback()
        raise DomainError(_("该申诉已经答复。"))
    db.session.refresh(objection)
    notices.objection_answered(objection)


def reject_objection(objection: Objection, user: User, reply: str) -> Objection:
    reply = (reply or "").strip()
    if not reply:
        raise DomainError(_("请填写答复。"), field="reply")
    _answer(objection, user, "rejected", reply)
    record("objection_rejected", "objection", objection.id, user_id=user.id, note=reply)
    db.session.flush()
    return objection


def accept_objection(objection: Objection, user: User, reply: str, corrected_value: str = "",
                     today: date | None = None, progress: Callable[[str], None] | None = None) -> Objection:
    """Accept an objection. With a corrected value (an indicator objection), the value is imported
    for that subject and indicator, the cycle is recomputed into a new run version with the
    objection as its reason, and that version goes on its own (shorter) notice. The web page
    queues that recompute as a job (``queue_correction``); ``progress`` reports its steps."""
    reply, corrected_value = _check_acceptance(objection, reply, corrected_value)
    approval = objection.approval
    _answer(objection, user, "accepted", reply)
    record("objection_accepted", "objection", objection.id, user_id=user.id, note=reply,
           after={"corrected_value": corrected_value or None})
    if corrected_value:
        _correct(objection, approval, user, corrected_value, today or bureau_today(), progress)
    db.session.flush()
    return objection


def _check_acceptance(objection: Objection, reply: str, corrected_value: str) -> tuple[str, str]:
    reply = (reply or "").strip()
    corrected_value = (corrected_value or "").strip()
    if not reply:
        raise DomainError(_("请填写答复。"), field="reply")
    if corrected_value and objection.item_kind != "indicator":
        raise DomainError(_("只有针对业务指标的申诉可以导入更正值。"), field="corrected_value")
    if corrected_value and objection.approval.status != "notice":
        raise DomainError(_("该结果已不在公示中，不能再更正数据。"), field="corrected_value")
    return reply, corrected_value


def queue_correction(objection: Objection, user: User, reply: str, corrected_value: str) -> Job:
    """Accept with a corrected value in the background: the answer, the import and the recompute
    run as one job (all or nothing; the objection stays open until it has succeeded). What can
    be checked now is checked here, so the form shows it; the notice day is today's."""
    reply, corrected_value = _check_acceptance(objection, reply, corrected_value)
    if objection.status != "open":
        raise DomainError(_("该申诉已经答复。"))
    report = check_indicator_values(objection.cycle, [(1, _correction_row(objection, corrected_value))])
    if report.errors:
        raise DomainError("；".join(message for _n, message in report.errors), field="corrected_value")
    return enqueue("objection_correction", f"cycle:{objection.cycle_id}", user_id=user.id,
                   objection_id=objection.id, reply=reply, corrected_value=corrected_value,
                   today=bureau_today().isoformat())


def _correction_row(objection: Objection, value: str) -> dict:
    if objection.unit is not None:
        subject = {"unit_code": objection.unit.code}
    else:
        assert objection.officer is not None  # an objection names its station or its officer (CHECK)
        subject = {"badge_no": objection.officer.badge_no}
    return {**subject, "indicator": objection.item_code, "value": value}


def _correct(objection: Objection, approval: ResultApproval, user: User, value: str, today: date,
             progress: Callable[[str], None] | None = None) -> None:
    cycle = objection.cycle
    if progress:
        progress(_("导入更正值"))
    report = import_indicator_values(cycle, [(1, _correction_row(objection, value))],
                                     source="upload", filename=f"申诉#{objection.id}", user_id=user.id)
    if report.errors:
        raise DomainError("；".join(message for _n, message in report.errors), field="corrected_value")
    run = assessment_runs.compute_run(cycle, user_id=user.id, progress=progress,
                                      reason=_("申诉 #%(id)d 更正：%(r)s", id=objection.id, r=objection.reason))
    if progress:
        progress(_("更正版本进入公示"))
    moved = db.session.execute(
        db.update(ResultApproval).where(ResultApproval.id == approval.id, ResultApproval.status == "notice")
        .values(status="superseded").execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        db.session.rollback()
        raise DomainError(_("该结果的审定状态已被其他人修改，请刷新后重试。"))
    days = int(current_app.config.get("RESULT_CORRECTION_NOTICE_DAYS") or DEFAULT_CORRECTION_NOTICE_DAYS)
    first, last = notice_period(today, days)
    successor = ResultApproval(
        run_id=run.id, cycle_id=cycle.id, status="notice", approver_ids=approval.approver_ids,
        required_approvals=approval.required_approvals, approvals=approval.required_approvals,
        notice_days=days, note=approval.note, submitted_by_id=user.id, decided_at=utcnow(),
        notice_starts_on=first, notice_ends_on=last)
    db.session.add(successor)
    objection.correction_run_id = run.id
    flush_or_fail(_("此周期已有一个版本在审定或公示中。"))
    record("result_corrected", "cycle", cycle.id, user_id=user.id,
           before={"run": approval.run_id}, after={"run": run.id, "version": run.version, "objection": objection.id,
                                                   "from": first.isoformat(), "to": last.isoformat()})


def open_objections(cycle_id: int) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Objection)
                             .where(Objection.cycle_id == cycle_id, Objection.status == "open")) or 0
