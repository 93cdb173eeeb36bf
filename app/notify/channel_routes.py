"""Pages of the channels outside the app: a user's notification settings, the admin's delivery log."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..extensions import db
from ..localtime import bureau_zone
from ..models import Delivery, Notification, ResidentSms, User
from ..paging import RowsPage
from ..security import role_required
from ..views import run_service
from . import preferences
from .channels import channel_states, configured_channels
from .forms import DeliveryFilterForm, PreferencesForm
from .kinds import KINDS

bp = Blueprint("notify_channels", __name__)

CHANNEL_LABELS = {"sms": _l("短信"), "email": _l("电子邮件")}
STATUS_LABELS = {"queued": _l("排队中"), "sent": _l("已发送"), "retrying": _l("等待重试"), "failed": _l("失败"),
                 "given_up": _l("已放弃"), "cancelled": _l("已取消")}
PURPOSE_LABELS = {"invite": _l("评价邀请"), "reminder": _l("提醒")}


# ---- the user's own settings -------------------------------------------------------------------
@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def settings():
    form = PreferencesForm(obj=current_user)
    current = preferences.choices(current_user)
    if form.validate_on_submit():
        enabled = {pair for pair in current if request.form.get(f"pref-{pair[0]}-{pair[1]}") == "on"}
        if run_service(preferences.save_preferences, current_user, form.mobile.data, form.email.data, enabled,
                       form=form, success=_("通知设置已保存。")):
            return redirect(url_for(".settings"))
        current = {pair: pair in enabled for pair in current}
    described = {kind: re.sub(r"%\(\w+\)s", "…", str(entry.text)) for kind, entry in KINDS.items()}
    return render_template("notify/settings.html", form=form, kinds=KINDS, described=described, current=current,
                           ready=configured_channels(), channel_labels=CHANNEL_LABELS)


# ---- the admin's delivery log ------------------------------------------------------------------
def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=bureau_zone()).astimezone(UTC).replace(tzinfo=None)


def _filters() -> tuple[DeliveryFilterForm, dict]:
    form = DeliveryFilterForm(formdata=request.args)
    form.status.choices = [("", _("全部"))] + [(k, str(v)) for k, v in STATUS_LABELS.items()]
    form.channel.choices = [("", _("全部"))] + [(k, str(v)) for k, v in CHANNEL_LABELS.items()]
    if not form.validate():
        return form, {}
    return form, {"status": form.status.data or "", "channel": form.channel.data or "",
                  "since": form.since.data, "until": form.until.data}


def _dated(query, column, chosen: dict):
    if chosen.get("since"):
        query = query.where(column >= _utc(chosen["since"]))
    if chosen.get("until"):
        query = query.where(column < _utc(chosen["until"] + timedelta(days=1)))
    return query


def _reminder_summary(chosen: dict) -> dict:
    """Reminders to residents, counted by status (with their errors), never listed one by one: a
    reminder goes only to a resident who has not answered, so a row per invitation would tell the
    office which residents answered (the answers stay unattributable, README "Residents")."""
    query = _dated(sa.select(ResidentSms.status, sa.func.count()).where(ResidentSms.purpose == "reminder"),
                   ResidentSms.created_at, chosen)
    counts = dict(db.session.execute(query.group_by(ResidentSms.status)).all())
    errors = _dated(sa.select(ResidentSms.last_error, sa.func.count())
                    .where(ResidentSms.purpose == "reminder", ResidentSms.status.in_(("failed", "retrying"))),
                    ResidentSms.created_at, chosen)
    return {"counts": counts, "errors": db.session.execute(
        errors.group_by(ResidentSms.last_error).order_by(sa.func.count().desc()).limit(5)).all()}


@bp.route("/admin/deliveries")
@role_required("admin")
def deliveries():
    form, chosen = _filters()
    residents = request.args.get("log") == "residents"
    reminders = None
    if residents:  # SMS to residents: no phone number, no link in here
        query = sa.select(ResidentSms).where(ResidentSms.purpose == "invite").order_by(ResidentSms.id.desc())
        if chosen.get("status"):
            query = query.where(ResidentSms.status == chosen["status"])
        if chosen.get("channel") == "email":
            query = query.where(sa.false())
        query = _dated(query, ResidentSms.created_at, chosen)
        reminders = _reminder_summary(chosen)
    else:
        query = (sa.select(Delivery, Notification.kind, User.username)
                 .join(Notification, Notification.id == Delivery.notification_id)
                 .join(User, User.id == Notification.user_id).order_by(Delivery.id.desc()))
        if chosen.get("status"):
            query = query.where(Delivery.status == chosen["status"])
        if chosen.get("channel"):
            query = query.where(Delivery.channel == chosen["channel"])
        query = _dated(query, Delivery.created_at, chosen)
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    rows = RowsPage(query, page, current_app.config["PER_PAGE"])
    query_args = {k: v for k, v in request.args.items() if k in ("status", "channel", "since", "until", "log") and v}
    return render_template("notify/deliveries.html", form=form, pagination=rows, residents=residents,
                           query_args=query_args, states=channel_states(), kinds=KINDS, reminders=reminders,
                           channel_labels=CHANNEL_LABELS, status_labels=STATUS_LABELS, purpose_labels=PURPOSE_LABELS)


def register() -> None:
    """Add this feature's entries to the foundation's registries (idempotent)."""
    from ..templating import ACTION_LABELS, ADMIN_LINKS, add_once

    add_once(ADMIN_LINKS, ("notify_channels.deliveries", _l("短信和邮件发送记录"),
                           _l("每条短信、邮件的状态、重试和服务商应答；渠道配置情况")))
    ACTION_LABELS.setdefault("user_contact_saved", _l("修改联系方式"))
