"""Pages of the results path (/results/): the cycles' rounds of approval and notice, an approver's
decision, final, and the committee."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import scope
from ..assessment import runs
from ..assessment.catalogue import GRADE_LABELS
from ..assessment.services import indicators
from ..extensions import db
from ..formutil import select_choices
from ..models import (
    AwardNomination,
    CommitteeMember,
    Cycle,
    Objection,
    ObjectionEvidence,
    ResultApproval,
    ScoreResult,
    ScoreRun,
    TalkRecord,
    Unit,
    User,
)
from ..security import role_required
from ..tabular import xlsx_bytes
from ..views import run_service
from . import aftermath, objections, services
from .forms import (
    CalendarDaysForm,
    CommitteeMemberForm,
    DecisionForm,
    EmptyForm,
    FinalizeForm,
    ObjectionForm,
    ReviewForm,
    SubmitRunForm,
    TalkForm,
)

bp = Blueprint("results", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/")
@login_required
def index():
    """Every cycle past "open", its latest run and its current round (公示 with days left)."""
    cycles = db.session.execute(
        db.select(Cycle).where(Cycle.status.in_(("closed", "published")), scope.cycle_clause())
        .order_by(Cycle.starts_on.desc())
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
    run = scope.get_or_404(ScoreRun, run_id)
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
    item = scope.get_or_404(ResultApproval, approval_id)
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
    item = scope.get_or_404(ResultApproval, approval_id)
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
    item = scope.get_or_404(ResultApproval, approval_id)
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


@bp.route("/calendar", methods=["GET", "POST"])
@role_required("admin")
@scope.installation_settings  # the mainland calendar: one for every bureau
def calendar_days():
    """The holiday calendar (节假日日历): the days the office entered over the installed package."""
    from . import calendar

    form = CalendarDaysForm()
    year = request.args.get("year", type=int) or calendar.bureau_today().year
    year = min(max(year, 2000), 2100)
    if form.validate_on_submit():
        saved = run_service(calendar.save_days, form.days.data, current_user.id, form=form,
                            success=lambda n: _("已保存 %(n)d 天。", n=n))
        if saved:
            return redirect(url_for(".calendar_days", year=year))
    return render_template("results/calendar.html", form=form, year=year, days=calendar.year_days(year),
                           known=calendar.package_knows(year), remove_form=EmptyForm())


@bp.route("/calendar/<day>/remove", methods=["POST"])
@role_required("admin")
@scope.installation_settings
def remove_calendar_day(day):
    from datetime import date

    from . import calendar

    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if EmptyForm().validate_on_submit():
        run_service(calendar.delete_day, when, success=_("已删除。"))
    return redirect(url_for(".calendar_days", year=when.year))


def register(app) -> None:
    """Add this feature's entries to the registries (idempotent)."""
    from ..assessment.runs import BEFORE_PUBLISH, SHOWN_BEFORE_PUBLISHED
    from ..demo import STEPS
    from ..main.services import HOME_PANELS
    from ..templating import ADMIN_LINKS, NAV_ITEMS, add_once
    from .demo import seed_results

    add_once(NAV_ITEMS, ("results.index", _l("结果审定与公示"), ()))
    add_once(ADMIN_LINKS, ("results.committee", _l("考评委员会"), _l("审定考评结果的审定人")))
    add_once(ADMIN_LINKS, ("results.calendar_days", _l("节假日日历"), _l("公示期和月自查期限按工作日计算")))
    add_once(ADMIN_LINKS, ("results.queue", _l("申诉复核"), _l("公示期内的申诉及答复期限")))
    add_once(BEFORE_PUBLISH, services.check_publishable)
    add_once(SHOWN_BEFORE_PUBLISHED, services.run_on_notice)
    add_once(ADMIN_LINKS, ("results.promotion", _l("晋升资格"), _l("最近三个年度最终等次对照晋升条件")))
    add_once(HOME_PANELS, ("results/_follow_up_panel.html", follow_up_panel))
    add_once(STEPS, ("results", seed_results))  # after "assessment": it takes that step's runs further
    app.jinja_env.globals["provisional_banner"] = provisional_banner
    app.jinja_env.filters["grade_label"] = lambda code: str(GRADE_LABELS.get(code, code))


# ---- objections (申诉) and review (复核) ----------------------------------------------------------
def provisional_banner(run, result=None):
    """The "provisional (公示中)" banner of a run on notice, with the way to object on a result."""
    from markupsafe import Markup

    approval = services.notice_of_run(run)
    if approval is None:
        return Markup("")
    may = result is not None and current_user.is_authenticated and objections.may_object_for(
        current_user, unit=result.unit if result.level == "unit" else None,
        officer=result.officer if result.level == "officer" else None)
    return Markup(render_template("results/_banner.html", approval=approval, days_left=services.days_left(approval),
                                  result=result, may_object=may))


