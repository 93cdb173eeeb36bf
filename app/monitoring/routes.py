"""/monitoring/: a station's live month and the bureau's stations side by side, records in, targets."""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import scope
from ..dbutil import db_id
from ..errors import DomainError
from ..extensions import db
from ..formutil import select_choices
from ..imports import job_report, start_file_import
from ..models import Evidence, Rectification, ResponseTarget, SelfCheck, SelfCheckItem, Unit
from ..security import role_required
from ..views import run_service
from . import derived, selfcheck, services
from .forms import RecordImportForm, TargetForm
from .stages import STAGE_LABELS

bp = Blueprint("monitoring", __name__)
REFRESH_SECONDS = 30
SELF_CHECK_STATUS_LABELS = {"draft": _l("自查中"), "submitted": _l("已提交待审核"), "returned": _l("已退回"),
                            "accepted": _l("已验收")}
LIGHT_LABELS = {"green": _l("达标"), "amber": _l("接近目标"), "red": _l("未达标"), "none": _l("无数据")}


@bp.app_context_processor
def helpers():
    return {"MONITORING_LIGHTS": LIGHT_LABELS, "CASE_STAGE_LABELS": STAGE_LABELS,
            "SELF_CHECK_STATUS_LABELS": SELF_CHECK_STATUS_LABELS, "quarter_self_checks": selfcheck.quarter_self_checks}


def _station(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None or unit.kind != "station" or not scope.can_see(unit):
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
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)  # OFFSET within an integer
    stations = services.visible_stations(current_user) if current_user.has_role("admin") else \
        list(db.session.execute(db.select(Unit).where(Unit.kind == "station", Unit.is_active,
                                                      scope.clause(Unit.bureau_id)).order_by(Unit.code)).scalars())
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
    if form.validate_on_submit():  # a job imports the file; its page leads back here with ?job=
        from ..trends.services import INCIDENT_COLUMNS
        from .jobs import CASE_REQUIRED

        incidents = form.kind.data == "incidents"
        started = start_file_import(form, "import_incidents" if incidents else "import_cases", "records",
                                    url_for(".records"), INCIDENT_COLUMNS if incidents else CASE_REQUIRED,
                                    endpoint="monitoring.records")
        if started:
            return started
    report = job_report("import_incidents") or job_report("import_cases")
    return render_template("monitoring/records.html", form=form, report=report)


@bp.route("/targets", methods=["GET", "POST"])
@role_required("admin")
@scope.installation_settings
def targets():
    current = derived.response_targets()
    marked = derived.marked_codes()
    form = TargetForm(data={**{f"category_{c}": m for c, m in current.items()}, "derived": sorted(marked)})
    form.derived.choices = select_choices({code: rule.name for code, rule in derived.RULES.items()})
    if form.validate_on_submit():
        derived.set_marked(set(form.derived.data or []), current_user.id)
        for category in (1, 2, 3):
            minutes = getattr(form, f"category_{category}").data
            row = db.session.get(ResponseTarget, category)
            if row is None:
                db.session.add(ResponseTarget(category=category, minutes=minutes))
            else:
                row.minutes = minutes
        from ..audit import record

        record("response_targets_saved", "response_target", None,
               before={"minutes": current, "derived": sorted(marked)},
               after={"minutes": {c: getattr(form, f"category_{c}").data for c in (1, 2, 3)},
                      "derived": sorted(set(form.derived.data or []) & set(derived.RULES))})
        db.session.commit()
        flash(_("已保存到场时限目标和派生指标设置。"), "success")
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
    add_once(ADMIN_LINKS, ("monitoring.connectors", _l("拉取连接器"), _l("按计划从业务系统拉取新增和变更的警情、案件")))
    add_once(ADMIN_LINKS, ("monitoring.targets", _l("到场时限目标"), _l("各类别派出所的接警到场目标分钟数")))
    from ..demo import STEPS
    from .demo import seed_monitoring

    add_once(STEPS, ("monitoring", seed_monitoring))
    add_once(ADMIN_LINKS, ("monitoring.self_checks", _l("月自查"), _l("各派出所的月自查、审核与逾期整改项")))
    ACTION_LABELS.update({
        "response_targets_saved": _l("保存到场时限目标"), "self_check_opened": _l("开始月自查"),
        "self_check_submitted": _l("提交月自查"), "self_check_returned": _l("退回月自查"),
        "self_check_accepted": _l("验收月自查"), "rectification_opened": _l("添加整改项"),
        "rectification_closed": _l("关闭整改项"), "evidence_added": _l("上传台账"),
        "connector_saved": _l("保存连接器"), "connector_pulled": _l("拉取业务记录"),
    })


