import json

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import scope
from ..dbutil import db_id
from ..extensions import db
from ..formutil import select_choices
from ..imports import job_report, start_file_import
from ..models import AuditLog, Cycle, Officer, Unit, User
from ..security import role_required, safe_referrer
from ..tabular import xlsx_bytes
from ..views import run_service
from . import audit_log, province, services, settings_summary
from .forms import (
    AuditFilterForm,
    ConfirmForm,
    CycleForm,
    ImportForm,
    OfficerForm,
    ResetPasswordForm,
    UnitForm,
    UserForm,
)

bp = Blueprint("admin", __name__)


@bp.before_request
@role_required("admin")
def require_admin():
    """Every page here is for the assessment office's administrators."""


def _get_or_404(model, ident):
    return scope.get_or_404(model, ident)


def _page(query):
    page = request.args.get("page", 1, type=int)
    page = min(max(page, 1), 100_000)  # a huge page number would overflow the database's OFFSET
    return db.paginate(query, page=page, per_page=current_app.config["PER_PAGE"], error_out=False)


@bp.route("/")
def index():
    return render_template("admin/index.html", sees_all=scope.sees_all())


@bp.route("/province")
def province_overview():
    """Every bureau side by side: for the province and the installation's admins (a bureau's admin sees one)."""
    if not scope.sees_all():
        abort(403)
    return render_template("admin/province.html", bureaus=province.bureau_overview())


# ---- units -------------------------------------------------------------------------------------
@bp.route("/units")
def units():
    counts = dict(db.session.execute(
        db.select(Officer.unit_id, db.func.count(Officer.id)).where(Officer.is_active).group_by(Officer.unit_id)
    ).all())
    return render_template("admin/units.html", tree=services.unit_tree(), counts=counts)


@bp.route("/units/new", methods=["GET", "POST"])
@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
def edit_unit(unit_id=None):
    unit = _get_or_404(Unit, unit_id) if unit_id else None
    form = UnitForm(obj=unit)
    form.parent_id.choices = select_choices({0: "—", **services.unit_choices(("bureau", "station", "police_type"))})
    if request.method == "GET" and unit is not None:
        form.category.data = str(unit.category) if unit.category else ""
        form.parent_id.data = unit.parent_id or 0
    if form.validate_on_submit() and run_service(services.save_unit, unit, form.data, form=form):
        flash(_("单位已保存。"), "success")
        return redirect(url_for(".units"))
    return render_template("admin/form.html", form=form,
                           title=_("编辑单位") if unit else _("新建单位"), back=url_for(".units"))


# ---- officers ----------------------------------------------------------------------------------
@bp.route("/officers")
def officers():
    q = request.args.get("q", "")[:50]
    unit_id = request.args.get("unit", type=db_id)
    inactive = request.args.get("inactive") == "1"
    pagination = _page(services.search_officers(q, unit_id, inactive))
    return render_template("admin/officers.html", pagination=pagination, q=q, unit_id=unit_id,
                           inactive=inactive, units=services.unit_choices(), confirm=ConfirmForm())


@bp.route("/officers/new", methods=["GET", "POST"])
@bp.route("/officers/<int:officer_id>/edit", methods=["GET", "POST"])
def edit_officer(officer_id=None):
    officer = _get_or_404(Officer, officer_id) if officer_id else None
    form = OfficerForm(obj=officer)
    form.unit_id.choices = select_choices(services.unit_choices())
    if form.validate_on_submit() and run_service(services.save_officer, officer, form.data, form=form):
        flash(_("民警信息已保存。"), "success")
        return redirect(url_for(".officers", q=form.badge_no.data))
    return render_template("admin/form.html", form=form,
                           title=_("编辑民警") if officer else _("新增民警"), back=url_for(".officers"))


