"""Pages of the main assessment: catalogue, cycle settings, data import, runs, results, 约谈 flags,
dual track and API clients. Views parse, call a service, commit or roll back, render."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from scoring.assessment import AssessmentConfig

from .. import scope
from ..admin.forms import ConfirmForm
from ..dbutil import db_id
from ..errors import DomainError
from ..extensions import db
from ..imports import job_report, start_file_import
from ..jobs import enqueue
from ..jobs.services import JobAlreadyActive, active_job
from ..models import ApiClient, Cycle, Indicator, ScoreResult, ScoreRun, Unit
from ..security import role_required
from ..tabular import xlsx_bytes, xlsx_download
from ..views import run_service, show_error
from . import datapool, runs, services, soft
from .catalogue import (
    DIMENSION_LABELS,
    DIRECTION_LABELS,
    GRADE_LABELS,
    LEVEL_LABELS,
    METHOD_LABELS,
    ROLLUP_LABELS,
    base_code,
)
from .forms import ApiClientForm, ComputeForm, ImportValuesForm, IndicatorForm, PublishForm, settings_form_class

bp = Blueprint("assessment", __name__)

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "data" / "indicator-values-demo.csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_context_processor
def inject():
    return {"DIMENSION_LABELS": DIMENSION_LABELS, "LEVEL_LABELS": LEVEL_LABELS, "GRADE_LABELS": GRADE_LABELS,
            "DIRECTION_LABELS": DIRECTION_LABELS, "METHOD_LABELS": METHOD_LABELS, "ROLLUP_LABELS": ROLLUP_LABELS,
            "assessment_panel": cycle_panel}


def cycle_panel(cycle: Cycle) -> dict:
    """What the admin cycle page shows about the assessment (CYCLE_SECTIONS template)."""
    try:
        config, error = services.cycle_config(cycle), None
    except DomainError as exc:
        config, error = None, exc.message
    all_runs = db.session.execute(db.select(ScoreRun).where(ScoreRun.cycle_id == cycle.id)
                                  .order_by(ScoreRun.version.desc())).scalars().all()
    names = {i.code: i.name for i in services.indicators(bureau_id=cycle.bureau_id)}
    return {"config": config, "config_error": error, "options": services.cycle_options(cycle),
            "frozen": bool((cycle.config or {}).get("assessment")), "pool": datapool.pool_summary(cycle),
            "runs": all_runs, "published": runs.published_run(cycle), "compute_form": ComputeForm(),
            "names": names, "base_code": base_code, "hard_missing": runs.hard_missing_count,
            "effective": _effective_weights(config),
            "job": active_job("score_run", f"cycle:{cycle.id}")}


def _effective_weights(config) -> dict:
    """level → [(spec, base points, effective points)] for the cycle page."""
    if config is None:
        return {}
    out = {}
    for level in ("unit", "officer"):
        if not config.specs(level):
            continue
        base, eff = config.base_weights(level), config.indicator_weights(level)
        out[level] = [(s, base[s.code], eff[s.code]) for s in config.specs(level)]
    return out


# ---- catalogue ---------------------------------------------------------------------------------
@bp.route("/indicators")
@role_required("admin")
def indicators():
    """The catalogue the user works on; someone who sees every bureau may look at a bureau's (?bureau=)."""
    chosen = request.args.get("bureau", type=db_id) if scope.sees_all() else None
    bureau = scope.get_or_404(Unit, chosen) if chosen else None
    if bureau is not None and bureau.kind != "bureau":
        abort(404)
    which = bureau.id if bureau is not None else services.CURRENT
    return render_template("assessment/indicators.html", indicators=services.indicators(bureau_id=which),
                           sums=services.catalogue_sums(which), confirm=ConfirmForm(), bureau=bureau,
                           bureaus=scope.bureaus() if scope.sees_all() else [])


@bp.route("/indicators/seed", methods=["POST"])
@role_required("admin")
def seed_indicators():
    if ConfirmForm().validate_on_submit():
        try:
            added = services.seed_catalogue()
        except DomainError as error:
            show_error(error, None)
        else:
            db.session.commit()
            flash(_("已载入 %(n)d 个默认指标。", n=added), "success")
    return redirect(url_for(".indicators"))


