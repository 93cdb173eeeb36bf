"""Claims pages: file, confirm, review, the award ranking; points rules and case records for admins."""
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import scope
from ..admin.services import unit_choices
from ..dbutil import db_id
from ..errors import DomainError
from ..extensions import db
from ..formutil import select_choices
from ..imports import job_report, start_file_import
from ..models import CollaborationClaim, Cycle, Unit
from ..security import role_required
from ..tabular import xlsx_bytes
from ..views import run_service
from . import demo, services
from .forms import CaseImportForm, ClaimForm, MergeForm, PointsRulesForm, ReasonForm
from .standing import team_standing_cached

bp = Blueprint("claims", __name__)


def _claim_or_404(claim_id: int) -> CollaborationClaim:
    claim = scope.get_or_404(CollaborationClaim, claim_id)
    if not services.can_view(claim, current_user):
        abort(403)
    return claim


def _page(query):
    page = request.args.get("page", 1, type=int)
    page = min(max(page, 1), 100_000)  # a huge page number would overflow the database's OFFSET
    return db.paginate(query, page=page, per_page=current_app.config["PER_PAGE"], error_out=False)


def _cycle_arg() -> Cycle | None:
    return services.pick_cycle(request.args.get("cycle", type=db_id))


def _tabs(cycle) -> dict:
    """Counts shown on the tabs of every list."""
    to_confirm = services.to_confirm_query(current_user, cycle)
    tabs = {"mine": services.counts(services.my_claims_query(current_user, cycle))["total"],
            "confirm": services.counts(to_confirm)["total"] if to_confirm is not None else None,
            "review": None}
    if current_user.has_role("coordinator", "admin") and cycle is not None:
        tabs["review"] = services.review_count(cycle)
    return tabs


def _points(cycle, claims) -> dict:
    """Each listed claim's points and formula (claims of the shown cycle only)."""
    if cycle is None:
        return {}
    return services.claim_points(cycle, [c for c in claims if c.cycle_id == cycle.id])


# ---- lists -------------------------------------------------------------------------------------
@bp.route("/")
@login_required
def index():
    cycle = _cycle_arg()
    query = services.my_claims_query(current_user, cycle)
    pagination = _page(services.with_table_rows(query))
    flags = services.cycle_flags(cycle) if cycle else services.CycleFlags()
    return render_template("claims/list.html", tab="mine", cycle=cycle, cycles=services.cycles(),
                           claims=pagination.items, pagination=pagination, stats=services.counts(query),
                           tabs=_tabs(cycle), flags=flags, open_cycle=services.open_cycle(),
                           points=_points(cycle, pagination.items))


@bp.route("/confirm")
@login_required
def to_confirm():
    cycle = _cycle_arg()
    query = services.to_confirm_query(current_user, cycle)
    if query is None:
        abort(403)
    pagination = _page(services.with_table_rows(query))
    flags = services.cycle_flags(cycle) if cycle else services.CycleFlags()
    return render_template("claims/list.html", tab="confirm", cycle=cycle, cycles=services.cycles(),
                           claims=pagination.items, pagination=pagination, stats=services.counts(query),
                           tabs=_tabs(cycle), flags=flags, open_cycle=services.open_cycle(),
                           points=_points(cycle, pagination.items))


@bp.route("/review")
@role_required("coordinator", "admin")
def review():
    cycle = _cycle_arg()
    status = request.args.get("status", "pending")
    unit_id = request.args.get("unit", type=db_id)
    flag = request.args.get("flag") or None
    if flag not in services.FLAG_LABELS:
        flag = None
    statuses = services.REVIEW_STATUSES if status == "pending" else (
        (status,) if status in services.STATUS_LABELS else ())
    claims, listing, flags, by_status = [], None, services.CycleFlags(), {}
    if cycle is not None:
        flags = services.cycle_flags(cycle)
        page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
        listing = services.review_queue(cycle, statuses, unit_id, flag, flags, page=page,
                                        per_page=current_app.config["PER_PAGE"])
        claims = listing.items
        by_status = services.counts(db.select(CollaborationClaim).where(CollaborationClaim.cycle_id == cycle.id))
    return render_template("claims/review.html", tab="review", cycle=cycle, cycles=services.cycles(),
                           claims=claims, listing=listing, flags=flags, status=status, unit_id=unit_id, flag=flag,
                           units=unit_choices(), stats=by_status, tabs=_tabs(cycle), points=_points(cycle, claims),
                           rules=services.points_rules(cycle) if cycle else None)