@bp.route("/officers/<int:officer_id>/<any(activate, deactivate):action>", methods=["POST"])
def set_officer_active(officer_id, action):
    officer = _get_or_404(Officer, officer_id)
    if ConfirmForm().validate_on_submit():
        services.set_officer_active(officer, action == "activate")
        db.session.commit()
        flash(_("已启用 %(name)s。", name=officer.name) if action == "activate"
              else _("已停用 %(name)s，其历史数据保留。", name=officer.name), "success")
    return redirect(safe_referrer(url_for(".officers")))


# ---- users -------------------------------------------------------------------------------------
@bp.route("/users")
def users():
    q = request.args.get("q", "")[:50]
    return render_template("admin/users.html", pagination=_page(services.search_users(q)), q=q,
                           confirm=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id=None):
    user = _get_or_404(User, user_id) if user_id else None
    form = UserForm(obj=user)
    scope.bureau_field(form, current=user.bureau_id if user else None)
    if request.method == "GET" and user is not None:
        form.roles.data = sorted(user.roles)
        form.badge_no.data = user.officer.badge_no if user.officer else ""
    if form.validate_on_submit() and run_service(services.save_user, user, form.data, form=form):
        flash(_("账号已保存。"), "success")
        return redirect(url_for(".users", q=form.username.data))
    return render_template("admin/form.html", form=form,
                           title=_("编辑账号") if user else _("新建账号"), back=url_for(".users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def reset_password(user_id):
    from ..auth.services import reset_password as reset

    user = _get_or_404(User, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit() and run_service(reset, user, form.password.data, form=form):
        flash(_("已重置 %(name)s 的密码，请告知本人尽快修改。", name=user.username), "success")
        return redirect(url_for(".users", q=user.username))
    return render_template("admin/form.html", form=form, title=_("重置密码：%(name)s", name=user.username),
                           back=url_for(".users"))


@bp.route("/users/<int:user_id>/<any(activate, deactivate):action>", methods=["POST"])
def set_user_active(user_id, action):
    user = _get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        run_service(services.set_user_active, user, action == "activate", current_user, success=_("账号已更新。"))
    return redirect(url_for(".users", q=user.username))


# ---- cycles ------------------------------------------------------------------------------------
@bp.route("/cycles")
def cycles():
    rows = db.session.execute(db.select(Cycle).where(scope.cycle_clause())
                              .order_by(Cycle.starts_on.desc(), Cycle.kind)).scalars().all()
    bureaus = {b.id: b.name for b in scope.bureaus()} if scope.sees_all() else {}
    return render_template("admin/cycles.html", cycles=rows, bureaus=bureaus if len(bureaus) > 1 else {})


@bp.route("/cycles/new", methods=["GET", "POST"])
@bp.route("/cycles/<int:cycle_id>/edit", methods=["GET", "POST"])
def edit_cycle(cycle_id=None):
    cycle = _get_or_404(Cycle, cycle_id) if cycle_id else None
    if cycle is not None and cycle.is_frozen:
        flash(_("周期已开启，设置已冻结，不能再修改。"), "warning")
        return redirect(url_for(".cycle", cycle_id=cycle.id))
    form = CycleForm(obj=cycle)
    scope.bureau_field(form, current=cycle.bureau_id if cycle else None)
    if cycle is not None and "bureau_id" in form:
        del form.bureau_id  # a cycle keeps the bureau it was made for
    saved = form.validate_on_submit() and run_service(services.save_cycle, cycle, form.data, form=form)
    if saved:
        flash(_("周期已保存。"), "success")
        return redirect(url_for(".cycle", cycle_id=saved.id))
    return render_template("admin/form.html", form=form,
                           title=_("编辑周期") if cycle else _("新建周期"), back=url_for(".cycles"))


# Templates that features add to a cycle's page (each gets `cycle`); filled when they register.
CYCLE_SECTIONS: list[str] = []


@bp.route("/cycles/<int:cycle_id>")
def cycle(cycle_id):
    cycle = _get_or_404(Cycle, cycle_id)
    history = db.session.execute(
        db.select(AuditLog).filter_by(entity="cycle", entity_id=str(cycle.id)).order_by(AuditLog.created_at)
    ).scalars().all()
    return render_template("admin/cycle.html", cycle=cycle, confirm=ConfirmForm(), history=history,
                           sections=CYCLE_SECTIONS, settings=settings_summary.summarise(cycle.config))


@bp.route("/cycles/<int:cycle_id>/settings.json")
def cycle_settings_json(cycle_id):
    """The frozen settings exactly as stored, for an inspection or a support request."""
    cycle = _get_or_404(Cycle, cycle_id)
    body = json.dumps(cycle.config or {}, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=cycle-{cycle.id}-settings.json"})


@bp.route("/cycles/<int:cycle_id>/close")
def confirm_close_cycle(cycle_id):
    """Before an irreversible close: what would be left undone, with links to it."""
    cycle = _get_or_404(Cycle, cycle_id)
    if cycle.status != "open":
        return redirect(url_for(".cycle", cycle_id=cycle_id))
    return render_template("admin/cycle_close.html", cycle=cycle, confirm=ConfirmForm(),
                           left=services.close_consequences(cycle))


@bp.route("/cycles/<int:cycle_id>/<any(open, closed, published):target>", methods=["POST"])
def transition_cycle(cycle_id, target):
    cycle = _get_or_404(Cycle, cycle_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    run_service(services.transition_cycle, cycle, target, success=_("周期状态已更新。"))
    return redirect(url_for(".cycle", cycle_id=cycle_id))


# ---- roster import -----------------------------------------------------------------------------
@bp.route("/import/roster", methods=["GET", "POST"])
def import_roster():
    form = ImportForm()
    if form.validate_on_submit():  # a job imports the file; its page leads back here with ?job=
        started = start_file_import(form, "import_roster", "roster", url_for(".import_roster"),
                                    services.ROSTER_REQUIRED)
        if started:
            return started
    return render_template("admin/import_roster.html", form=form, report=job_report("import_roster"))


@bp.route("/import/roster/template.xlsx")
def roster_template():
    data = xlsx_bytes(list(services.ROSTER_COLUMNS), [["001234", "张三", "PS01", "社区民警", "否"]],
                      title="roster")
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=roster-template.xlsx"})


# ---- audit log ---------------------------------------------------------------------------------
def _audit_filter() -> tuple[AuditFilterForm, audit_log.AuditFilter]:
    args = request.args.copy()
    if "entity" in args and "kind" not in args:  # the old parameter name, still linked from pages
        args["kind"] = args["entity"]
    form = AuditFilterForm(formdata=args)
    form.kind.choices = [("", _("全部"))] + [(code, str(label)) for code, label in audit_log.ENTITY_LABELS.items()]
    if not form.validate():
        return form, audit_log.AuditFilter()
    return form, audit_log.AuditFilter(who=(form.who.data or "").strip(), kind=form.kind.data or "",
                                       since=form.since.data, until=form.until.data)


@bp.route("/audit")
def audit():
    form, chosen = _audit_filter()
    query_args = {k: v for k, v in request.args.items() if k in ("who", "kind", "since", "until") and v}
    return render_template("admin/audit.html", pagination=_page(audit_log.audit_query(chosen)), form=form,
                           query_args=query_args, changes=audit_log.changes, action_label=audit_log.action_label,
                           object_label=audit_log.object_label, text_limit=audit_log.TEXT_LIMIT)


@bp.route("/audit.xlsx")
def audit_export():
    form, chosen = _audit_filter()
    header, rows, truncated = audit_log.export_rows(chosen)
    if truncated:
        rows.append([_("仅导出最近 %(n)d 条，请缩小日期或操作人范围后再导出。", n=audit_log.EXPORT_LIMIT)])
    data = xlsx_bytes(header, rows, title="audit")
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=audit-log.xlsx"})