@bp.route("/indicators/new", methods=["GET", "POST"])
@bp.route("/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def edit_indicator(indicator_id=None):
    indicator = scope.get_or_404(Indicator, indicator_id) if indicator_id else None
    form = IndicatorForm(obj=indicator)
    if indicator is not None:
        form.code.render_kw = {"readonly": True}
        if request.method == "POST":
            form.code.data = indicator.code
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("submit", "csrf_token")}
        try:
            services.save_indicator(indicator, data)
        except DomainError as error:
            show_error(error, form)
        else:
            db.session.commit()
            flash(_("指标已保存。已开启的周期仍使用其冻结的设置。"), "success")
            return redirect(url_for(".indicators"))
    return render_template("admin/form.html", form=form, back=url_for(".indicators"),
                           title=_("编辑指标") if indicator else _("新增指标"))


# ---- cycle settings ----------------------------------------------------------------------------
def _settings_form(cycle: Cycle):
    config = services.cycle_config(cycle)
    names = {s.code: services_name(s.code) for s in config.indicators}
    form_class = settings_form_class([s for s in config.indicators if s.added_points is None], names)
    options = services.cycle_options(cycle)
    form = form_class()
    if request.method == "GET":
        _fill_weights(form, config, options)
        _fill_rules_text(form, config, options)
        _fill_grades_and_bonus(form, config, options)
    return form, config


def _fill_weights(form, config: AssessmentConfig, options: dict) -> None:
    """Dimension and indicator weights, difficulty coefficients, the non-preventable case weight."""
    for dim in ("law_enforcement", "basic_control", "public_service", "team_management"):
        form[f"dim_{dim}"].data = config.dimension_weights.get(dim, 0.0)
    for name, code, _level, _dim in form.weight_fields:
        form[name].data = next(s.weight for s in config.indicators if s.code == code)
    for cat in (1, 2, 3):
        form[f"diff_{cat}"].data = config.difficulty.get(cat, 1.0)
    form.nonpreventable_weight.data = options["nonpreventable_weight"]


def _fill_rules_text(form, config: AssessmentConfig, options: dict) -> None:
    """The settings written as text: seasonal factors and added points, station targets, baseline
    indicators, the satisfaction credit and the missing-data rules."""
    form.seasonal.data = "\n".join([f"{k}={v:g}" for k, v in config.seasonal.items()]
                                   + [f"{s.code}=+{s.added_points:g}" for s in config.indicators
                                      if s.added_points is not None])
    form.station_targets.data = "\n".join(f"{code}@{unit}={t:g}" for code, per in
                                          (options.get("station_targets") or {}).items()
                                          for unit, t in per.items())
    form.basic_satisfied_credit.data = float(options.get("basic_satisfied_credit", 0.5))
    form.baseline_codes.data = ", ".join(s.code for s in config.indicators if s.baseline)
    form.missing.data = config.missing
    form.min_coverage.data = config.min_coverage


def _fill_grades_and_bonus(form, config: AssessmentConfig, options: dict) -> None:
    """The grading rule, the efficiency bonus, the dual track and the roll-up of lower cycles."""
    form.grade_caps.data = ", ".join(f"{v:g}" for v in config.grades.caps)
    form.grade_mode.data = config.grades.mode
    form.grade_shares.data = ", ".join(f"{v:g}" for v in config.grades.shares)
    form.grade_thresholds.data = ", ".join(f"{v:g}" for v in config.grades.thresholds)
    form.grade_within_category.data = config.grades.within_category
    form.grade_on.data = config.grades.on
    form.bonus_basis.data = config.bonus.basis
    form.bonus_pool.data = None if config.bonus.pool_cents is None else config.bonus.pool_cents / 100
    form.bonus_floor.data = config.bonus.floor
    form.bonus_on.data = config.bonus.on
    form.bonus_level.data = options.get("bonus_level", "unit")
    form.top_share.data = options["dual_track"]["top_share"]
    form.bottom_share.data = options["dual_track"]["bottom_share"]
    form.rollup_method.data = options["rollup"]["method"]


def services_name(code: str) -> str:
    ind = services.indicator_map().get(base_code(code))
    name = ind.name if ind else code
    return name + _("（单位均值）") if code != base_code(code) else name


