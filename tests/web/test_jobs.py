"""Background jobs: a score run through a job, one job per kind and key at a time (in the database),
a killed worker's job marked failed and nothing half-stored, and the thread and RQ backends."""
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.assessment import runs
from app.extensions import db
from app.jobs import enqueue
from app.jobs.services import JobAlreadyActive, run_job
from app.models import Job, ScoreResult, ScoreRun, utcnow

from ..conftest import make_test_app
from .assessment_setup import build_world, load, unit_rows
from .job_helpers import redis_or_skip, wait_for_job


def _world(app):
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows())
    return ids


def _job(app, **filters) -> Job:
    with app.app_context():
        job = db.session.execute(sa.select(Job).filter_by(**filters)).scalar_one()
        db.session.expunge(job)
        return job


def test_compute_runs_as_a_job_and_its_page_leads_to_the_run(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = _world(app)
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job = _job(app, kind="score_run")
    assert job.state == "succeeded" and job.progress == 100 and job.key == f"cycle:{ids['cycle']}"
    status = client.get(f"/jobs/{job.id}/status").get_json()
    assert status["state"] == "succeeded" and status["result_url"] == f"/assessment/runs/{job.result['run_id']}"
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "已生成第 1 版计算结果" in page and "第 1 版" in page
    # The page of a finished job can still be read as it is (?stay=1): full bar, "已完成".
    kept = client.get(f"/jobs/{job.id}?stay=1").get_data(as_text=True)
    assert 'aria-valuenow="100"' in kept and "已完成" in kept
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ScoreRun.id)).filter_by(status="done")) == 1


def test_a_failing_run_stores_nothing_and_says_why(app, client, auth, monkeypatch):
    auth.as_role("admin", unit_code="BJ")
    ids = _world(app)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs, "_store_results", broken)  # after the run row was flushed
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "任务失败" in page and "未保存任何结果" in page and "disk full" in page
    job = _job(app, kind="score_run")
    assert job.state == "failed" and job.finished_at is not None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ScoreRun.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(ScoreResult.id))) == 0


def test_only_one_active_job_per_kind_and_key_in_the_database(app, ctx):
    db.session.add(Job(kind="score_run", key="cycle:1", state="running", args={}, result={}))
    db.session.commit()
    db.session.add(Job(kind="score_run", key="cycle:1", state="queued", args={}, result={}))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # Other keys, and finished jobs of the same key, are fine.
    db.session.add_all([Job(kind="score_run", key="cycle:2", args={}, result={}),
                        Job(kind="score_run", key="cycle:1", state="failed", args={}, result={}),
                        Job(kind="score_run", key="cycle:1", state="succeeded", args={}, result={})])
    db.session.commit()
    with pytest.raises(JobAlreadyActive) as refused:
        enqueue("score_run", "cycle:1", cycle_id=1)
    running = db.session.scalar(sa.select(Job.id).filter_by(key="cycle:1", state="running"))
    assert refused.value.job_id == running


def test_two_admins_clicking_compute_start_one_run(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = _world(app)
    with app.app_context():  # the first click's job is still queued (its worker has not started it)
        db.session.add(Job(kind="score_run", key=f"cycle:{ids['cycle']}", args={"cycle_id": ids["cycle"]}, result={}))
        db.session.commit()
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""}, follow_redirects=True)
    assert "同样的任务正在进行" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(ScoreRun.id))) == 0


def test_a_killed_workers_job_is_marked_failed_and_frees_its_key(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = _world(app)
    with app.app_context():
        silent = utcnow() - timedelta(seconds=app.config["JOBS_STALE_AFTER"] + 5)
        job = Job(kind="score_run", key=f"cycle:{ids['cycle']}", state="running", step="计算民警层级",
                  progress=60, args={"cycle_id": ids["cycle"]}, result={}, started_at=silent, heartbeat_at=silent)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["state"] == "failed" and "没有心跳" in status["error"] and status["finished"]
    # Its key is free again: a new click computes the run.
    client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ScoreRun.id))) == 1
    # A stale job does not come back to life: a late attempt to run it does nothing.
    with app.app_context():
        assert run_job(job_id) == ""


