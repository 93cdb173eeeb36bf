"""Staff pages of the resident feedback: invitations, batch links, window QR posters, follow-ups,
and the admin lists (service types, flag keywords)."""
import io

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from .. import scope
from ..admin.forms import ConfirmForm
from ..admin.routes import CYCLE_SECTIONS
from ..demo import STEPS as DEMO_STEPS
from ..errors import DomainError
from ..extensions import db
from ..formutil import select_choices
from ..main.services import HOME_PANELS
from ..models import AuditLog, FlagKeyword, FollowUp, ResidentInvitation, ServiceType, Unit
from ..notify.channels import sms_configured
from ..security import role_required
from ..templating import ACTION_LABELS, ADMIN_LINKS, NAV_ITEMS
from ..views import run_service, show_error
from . import demo, services
from .forms import (
    ANSWER_LABELS,
    CHANNEL_LABELS,
    FOLLOW_UP_STATUS_LABELS,
    LEVEL_LABELS,
    RESOLVED_LABELS,
    BatchForm,
    InvitationForm,
    KeywordForm,
    NoteForm,
    ServiceTypeForm,
)
from .settings import local_today, setting

bp = Blueprint("residents", __name__)

STAFF = ("admin", "supervisor", "officer")
LEADERS = ("admin", "supervisor")

NAV_ITEMS.append(("residents.index", _l("群众评价"), STAFF))
ADMIN_LINKS.extend([
    ("residents.service_types", _l("群众评价业务类型"), _l("业务类型；敏感业务不发送评价邀请")),
    ("residents.keywords", _l("评价关键词"), _l("意见中出现这些词时自动转入回访核查")),
    ("residents.windows", _l("窗口评价二维码"), _l("各单位服务窗口的评价二维码海报")),
])
ACTION_LABELS.update({
    "resident_invitation_created": _l("生成评价邀请"), "resident_invitation_revoked": _l("撤销评价邀请"),
    "follow_up_checked": _l("记录核查"), "follow_up_fixed": _l("记录整改"),
    "service_type_saved": _l("保存评价业务类型"), "flag_keyword_added": _l("添加评价关键词"),
    "flag_keyword_deleted": _l("删除评价关键词"),
})
HOME_PANELS.append(("residents/_home_panel.html", services.home_panel))
CYCLE_SECTIONS.append("residents/_cycle_section.html")
DEMO_STEPS.extend([("resident-types", demo.seed_service_types), ("residents", demo.seed_residents)])


@bp.app_context_processor
def labels():
    # SATISFACTION_LABELS, not LEVEL_LABELS: the assessment's labels of unit/officer levels use that name.
    return {"SATISFACTION_LABELS": LEVEL_LABELS, "ANSWER_LABELS": ANSWER_LABELS, "RESOLVED_LABELS": RESOLVED_LABELS,
            "CHANNEL_LABELS": CHANNEL_LABELS,
            "FOLLOW_UP_STATUS_LABELS": FOLLOW_UP_STATUS_LABELS, "resident_cycle_summary": services.cycle_summary,
            "resident_week": services.week_label}


def _page(query):
    page = request.args.get("page", 1, type=int)
    page = min(max(page, 1), 100_000)  # a huge page number would overflow the database's OFFSET
    return db.paginate(query, page=page, per_page=current_app.config["PER_PAGE"], error_out=False)


def qr_svg(url: str, scale: int = 5) -> str:
    """An inline SVG QR code of ``url`` (segno output: markup we generate, safe to embed)."""
    return segno.make(url, error="m").svg_inline(scale=scale, border=2)


# ---- invitations -------------------------------------------------------------------------------
@bp.route("/")
@role_required(*STAFF)
def index():
    state = request.args.get("state", "")
    if state not in ("", "open", "ended", "revoked"):
        state = ""
    pagination = _page(services.invitations_query(current_user, state))
    return render_template("residents/index.html", pagination=pagination, state=state,
                           now=services.utcnow(), is_leader=current_user.has_role(*LEADERS))