# ---- filing ------------------------------------------------------------------------------------
def _claim_form(cycle: Cycle, claim: CollaborationClaim | None = None) -> ClaimForm:
    form = ClaimForm(obj=claim)
    rules = services.points_rules(cycle)
    form.set_choices(services.case_types(rules), services.severities(rules), unit_choices())
    if request.method == "GET" and claim is not None:
        for entry, p in zip(form.participants, claim.participants, strict=False):
            entry.form.unit_id.data = p.unit_id
            entry.form.badge_no.data = p.officer.badge_no
            entry.form.role.data = p.role
            entry.form.share.data = services.format_bp(p.proposed_bp)
    elif request.method == "GET" and current_user.officer is not None:
        form.lead_unit_id.data = current_user.officer.unit_id
        first = form.participants[0].form
        first.unit_id.data = current_user.officer.unit_id
        first.badge_no.data = current_user.officer.badge_no
        first.role.data = "lead"
    return form


def _save_claim(form: ClaimForm, claim, cycle):
    try:
        saved = services.save_claim(claim, form.service_data(), current_user, cycle)
    except DomainError as error:
        db.session.rollback()
        target = getattr(form, error.field, None) if error.field and error.field != "participants" else None
        if target is not None:
            target.errors = list(target.errors) + [error.message]
        else:
            form.form_errors.append(error.message)
        return None
    db.session.commit()
    return saved


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    cycle = services.open_cycle()
    if cycle is None:
        flash(_("当前没有进行中的考评周期，暂不能申报。"), "warning")
        return redirect(url_for(".index"))
    form = _claim_form(cycle)
    if form.validate_on_submit():
        saved = _save_claim(form, None, cycle)
        if saved:
            flash(_("申报已保存为草稿。确认无误后请提交。"), "success")
            return redirect(url_for(".detail", claim_id=saved.id))
    return render_template("claims/form.html", form=form, cycle=cycle, claim=None)


@bp.route("/<int:claim_id>/edit", methods=["GET", "POST"])
@login_required
def edit(claim_id):
    claim = _claim_or_404(claim_id)
    if claim.filed_by_id != current_user.id:
        abort(403)
    if not claim.is_editable:
        flash(_("只有草稿或已退回的申报可以修改。"), "warning")
        return redirect(url_for(".detail", claim_id=claim.id))
    form = _claim_form(claim.cycle, claim)
    if form.validate_on_submit():
        if _save_claim(form, claim, claim.cycle):
            flash(_("申报已保存。"), "success")
            return redirect(url_for(".detail", claim_id=claim.id))
    return render_template("claims/form.html", form=form, cycle=claim.cycle, claim=claim)


# ---- one claim ---------------------------------------------------------------------------------
@bp.route("/<int:claim_id>")
@login_required
def detail(claim_id):
    claim = _claim_or_404(claim_id)
    flags = services.cycle_flags(claim.cycle)
    record = None
    if flags.has_case_records:
        record = services.verify_refs(claim.cycle, [claim.case_ref]).get(claim.case_ref)
    duplicates = services.duplicates_of(claim)
    merge_form = MergeForm()
    merge_form.target.choices = select_choices({c.id: f"#{c.id} {c.case_ref}" for c in duplicates})
    return render_template(
        "claims/detail.html", claim=claim, flags=flags.of(claim.id), flag_data=flags, record=record,
        duplicates=duplicates, reason_form=ReasonForm(), merge_form=merge_form,
        my_units=services.leader_units(claim, current_user), pending=services.pending_units(claim),
        conflict=services.review_conflict(claim, current_user),
        points=services.claim_points(claim.cycle, [claim]).get(claim.id), rules=services.points_rules(claim.cycle),
        splits=services.split_partners(claim) if "split" in flags.of(claim.id) else [],
        units={u.id: u for u in db.session.execute(db.select(Unit).where(Unit.id.in_(claim.unit_ids))).scalars()},
    )


