"""Pages of the results path (/results/): the cycles' rounds of approval and notice, an approver's
decision, final, and the committee."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..assessment import runs
from ..extensions import db
from ..models import CommitteeMember, Cycle, ResultApproval, ScoreRun, User
from ..security import role_required
from ..views import run_service
from . import services
from .forms import CommitteeMemberForm, DecisionForm, EmptyForm, FinalizeForm, SubmitRunForm

bp = Blueprint("results", __name__)


@bp.route("/")
@login_required
def index():
    """Every cycle past "open", its latest run and its current round (公示 with days left)."""
    cycles = db.session.execute(
        db.select(Cycle).where(Cycle.status.in_(("closed", "published"))).order_by(Cycle.starts_on.desc())
        .limit(50)).scalars().all()
    rows = []
    for cycle in cycles:
        approval = services.active_approval(cycle)
        rows.append({"cycle": cycle, "approval": approval,
                     "days_left": services.days_left(approval) if approval else 0,
                     "latest": runs.latest_run(cycle, statuses=("done",)),
                     "published": runs.published_run(cycle)})
    return render_template("results/index.html", rows=rows, submit_form=SubmitRunForm(),
                           is_admin=current_user.has_role("admin"))


@bp.route("/runs/<int:run_id>/submit", methods=["POST"])
@role_required("admin")
def submit(run_id):
    run = db.get_or_404(ScoreRun, run_id)
    form = SubmitRunForm()
    if not form.validate_on_submit():
        flash(_("请求无效。"), "danger")
        return redirect(url_for(".index"))
    approval = run_service(services.submit_run, run, user_id=current_user.id, note=form.note.data or "",
                           success=_("第 %(v)d 版已提交考评委员会审定。", v=run.version))
    if approval:
        return redirect(url_for(".approval", approval_id=approval.id))
    return redirect(url_for(".index"))


def _visible(approval: ResultApproval) -> None:
    if not (current_user.has_role("admin") or current_user.id in (approval.approver_ids or [])):
        abort(404)


@bp.route("/approvals/<int:approval_id>")
@login_required
def approval(approval_id):
    item = db.get_or_404(ResultApproval, approval_id)
    _visible(item)
    approvers = db.session.execute(
        db.select(User).where(User.id.in_(item.approver_ids or [0])).order_by(User.username)).scalars().all()
    decided = {d.approver_id: d for d in item.decisions}
    return render_template("results/approval.html", approval=item, approvers=approvers, decided=decided,
                           days_left=services.days_left(item), decision_form=DecisionForm(),
                           finalize_form=FinalizeForm(), is_admin=current_user.has_role("admin"),
                           is_approver=current_user.id in (item.approver_ids or []))


@bp.route("/approvals/<int:approval_id>/decide", methods=["POST"])
@login_required
def decide(approval_id):
    item = db.get_or_404(ResultApproval, approval_id)
    _visible(item)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("请求无效。"), "danger")
        return redirect(url_for(".approval", approval_id=approval_id))
    done = {"approve": _l("已同意。"), "return": _l("已退回考评办。")}[form.decision.data]
    run_service(services.decide, item, current_user, form.decision.data, form.reason.data or "",
                success=str(done))
    return redirect(url_for(".approval", approval_id=approval_id))


@bp.route("/approvals/<int:approval_id>/final", methods=["POST"])
@role_required("admin")
def finalize(approval_id):
    item = db.get_or_404(ResultApproval, approval_id)
    if not FinalizeForm().validate_on_submit():
        flash(_("请求无效。"), "danger")
        return redirect(url_for(".approval", approval_id=approval_id))
    run_service(services.finalize, item, user_id=current_user.id, success=_("结果已成为最终结果并发布。"))
    return redirect(url_for(".approval", approval_id=approval_id))


@bp.route("/committee", methods=["GET", "POST"])
@role_required("admin")
def committee():
    """The installation's approvers (a cycle's own approvers: /results/committee?cycle=<id>)."""
    form = CommitteeMemberForm()
    if form.validate_on_submit():
        user = db.session.execute(
            db.select(User).where(User.username == form.username.data.strip())).scalar_one_or_none()
        if user is None:
            form.username.errors.append(_("没有这个用户。"))
        elif run_service(services.add_committee_member, user, success=_("已添加审定人。")):
            return redirect(url_for(".committee"))
    members = db.session.execute(
        db.select(CommitteeMember).where(CommitteeMember.cycle_id.is_(None))
        .order_by(CommitteeMember.id)).scalars().all()
    return render_template("results/committee.html", form=form, members=members, remove_form=EmptyForm())


@bp.route("/committee/<int:member_id>/remove", methods=["POST"])
@role_required("admin")
def remove_member(member_id):
    member = db.get_or_404(CommitteeMember, member_id)
    if EmptyForm().validate_on_submit():
        run_service(services.remove_committee_member, member, success=_("已移除审定人。"))
    return redirect(url_for(".committee"))


def register() -> None:
    """Add this feature's entries to the registries (idempotent)."""
    from ..assessment.runs import BEFORE_PUBLISH
    from ..templating import ADMIN_LINKS, NAV_ITEMS, add_once

    add_once(NAV_ITEMS, ("results.index", _l("结果审定与公示"), ()))
    add_once(ADMIN_LINKS, ("results.committee", _l("考评委员会"), _l("审定考评结果的审定人")))
    add_once(BEFORE_PUBLISH, services.check_publishable)
