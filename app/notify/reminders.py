"""The daily reminder run and its schedule.

``run_reminders(day)`` raises the periodic events of ``day`` (bureau-local): the 360 deadline digest,
new and nearly overdue resident follow-ups, self-checks due, rectification items overdue. Every event
key holds the day or the item, so running it twice (two workers, cron and the scheduler, a retry)
tells nobody twice. ``tick()`` is the scheduler's beat: once the day's time has come it queues the
run as a background job (one per day: the job's key holds the day).
"""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import DomainError
from ..extensions import db
from ..localtime import bureau_zone, local_today, to_local
from ..models import Job, ReminderSchedule, utcnow

log = logging.getLogger(__name__)
MAX_DAYS_BEFORE = 60


# ---- the schedule ------------------------------------------------------------------------------
def load_schedule() -> ReminderSchedule:
    """The schedule row, or the defaults (not stored until someone saves them)."""
    schedule = db.session.get(ReminderSchedule, 1)
    return schedule if schedule is not None else ReminderSchedule(id=1, days_before="7,3,1", run_minute=480,
                                                                   last_summary={})


def _stored_schedule() -> ReminderSchedule:
    """The schedule row, written with the defaults first if missing (two racing runs both find it)."""
    schedule = db.session.get(ReminderSchedule, 1)
    if schedule is None:
        insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        db.session.execute(insert(ReminderSchedule).values(id=1, days_before="7,3,1", run_minute=480, last_summary={})
                           .on_conflict_do_nothing(index_elements=["id"]))
        schedule = db.session.get(ReminderSchedule, 1)
    assert schedule is not None
    return schedule