def test_job_pages_are_for_admins_and_their_owner(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = _world(app)
    client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""})
    job = _job(app, kind="score_run")
    auth.logout()
    auth.as_role("officer", username="someone")
    assert client.get(f"/jobs/{job.id}").status_code == 404
    assert client.get(f"/jobs/{job.id}/status").status_code == 404


def test_without_redis_a_job_runs_in_a_thread_of_the_web_process(app, database_url, tmp_path):
    threaded = make_test_app(database_url, tmp_path, JOBS_BACKEND="", JOBS_REDIS_URL="")
    ids = _world(threaded)
    with threaded.app_context():
        job = enqueue("score_run", f"cycle:{ids['cycle']}", cycle_id=ids["cycle"])
        assert job.state == "queued"
        db.session.commit()  # handed to a thread now
        job_id = job.id
    job = wait_for_job(threaded, job_id)
    assert job.state == "succeeded", job.error
    with threaded.app_context():
        assert db.session.get(ScoreRun, job.result["run_id"]).status == "done"


def test_with_redis_a_job_waits_for_the_worker_which_runs_it(app, database_url, tmp_path):
    from rq import SimpleWorker

    from app.jobs.services import rq_queue

    url = "redis://127.0.0.1:6379/0"
    redis_or_skip(url)
    queued = make_test_app(database_url, tmp_path, JOBS_BACKEND="", JOBS_REDIS_URL=url,
                           JOBS_QUEUE=f"kaoping-test-{uuid.uuid4().hex}")
    ids = _world(queued)
    with queued.app_context():
        job = enqueue("score_run", f"cycle:{ids['cycle']}", cycle_id=ids["cycle"])
        db.session.commit()
        job_id = job.id
        queue = rq_queue()
        try:
            assert queue.count == 1 and db.session.get(Job, job_id).state == "queued"
            SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
        finally:
            queue.delete(delete_jobs=True)
        db.session.remove()
    job = wait_for_job(queued, job_id, seconds=1)
    assert job.state == "succeeded" and job.progress == 100


def test_the_cycle_page_links_to_a_running_score_run(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = _world(app)
    with app.app_context():
        job = Job(kind="score_run", key=f"cycle:{ids['cycle']}", state="running", step="计算民警层级", progress=60,
                  args={"cycle_id": ids["cycle"]}, result={}, started_at=utcnow(), heartbeat_at=utcnow())
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = client.get(f"/admin/cycles/{ids['cycle']}").get_data(as_text=True)
    assert "正在计算：计算民警层级" in page and f"/jobs/{job_id}" in page


def test_a_bare_rq_worker_builds_the_app_once_and_runs_the_job(app, database_url, tmp_path, monkeypatch):
    # `rq worker` outside the app (no app context): perform builds the app once per process
    from rq import SimpleWorker

    import app as package
    from app.jobs import worker
    from app.jobs.services import rq_queue

    url = "redis://127.0.0.1:6379/0"
    redis_or_skip(url)
    queued = make_test_app(database_url, tmp_path, JOBS_BACKEND="", JOBS_REDIS_URL=url,
                           JOBS_QUEUE=f"kaoping-test-{uuid.uuid4().hex}")
    built = []
    monkeypatch.setattr(package, "create_app", lambda: built.append(1) or queued)
    monkeypatch.setattr(worker, "_app", None)
    ids = _world(queued)
    with queued.app_context():
        job_ids = []
        for key in ("a", "b"):
            job = enqueue("score_run", f"cycle:{ids['cycle']}:{key}", cycle_id=ids["cycle"])
            db.session.commit()
            job_ids.append(job.id)
        queue = rq_queue()
        db.session.remove()
    try:
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
    finally:
        queue.delete(delete_jobs=True)
    assert built == [1]  # two jobs, one app
    for job_id in job_ids:
        job = wait_for_job(queued, job_id, seconds=1)
        assert job.state == "succeeded" and job.progress == 100, job.error
