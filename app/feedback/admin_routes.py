"""Assessment office pages for 360-degree feedback: instruments, the rater design, tracking."""
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from surveys.anonymity import thresholds

from .. import scope
from ..dbutil import db_id
from ..extensions import db
from ..formutil import select_choices
from ..models import RATER_GROUPS, Assignment, Cycle, Instrument, Officer, Unit
from ..paging import RowsPage
from ..security import role_required
from ..tabular import xlsx_download
from ..views import run_service
from . import instruments as instrument_services
from . import services
from .forms import (
    GROUP_LABELS,
    RELATION_LABELS,
    STATUS_LABELS,
    AddAssignmentForm,
    DesignForm,
    ImportInstrumentForm,
    InstrumentChoiceForm,
    InstrumentForm,
    ThresholdForm,
)
from .jobs import enqueue_design

admin_bp = Blueprint("feedback_admin", __name__)


@admin_bp.before_request
@role_required("admin")
def require_admin():
    """Every page here is for the assessment office's administrators."""


@admin_bp.context_processor
def labels():
    return {"RELATION_LABELS": RELATION_LABELS, "STATUS_LABELS": STATUS_LABELS, "GROUP_LABELS": GROUP_LABELS}


# ---- instruments -------------------------------------------------------------------------------
@admin_bp.route("/instruments")
def instruments():
    rows = db.session.execute(
        db.select(Instrument).order_by(Instrument.rater_group, Instrument.code, Instrument.version.desc())
    ).scalars().all()
    return render_template("feedback/admin/instruments.html", rows=rows, form=ImportInstrumentForm(),
                           confirm=FlaskForm())


@admin_bp.route("/instruments/defaults", methods=["POST"])
@scope.installation_settings
def create_defaults():
    if FlaskForm().validate_on_submit():
        created = run_service(instrument_services.ensure_default_instruments)
        if created:
            flash(_("已创建默认问卷。") if created is not True else _("默认问卷已存在。"), "success")
    return redirect(url_for(".instruments"))


@admin_bp.route("/instruments/import", methods=["POST"])
@scope.installation_settings
def import_instrument():
    form = ImportInstrumentForm()
    if form.validate_on_submit():
        instrument = run_service(instrument_services.import_instrument, form.file.data.read(), form=form)
        if instrument:
            flash(_("已导入问卷“%(title)s”第 %(v)d 版。", title=instrument.title, v=instrument.version), "success")
            return redirect(url_for(".instruments"))
    for error in form.file.errors:
        flash(error, "danger")
    return redirect(url_for(".instruments"))


@admin_bp.route("/instruments/<int:instrument_id>")
def instrument(instrument_id):
    row = db.get_or_404(Instrument, instrument_id)
    return render_template("feedback/admin/instrument.html", instrument=row)