# ---- the monthly self-check ---------------------------------------------------------------------
def _month(text: str):
    from datetime import date

    try:
        year, month = (int(part) for part in text.split("-"))
        if not 2000 <= year <= 2100:
            raise ValueError(text)
        return date(year, month, 1)
    except (ValueError, TypeError):
        abort(404)


def _number(text: str | None) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DomainError(_("“%(text)s”不是数字。", text=text[:20])) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise DomainError(_("“%(text)s”不是数字。", text=text[:20]))
    return value


def _check_page(unit_id: int, month: str):
    """(unit, month, self-check or None, is_leader, is_office) or 403/404."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or unit.kind != "station" or not scope.can_see(unit):
        abort(404)
    office = current_user.has_role("admin", "coordinator")
    leader = unit.id in services.led_unit_ids(current_user)
    if not (office or leader):
        abort(403)
    first = _month(month)
    return unit, first, selfcheck.find(unit, first), leader, office


def _back(unit, first):
    return redirect(url_for(".self_check", unit_id=unit.id, month=first.strftime("%Y-%m")))


@bp.route("/stations/<int:unit_id>/self-checks/<month>")
@login_required
def self_check(unit_id, month):
    unit, first, check, leader, office = _check_page(unit_id, month)
    data = {}
    if check is not None:
        data = {"evidence": selfcheck.evidence_list(check), "rects": selfcheck.rectifications(check),
                "gaps": selfcheck.gaps(check)}
    today, due = services.today(), selfcheck.due_on(first)
    return render_template("monitoring/self_check.html", unit=unit, month=first, check=check, leader=leader,
                           office=office, today=today, due=due,
                           timeliness=selfcheck.timeliness(check, first, today, due), **data)


@bp.route("/stations/<int:unit_id>/self-checks/<month>/<action>", methods=["POST"])
@login_required
def self_check_action(unit_id, month, action):
    unit, first, check, leader, office = _check_page(unit_id, month)
    if action == "open" and leader:
        run_service(selfcheck.open_self_check, unit, first, current_user, success=_("已开始本月自查。"))
        return _back(unit, first)
    if check is None:
        abort(404)
    step = (LEADER_ACTIONS.get(action) if leader else None) or (OFFICE_ACTIONS.get(action) if office else None)
    if step is None:
        abort(403 if action in ACTIONS else 404)
    step(check, current_user, request.form)
    return _back(unit, first)


# the steps of a self-check, each (check, user, posted form) → runs its service and flashes the outcome
def _refresh(check, user, form):
    run_service(selfcheck.refresh_values, check, success=_("已更新为最新的运行值。"))


def _save(check, user, form):
    def save():
        entries = {item.id: (_number(form.get(f"score_{item.id}")), form.get(f"comment_{item.id}", ""))
                   for item in check.items}
        selfcheck.save_items(check, entries, form.get("summary", ""))

    run_service(save, success=_("已保存。"))


def _add_rectification(check, user, form):
    def add():
        from ..claims.services import parse_date

        item = db.session.get(SelfCheckItem, form.get("item_id", type=db_id) or 0)
        if item is None:
            raise DomainError(_("请选择指标。"))
        selfcheck.add_rectification(check, item, form.get("what", ""), form.get("owner", ""),
                                    parse_date(form.get("due_on", "")))

    run_service(add, success=_("已添加整改项。"))


def _add_evidence(check, user, form):
    upload = request.files.get("file")
    item = db.session.get(SelfCheckItem, form.get("item_id", type=db_id) or 0)
    if item is not None and item.self_check_id != check.id:
        abort(404)
    run_service(selfcheck.add_evidence, check, upload.filename if upload else "",
                upload.read() if upload else b"", user, item, success=_("已上传台账文件。"))


def _submit(check, user, form):
    run_service(selfcheck.submit, check, user, success=_("已提交，等待考评办审核。"))


def _return(check, user, form):
    run_service(selfcheck.return_check, check, form.get("reason", ""), user, success=_("已退回。"))


def _accept(check, user, form):
    def accept():
        scores = {item.id: _number(form.get(f"verified_{item.id}")) for item in check.items}
        selfcheck.accept(check, scores, user)

    run_service(accept, success=_("已验收。"))


LEADER_ACTIONS = {"refresh": _refresh, "save": _save, "rectification": _add_rectification, "evidence": _add_evidence,
                  "submit": _submit}
OFFICE_ACTIONS = {"return": _return, "accept": _accept}
ACTIONS = ("open", *LEADER_ACTIONS, *OFFICE_ACTIONS)


@bp.route("/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id):
    item = db.session.get(Evidence, evidence_id)
    if item is None:
        abort(404)
    check = db.session.get(SelfCheck, item.self_check_id)
    unit = scope.check(db.session.get(Unit, check.unit_id))
    if not (current_user.has_role("admin", "coordinator") or unit.id in services.led_unit_ids(current_user)):
        abort(403)
    response = send_file(BytesIO(item.data), mimetype=item.content_type, as_attachment=True,
                         download_name=item.filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/rectifications/<int:rect_id>/close", methods=["POST"])
@login_required
def close_rectification(rect_id):
    rect = db.session.get(Rectification, rect_id)
    if rect is None or not scope.can_see(rect):
        abort(404)
    if not (current_user.has_role("admin", "coordinator") or rect.unit_id in services.led_unit_ids(current_user)):
        abort(403)

    def close():
        selfcheck.close_rectification(rect, request.form.get("note", ""), current_user)
        upload = request.files.get("file")
        if upload and upload.filename:
            check = db.session.get(SelfCheck, rect.self_check_id)
            selfcheck.add_evidence(check, upload.filename, upload.read(), current_user, rectification=rect)

    run_service(close, success=_("整改项已关闭。"))
    check = db.session.get(SelfCheck, rect.self_check_id)
    target = request.form.get("back")
    if target == "home":
        return redirect(url_for("main.index"))
    return _back(db.session.get(Unit, rect.unit_id), check.month)


@bp.route("/self-checks")
@role_required("admin", "coordinator")
def self_checks():
    from ..trends.services import add_months

    day = services.today()
    default = add_months(day.replace(day=1), -1)
    month = _month(request.args["month"]) if request.args.get("month") else default
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)  # OFFSET within an integer
    rows, total = selfcheck.month_overview(month, page)
    overdue, overdue_total = selfcheck.overdue_rectifications(day)
    pages = max(1, -(-total // 20))
    return render_template("monitoring/self_checks.html", rows=rows, month=month, page=page, pages=pages,
                           total=total, overdue=overdue, overdue_total=overdue_total, today=day,
                           timely=selfcheck.month_timeliness(month, day), timeliness=selfcheck.timeliness,
                           prev_month=add_months(month, -1), next_month=add_months(month, 1))


# ---- pull connectors ------------------------------------------------------------------------------
@bp.route("/connectors", methods=["GET", "POST"])
@bp.route("/connectors/<int:connector_id>", methods=["GET", "POST"])
@role_required("admin")
@scope.installation_settings
def connectors(connector_id=None):
    from ..models import Connector
    from .connectors import save_connector
    from .forms import ConnectorForm

    connector = db.session.get(Connector, connector_id) if connector_id else None
    if connector_id and connector is None:
        abort(404)
    form = ConnectorForm(obj=connector, data={"interval": connector.interval_minutes} if connector else None)
    if connector is not None and request.method == "GET":
        form.token.data = ""
    if form.validate_on_submit():
        done = run_service(save_connector, form.name.data, form.kind.data, form.url.data, form.token.data or "",
                           form.interval.data, connector, form=form, success=_("已保存连接器。"))
        if done:
            return redirect(url_for(".connectors"))
    rows = db.session.execute(db.select(Connector).order_by(Connector.name)).scalars().all()
    return render_template("monitoring/connectors.html", form=form, rows=rows, editing=connector)


@bp.route("/connectors/<int:connector_id>/pull", methods=["POST"])
@role_required("admin")
@scope.installation_settings
def pull_connector(connector_id):
    from ..models import Connector
    from .connectors import pull

    connector = db.session.get(Connector, connector_id)
    if connector is None:
        abort(404)
    ok = pull(connector)
    db.session.commit()
    if ok:
        flash(_("拉取成功：%(n)d 行（新增 %(c)d，更新 %(u)d）。", n=connector.last_rows, c=connector.last_created,
                u=connector.last_updated), "success")
    else:
        flash(_("拉取失败，没有导入任何数据：%(e)s", e=connector.last_error), "danger")
    return redirect(url_for(".connectors"))
