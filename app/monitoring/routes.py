"""/monitoring/: a station's live month and the bureau's stations side by side, records in, targets."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..extensions import db
from ..imports import run_upload
from ..models import ResponseTarget, Unit
from ..security import role_required
from . import derived, services
from .forms import RecordImportForm, TargetForm
from .stages import STAGE_LABELS

bp = Blueprint("monitoring", __name__)
REFRESH_SECONDS = 30
LIGHT_LABELS = {"green": _l("达标"), "amber": _l("接近目标"), "red": _l("未达标"), "none": _l("无数据")}


@bp.app_context_processor
def helpers():
    return {"MONITORING_LIGHTS": LIGHT_LABELS, "CASE_STAGE_LABELS": STAGE_LABELS}


def _station(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or unit.kind != "station":
        abort(404)
    if not services.can_monitor(current_user, unit):
        abort(403)
    return unit


@bp.route("/")
@login_required
def index():
    if current_user.has_role("admin", "coordinator"):
        return redirect(url_for(".bureau"))
    stations = services.visible_stations(current_user)
    if len(stations) == 1:
        return redirect(url_for(".station", unit_id=stations[0].id))
    return render_template("monitoring/index.html", stations=stations)


@bp.route("/stations/<int:unit_id>")
@login_required
def station(unit_id):
    unit = _station(unit_id)
    view = services.station_view(unit, services.today())
    return render_template("monitoring/station.html", view=view, refresh=REFRESH_SECONDS)


@bp.route("/stations/<int:unit_id>/live.json")
@login_required
def station_live(unit_id):
    unit = _station(unit_id)
    view = services.station_view(unit, services.today())
    return jsonify(stamp=view.stamp(), today=view.today_count, month=view.month_count,
                   warnings=view.warning_total)


@bp.route("/bureau")
@role_required("admin", "coordinator")
def bureau():
    sort = request.args.get("sort", "behind")
    sort = sort if sort in services.SORTS else "behind"
    page = request.args.get("page", 1, type=int) or 1
    stations = services.visible_stations(current_user) if current_user.has_role("admin") else \
        list(db.session.execute(db.select(Unit).where(Unit.kind == "station", Unit.is_active)
                                .order_by(Unit.code)).scalars())
    day = services.today()
    rows = services.bureau_rows(day, stations, sort)
    pages = max(1, -(-len(rows) // services.PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * services.PAGE_SIZE: page * services.PAGE_SIZE]
    return render_template("monitoring/bureau.html", rows=shown, total=len(rows), page=page, pages=pages,
                           sort=sort, day=day, rules=derived.RULES, refresh=REFRESH_SECONDS)


@bp.route("/records", methods=["GET", "POST"])
@role_required("admin")
def records():
    """The data pool's business records: incident and case files (the same checks as the API)."""
    form = RecordImportForm()
    report = None
    if form.validate_on_submit():
        if form.kind.data == "incidents":
            from ..trends.services import import_incidents

            report = run_upload(form, import_incidents,
                                lambda r: _("导入成功：新增 %(c)d 条，更新 %(u)d 条。", c=r.created, u=r.updated))
        else:
            from ..claims.services import import_case_records_file

            report = run_upload(form, lambda name, raw: import_case_records_file(name, raw, current_user),
                                lambda r: _("导入成功：新增 %(c)d 条，更新 %(u)d 条。", c=r.created, u=r.updated))
    return render_template("monitoring/records.html", form=form, report=report)


@bp.route("/targets", methods=["GET", "POST"])
@role_required("admin")
def targets():
    current = derived.response_targets()
    form = TargetForm(data={f"category_{c}": m for c, m in current.items()})
    if form.validate_on_submit():
        for category in (1, 2, 3):
            minutes = getattr(form, f"category_{category}").data
            row = db.session.get(ResponseTarget, category)
            if row is None:
                db.session.add(ResponseTarget(category=category, minutes=minutes))
            else:
                row.minutes = minutes
        from ..audit import record

        record("response_targets_saved", "response_target", None, before=current,
               after={c: getattr(form, f"category_{c}").data for c in (1, 2, 3)})
        db.session.commit()
        flash(_("已保存到场时限目标。"), "success")
        return redirect(url_for(".targets"))
    return render_template("monitoring/targets.html", form=form, rules=derived.RULES)


def register() -> None:
    """Add this feature's entries to the foundation's registries (idempotent)."""
    from ..main.services import HOME_PANELS
    from ..templating import ACTION_LABELS, ADMIN_LINKS, NAV_ITEMS, add_once

    add_once(HOME_PANELS, ("monitoring/_home_panel.html", services.home_panel))
    add_once(NAV_ITEMS, ("monitoring.index", _l("实时监测"), ("admin", "coordinator", "supervisor")))
    add_once(ADMIN_LINKS, ("monitoring.records", _l("业务记录（警情、案件）"),
                           _l("上传警情与案件记录，派生指标据此计算")))
    add_once(ADMIN_LINKS, ("monitoring.targets", _l("到场时限目标"), _l("各类别派出所的接警到场目标分钟数")))
    ACTION_LABELS.update({"response_targets_saved": _l("保存到场时限目标")})
