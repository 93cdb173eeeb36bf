"""A cycle's result from computed to final: submit a run to the committee, each approver approves
or returns it, the public notice (公示) runs for N working days, then final publishes the run
(``publish_run``: "final" and "published" are one state of a run). Every move is a conditional
UPDATE (or a unique key), so two racing requests cannot both move a round. Services flush; views
commit."""
from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _

from ..assessment import runs as assessment_runs
from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import ApprovalDecision, CommitteeMember, Cycle, Objection, ResultApproval, ScoreRun, User, utcnow
from . import notices
from .calendar import bureau_today, notice_period, working_days_left

DEFAULT_NOTICE_DAYS = 5


# ---- configuration -----------------------------------------------------------------------------
def committee(cycle: Cycle | None) -> list[User]:
    """The approvers of a cycle's results: its own members if it has any, else the installation's."""
    rows: list[User] = []
    if cycle is not None:
        rows = list(db.session.execute(
            db.select(User).join(CommitteeMember, CommitteeMember.user_id == User.id)
            .where(CommitteeMember.cycle_id == cycle.id).order_by(User.username)).scalars().all())
    if not rows:
        rows = list(db.session.execute(
            db.select(User).join(CommitteeMember, CommitteeMember.user_id == User.id)
            .where(CommitteeMember.cycle_id.is_(None)).order_by(User.username)).scalars().all())
    return list(rows)


def uses_approval_path(cycle: Cycle) -> bool:
    """Results go through the committee and the notice once a committee is configured."""
    return bool(committee(cycle))


def add_committee_member(user: User, cycle: Cycle | None = None) -> CommitteeMember:
    if not user.is_active:
        raise DomainError(_("停用的账号不能成为审定人。"), field="user")
    member = CommitteeMember(user_id=user.id, cycle_id=cycle.id if cycle else None)
    db.session.add(member)
    flush_or_fail(_("该用户已经是审定人。"), field="user")
    record("committee_member_added", "cycle" if cycle else "installation", cycle.id if cycle else 0,
           after={"user": user.username})
    return member


def remove_committee_member(member: CommitteeMember) -> None:
    record("committee_member_removed", "cycle" if member.cycle_id else "installation", member.cycle_id or 0,
           before={"user": member.user.username})
    db.session.delete(member)
    db.session.flush()


def notice_days(cycle: Cycle) -> int:
    """Working days of the public notice: the cycle's setting, else the installation's (default 5)."""
    days = (cycle.config or {}).get("notice_days") or current_app.config.get("RESULT_NOTICE_DAYS") \
        or DEFAULT_NOTICE_DAYS
    return int(days)


# ---- reading -----------------------------------------------------------------------------------
def active_approval(cycle: Cycle) -> ResultApproval | None:
    return db.session.execute(
        db.select(ResultApproval).where(ResultApproval.cycle_id == cycle.id,
                                        ResultApproval.status.in_(("submitted", "notice")))).scalars().first()


def approvals_of(cycle: Cycle) -> list[ResultApproval]:
    return list(db.session.execute(
        db.select(ResultApproval).where(ResultApproval.cycle_id == cycle.id)
        .order_by(ResultApproval.submitted_at.desc(), ResultApproval.id.desc())).scalars())


def days_left(approval: ResultApproval, today: date | None = None) -> int:
    """Working days of the notice still to run (0 once it has ended)."""
    if approval.status != "notice" or approval.notice_ends_on is None or approval.notice_starts_on is None:
        return 0
    today = today or bureau_today()
    return working_days_left(max(today, approval.notice_starts_on), approval.notice_ends_on)


def run_on_notice(run: ScoreRun) -> bool:
    """SHOWN_BEFORE_PUBLISHED hook: a run on public notice is shown as a provisional result."""
    return db.session.scalar(db.select(ResultApproval.id).where(
        ResultApproval.run_id == run.id, ResultApproval.status == "notice").limit(1)) is not None


def notice_of_run(run: ScoreRun) -> ResultApproval | None:
    if run.status == "published":
        return None
    return db.session.execute(db.select(ResultApproval).where(
        ResultApproval.run_id == run.id, ResultApproval.status == "notice")).scalars().first()


def provisional_notice(cycle: Cycle) -> ResultApproval | None:
    """The round whose result is on public notice (provisional, 公示中) for the cycle, if any."""
    approval = active_approval(cycle)
    return approval if approval is not None and approval.status == "notice" else None