@admin_bp.route("/instruments/<int:instrument_id>.json")
def export_instrument(instrument_id):
    row = db.get_or_404(Instrument, instrument_id)
    return Response(instrument_services.export_instrument(row), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename={row.code}-v{row.version}.json"})


@admin_bp.route("/instruments/<int:instrument_id>/edit", methods=["GET", "POST"])
@scope.installation_settings
def edit_instrument(instrument_id):
    row = db.get_or_404(Instrument, instrument_id)
    spec = instrument_services.spec_of(row)
    form = InstrumentForm()
    if request.method == "GET":
        form.title.data, form.intro.data = spec.title, spec.intro
        form.competencies.data, form.items.data = instrument_services.spec_to_lines(spec)
    if form.validate_on_submit():
        def save():
            new_spec = instrument_services.spec_from_lines(spec, form.title.data, form.intro.data,
                                                           form.competencies.data, form.items.data)
            return instrument_services.save_instrument(row, new_spec)

        saved = run_service(save, form=form)
        if saved:
            if saved.id != row.id:
                flash(_("该版本已被周期使用而冻结，修改已保存为第 %(v)d 版。", v=saved.version), "success")
            else:
                flash(_("问卷已保存。"), "success")
            return redirect(url_for(".instrument", instrument_id=saved.id))
    hint = _("此版本已冻结：保存时将生成新版本，已使用的周期不受影响。") if row.is_frozen else None
    return render_template("admin/form.html", form=form, title=_("编辑问卷：%(t)s", t=row.title), hint=hint,
                           back=url_for(".instrument", instrument_id=row.id))


# ---- design ------------------------------------------------------------------------------------
def _offer_instruments(choice_form, current: dict) -> None:
    """Each rater group's select lists that group's instruments (every version), the cycle's choice first on GET."""
    all_instruments = db.session.execute(
        db.select(Instrument).order_by(Instrument.code, Instrument.version.desc())).scalars().all()
    for group in RATER_GROUPS:
        field = getattr(choice_form, group)
        field.choices = select_choices({i.id: f"{i.title}（{i.code} v{i.version}）"
                                        for i in all_instruments if i.rater_group == group} or {0: "—"})
        if request.method == "GET" and group in current:
            field.data = current[group].id


def _generate(cycle, form):
    # Generated by a background job (app.jobs): large organisations take a while.
    job = run_service(enqueue_design, cycle, form.seed.data, form.peers.data, current_user.id, form=form)
    if job:
        return redirect(url_for("jobs.show", job_id=job.id))
    return None


def _add(cycle, add_form):
    if run_service(services.add_assignment, cycle, add_form.rater_badge.data, add_form.ratee_badge.data,
                   add_form.relation.data, form=add_form):
        flash(_("已添加评价安排。"), "success")
        return redirect(url_for(".design", cycle_id=cycle.id, q=add_form.ratee_badge.data))
    return None


def _save_thresholds(cycle, threshold_form):
    values = {g: getattr(threshold_form, g).data for g in services.THRESHOLD_GROUPS}
    if run_service(services.set_thresholds, cycle, values, form=threshold_form):
        flash(_("匿名阈值已保存。"), "success")
        return redirect(url_for(".design", cycle_id=cycle.id))
    return None


def _choose_instruments(cycle, choice_form):
    choice = {g: getattr(choice_form, g).data for g in RATER_GROUPS}
    if run_service(services.choose_instruments, cycle, choice, form=choice_form):
        flash(_("问卷选择已保存。"), "success")
        return redirect(url_for(".design", cycle_id=cycle.id))
    return None


def _assignments_of(cycle, badge: str) -> list:
    """The cycle's assignments where the officer with this badge rates or is rated."""
    officer = db.session.execute(db.select(Officer).filter_by(badge_no=badge)).scalar_one_or_none() if badge else None
    if officer is None:
        return []
    return list(db.session.execute(
        db.select(Assignment).where(Assignment.cycle_id == cycle.id,
                                    (Assignment.rater_id == officer.id) | (Assignment.ratee_id == officer.id))
        .order_by(Assignment.relation, Assignment.id)
    ).scalars().all())


@admin_bp.route("/cycles/<int:cycle_id>/design", methods=["GET", "POST"])
def design(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    settings = services.feedback_settings(cycle)
    form = DesignForm(prefix="design", data={"seed": settings["seed"], "peers": settings["peers"]})
    add_form = AddAssignmentForm(prefix="add")
    choice_form = InstrumentChoiceForm(prefix="instruments")
    limits = thresholds(cycle.config)
    threshold_form = ThresholdForm(prefix="limits", data=limits)
    current = services.instruments_for(cycle)
    _offer_instruments(choice_form, current)
    if request.method == "POST":
        # One page, four forms: the submit button's name says which was posted.
        for button, posted, handle in (("design-submit", form, _generate), ("add-submit", add_form, _add),
                                       ("limits-submit", threshold_form, _save_thresholds),
                                       ("instruments-submit", choice_form, _choose_instruments)):
            if button in request.form:
                done = handle(cycle, posted) if posted.validate() else None
                if done is not None:
                    return done
                break
    unit_id = request.args.get("unit", type=db_id)
    q = services.clean_badge(request.args.get("q", ""))
    preview = services.design_preview(cycle, unit_id)
    units = db.session.execute(db.select(Unit).where(Unit.is_active, scope.cycle_unit_clause(cycle))
                               .order_by(Unit.code)).scalars().all()
    return render_template("feedback/admin/design.html", cycle=cycle, form=form, add_form=add_form,
                           choice_form=choice_form, preview=preview, unit_id=unit_id, units=units, q=q,
                           listed=_assignments_of(cycle, q), current=current, settings=settings,
                           confirm=FlaskForm(), threshold_form=threshold_form, limits=limits)


@admin_bp.route("/assignments/<int:assignment_id>/remove", methods=["POST"])
def remove_assignment(assignment_id):
    assignment = scope.get_or_404(Assignment, assignment_id)
    cycle_id, badge = assignment.cycle_id, assignment.ratee.badge_no
    if FlaskForm().validate_on_submit() and run_service(services.remove_assignment, assignment):
        flash(_("已删除该评价安排。"), "success")
    return redirect(url_for(".design", cycle_id=cycle_id, q=request.form.get("q") or badge))


# ---- tracking ----------------------------------------------------------------------------------
@admin_bp.route("/cycles/<int:cycle_id>/tracking")
def tracking(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    filters = {"q": request.args.get("q", "")[:50], "unit": request.args.get("unit", type=db_id)}
    owing = RowsPage(services.owing_query(cycle, search=filters["q"], unit_id=filters["unit"]),
                     request.args.get("page", 1, type=int), current_app.config["PER_PAGE"])
    return render_template("feedback/tracking.html", cycle=cycle, rates=services.response_rates(cycle),
                           owing=owing, filters=filters, title=_("评价进度（全局）"),
                           page_url=url_for(".tracking", cycle_id=cycle.id),
                           export_url=url_for(".tracking_export", cycle_id=cycle.id), admin=True)


@admin_bp.route("/cycles/<int:cycle_id>/tracking.xlsx")
def tracking_export(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    header, rows = services.owing_rows(cycle)
    return xlsx_download(header, rows, f"feedback-owing-{cycle.id}.xlsx", title="owing")
