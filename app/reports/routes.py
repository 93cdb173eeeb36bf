"""Report pages: the individual 360 report, the station dashboard, the bureau overview and their
exports. Views check who may see what, call a service and render."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import scope
from ..admin.forms import ConfirmForm
from ..dbutil import db_id
from ..extensions import db
from ..jobs import enqueue
from ..jobs.services import JobAlreadyActive
from ..models import Cycle, Officer, Unit
from ..security import role_required
from . import services

bp = Blueprint("reports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_context_processor
def labels():
    return {"REPORT_GROUP_LABELS": services.GROUP_LABELS, "READING_LABELS": services.READING_LABELS}


def _cycle_arg() -> Cycle | None:
    cycle_id = request.args.get("cycle", type=db_id)
    if cycle_id is None:
        return None
    cycle = scope.get_or_404(Cycle, cycle_id)
    if cycle.status == "draft":
        abort(404)
    return cycle


@bp.route("/")
@login_required
def index():
    """What this user may open."""
    units = []
    led = services.led_unit_ids(current_user)
    if led:
        units = db.session.execute(db.select(Unit).where(Unit.id.in_(led)).order_by(Unit.code)).scalars().all()
    officers = []
    if led:
        officers = db.session.execute(
            db.select(Officer).where(Officer.unit_id.in_(led), Officer.is_active)
            .order_by(Officer.unit_id, Officer.badge_no)).scalars().all()
    stations = []
    if current_user.has_role("admin", "province"):
        stations = db.session.execute(db.select(Unit).where(Unit.kind.in_(("station", "police_type")), Unit.is_active,
                                                            scope.clause(Unit.bureau_id))
                                      .order_by(Unit.kind, Unit.code)).scalars().all()
    return render_template("reports/index.html", units=units, officers=officers, stations=stations)


@bp.route("/officers/<int:officer_id>")
@login_required
def officer(officer_id):
    person = scope.get_or_404(Officer, officer_id)
    if not services.can_view_officer(current_user, person):
        abort(403)
    cycle = _cycle_arg() or services.default_report_cycle(person)
    if cycle is None:
        return render_template("reports/officer.html", report=None, officer=person)
    report = services.individual_report(person, cycle, include_unpublished=current_user.has_role("admin"),
                                        user=current_user)
    return render_template("reports/officer.html", report=report, officer=person)


@bp.route("/units/<int:unit_id>")
@login_required
def unit(unit_id):
    return render_template("reports/unit.html", dash=_dashboard(unit_id))


@bp.route("/units/<int:unit_id>.xlsx")
@login_required
def unit_export(unit_id):
    dash = _dashboard(unit_id)
    return Response(services.unit_workbook(dash), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=station-{dash.unit.code}.xlsx"})


def _dashboard(unit_id):
    """The station dashboard the current user may see (403 otherwise), for the asked or current cycle."""
    target = scope.get_or_404(Unit, unit_id)
    if not services.can_view_unit(current_user, target):
        abort(403)
    admin = current_user.has_role("admin")
    cycle = _cycle_arg() or services.default_unit_cycle(target, admin)
    return services.station_dashboard(target, cycle, include_unpublished=admin, user=current_user)


def _bureau_cycle() -> Cycle | None:
    from ..main.services import current_cycle

    return _cycle_arg() or current_cycle()


@bp.route("/bureau")
@role_required("admin")
def bureau():
    view = services.bureau_overview(_bureau_cycle())
    return render_template("reports/bureau.html", view=view, confirm=ConfirmForm())


@bp.route("/bureau.xlsx")
@role_required("admin")
def bureau_export():
    view = services.bureau_overview(_bureau_cycle(), completeness_limit=0)
    name = f"bureau-{view.run.cycle_id}-v{view.run.version}.xlsx" if view.run is not None else "bureau.xlsx"
    return Response(services.bureau_workbook(view), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.route("/cycles/<int:cycle_id>/reliability", methods=["POST"])
@role_required("admin")
def reliability(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = request.args.get("back", type=db_id)
    # Scoring every answer of the cycle takes a province tens of seconds: a background job does it.
    try:
        job = enqueue("reliability", f"cycle:{cycle.id}", user_id=current_user.id, cycle_id=cycle.id, back=back)
    except JobAlreadyActive as error:
        flash(error.message, "warning")
        return redirect(url_for("jobs.show", job_id=error.job_id) if error.job_id
                        else url_for(".bureau", cycle=back))
    db.session.commit()
    return redirect(url_for("jobs.show", job_id=job.id))


# ---- landing page ------------------------------------------------------------------------------
def home_panel(user):
    """Each role's summary: the officer's latest report, the leader's station, the admin's bureau."""
    data = {}
    if user.officer is not None:
        summary = services.report_summary(user.officer)
        if summary is not None:
            data["mine"] = summary
        led = services.led_unit_ids(user)
        if led:
            unit = db.session.get(Unit, user.officer.unit_id)
            data["unit"] = services.unit_summary(unit, include_unpublished=user.has_role("admin"))
    if user.has_role("admin"):
        data["bureau"] = services.bureau_summary()
    return data or None


def register() -> None:
    """Add this feature's entries to the foundation's registries (idempotent)."""
    from ..demo import STEPS
    from ..main.services import HOME_PANELS
    from ..templating import ADMIN_LINKS, NAV_ITEMS, add_once
    from .demo import seed_reports

    add_once(NAV_ITEMS, ("reports.index", _l("报表"), ()))
    add_once(ADMIN_LINKS, ("reports.bureau", _l("全局概览"), _l("各类别排名、难度系数影响、数据完整性、评价信度")))
    add_once(HOME_PANELS, ("reports/_home_panel.html", home_panel))
    add_once(STEPS, ("reports", seed_reports))
