"""Queue, run and watch background jobs. See the package docstring for the flow.

The work of a job runs in one database transaction that commits together with the job's
"succeeded" state, so a job that fails or whose worker is killed stores nothing. Its step, progress
and heartbeat are written on their own short autocommit connection, visible to every process while
the work's transaction is still open.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app, has_app_context, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import CursorResult, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..dbutil import is_unique_violation
from ..errors import DomainError
from ..extensions import db
from ..models import Job, JobFile, utcnow
from ..notify.services import notify
from .registry import KINDS, resolve

log = logging.getLogger(__name__)
_PENDING = "kaoping.jobs.pending"
FILE_KEPT = timedelta(days=1)  # an upload left by an import job that never ended is purged after this


class JobAlreadyActive(DomainError):
    """The same kind of job for the same thing is queued or running; ``job_id`` is that job."""

    def __init__(self, message: str, job_id: int | None):
        super().__init__(message)
        self.job_id = job_id


def backend(app=None) -> str:
    """"rq" (Redis queue, separate worker), "thread" (in this process) or "eager" (tests: at commit)."""
    config = (app or current_app).config
    chosen = (config.get("JOBS_BACKEND") or "").strip().lower()
    if chosen in ("rq", "thread", "eager"):
        return chosen
    return "rq" if config.get("JOBS_REDIS_URL") else "thread"


# ---- enqueue -----------------------------------------------------------------------------------
def enqueue(kind: str, key: str, *, user_id: int | None = None, dispatch: bool = True, **args) -> Job:
    """Record a queued job; it is handed to the queue when the session commits (not before: the
    worker must find its row). ``args`` must be JSON-safe; the work is called with them. With
    ``dispatch=False`` it is not handed to anyone: the caller runs it (``run_job``) after the commit,
    e.g. the command line, which needs no worker.

    Raises JobAlreadyActive when a job of this kind and key is already queued or running (a
    partial unique index decides, so two simultaneous requests cannot both start one).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    reap_stale()
    if has_request_context() and "locale" not in args:  # the job's messages speak the user's language
        args["locale"] = str(get_locale() or "")
    job = Job(kind=kind, key=key, args=args, created_by_id=user_id, step=_("排队等候"))
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if not is_unique_violation(error):
            raise
        active = db.session.scalar(sa.select(Job.id).where(Job.kind == kind, Job.key == key,
                                                           Job.state.in_(("queued", "running"))))
        raise JobAlreadyActive(_("同样的任务正在进行，请等它完成。"), active) from error
    if dispatch:
        db.session.info.setdefault(_PENDING, []).append(job.id)
    return job


@event.listens_for(Session, "after_commit")
def _dispatch_committed(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as Flask
    for job_id in pending:
        dispatch(app, job_id)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session) -> None:
    session.info.pop(_PENDING, None)


def dispatch(app, job_id: int) -> None:
    """Hand a committed queued job to the configured backend."""
    chosen = backend(app)
    if chosen == "eager":
        with app.app_context():
            run_job(job_id)
    elif chosen == "thread":
        threading.Thread(target=_run_in_app, args=(app, job_id), name=f"kaoping-job-{job_id}", daemon=True).start()
    else:
        try:
            rq_queue(app).enqueue("app.jobs.worker.perform", job_id, job_timeout=int(app.config["JOBS_TIMEOUT"]),
                                  result_ttl=0, failure_ttl=7 * 24 * 3600)
        except Exception as error:  # Redis down or misconfigured: say so on the job's page
            log.exception("could not put job %s on the queue", job_id)
            with app.app_context():
                _set_state(job_id, ("queued",), state="failed", finished_at=utcnow(),
                           error=_("无法把任务放入队列（Redis 不可用：%(detail)s）。请检查 JOBS_REDIS_URL 后重试。",
                                   detail=str(error)[:200]))


def rq_queue(app=None):
    from redis import Redis
    from rq import Queue

    config = (app or current_app).config
    return Queue(config["JOBS_QUEUE"], connection=Redis.from_url(config["JOBS_REDIS_URL"]))


def _run_in_app(app, job_id: int) -> None:
    with app.app_context():
        run_job(job_id)