@bp.route("/results/<int:result_id>/objections/new", methods=["GET", "POST"])
@login_required
def new_objection(result_id):
    result = scope.get_or_404(ScoreResult, result_id)
    approval = services.notice_of_run(result.run)
    unit = result.unit if result.level == "unit" else None
    officer = result.officer if result.level == "officer" else None
    if approval is None or not objections.may_object_for(current_user, unit=unit, officer=officer):
        abort(404)
    form = ObjectionForm()
    form.item_code.choices = select_choices({"": _("（不涉及具体指标）"), **{
        i.code: f"{i.name}（{i.code}）" for i in sorted(
            indicators(bureau_id=result.run.cycle.bureau_id), key=lambda i: (i.sort_order, i.code))
        if i.level == result.level}})
    if form.validate_on_submit():
        files = [(f.filename or "", f.read()) for f in request.files.getlist(form.evidence.name) if f and f.filename]
        done = run_service(objections.file_objection, approval, current_user, unit=unit, officer=officer,
                           item_kind=form.item_kind.data, item_code=form.item_code.data or "",
                           reason=form.reason.data, files=files, form=form, success=_("申诉已提交，考评办将按期答复。"))
        if done:
            return redirect(url_for(".objection", objection_id=done.id))
    return render_template("results/objection_new.html", form=form, result=result, approval=approval)


def _seen(objection_id: int) -> Objection:
    item = scope.get_or_404(Objection, objection_id)
    if not objections.can_see(current_user, item):
        abort(404)
    return item


@bp.route("/objections/<int:objection_id>", methods=["GET", "POST"])
@login_required
def objection(objection_id):
    item = _seen(objection_id)
    form = ReviewForm()
    if request.method == "POST":
        if not current_user.has_role("admin"):
            abort(403)
        if form.validate_on_submit():
            done = _answer_objection(item, form)
            if done:
                return done
    return render_template("results/objection.html", objection=item, form=form,
                           is_admin=current_user.has_role("admin"))


def _answer_objection(item: Objection, form: ReviewForm):
    """The office's answer; an accepted correction is imported and recomputed by a job, whose page
    shows the progress and then leads back here. Returns the redirect, or None to show the form."""
    corrected = (form.corrected_value.data or "").strip()
    if form.outcome.data == "accept" and corrected:
        job = run_service(objections.queue_correction, item, current_user, form.reply.data, corrected, form=form)
        return redirect(url_for("jobs.show", job_id=job.id)) if job else None
    if form.outcome.data == "accept":
        done = run_service(objections.accept_objection, item, current_user, form.reply.data, form=form,
                           success=_("已答复申诉。"))
    else:
        done = run_service(objections.reject_objection, item, current_user, form.reply.data, form=form,
                           success=_("已答复申诉。"))
    return redirect(url_for(".objection", objection_id=item.id)) if done else None


@bp.route("/objections/<int:objection_id>/evidence/<int:evidence_id>")
@login_required
def evidence(objection_id, evidence_id):
    item = _seen(objection_id)
    row = scope.get_or_404(ObjectionEvidence, evidence_id)
    if row.objection_id != item.id:
        abort(404)
    return send_file(io.BytesIO(row.data), mimetype=row.content_type, as_attachment=True,
                     download_name=row.filename)


@bp.route("/objections/")
@role_required("admin")
def queue():
    """The office's review queue: open objections by deadline, then the answered ones."""
    rows = db.session.execute(
        db.select(Objection).join(Cycle, Cycle.id == Objection.cycle_id).where(scope.cycle_clause())
        .order_by((Objection.status != "open"), Objection.due_on, Objection.id.desc())
        .limit(200)).scalars().all()
    return render_template("results/queue.html", rows=rows)


@bp.route("/my-objections")
@login_required
def mine():
    rows = db.session.execute(db.select(Objection).where(Objection.filed_by_id == current_user.id)
                              .order_by(Objection.id.desc()).limit(200)).scalars().all()
    return render_template("results/queue.html", rows=rows)


# ---- after final: talks (约谈) and promotion ------------------------------------------------------
@bp.route("/talks/<int:unit_id>/<int:cycle_id>", methods=["GET", "POST"])
@role_required("admin")
def talk(unit_id, cycle_id):
    unit, cycle = scope.get_or_404(Unit, unit_id), scope.get_or_404(Cycle, cycle_id)
    flag = aftermath.flag_for(unit, cycle)
    if flag is None:
        abort(404)
    form = TalkForm()
    if request.method == "GET":
        form.with_whom.data = flag["heads"][-1] or ""
    if form.validate_on_submit():
        done = run_service(aftermath.record_talk, unit, cycle, held_on=form.held_on.data, held_by=form.held_by.data,
                           with_whom=form.with_whom.data, notes=form.notes.data or "",
                           position_change=form.position_change.data or "", follow_up_on=form.follow_up_on.data,
                           user_id=current_user.id, form=form, success=_("约谈记录已保存。"))
        if done:
            return redirect(url_for(".talk", unit_id=unit_id, cycle_id=cycle_id))
    records = db.session.execute(db.select(TalkRecord).filter_by(unit_id=unit.id, cycle_id=cycle.id)
                                 .order_by(TalkRecord.held_on.desc())).scalars().all()
    return render_template("results/talk.html", unit=unit, cycle=cycle, flag=flag, form=form, records=records,
                           done_form=EmptyForm())