@bp.route("/invitations/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new_invitation():
    form = InvitationForm()
    form.service_type_id.choices = select_choices({0: "—", **services.service_type_choices()})
    form.unit_id.choices = select_choices(services.unit_choices_for(current_user))
    if request.method == "GET":
        officer = current_user.officer
        if officer is not None:
            form.unit_id.data = officer.unit_id
            form.officers.data = officer.badge_no
    if form.validate_on_submit():
        allowed = services.inviting_unit_ids(current_user)
        unit = db.session.get(Unit, form.unit_id.data)
        if allowed is not None and (unit is None or unit.id not in allowed):
            unit = None
        made = run_service(
            services.create_invitation, service_type=db.session.get(ServiceType, form.service_type_id.data),
            unit=unit, badges=services.parse_badges(form.officers.data), reference=form.reference.data or "",
            created_by=current_user, form=form, success=_("评价链接已生成。请发送给群众或打印评价卡；链接只在此显示。"))
        if made:
            invitation, token = made
            # The token is shown once, in this response, and kept nowhere: not in the database (only
            # its hash), not in the session cookie (signed, not encrypted: readable by whoever holds
            # it), not in a cache on the way (no-store).
            response = make_response(_invitation_page(invitation, token))
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template("residents/form.html", form=form, title=_("生成评价邀请"), back=url_for(".index"))


def _own_invitation(invitation_id: int) -> ResidentInvitation:
    invitation = scope.get_or_404(ResidentInvitation, invitation_id)
    if not services.can_manage_invitation(current_user, invitation):
        abort(403)
    return invitation


@bp.route("/invitations/<int:invitation_id>")
@role_required(*STAFF)
def invitation(invitation_id):
    return _invitation_page(_own_invitation(invitation_id))


def _invitation_page(invitation: ResidentInvitation, token: str | None = None):
    """The invitation; with ``token`` (only in the response that made it) also its link, QR and slip."""
    link = qr = None
    state = invitation.staff_state(services.utcnow())
    if token and state == "open":
        link = services.link_url(token)
        qr = qr_svg(link)
    history = db.session.execute(
        select(AuditLog).filter_by(entity="resident_invitation", entity_id=str(invitation.id)).order_by(AuditLog.id)
    ).scalars().all()
    return render_template("residents/invitation.html", invitation=invitation, link=link, qr=qr,
                           state=state, confirm=ConfirmForm(), history=history,
                           days=setting("RESIDENT_LINK_DAYS"))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@role_required(*STAFF)
def revoke(invitation_id):
    invitation = _own_invitation(invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    run_service(services.revoke_invitation, invitation, current_user,
                success=_("链接已撤销，群众将无法再用它评价。"))
    return redirect(url_for(".invitation", invitation_id=invitation_id))


# ---- batch links for the SMS gateway -----------------------------------------------------------
@bp.route("/batch", methods=["GET", "POST"])
@role_required(*LEADERS)
def batch():
    form = BatchForm()
    plan = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            plan = services.plan_batch(upload.filename, upload.read())
            allowed = services.inviting_unit_ids(current_user)
            if allowed is not None:
                outside = [r for r in plan.rows if r.unit.id not in allowed]
                plan.rows = [r for r in plan.rows if r.unit.id in allowed]
                plan.skipped.extend((r.number, r.reference, _("不是本单位的业务")) for r in outside)
                plan.skipped.sort()
        except DomainError as error:
            show_error(error, form)
            plan = None
        else:
            if form.submit.data and plan.rows and sms_configured():
                sent = services.create_batch_by_sms(plan, current_user)
                db.session.commit()
                flash(_("已生成 %(n)d 个评价链接，正在通过短信平台发送，跳过 %(s)d 行。", n=sent, s=len(plan.skipped)),
                      "success")
                return redirect(url_for(".batch"))
            if form.submit.data and plan.rows:
                links = services.create_batch(plan, current_user)
                content, mimetype, filename = services.batch_file(links, plan, form.fmt.data)
                db.session.commit()
                flash(_("已生成 %(n)d 个评价链接，跳过 %(s)d 行。", n=len(links), s=len(plan.skipped)), "success")
                return Response(content, mimetype=mimetype,
                                headers={"Content-Disposition": f"attachment; filename={filename}",
                                         "Cache-Control": "no-store"})
            db.session.rollback()
            if form.submit.data:
                flash(_("没有可以邀请的记录，未生成链接。"), "warning")
    return render_template("residents/batch.html", form=form, plan=plan, by_sms=sms_configured(),
                           required=services.BATCH_REQUIRED, optional=services.BATCH_OPTIONAL)


# ---- window QR posters -------------------------------------------------------------------------
def _window_units():
    allowed = services.inviting_unit_ids(current_user)
    query = select(Unit).where(Unit.is_active).order_by(Unit.code)
    if allowed is not None:
        query = query.where(Unit.id.in_(allowed or {-1}))
    return db.session.execute(query).scalars().all()


def _window_unit_or_404(code: str) -> Unit:
    unit = services.window_unit(code)
    allowed = services.inviting_unit_ids(current_user)
    if unit is None or (allowed is not None and unit.id not in allowed):
        abort(404)
    return unit


@bp.route("/windows")
@role_required(*LEADERS)
def windows():
    from ..templating import readable_rate_limit

    limit = _("每个窗口 %(one)s，所有窗口合计 %(all)s", one=readable_rate_limit(setting("RESIDENT_WINDOW_RATE_LIMIT")),
              all=readable_rate_limit(setting("RESIDENT_WINDOW_ADDRESS_RATE_LIMIT")))
    return render_template("residents/windows.html", units=_window_units(), limit=limit)


@bp.route("/windows/<code>/poster")
@role_required(*LEADERS)
def window_poster(code):
    unit = _window_unit_or_404(code)
    url = services.window_url(unit.code)
    return render_template("residents/poster.html", unit=unit, url=url, qr=qr_svg(url, scale=10))


@bp.route("/windows/<code>/qr.svg")
@role_required(*LEADERS)
def window_qr(code):
    unit = _window_unit_or_404(code)
    buffer = io.BytesIO()
    segno.make(services.window_url(unit.code), error="m").save(buffer, kind="svg", scale=10, border=2)
    return Response(buffer.getvalue(), mimetype="image/svg+xml",
                    headers={"Content-Disposition": f"attachment; filename=window-{unit.code}.svg"})


# ---- follow-ups --------------------------------------------------------------------------------
@bp.route("/follow-ups")
@role_required(*LEADERS)
def follow_ups():
    status = request.args.get("status", "unfinished")
    overdue = request.args.get("overdue") == "1"
    today = local_today()
    pagination = _page(services.follow_ups_query(current_user, status, overdue_only=overdue, today=today))
    return render_template("residents/follow_ups.html", pagination=pagination, status=status, overdue=overdue,
                           today=today, counts=services.follow_up_counts(current_user, today),
                           days=setting("RESIDENT_FOLLOW_UP_DAYS"))


def _follow_up_or_404(item_id: int) -> FollowUp:
    item = scope.get_or_404(FollowUp, item_id)
    if not services.can_handle_follow_up(current_user, item):
        abort(403)
    return item


@bp.route("/follow-ups/<int:item_id>", methods=["GET"])
@role_required(*LEADERS)
def follow_up(item_id):
    item = _follow_up_or_404(item_id)
    return _follow_up_page(item, NoteForm())


def _follow_up_page(item: FollowUp, form: NoteForm, status: int = 200):
    form.note.label.text = (_("核查情况（核实经过、结论）") if item.status == "open"
                            else _("整改情况（采取的措施、向群众反馈的情况）"))
    history = db.session.execute(
        select(AuditLog).filter_by(entity="resident_follow_up", entity_id=str(item.id)).order_by(AuditLog.id)
    ).scalars().all()
    return render_template("residents/follow_up.html", item=item, form=form, history=history,
                           today=local_today()), status


@bp.route("/follow-ups/<int:item_id>/<any(check, fix):step>", methods=["POST"])
@role_required(*LEADERS)
def follow_up_step(item_id, step):
    item = _follow_up_or_404(item_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _follow_up_page(item, form, 200)
    action = services.check_follow_up if step == "check" else services.fix_follow_up
    done = _("核查情况已记录。") if step == "check" else _("整改情况已记录，事项已办结。")
    if not run_service(action, item, form.note.data, current_user, form=form, success=done):
        return _follow_up_page(db.session.get(FollowUp, item_id), form, 200)
    return redirect(url_for(".follow_up", item_id=item_id))


@bp.route("/responses")
@role_required(*LEADERS)
def responses():
    return render_template("residents/responses.html", pagination=_page(services.responses_query(current_user)))


# ---- admin lists -------------------------------------------------------------------------------
@bp.route("/service-types")
@role_required("admin")
def service_types():
    rows = db.session.execute(select(ServiceType).order_by(ServiceType.id)).scalars().all()
    return render_template("residents/service_types.html", rows=rows)


@bp.route("/service-types/new", methods=["GET", "POST"])
@bp.route("/service-types/<int:type_id>/edit", methods=["GET", "POST"])
@role_required("admin")
@scope.installation_settings
def edit_service_type(type_id=None):
    row = db.get_or_404(ServiceType, type_id) if type_id else None
    form = ServiceTypeForm(obj=row)
    if form.validate_on_submit() and run_service(services.save_service_type, row, form.data, form=form,
                                                 success=_("业务类型已保存。")):
        return redirect(url_for(".service_types"))
    return render_template("residents/form.html", form=form, back=url_for(".service_types"),
                           title=_("编辑业务类型") if row else _("新增业务类型"))


@bp.route("/keywords", methods=["GET", "POST"])
@role_required("admin")
@scope.installation_settings
def keywords():
    form = KeywordForm()
    if form.validate_on_submit() and run_service(services.add_keyword, form.word.data, form=form,
                                                 success=_("关键词已添加。")):
        return redirect(url_for(".keywords"))
    rows = db.session.execute(select(FlagKeyword).order_by(FlagKeyword.id)).scalars().all()
    return render_template("residents/keywords.html", form=form, rows=rows, confirm=ConfirmForm())


@bp.route("/keywords/<int:keyword_id>/delete", methods=["POST"])
@role_required("admin")
@scope.installation_settings
def delete_keyword(keyword_id):
    keyword = db.get_or_404(FlagKeyword, keyword_id)
    if ConfirmForm().validate_on_submit():
        run_service(services.delete_keyword, keyword, success=_("关键词已删除。"))
    return redirect(url_for(".keywords"))