def _settings_data(form) -> dict:
    numbers = [float(p) for p in form.grade_shares.data.replace("，", ",").split(",") if p.strip()]
    thresholds = [float(p) for p in form.grade_thresholds.data.replace("，", ",").split(",") if p.strip()]
    caps = [float(p) for p in form.grade_caps.data.replace("，", ",").split(",") if p.strip()]
    pool = form.bonus_pool.data
    return {
        "dimension_weights": {d: form[f"dim_{d}"].data for d in DIMENSION_LABELS},
        "indicator_weights": {code: form[name].data for name, code, _l_, _d in form.weight_fields},
        "difficulty": {c: form[f"diff_{c}"].data for c in (1, 2, 3)},
        "nonpreventable_weight": form.nonpreventable_weight.data,
        "seasonal": getattr(form, "parsed_seasonal", {}),
        "seasonal_added": getattr(form, "parsed_added", {}),
        "station_targets": getattr(form, "parsed_station_targets", {}),
        "baseline_codes": [c.strip() for c in (form.baseline_codes.data or "").replace("，", ",").split(",")
                           if c.strip()],
        "basic_satisfied_credit": form.basic_satisfied_credit.data,
        "missing": form.missing.data, "min_coverage": form.min_coverage.data,
        "grades": {"mode": form.grade_mode.data, "shares": tuple(numbers), "thresholds": tuple(thresholds),
                   "caps": tuple(caps), "within_category": form.grade_within_category.data, "on": form.grade_on.data},
        "bonus": {"floor": form.bonus_floor.data, "on": form.bonus_on.data, "basis": form.bonus_basis.data,
                  "pool_cents": None if pool is None else int(round(pool * 100))},
        "bonus_level": form.bonus_level.data,
        "dual_track": {"top_share": form.top_share.data, "bottom_share": form.bottom_share.data},
        "rollup": {"method": form.rollup_method.data},
    }


@bp.route("/cycles/<int:cycle_id>/settings", methods=["GET", "POST"])
@role_required("admin")
def settings(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    if cycle.is_frozen:
        flash(_("周期已开启，考评设置已冻结，不能再修改。"), "warning")
        return redirect(url_for("admin.cycle", cycle_id=cycle.id))
    try:
        form, config = _settings_form(cycle)
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for(".indicators"))
    if form.validate_on_submit():
        try:
            services.save_settings(cycle, _settings_data(form))
        except DomainError as error:
            show_error(error, form)
        else:
            db.session.commit()
            flash(_("考评设置已保存。"), "success")
            return redirect(url_for("admin.cycle", cycle_id=cycle.id))
    groups: dict = {}
    for name, _code, level, dim in form.weight_fields:
        groups.setdefault(level, {}).setdefault(dim, []).append(form[name])
    return render_template("assessment/settings.html", cycle=cycle, form=form, groups=groups)