@bp.route("/talks/records/<int:talk_id>/follow-up-done", methods=["POST"])
@role_required("admin")
def follow_up_done(talk_id):
    item = scope.get_or_404(TalkRecord, talk_id)
    if EmptyForm().validate_on_submit():
        run_service(aftermath.close_follow_up, item, user_id=current_user.id, success=_("回访已完成。"))
    return redirect(url_for(".talk", unit_id=item.unit_id, cycle_id=item.cycle_id))


@bp.route("/promotion")
@role_required("admin")
def promotion():
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)  # OFFSET within an integer
    cycles, rows, total = aftermath.promotion_list(max(page, 1))
    return render_template("results/promotion.html", cycles=cycles, rows=rows, total=total, page=max(page, 1),
                           rule=aftermath.promotion_rule())


def follow_up_panel(user):
    """The landing page of a station's leader: the station's open talk follow-ups."""
    station = objections.led_station(user)
    if station is None:
        return None
    items = aftermath.open_follow_ups(station.id)
    return {"unit": station, "items": items} if items else None


@bp.route("/awards/<int:cycle_id>", methods=["GET", "POST"])
@role_required("admin")
def awards(cycle_id):
    """A cycle's award nominations from its final result: the proposal, then the confirmed list."""
    from ..errors import DomainError

    cycle = scope.get_or_404(Cycle, cycle_id)
    form = EmptyForm()
    if form.validate_on_submit():
        run_service(aftermath.confirm_awards, cycle, user_id=current_user.id,
                    success=lambda n: _("已确认评优名单（%(n)d 个）。", n=n))
        return redirect(url_for(".awards", cycle_id=cycle_id))
    confirmed = db.session.execute(db.select(AwardNomination).where(AwardNomination.cycle_id == cycle.id)
                                   .order_by(AwardNomination.id)).scalars().all()
    try:
        candidates, problem = aftermath.award_candidates(cycle), None
    except DomainError as error:
        candidates, problem = {}, error.message
    return render_template("results/awards.html", cycle=cycle, candidates=candidates, problem=problem,
                           confirmed=confirmed, form=form,
                           quotas={level: aftermath.award_quota(cycle, level) for level in ("unit", "officer")})


@bp.route("/awards/<int:cycle_id>/export.xlsx")
@role_required("admin")
def awards_export(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    rows = db.session.execute(db.select(AwardNomination).where(AwardNomination.cycle_id == cycle.id)
                              .order_by(AwardNomination.id)).scalars().all()
    body = xlsx_bytes([_("周期"), _("类型"), _("单位或民警"), _("警号"), _("确认时间（UTC）")], [
        [cycle.name, _("单位") if n.unit_id else _("民警"), n.unit.name if n.unit_id else n.officer.name,
         "" if n.unit_id else n.officer.badge_no, n.confirmed_at.strftime("%Y-%m-%d %H:%M")] for n in rows],
        title="awards")
    return Response(body, mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=awards-{cycle.id}.xlsx"})


@bp.route("/development/<int:cycle_id>", methods=["GET", "POST"])
@role_required("admin")
def development(cycle_id):
    """The dual track of a final cycle as records: create them once, then review each."""
    from ..models import DevelopmentRecord

    cycle = scope.get_or_404(Cycle, cycle_id)
    form = EmptyForm()
    if form.validate_on_submit():
        run_service(aftermath.create_development_records, cycle, user_id=current_user.id,
                    success=lambda n: _("已生成 %(n)d 条培训和改进记录。", n=n))
        return redirect(url_for(".development", cycle_id=cycle_id))
    rows = db.session.execute(db.select(DevelopmentRecord).where(DevelopmentRecord.cycle_id == cycle.id)
                              .order_by(DevelopmentRecord.track, DevelopmentRecord.id)).scalars().all()
    return render_template("results/development.html", cycle=cycle, rows=rows, form=form,
                           published=runs.published_run(cycle))


@bp.route("/development/records/<int:record_id>/review", methods=["POST"])
@role_required("admin")
def development_review(record_id):
    from ..models import DevelopmentRecord

    item = scope.get_or_404(DevelopmentRecord, record_id)
    if EmptyForm().validate_on_submit():
        run_service(aftermath.review_development, item, request.form.get("status", ""),
                    request.form.get("note", ""), user_id=current_user.id, success=_("已记录复查结果。"))
    return redirect(url_for(".development", cycle_id=item.cycle_id))