# ---- transitions -------------------------------------------------------------------------------
def _move(approval: ResultApproval, source: str, **values) -> None:
    """Conditional UPDATE of a round from ``source``; a racing request that moved it first wins."""
    result = db.session.execute(
        db.update(ResultApproval).where(ResultApproval.id == approval.id, ResultApproval.status == source)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        db.session.rollback()
        raise DomainError(_("该结果的审定状态已被其他人修改，请刷新后重试。"))


def submit_run(run: ScoreRun, user_id: int | None = None, note: str = "") -> ResultApproval:
    """Submit a computed run of a closed cycle to the committee."""
    cycle = run.cycle
    note = (note or "").strip()
    if run.status != "done":
        raise DomainError(_("只能提交计算完成的版本。"))
    if cycle.status != "closed":
        raise DomainError(_("请先关闭周期，再提交审定。"))
    approvers = committee(cycle)
    if not approvers:
        raise DomainError(_("尚未配置考评委员会审定人，请先在审定设置中添加。"))
    missing_hard = assessment_runs.hard_missing_count(run)
    if missing_hard and not note:
        raise DomainError(_("此版本有 %(n)d 项业务系统数据缺失，已按 0 分计算。请先补齐数据并重新计算，"
                            "或填写发布原因（将记入审计日志）。", n=missing_hard), field="note")
    approval = ResultApproval(run_id=run.id, cycle_id=cycle.id, approver_ids=[u.id for u in approvers],
                              required_approvals=len(approvers), notice_days=notice_days(cycle),
                              note=note, submitted_by_id=user_id)
    db.session.add(approval)
    flush_or_fail(_("此周期已有一个版本在审定或公示中。"))
    record("result_submitted", "cycle", cycle.id, user_id=user_id,
           after={"run": run.id, "version": run.version, "approvers": approval.approver_ids,
                  "notice_days": approval.notice_days}, note=note)
    return approval


def decide(approval: ResultApproval, user: User, decision: str, reason: str = "",
           today: date | None = None) -> ResultApproval:
    """An approver approves the round or returns it with a reason. The last approval opens the
    public notice for the round's number of working days, from the next working day."""
    reason = (reason or "").strip()
    if decision not in ("approve", "return"):
        raise DomainError(_("请求无效。"))
    if user.id not in (approval.approver_ids or []):
        raise DomainError(_("您不是此结果的审定人。"))
    if approval.status != "submitted":
        raise DomainError(_("该结果不在待审定状态。"))
    if decision == "return" and not reason:
        raise DomainError(_("退回时请写明原因。"), field="reason")
    # The increment locks the round's row: approvers deciding at the same moment queue here, and
    # each then counts the approvals the others committed.
    if decision == "approve":
        _move(approval, "submitted", approvals=ResultApproval.approvals + 1)
    else:
        _move(approval, "submitted", status="returned", return_reason=reason, decided_at=utcnow())
    db.session.add(ApprovalDecision(approval_id=approval.id, approver_id=user.id, decision=decision, reason=reason))
    flush_or_fail(_("您已经对该结果作出过决定。"))
    db.session.refresh(approval)
    record(f"result_{'approved' if decision == 'approve' else 'returned'}", "cycle", approval.cycle_id,
           user_id=user.id, after={"run": approval.run_id, "approvals": approval.approvals,
                                   "required": approval.required_approvals}, note=reason)
    if decision == "approve" and approval.approvals == approval.required_approvals:
        first, last = notice_period(today or bureau_today(), approval.notice_days)
        _move(approval, "submitted", status="notice", decided_at=utcnow(),
              notice_starts_on=first, notice_ends_on=last)
        db.session.refresh(approval)
        record("result_notice_opened", "cycle", approval.cycle_id, user_id=user.id,
               after={"run": approval.run_id, "from": first.isoformat(), "to": last.isoformat(),
                      "working_days": approval.notice_days})
        notices.result_on_notice(approval)
    db.session.flush()
    return approval


def finalize(approval: ResultApproval, user_id: int | None = None, today: date | None = None) -> ScoreRun:
    """After the notice has ended, the round's run becomes the cycle's final result (published)."""
    today = today or bureau_today()
    if approval.status != "notice":
        raise DomainError(_("该结果不在公示中。"))
    if approval.notice_ends_on is None or today <= approval.notice_ends_on:
        ends = approval.notice_ends_on.isoformat() if approval.notice_ends_on else "—"
        raise DomainError(_("公示期尚未结束（至 %(d)s）。", d=ends))
    open_ = db.select(Objection.id).where(Objection.cycle_id == approval.cycle_id, Objection.status == "open")
    if db.session.scalar(open_.limit(1)) is not None:
        raise DomainError(_("还有未答复的申诉，答复后才能确定最终结果。"))
    result = db.session.execute(
        db.update(ResultApproval).where(ResultApproval.id == approval.id, ResultApproval.status == "notice",
                                        ResultApproval.notice_ends_on < today, ~open_.exists())
        .values(status="final", finalized_at=utcnow()).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        db.session.rollback()
        raise DomainError(_("该结果的审定状态已被其他人修改，请刷新后重试。"))
    db.session.refresh(approval)
    run = approval.run
    assessment_runs.publish_run(run, user_id=user_id, note=approval.note)
    record("result_final", "cycle", approval.cycle_id, user_id=user_id,
           after={"run": run.id, "version": run.version, "notice_ended": approval.notice_ends_on.isoformat()})
    notices.result_final(approval)
    db.session.flush()
    return run


def check_publishable(run: ScoreRun) -> None:
    """BEFORE_PUBLISH hook: with a committee configured, a run becomes the result only as the
    final step of its approval round (after the committee and the notice)."""
    if not uses_approval_path(run.cycle):
        return
    final = db.session.scalar(
        db.select(ResultApproval.id).where(ResultApproval.run_id == run.id, ResultApproval.status == "final"))
    if final is None:
        raise DomainError(_("此周期的结果须经考评委员会审定并公示期满后才能成为最终结果，请在“结果审定”中提交。"))
