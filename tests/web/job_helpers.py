"""Helpers of the background-job tests (tests/web/test_jobs.py, test_import_jobs.py): wait for a job
run by a thread or a worker, and skip when the Redis they need is not running."""
import time

import pytest

from app.extensions import db
from app.models import Job


def wait_for_job(app, job_id, seconds=60.0) -> Job:
    """The job once it has ended (detached from its session), polled from the database."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(Job, job_id)
            if job.state in ("succeeded", "failed"):
                db.session.expunge(job)
                return job
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def redis_or_skip(url: str) -> None:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(url).ping()
    except RedisDown:
        pytest.skip("Redis is not running at " + url)