# ---- run ---------------------------------------------------------------------------------------
class JobProgress:
    """What the work sees of its job: ``step(text)`` reports the current step (and advances the
    bar by one of ``expect(n)`` steps, or to ``progress`` when given); ``echo(text, progress)``, if
    given, is told every step too (the command line prints them)."""

    def __init__(self, job_id: int, user_id: int | None, echo: Callable[[str, int], None] | None = None):
        self.job_id, self.user_id, self.echo = job_id, user_id, echo
        self._expected, self._done = 0, 0

    def expect(self, steps: int) -> None:
        self._expected, self._done = max(1, int(steps)), 0

    def step(self, text: str, progress: int | None = None) -> None:
        if progress is None:
            self._done += 1
            progress = 5 + 90 * min(self._done, self._expected) // self._expected if self._expected else 5
        progress = max(0, min(99, int(progress)))
        _set_state(self.job_id, ("running",), step=str(text)[:200], progress=progress, heartbeat_at=utcnow())
        if self.echo is not None:
            self.echo(str(text), progress)
        delay = float(current_app.config.get("JOBS_STEP_DELAY") or 0)
        if delay:  # demos and the browser test: let a small job's bar be seen moving
            time.sleep(delay)


def run_job(job_id: int, echo: Callable[[str, int], None] | None = None) -> str:
    """Claim a queued job, do its work in one transaction, and record how it ended.
    Returns the final state ("" when the job was not queued any more, e.g. run by someone else).
    The work and the job's messages speak the language of the user who started it. ``echo``: see
    JobProgress."""
    locale = db.session.scalar(sa.select(Job.args).where(Job.id == job_id)) or {}
    locale = locale.get("locale") if isinstance(locale, dict) else None
    db.session.rollback()
    if locale and locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            return _run_claimed(job_id, echo)
    return _run_claimed(job_id, echo)


def _run_claimed(job_id: int, echo: Callable[[str, int], None] | None) -> str:
    now = utcnow()
    if not _set_state(job_id, ("queued",), state="running", started_at=now, heartbeat_at=now,
                      step=_("开始"), progress=1):
        return ""
    job = db.session.get(Job, job_id)
    assert job is not None  # it was just claimed (queued -> running) above
    work = resolve(job.kind)
    args, user_id = dict(job.args or {}), job.created_by_id
    args.pop("locale", None)
    db.session.rollback()  # the work starts a fresh transaction
    beat = _Heartbeat(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]  # see above
    beat.start()
    try:
        result = work(JobProgress(job_id, user_id, echo), **args) or {}
        done = cast(CursorResult[Any], db.session.execute(
            sa.update(Job).where(Job.id == job_id, Job.state == "running")
            .values(state="succeeded", progress=100, step=_("完成"), result=result, finished_at=utcnow(),
                    heartbeat_at=utcnow())))
        if done.rowcount != 1:  # declared dead meanwhile (stale heartbeat): keep nothing
            db.session.rollback()
            return "failed"
        _tell(job_id, job.kind, user_id, "succeeded")  # with the work: told only if it is kept
        db.session.commit()
        return "succeeded"
    except DomainError as error:
        db.session.rollback()
        _fail(job_id, error.message)
        _tell_failed(job_id, job.kind, user_id)
    except Exception as error:
        db.session.rollback()
        current_app.logger.exception("job %s (%s) failed", job_id, job.kind)
        _fail(job_id, _("任务出错，未保存任何结果：%(detail)s", detail=f"{type(error).__name__}: {error}"[:500]))
        _tell_failed(job_id, job.kind, user_id)
    finally:
        beat.stop()
        db.session.remove()
    return "failed"


def _tell(job_id: int, kind: str, user_id: int | None, outcome: str) -> None:
    """Tell whoever started the job how it ended (scheduled jobs have nobody to tell)."""
    if user_id is not None:
        notify([user_id], f"job_{outcome}", f"job:{job_id}:{outcome}", link=f"/jobs/{job_id}", params={"job": kind})


def _tell_failed(job_id: int, kind: str, user_id: int | None) -> None:
    try:
        _tell(job_id, kind, user_id, "failed")
        db.session.commit()
    except Exception:  # the failure is on the job's page either way
        db.session.rollback()
        log.warning("job %s: the failure notice was not stored", job_id, exc_info=True)


