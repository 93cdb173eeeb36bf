"""Background jobs: long work (score runs, rater designs, large exports) outside the web request.

``enqueue(kind, key, **args)`` records a Job row (queued); once the request commits, the work goes
to RQ on Redis when ``JOBS_REDIS_URL`` is set (a worker started with ``flask --app wsgi worker``
picks it up), else to a thread of this process (the embedded SQLite default). Either way the job's
state, current step and progress live in the database, so any process can show them (/jobs/<id>).
"""
from .services import enqueue, reap_stale

__all__ = ["enqueue", "reap_stale"]