def _act(claim, action, *args, success=""):
    run_service(action, claim, current_user, *args, success=success)
    return redirect(url_for(".detail", claim_id=claim.id))


def _posted_reason() -> str:
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    return form.reason.data or ""


@bp.route("/<int:claim_id>/submit", methods=["POST"])
@login_required
def submit(claim_id):
    claim = _claim_or_404(claim_id)
    _posted_reason()
    return _act(claim, services.submit_claim, success=_("申报已提交，等待各参与单位领导确认。"))


@bp.route("/<int:claim_id>/decide", methods=["POST"])
@login_required
def decide(claim_id):
    claim = _claim_or_404(claim_id)
    reason = _posted_reason()
    unit_id = request.form.get("unit_id", type=db_id) or 0
    decision = request.form.get("decision", "")

    def run(c, user):
        services.decide_for_unit(c, unit_id, user, decision, reason)

    return _act(claim, run, success=_("已确认。") if decision == "confirmed" else _("已提出异议。"))


@bp.route("/<int:claim_id>/approve", methods=["POST"])
@role_required("coordinator")
def approve(claim_id):
    claim = _claim_or_404(claim_id)
    reason = _posted_reason()
    shares = {int(k[len("final_"):]): v for k, v in request.form.items()
              if k.startswith("final_") and k[len("final_"):].isdigit()}
    acknowledged = request.form.get("unverified_acknowledged") == "1"
    # No flash: the claim's page itself says it is approved and locked (twice read as a glitch).
    return _act(claim, services.approve_claim, shares, reason, acknowledged, success=None)


@bp.route("/<int:claim_id>/return", methods=["POST"])
@role_required("coordinator")
def return_(claim_id):
    claim = _claim_or_404(claim_id)
    reason = _posted_reason()
    return _act(claim, services.return_claim, reason, success=_("申报已退回申报人修改。"))


@bp.route("/<int:claim_id>/reject", methods=["POST"])
@role_required("coordinator")
def reject(claim_id):
    claim = _claim_or_404(claim_id)
    reason = _posted_reason()
    return _act(claim, services.reject_claim, reason, success=_("申报已驳回。"))


@bp.route("/<int:claim_id>/merge", methods=["POST"])
@role_required("coordinator")
def merge(claim_id):
    claim = _claim_or_404(claim_id)
    form = MergeForm()
    form.target.choices = select_choices({c.id: str(c.id) for c in services.duplicates_of(claim)})
    if not form.validate_on_submit():
        flash(_("请选择要保留的申报。"), "danger")
        return redirect(url_for(".detail", claim_id=claim.id))
    return _act(claim, services.merge_claim, form.target.data, form.reason.data or "",
                success=_("已合并到申报 #%(id)d。", id=form.target.data))


# ---- points ------------------------------------------------------------------------------------
@bp.route("/award")
@login_required
def award():
    cycle = _cycle_arg()
    standing = team_standing_cached(cycle) if cycle else None
    return render_template("claims/award.html", cycle=cycle, cycles=services.cycles(), standing=standing)