def _fail(job_id: int, message: str) -> None:
    _set_state(job_id, ("queued", "running"), state="failed", error=message, finished_at=utcnow())


class _Heartbeat:
    """Writes the job's heartbeat every JOBS_HEARTBEAT seconds from a thread of its own."""

    def __init__(self, app, job_id: int):
        self.app, self.job_id = app, job_id
        self.interval = float(app.config["JOBS_HEARTBEAT"])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"kaoping-heartbeat-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        with self.app.app_context():
            while not self._stop.wait(self.interval):
                try:
                    _set_state(self.job_id, ("running",), heartbeat_at=utcnow())
                except Exception:  # a missed beat is not fatal; a long silence is (reap_stale)
                    log.warning("heartbeat of job %s not written", self.job_id, exc_info=True)


# ---- state on its own connection ---------------------------------------------------------------
def _status_engine():
    """An engine for short status writes outside the work's transaction. On SQLite (one writer at a
    time) it waits at most a moment for the lock: the status is best effort there, the final state
    is written with the work."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    engines = current_app.extensions.setdefault("kaoping.jobs.status_engines", {})
    status = engines.get(engine.url)
    if status is None:
        status = engines[engine.url] = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    return status


def _set_state(job_id: int, states: tuple[str, ...], **values) -> bool:
    """UPDATE the job WHERE it is in one of ``states``; True when it was."""
    engine = _status_engine()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout=300")
            result = connection.execute(sa.update(Job).where(Job.id == job_id, Job.state.in_(states)).values(**values))
            return result.rowcount == 1
    except OperationalError:
        if engine.dialect.name != "sqlite":
            raise
        log.info("job %s: status not written (database busy)", job_id)
        return False


def reap_stale() -> int:
    """Mark failed the running jobs whose worker stopped beating (killed, machine lost) and the
    queued jobs no worker took up in time; returns how many. Their work stored nothing."""
    config = current_app.config
    now = utcnow()
    silent = now - timedelta(seconds=float(config["JOBS_STALE_AFTER"]))
    waited = now - timedelta(seconds=float(config["JOBS_QUEUE_TIMEOUT"]))
    engine = _status_engine()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout=300")
            dead = connection.execute(
                sa.update(Job).where(Job.state == "running", Job.heartbeat_at < silent)
                .values(state="failed", finished_at=now,
                        error=_("工作进程已中断（%(s)d 秒没有心跳），任务标记为失败，没有保存任何结果。请重新提交。",
                                s=int(config["JOBS_STALE_AFTER"])))).rowcount
            lost = connection.execute(
                sa.update(Job).where(Job.state == "queued", Job.created_at < waited)
                .values(state="failed", finished_at=now,
                        error=_("没有工作进程接收此任务（请确认工作进程已启动：flask --app wsgi worker），"
                                "任务已取消。"))).rowcount
            # Uploads whose import never ended (its worker lost): the job is failed by now.
            connection.execute(sa.delete(JobFile).where(JobFile.created_at < now - FILE_KEPT))
    except OperationalError:
        if engine.dialect.name != "sqlite":
            raise
        return 0
    return dead + lost


# ---- read --------------------------------------------------------------------------------------
def status(job: Job) -> dict:
    """What the job page and its JSON show."""
    from flask import url_for

    from .registry import LABELS, done_message

    result = job.result or {}
    url = None
    if job.state == "succeeded" and result.get("endpoint"):
        url = url_for(result["endpoint"], **(result.get("values") or {}))
    return {"id": job.id, "kind": job.kind, "label": str(LABELS.get(job.kind, job.kind)), "state": job.state,
            "state_label": str(state_labels()[job.state]), "step": job.step, "progress": job.progress,
            "error": job.error or "", "result_url": url, "message": done_message(job) if url else "",
            "finished": job.state in ("succeeded", "failed")}


def state_labels() -> dict:
    return {"queued": _("排队中"), "running": _("进行中"), "succeeded": _("已完成"), "failed": _("失败")}


def active_job(kind: str, key: str) -> Job | None:
    return db.session.execute(sa.select(Job).where(Job.kind == kind, Job.key == key,
                                                   Job.state.in_(("queued", "running")))).scalar_one_or_none()
