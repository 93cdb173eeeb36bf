"""The residents' figures of a cycle (a second of CPU at 50,000 officers, shown on every station
dashboard and individual report) are scored once for the installation when Redis is there: another
web process takes them from Redis instead of scoring them again, the worker scores them ahead of
the pages at a lower CPU priority, and without Redis, or with Redis down, each process scores its
own as before."""
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Cycle, Officer
from app.reports import services as reports

from ..conftest import make_test_app
from .job_helpers import redis_or_skip
from .test_province_scale import _answer, _officer_with_counted_scoring

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix():
    """A key prefix of this test's own in the shared Redis, removed afterwards."""
    redis_or_skip(REDIS)
    from redis import Redis

    name = f"kaoping-test-{uuid.uuid4().hex}"
    yield name
    client = Redis.from_url(REDIS)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def _process(database_url, path, **config):
    """Another web process of the same installation (its own memory, the same database)."""
    return make_test_app(database_url, path, **config)


def _report(process, officer_id, cycle_id):
    with process.app_context():
        shown = reports.officer_residents(db.session.get(Officer, officer_id), db.session.get(Cycle, cycle_id))
        db.session.remove()
        return shown


def test_a_second_process_takes_the_figures_the_first_scored(app, ctx, database_url, tmp_path, monkeypatch, prefix):
    officer, cycle, calls = _officer_with_counted_scoring(monkeypatch)
    first, second = (_process(database_url, tmp_path / name, CACHE_REDIS_URL=REDIS, RATELIMIT_KEY_PREFIX=prefix)
                     for name in ("a", "b"))
    shown = _report(first, officer.id, cycle.id)
    assert shown["n"] == 3 and calls == [cycle.id]
    assert _report(second, officer.id, cycle.id) == shown and calls == [cycle.id]  # from Redis, not scored again
    _answer(officer, 4, 3)  # a new answer: scored again once, for both processes
    assert _report(second, officer.id, cycle.id)["n"] == 4 and calls == [cycle.id, cycle.id]
    assert _report(first, officer.id, cycle.id)["raw_rate"] == 75.0 and calls == [cycle.id, cycle.id]


def test_the_worker_scores_the_figures_ahead_of_the_pages_without_making_them_wait(
        app, ctx, database_url, tmp_path, monkeypatch, prefix):
    from redis import Redis

    from app.sharedcache import mark_background

    officer, cycle, calls = _officer_with_counted_scoring(monkeypatch)
    db.session.execute(sa.update(Cycle).where(Cycle.id == cycle.id).values(status="open"))
    db.session.commit()
    worker = _process(database_url, tmp_path / "worker", CACHE_REDIS_URL=REDIS, RATELIMIT_KEY_PREFIX=prefix)
    mark_background(worker)
    with worker.app_context():
        from app.sharedcache import _shared_name

        # a web process that died while filling them left its lock: the worker does not wait for it
        Redis.from_url(REDIS).set(_shared_name("resident_scores", cycle.id) + ":filling", "1", ex=60)
        assert reports.fill_figures() >= 1
    assert calls == [cycle.id]
    web = _process(database_url, tmp_path / "web", CACHE_REDIS_URL=REDIS, RATELIMIT_KEY_PREFIX=prefix)
    assert _report(web, officer.id, cycle.id)["n"] == 3 and calls == [cycle.id]


def test_without_redis_or_with_redis_down_each_process_scores_its_own(app, ctx, database_url, tmp_path, monkeypatch):
    officer, cycle, calls = _officer_with_counted_scoring(monkeypatch)
    alone = _process(database_url, tmp_path / "alone", CACHE_REDIS_URL="")
    down = _process(database_url, tmp_path / "down", CACHE_REDIS_URL="redis://127.0.0.1:1/0")
    for process in (alone, down, alone, down):
        assert _report(process, officer.id, cycle.id)["n"] == 3
    assert calls == [cycle.id, cycle.id]  # once in each process, then from its memory


def test_the_worker_runs_below_the_webs_cpu_priority(app, database_url, tmp_path, monkeypatch, prefix):
    from app.jobs import worker

    asked = []
    monkeypatch.setattr(worker.os, "nice", lambda n: asked.append(n) or 7)
    process = _process(database_url, tmp_path / "w", JOBS_BACKEND="", JOBS_REDIS_URL=REDIS, CACHE_REDIS_URL=REDIS,
                       JOBS_QUEUE=prefix, RATELIMIT_KEY_PREFIX=prefix, JOBS_WORKER_NICE=5)
    result = process.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert asked == [5] and "nice 7" in result.output
    assert worker.lower_priority(0) == 7 and asked == [5, 0]  # 0: asks its niceness, changes nothing


def test_off_keeps_figures_per_process_even_with_the_jobs_redis(monkeypatch):
    from app.config import _cache_redis_url

    monkeypatch.setenv("JOBS_REDIS_URL", REDIS)
    monkeypatch.setenv("CACHE_REDIS_URL", "off")
    assert _cache_redis_url() == ""
    monkeypatch.setenv("CACHE_REDIS_URL", "")
    assert _cache_redis_url() == REDIS  # empty: the jobs' Redis
    monkeypatch.delenv("JOBS_REDIS_URL")
    assert _cache_redis_url() == ""


def test_two_cycles_figures_are_filled_side_by_side(app, ctx):
    # a thread filling one cycle's figures does not hold up another cycle's: the first fill
    # waits for the second to have run, which with one lock per figure name it never could
    import threading

    from app.sharedcache import cached

    started, second_ran, seen = threading.Event(), threading.Event(), []

    def first():
        started.set()
        seen.append(second_ran.wait(10))
        return "first"

    def fill_first():
        with app.app_context():
            cached("test_side_by_side", 1, ("k",), first)

    thread = threading.Thread(target=fill_first)
    thread.start()
    assert started.wait(10)
    assert cached("test_side_by_side", 2, ("k",), lambda: second_ran.set() or "second") == "second"
    thread.join(10)
    assert seen == [True]