@bp.route("/rules/<int:cycle_id>", methods=["GET", "POST"])
@role_required("admin")
def rules(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    current = services.points_rules(cycle)
    form = PointsRulesForm()
    if request.method == "GET":
        form.base_points.data = services.rules_as_text(current)
        form.multiplier_step.data = current.multiplier_step
        form.multiplier_cap.data = current.multiplier_cap
        form.officer_cap.data = current.officer_cap
        form.min_unit_share.data = current.min_unit_share
    if cycle.is_frozen and request.method == "POST":
        flash(_("周期已开启，积分规则已冻结，不能再修改。"), "warning")
        return redirect(url_for(".rules", cycle_id=cycle.id))
    if form.validate_on_submit():
        data = {"base_points": form.base_points.data, "multiplier_step": float(form.multiplier_step.data),
                "multiplier_cap": float(form.multiplier_cap.data),
                "officer_cap": float(form.officer_cap.data) if form.officer_cap.data is not None else None,
                "min_unit_share": float(form.min_unit_share.data)}
        try:
            services.save_points_rules(cycle, data, current_user)
        except DomainError as error:
            db.session.rollback()
            target = getattr(form, error.field, None) if error.field else None
            if target is not None:
                target.errors = list(target.errors) + [error.message]
            else:
                flash(error.message, "danger")
        else:
            db.session.commit()
            flash(_("积分规则已保存。"), "success")
            return redirect(url_for(".rules", cycle_id=cycle.id))
    return render_template("claims/rules.html", cycle=cycle, form=form, rules=current,
                           case_types=services.case_types(current), severities=services.severities(current),
                           stored=bool((cycle.config or {}).get("points_rules")))


# ---- case records ------------------------------------------------------------------------------
@bp.route("/cases", methods=["GET", "POST"])
@role_required("admin")
def cases():
    form = CaseImportForm()
    if form.validate_on_submit():  # a job imports the file; its page leads back here with ?job=
        from ..monitoring.jobs import CASE_REQUIRED

        started = start_file_import(form, "import_cases", "records", url_for(".cases"), CASE_REQUIRED,
                                    endpoint="claims.cases")
        if started:
            return started
    return render_template("claims/cases.html", form=form, report=job_report("import_cases"),
                           summary=services.case_record_summary())


@bp.route("/cases/template.xlsx")
@role_required("admin")
def cases_template():
    data = xlsx_bytes(list(services.CASE_COLUMNS),
                      [["A3301002026100001", "2026-10-05", "刑事", "PS01", "是", "在办"]], title="cases")
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=case-records-template.xlsx"})


# ---- registration ------------------------------------------------------------------------------
def _register_hooks() -> None:
    """Append this feature's entries to the shared registries (once per process)."""
    from ..admin import routes as admin_routes
    from ..admin.services import BEFORE_TRANSITION
    from ..demo import STEPS
    from ..main.services import HOME_PANELS
    from ..templating import ADMIN_LINKS, NAV_ITEMS

    if any(endpoint == "claims.index" for endpoint, *_rest in NAV_ITEMS):
        return
    NAV_ITEMS.append(("claims.index", _l("协作申报"), ()))
    ADMIN_LINKS.append(("claims.cases", _l("案件数据"), _l("导入案件记录，用于核实协作申报的案件编号")))
    HOME_PANELS.append(("claims/_home_todo.html", services.home_todo))
    HOME_PANELS.append(("claims/_home_award.html", services.home_award))
    admin_routes.CYCLE_SECTIONS.append("claims/_cycle_section.html")
    BEFORE_TRANSITION["open"].append(services.freeze_points_rules)
    STEPS.append(("claims", demo.seed_claims))


_register_hooks()


@bp.app_context_processor
def _claims_helpers():
    """Labels and a cycle summary for the claims templates and the sections they add elsewhere."""
    return {"CLAIM_STATUS_LABELS": services.STATUS_LABELS, "CLAIM_STATUS_COLOURS": services.STATUS_COLOURS,
            "CLAIM_ROLE_LABELS": services.ROLE_LABELS, "CLAIM_FLAG_LABELS": services.FLAG_LABELS,
            "CLAIM_ACTION_LABELS": services.ACTION_LABELS, "CASE_STATUS_LABELS": services.CASE_STATUS_LABELS,
            "format_bp": services.format_bp, "claims_cycle_summary": services.cycle_summary}