# ---- import ------------------------------------------------------------------------------------
@bp.route("/cycles/<int:cycle_id>/import", methods=["GET", "POST"])
@role_required("admin")
def import_values(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    form = ImportValuesForm()
    if form.validate_on_submit():  # a job imports the file; its page leads back here with ?job=
        started = None
        if cycle.status == "published":
            form.file.errors = [_("周期“%(name)s”已发布结果，不能再导入数据。", name=cycle.name)]
        else:
            started = start_file_import(form, "import_values", f"cycle:{cycle.id}",
                                        url_for(".import_values", cycle_id=cycle.id), datapool.FILE_REQUIRED,
                                        cycle_id=cycle.id)
        if started:
            return started
    report = job_report("import_values")
    if report is not None and report.values.get("cycle_id") != cycle.id:
        report = None
    return render_template("assessment/import.html", cycle=cycle, form=form, report=report,
                           pool=datapool.pool_summary(cycle),
                           indicators=services.indicators(active_only=True, bureau_id=cycle.bureau_id))


@bp.route("/import/template.xlsx")
@role_required("admin")
def import_template():
    data = xlsx_bytes(list(datapool.FILE_COLUMNS), [["PS01", "", "case_compliance", 96.5, ""],
                                                    ["PS01", "", "criminal_cases", 12, 3],
                                                    ["", "010001", "officer_case_compliance", 98, ""]],
                      title="indicators")
    return Response(data, mimetype=XLSX,
                    headers={"Content-Disposition": "attachment; filename=indicator-values-template.xlsx"})


@bp.route("/import/demo.csv")
@role_required("admin")
def demo_file():
    if not DEMO_FILE.exists():
        abort(404)
    return Response(DEMO_FILE.read_bytes(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=indicator-values-demo.csv"})


# ---- runs --------------------------------------------------------------------------------------
@bp.route("/cycles/<int:cycle_id>/compute", methods=["POST"])
@role_required("admin")
def compute(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    form = ComputeForm()
    if not form.validate_on_submit():
        flash(_("请求无效。"), "danger")
        return redirect(url_for("admin.cycle", cycle_id=cycle.id))
    # The run is computed by a background job (app.jobs); its page shows the progress, then the run.
    try:
        job = enqueue("score_run", f"cycle:{cycle.id}", user_id=current_user.id, cycle_id=cycle.id,
                      reason=form.reason.data or "", rollup_method=form.rollup.data or "")
    except JobAlreadyActive as error:
        flash(error.message, "warning")
        if error.job_id:
            return redirect(url_for("jobs.show", job_id=error.job_id))
        return redirect(url_for("admin.cycle", cycle_id=cycle.id))
    db.session.commit()
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.route("/runs/<int:run_id>/publish", methods=["POST"])
@role_required("admin")
def publish(run_id):
    run = scope.get_or_404(ScoreRun, run_id)
    form = PublishForm()
    if not form.validate_on_submit():
        flash(_("请求无效。"), "danger")
        return redirect(url_for(".run", run_id=run_id))
    run_service(runs.publish_run, run, user_id=current_user.id, note=form.note.data or "",
                success=_("第 %(v)d 版已发布为周期结果。", v=run.version))
    return redirect(url_for(".run", run_id=run_id))


def _visible_run(run: ScoreRun) -> None:
    if not current_user.has_role("admin") and not runs.is_shown(run):
        abort(404)


@bp.route("/")
@login_required
def index():
    rows = runs.cycles_with_runs()
    if not current_user.has_role("admin"):
        rows = [(c, p, p) for c, p, _latest in rows if p is not None]
    return render_template("assessment/index.html", rows=rows)


@bp.route("/runs/<int:run_id>")
@login_required
def run(run_id):
    run = scope.get_or_404(ScoreRun, run_id)
    _visible_run(run)
    is_admin = current_user.has_role("admin")
    units = runs.run_results(run, "unit")
    officers, ranking, filters = {}, None, {}
    if is_admin:  # a page of the officers' ranking, with search and filters
        filters = {"q": request.args.get("q", "")[:50], "category": request.args.get("category", type=db_id),
                   "unit": request.args.get("unit", type=db_id)}
        ranking = runs.officer_ranking(run, request.args.get("page", 1, type=int), current_app.config["PER_PAGE"],
                                       filters["q"], filters["category"], filters["unit"])
        officers = runs.by_category(ranking.items)
    mine = None
    if not is_admin and current_user.officer is not None:
        mine = db.session.execute(db.select(ScoreResult).filter_by(
            run_id=run.id, officer_id=current_user.officer.id)).scalar_one_or_none()
    names = (run.missing or {}).get("names") or {}
    soft_missing = [names.get(code, code) for code in (run.missing or {}).get("soft_without_provider", [])]
    return render_template("assessment/run.html", run=run, cycle=run.cycle, units=units, officers=officers,
                           ranking=ranking, filters=filters, stations=[r.unit for rows in units.values() for r in rows],
                           soft_missing=soft_missing, publish_form=PublishForm(),
                           missing_hard=runs.hard_missing_count(run),
                           mine=mine, confirm=ConfirmForm(), is_admin=is_admin,
                           published=runs.published_run(run.cycle))


@bp.route("/results/<int:result_id>")
@login_required
def result(result_id):
    row = scope.get_or_404(ScoreResult, result_id)
    if not runs.can_view_result(current_user, row):
        abort(403)
    from surveys.anonymity import thresholds

    from ..feedback.services import gated_breakdown, result_viewer

    breakdown = gated_breakdown(row, result_viewer(current_user, row), thresholds(row.run.cycle.config))
    return render_template("assessment/result.html", r=row, run=row.run, cycle=row.run.cycle, breakdown=breakdown)


@bp.route("/runs/<int:run_id>/dual-track")
@role_required("admin")
def dual_track(run_id):
    run = scope.get_or_404(ScoreRun, run_id)
    level = request.args.get("level", "officer")
    if level not in ("unit", "officer"):
        abort(404)
    groups = runs.dual_track_groups(run, level, page=request.args.get("page", 1, type=int),
                                    top_page=request.args.get("top_page", 1, type=int),
                                    per_page=current_app.config["PER_PAGE"])
    return render_template("assessment/dual_track.html", run=run, cycle=run.cycle, level=level, groups=groups)


@bp.route("/runs/<int:run_id>/export.xlsx")
@role_required("admin")
def export(run_id):
    run = scope.get_or_404(ScoreRun, run_id)
    header, rows = runs.export_rows(run)
    return xlsx_download(header, rows, f"results-{run.cycle_id}-v{run.version}.xlsx", title="results")


@bp.route("/flags")
@role_required("admin")
def flags():
    return render_template("assessment/flags.html", flags=runs.consecutive_last_flags())


# ---- API clients -------------------------------------------------------------------------------
@bp.route("/api-clients", methods=["GET", "POST"])
@role_required("admin")
@scope.installation_settings
def api_clients():
    from ..api import services as api_services

    form = ApiClientForm()
    token = None
    if form.validate_on_submit():
        try:
            client, token = api_services.create_client(form.name.data, user_id=current_user.id)
        except DomainError as error:
            show_error(error, form)
        else:
            db.session.commit()
            flash(_("已为“%(name)s”生成令牌。令牌只显示这一次，请立即复制保存。", name=client.name), "success")
            form = ApiClientForm(formdata=None)
    clients = db.session.execute(db.select(ApiClient).order_by(ApiClient.id.desc())).scalars().all()
    return render_template("assessment/api_clients.html", form=form, token=token, clients=clients,
                           confirm=ConfirmForm())


@bp.route("/api-clients/<int:client_id>/revoke", methods=["POST"])
@role_required("admin")
@scope.installation_settings
def revoke_api_client(client_id):
    from ..api import services as api_services

    client = db.get_or_404(ApiClient, client_id)
    if ConfirmForm().validate_on_submit():
        run_service(api_services.revoke_client, client, success=_("已吊销“%(name)s”的令牌。", name=client.name))
    return redirect(url_for(".api_clients"))


# ---- registration with the foundation's registries ----------------------------------------------
def home_panel(user):
    """The latest published result for the landing page: the user's station, or the top of each
    category for admins."""
    for cycle, published, _latest in runs.cycles_with_runs():
        if published is None:
            continue
        mine = None
        if user.officer is not None:
            from .datapool import station_of

            station = station_of(user.officer.unit)
            if station is not None:
                mine = db.session.execute(db.select(ScoreResult).filter_by(
                    run_id=published.id, unit_id=station.id)).scalar_one_or_none()
        return {"cycle": cycle, "run": published, "mine": mine}
    return None


def register() -> None:
    """Add this feature's entries to the foundation's registries (idempotent)."""
    from ..admin.routes import CYCLE_SECTIONS
    from ..admin.services import BEFORE_TRANSITION
    from ..main.services import HOME_PANELS
    from ..templating import ADMIN_LINKS, NAV_ITEMS, add_once

    add_once(NAV_ITEMS, ("assessment.index", _l("考评结果"), ()))
    add_once(ADMIN_LINKS, ("assessment.indicators", _l("考评指标库"), _l("指标、维度、权重、计分方法")))
    add_once(ADMIN_LINKS, ("assessment.flags", _l("约谈提示"), _l("连续两年在类别中排名末位的单位")))
    add_once(ADMIN_LINKS, ("assessment.api_clients", _l("数据接口令牌"), _l("业务系统调用 /api/v1 的令牌")))
    add_once(HOME_PANELS, ("assessment/_home_panel.html", home_panel))
    add_once(CYCLE_SECTIONS, "assessment/_cycle_section.html")
    add_once(BEFORE_TRANSITION["open"], services.freeze_on_open)
    add_once(BEFORE_TRANSITION["published"], runs.require_published_run)

    # Soft indicators come from the features that collect them.
    from ..claims.services import soft_indicator_values as team_points
    from ..feedback.services import soft_indicator_values as feedback_360
    from ..residents.services import soft_indicator_values as resident_satisfaction

    soft.register_provider(feedback_360)
    soft.register_provider(team_points)
    soft.register_provider(resident_satisfaction)

    from ..demo import STEPS
    from .demo import seed_assessment

    add_once(STEPS, ("assessment", seed_assessment))
