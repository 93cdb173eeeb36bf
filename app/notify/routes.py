"""The bell's pages: the reader's notifications (newest first), following one (marks it read), marking
all read; and, for admins, the reminder schedule with its last and next run."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from .. import scope
from ..extensions import db
from ..jobs.services import JobAlreadyActive, state_labels
from ..localtime import local_today
from ..models import Job, Notification, utcnow
from ..security import is_safe_redirect, role_required
from ..views import run_service
from . import reminders
from .kinds import render
from .services import unread_count

bp = Blueprint("notify", __name__)


class ScheduleForm(FlaskForm):
    days_before = StringField(_l("截止前几天提醒（逗号分隔）"), validators=[InputRequired(), Length(max=100)])
    time_of_day = StringField(_l("每天运行时间（时:分）"), validators=[InputRequired(), Length(max=5)])


class PostForm(FlaskForm):
    """CSRF only (mark all read, run now)."""


def _mine(notification_id: int) -> Notification:
    item = db.session.get(Notification, notification_id)
    if item is None or item.user_id != current_user.id:
        abort(404)
    return item


@bp.route("/")
@login_required
def index():
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    query = (sa.select(Notification).where(Notification.user_id == current_user.id)
             .order_by(Notification.created_at.desc(), Notification.id.desc()))
    pagination = db.paginate(query, page=page, per_page=current_app.config["PER_PAGE"], error_out=False)
    rows = [(item, render(item.kind, item.params or {})) for item in pagination.items]
    return render_template("notify/index.html", pagination=pagination, rows=rows, form=PostForm())


@bp.route("/<int:notification_id>/open")
@login_required
def follow(notification_id):
    """Mark one notification read and go to what it is about (a path on this site, else the list)."""
    item = _mine(notification_id)
    if item.read_at is None:
        db.session.execute(sa.update(Notification).where(Notification.id == item.id, Notification.read_at.is_(None))
                           .values(read_at=utcnow()))
        db.session.commit()
    return redirect(item.link if is_safe_redirect(item.link) else url_for(".index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    if PostForm().validate_on_submit():
        db.session.execute(sa.update(Notification).where(Notification.user_id == current_user.id,
                                                         Notification.read_at.is_(None)).values(read_at=utcnow()))
        db.session.commit()
        flash(_("所有通知已标为已读。"), "success")
    return redirect(url_for(".index"))


@bp.route("/my-result/<int:cycle_id>")
@login_required
def my_result(cycle_id):
    """The link of a result message: the reader's own report of that cycle."""
    if current_user.officer_id is None:
        return redirect(url_for("reports.index"))
    return redirect(url_for("reports.officer", officer_id=current_user.officer_id, cycle=cycle_id))


@bp.route("/schedule", methods=["GET", "POST"])
@role_required("admin")
@scope.installation_settings
def schedule():
    current = reminders.load_schedule()
    form = ScheduleForm(data={"days_before": current.days_before, "time_of_day": reminders.time_of_day(current)})
    if request.method == "POST" and form.validate_on_submit():
        if run_service(reminders.save_schedule, form.days_before.data, form.time_of_day.data, form=form,
                       success=_("提醒设置已保存。")):
            return redirect(url_for(".schedule"))
    current = reminders.load_schedule()
    last_jobs = db.session.execute(sa.select(Job).where(Job.kind == "reminders")
                                   .order_by(Job.id.desc()).limit(5)).scalars().all()
    return render_template("notify/schedule.html", form=form, schedule=current, run_form=PostForm(),
                           next_run=reminders.next_run(current), last_jobs=last_jobs,
                           state_labels=state_labels())


@bp.route("/schedule/run", methods=["POST"])
@role_required("admin")
@scope.installation_settings
def run_now():
    if not PostForm().validate_on_submit():
        return redirect(url_for(".schedule"))
    try:
        job = reminders.start_run(local_today(), user_id=current_user.id)
    except JobAlreadyActive as error:
        flash(error.message, "warning")
        return redirect(url_for("jobs.show", job_id=error.job_id) if error.job_id else url_for(".schedule"))
    db.session.commit()
    return redirect(url_for("jobs.show", job_id=job.id))


def bell_count() -> int:
    """The reader's unread count: one query per page, kept for the request."""
    if not current_user.is_authenticated:
        return 0
    if "notify_unread" not in g:
        g.notify_unread = unread_count(current_user.id)
    return g.notify_unread


def register(app) -> None:
    from ..demo import STEPS
    from ..templating import ACTION_LABELS, ADMIN_LINKS, add_once
    from .cli import send_reminders
    from .demo import seed_notifications

    app.jinja_env.globals["bell_count"] = bell_count
    add_once(ADMIN_LINKS, ("notify.schedule", _l("通知与提醒"),
                           _l("360 截止前提醒的天数、每日运行时间，上次和下次运行")))
    ACTION_LABELS.setdefault("reminder_schedule_saved", _l("保存提醒设置"))
    app.cli.add_command(send_reminders)
    add_once(STEPS, ("notifications", seed_notifications))
    reminders.register_web_scheduler(app)