def parse_days(text: str) -> list[int]:
    """"7, 3, 1" -> [7, 3, 1]; DomainError for anything else."""
    parts = [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise DomainError(_("请填写截止前的天数，用逗号分隔，例如 7,3,1。"), field="days_before")
    days = sorted({int(p) for p in parts}, reverse=True)
    if days[0] > MAX_DAYS_BEFORE or len(days) > 10:
        raise DomainError(_("截止前天数最多 %(n)d 天、最多 10 个。", n=MAX_DAYS_BEFORE), field="days_before")
    return days


def parse_time(text: str) -> int:
    """"08:30" -> 510 minutes after midnight; DomainError otherwise."""
    try:
        moment = datetime.strptime((text or "").strip(), "%H:%M")
    except ValueError:
        raise DomainError(_("请按 时:分 填写时间，例如 08:00。"), field="time_of_day") from None
    return moment.hour * 60 + moment.minute


def save_schedule(days_text: str, time_text: str) -> ReminderSchedule:
    days, minute = parse_days(days_text), parse_time(time_text)
    schedule = _stored_schedule()
    schedule.days_before = ",".join(str(d) for d in days)
    schedule.run_minute = minute
    db.session.flush()
    from ..audit import record

    record("reminder_schedule_saved", "reminder_schedule", 1, after={"days": days, "minute": minute})
    return schedule


def time_of_day(schedule: ReminderSchedule) -> str:
    return f"{schedule.run_minute // 60:02d}:{schedule.run_minute % 60:02d}"


def _run_at(day: date, schedule: ReminderSchedule) -> datetime:
    """The aware bureau-local moment of ``day``'s run."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=bureau_zone())
    return midnight + timedelta(minutes=schedule.run_minute)


def next_run(schedule: ReminderSchedule, now: datetime | None = None) -> datetime:
    """When the scheduler will next start the run (bureau-local, aware)."""
    local = to_local(now or utcnow())
    today = local.date()
    if schedule.last_run_on is not None and schedule.last_run_on >= today:
        return _run_at(today + timedelta(days=1), schedule)
    return max(_run_at(today, schedule), local.replace(second=0, microsecond=0))


# ---- the run -----------------------------------------------------------------------------------
def run_reminders(day: date | None = None) -> dict[str, int]:
    """Raise the day's periodic events (see the module docstring); how many messages of each were new."""
    from ..feedback.notices import remind_owing
    from ..monitoring.notices import remind_rectifications, remind_self_checks
    from ..residents.notices import announce_follow_ups, remind_follow_ups_due
    from .audience import leaders_by_unit

    day = day or local_today()
    schedule = _stored_schedule()
    leaders = leaders_by_unit()
    summary = {
        "ratings_due": remind_owing(day, schedule.days),
        "follow_ups_opened": announce_follow_ups(day, leaders),
        "follow_ups_due": remind_follow_ups_due(day, leaders),
        "self_checks_due": remind_self_checks(day, leaders),
        "rectifications_overdue": remind_rectifications(day, leaders),
    }
    if schedule.last_run_on is None or day >= schedule.last_run_on:
        schedule.last_run_on = day
    schedule.last_run_at = utcnow()
    schedule.last_summary = {"day": day.isoformat(), **summary}
    db.session.flush()
    return summary


def reminders_job(job, day: str) -> dict:
    """The background job (app.jobs registry "reminders")."""
    job.step(_("发送提醒"), progress=10)
    summary = run_reminders(date.fromisoformat(day))
    return {"endpoint": "notify.schedule", "day": day, **summary}


def reminders_job_done(result: dict) -> str:
    return _("提醒已发送：新增 %(n)d 条通知。", n=sum(v for k, v in result.items() if isinstance(v, int)))


def start_run(day: date, user_id: int | None = None) -> Job:
    """Queue the run of ``day`` (JobAlreadyActive when it is queued or running)."""
    from ..jobs import enqueue

    return enqueue("reminders", f"reminders:{day.isoformat()}", user_id=user_id, day=day.isoformat())


# ---- the scheduler -----------------------------------------------------------------------------
def tick(now: datetime | None = None) -> int | None:
    """One beat: once the day's time has come and no run of the day was queued yet, queue it.
    Returns the id of the job queued, else None. Safe from any number of processes: the job's key
    holds the day, and the run itself tells nobody twice."""
    from ..jobs.services import JobAlreadyActive

    local = to_local(now or utcnow())
    schedule = load_schedule()
    queued = None
    if local >= _run_at(local.date(), schedule) and (schedule.last_run_on is None
                                                       or schedule.last_run_on < local.date()):
        key = f"reminders:{local.date().isoformat()}"
        started = db.session.scalar(sa.select(Job.id).where(Job.kind == "reminders", Job.key == key).limit(1))
        if started is None:  # a run that failed today is not retried by the beat: the admin page can
            try:
                queued = start_run(local.date()).id
                db.session.commit()
            except JobAlreadyActive:
                db.session.rollback()
    db.session.rollback()  # end the read transaction: the next beat sees fresh rows
    # Outside deliveries: retries whose wait is over and SMS held for the quiet hours go out from the beat.
    from .delivery import send_due

    send_due()
    return queued


def _beat(app, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        with app.app_context():
            try:
                tick()
            except Exception:  # a missed beat is retried at the next one
                log.warning("reminder scheduler beat failed", exc_info=True)
            finally:
                db.session.remove()


def start_scheduler(app, stop: threading.Event | None = None) -> threading.Event | None:
    """Start the beat in a daemon thread of this process (the worker, or a web process without
    Redis); returns the event that stops it, or None when NOTIFY_TICK_SECONDS is 0."""
    interval = float(app.config.get("NOTIFY_TICK_SECONDS") or 0)
    if interval <= 0:
        return None
    stop = stop or threading.Event()
    threading.Thread(target=_beat, args=(app, stop, interval), name="kaoping-reminders", daemon=True).start()
    return stop


def register_web_scheduler(app) -> None:
    """Without Redis (the embedded default) there is no worker: the first request of a web process
    starts its beat. Not in tests, and not when cron runs ``flask send-reminders`` instead."""
    state = {"started": False}
    lock = threading.Lock()

    @app.before_request
    def _start_beat():
        if state["started"]:
            return
        with lock:
            if state["started"]:
                return
            state["started"] = True
            from ..jobs.services import backend

            if not app.testing and backend(app) == "thread":
                start_scheduler(app)
