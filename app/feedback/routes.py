"""Officer side of 360-degree feedback: inbox, rating form, nominations, approvals, tracking, results."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from surveys.forms import FormItem, comment_field_name, item_field_name, rating_form_class

from .. import scope
from ..dbutil import db_id
from ..errors import DomainError
from ..extensions import db
from ..models import Assignment, Cycle, Nomination
from ..paging import RowsPage
from ..tabular import xlsx_download
from ..views import run_service
from . import services
from .forms import GROUP_LABELS, RELATION_LABELS, STATUS_LABELS, DeclineForm, NominationForm

bp = Blueprint("feedback", __name__)


@bp.context_processor
def labels():
    return {"RELATION_LABELS": RELATION_LABELS, "STATUS_LABELS": STATUS_LABELS, "GROUP_LABELS": GROUP_LABELS}


def _officer():
    officer = current_user.officer
    if officer is None:
        flash(_("您的账号没有关联民警，无法参与评价。"), "warning")
    return officer


@bp.route("/")
@login_required
def inbox():
    officer = _officer()
    cycles = services.inbox(officer) if officer else []
    return render_template("feedback/inbox.html", cycles=cycles)


def _own_assignment(assignment_id) -> Assignment:
    assignment = scope.get_or_404(Assignment, assignment_id)
    if current_user.officer is None or assignment.rater_id != current_user.officer.id:
        abort(403)
    return assignment


def _rating_form(assignment: Assignment, instrument, formdata=None):
    items = [FormItem(i.id, i.competency, i.text, i.scale_labels, i.allow_na) for i in instrument.items]
    comment_codes = [c["code"] for c in instrument.competencies if c.get("comment", True)]
    form_class = rating_form_class(items, comment_codes, base=FlaskForm, na_label=_("无法评价"),
                                   comment_label=_("意见和建议（选填，匿名呈现）"),
                                   comment_too_long=_("意见最多 %(n)d 个字。", n=1000))
    form = form_class(formdata=formdata)
    if formdata is None:
        answers, comments = services.saved_answers(assignment)
        for item in items:
            if item.id in answers:
                value = answers[item.id]
                getattr(form, item_field_name(item.id)).data = "na" if value is None else str(value)
        for code in comment_codes:
            getattr(form, comment_field_name(code)).data = comments.get(code, "")
    return form


@bp.route("/a/<int:assignment_id>", methods=["GET", "POST"])
@login_required
def rate(assignment_id):
    assignment = _own_assignment(assignment_id)
    cycle = db.session.get(Cycle, assignment.cycle_id)
    instrument = services.instruments_for(cycle)[assignment.rater_group]
    read_only = services.closed_reason(cycle)
    form = _rating_form(assignment, instrument, request.form if request.method == "POST" else None)
    decline_form = DeclineForm(formdata=None, revision=assignment.revision)
    if request.method == "POST":
        if read_only:
            flash(read_only, "danger")
            return redirect(url_for(".rate", assignment_id=assignment.id))
        if form.validate():
            posted = {k: v for k, v in request.form.items() if k.startswith(("item_", "comment_"))}
            submit = request.form.get("action") == "submit"
            try:
                services.save_response(assignment, current_user.officer, posted, submit,
                                       request.form.get("revision", type=int, default=-1))
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
            else:
                db.session.commit()
                if submit or assignment.status == "submitted":
                    flash(_("已提交对 %(name)s 的评价。周期关闭前仍可修改。", name=assignment.ratee.name), "success")
                    return redirect(url_for(".inbox"))
                flash(_("草稿已保存，可以稍后继续填写。"), "success")
                return redirect(url_for(".rate", assignment_id=assignment.id))
    competencies = [(c, [i for i in instrument.items if i.competency == c["code"]]) for c in instrument.competencies]
    return render_template("feedback/rate.html", assignment=assignment, cycle=cycle, instrument=instrument,
                           form=form, competencies=competencies, read_only=read_only, decline_form=decline_form,
                           item_field_name=item_field_name, comment_field_name=comment_field_name)


@bp.route("/a/<int:assignment_id>/decline", methods=["POST"])
@login_required
def decline(assignment_id):
    assignment = _own_assignment(assignment_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        flash(_("请说明不能评价的原因。"), "danger")
        return redirect(url_for(".rate", assignment_id=assignment.id))
    try:
        revision = int(form.revision.data)
    except (TypeError, ValueError):
        revision = -1
    try:
        services.decline_assignment(assignment, current_user.officer, form.reason.data, revision)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for(".rate", assignment_id=assignment.id))
    db.session.commit()
    flash(_("已拒绝对 %(name)s 的评价。", name=assignment.ratee.name), "success")
    return redirect(url_for(".inbox"))


# ---- nominations -------------------------------------------------------------------------------
def _nomination_cycle():
    return db.session.execute(
        db.select(Cycle).where(Cycle.status.in_(("draft", "open")), scope.cycle_clause()).order_by(Cycle.status.desc(),
                                                                              Cycle.starts_on.desc())
    ).scalars().first()


@bp.route("/nominations", methods=["GET", "POST"])
@login_required
def nominations():
    officer = _officer()
    cycle = _nomination_cycle()
    form = NominationForm()
    if officer is None or cycle is None:
        return render_template("feedback/nominations.html", cycle=cycle, form=None, rows=[])
    if form.validate_on_submit():
        try:
            services.nominate(cycle, officer, form.badge_no.data, form.reason.data)
        except DomainError as error:
            db.session.rollback()
            form.badge_no.errors = list(form.badge_no.errors) + [error.message]
        else:
            db.session.commit()
            flash(_("提名已提交，等待单位领导审批。"), "success")
            return redirect(url_for(".nominations"))
    rows = db.session.execute(
        db.select(Nomination).filter_by(cycle_id=cycle.id, officer_id=officer.id).order_by(Nomination.created_at)
    ).scalars().all()
    return render_template("feedback/nominations.html", cycle=cycle, form=form, rows=rows,
                           limit=services.MAX_NOMINATIONS)


def _leader():
    officer = current_user.officer
    if officer is None or not officer.is_leader:
        abort(403)
    return officer


@bp.route("/approvals")
@login_required
def approvals():
    leader = _leader()
    return render_template("feedback/approvals.html", rows=services.pending_nominations_for(leader),
                           confirm=FlaskForm())


@bp.route("/approvals/<int:nomination_id>/<any(approve, reject):decision>", methods=["POST"])
@login_required
def decide(nomination_id, decision):
    leader = _leader()
    nomination = scope.get_or_404(Nomination, nomination_id)
    if not services.can_decide(nomination, leader):
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    run_service(services.decide_nomination, nomination, leader, decision == "approve",
                success=_("已批准提名。") if decision == "approve" else _("已驳回提名。"))
    return redirect(url_for(".approvals"))


# ---- tracking for leaders ----------------------------------------------------------------------
def _tracking_cycle(cycle_id=None):
    """The asked-for cycle, else the open one, else the latest cycle that had 360 ratings."""
    if cycle_id:
        return scope.get_or_404(Cycle, cycle_id)
    has_ratings = db.select(Assignment.id).where(Assignment.cycle_id == Cycle.id).exists()
    return db.session.execute(
        db.select(Cycle).where(Cycle.status != "draft", has_ratings, scope.cycle_clause())
        .order_by((Cycle.status == "open").desc(), Cycle.starts_on.desc())
    ).scalars().first()


@bp.route("/tracking")
@login_required
def tracking():
    leader = _leader()
    cycle = _tracking_cycle(request.args.get("cycle", type=db_id))
    units = services.lead_unit_ids(leader)
    rates = services.response_rates(cycle, units) if cycle else None
    filters = {"q": request.args.get("q", "")[:50], "unit": request.args.get("unit", type=db_id)}
    owing = RowsPage(services.owing_query(cycle, units, filters["q"], filters["unit"]),
                     request.args.get("page", 1, type=int), current_app.config["PER_PAGE"]) if cycle else None
    return render_template("feedback/tracking.html", cycle=cycle, rates=rates, owing=owing, filters=filters,
                           page_url=url_for(".tracking", cycle=cycle.id) if cycle else None,
                           export_url=url_for(".tracking_export", cycle=cycle.id) if cycle else None,
                           title=_("本单位评价进度"))


@bp.route("/tracking.xlsx")
@login_required
def tracking_export():
    leader = _leader()
    cycle = _tracking_cycle(request.args.get("cycle", type=db_id))
    if cycle is None:
        abort(404)
    header, rows = services.owing_rows(cycle, services.lead_unit_ids(leader))
    return xlsx_download(header, rows, f"feedback-owing-{cycle.id}.xlsx", title="owing")


# ---- own results -------------------------------------------------------------------------------
@bp.route("/results")
@login_required
def results():
    officer = _officer()
    cycles = services.result_cycles(officer) if officer else []
    return render_template("feedback/results_index.html", cycles=cycles)


@bp.route("/results/<int:cycle_id>")
@login_required
def result(cycle_id):
    officer = _officer()
    cycle = scope.get_or_404(Cycle, cycle_id)
    if officer is None:
        abort(403)
    if not services.results_visible(cycle):
        flash(_("周期关闭后才能查看评价结果。"), "info")
        return redirect(url_for(".results"))
    report = services.feedback_report(officer, cycle)
    return render_template("feedback/result.html", cycle=cycle, report=report)


NAV_LABEL = _l("360 评价")


def _register_extensions() -> None:
    """Add this feature to the shared registries (once, when this module is first imported)."""
    from ..admin.routes import CYCLE_SECTIONS
    from ..admin.services import BEFORE_TRANSITION
    from ..demo import STEPS
    from ..main.services import HOME_PANELS
    from ..templating import ACTION_LABELS, ADMIN_LINKS, NAV_ITEMS

    NAV_ITEMS.append(("feedback.inbox", NAV_LABEL, ("officer", "supervisor")))
    ADMIN_LINKS.append(("feedback_admin.instruments", _l("360 评价问卷"),
                        _l("问卷版本：编辑、导入导出；评价安排和进度在各周期页面")))
    CYCLE_SECTIONS.append("feedback/admin/_cycle_section.html")
    BEFORE_TRANSITION["open"].append(services.freeze_on_open)
    from ..admin.services import AFTER_TRANSITION
    from ..templating import add_once
    from .notices import notify_cycle_opened

    add_once(AFTER_TRANSITION["open"], notify_cycle_opened)
    HOME_PANELS.append(("feedback/_home_panel.html", services.ratings_due_panel))
    from . import demo

    STEPS.append(("feedback_instruments", demo.seed_instruments))
    STEPS.append(("feedback", demo.seed_feedback))
    ACTION_LABELS.update({
        "instrument_created": _l("新建问卷版本"), "instrument_saved": _l("修改问卷"),
        "feedback_instruments_chosen": _l("选择360问卷"), "feedback_design_generated": _l("生成360评价安排"),
        "feedback_assignment_added": _l("添加评价安排"), "feedback_assignment_removed": _l("删除评价安排"),
        "feedback_submitted": _l("提交360评价"), "feedback_declined": _l("拒绝360评价"),
        "feedback_nominated": _l("提名跨单位评价人"), "feedback_nomination_approved": _l("批准提名"),
        "feedback_nomination_rejected": _l("驳回提名"), "feedback_thresholds_set": _l("设置360匿名阈值"),
    })


_register_extensions()
