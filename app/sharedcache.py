"""Figures that cost a second of CPU to compute and that every web process shows (the residents'
shrunk satisfaction rates of a cycle at 50,000 officers): computed once for the installation rather
than once per process.

Each value is kept under a fingerprint of its inputs (``key``), which the caller reads cheaply on
every use. A process keeps the value it last saw in memory; with Redis (``CACHE_REDIS_URL``, by
default ``JOBS_REDIS_URL``; ``off`` keeps values per process) it is also shared: a process that
finds its memory out of date takes the shared value when its fingerprint matches, else one process
(a lock in Redis) computes it while the others wait for it instead of each computing the same
figures at once (four gunicorn workers each paid 1.2 s of CPU, 4–5 s of waiting, on their first
station dashboard of a deadline rush). The
worker fills them ahead of the pages (``app.jobs.worker``); it runs at a lower CPU priority, so it
never holds the lock a page would wait on (``mark_background``): a page that finds no value computes
it rather than wait for a process the web's own requests slow down. Without Redis (the embedded
default) each process computes its own, one thread at a time.

Values are pickled: Redis is trusted here as it is for the job queue (RQ pickles its jobs too).
"""
from __future__ import annotations

import hashlib
import logging
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

log = logging.getLogger(__name__)
T = TypeVar("T")
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
KEEP = 16  # values (cycles) kept per name in a process
FILL_SECONDS = 120  # a process that took the fill lock and died frees it after this
SHARED_DAYS = 7  # a shared value nobody asked for again leaves Redis after this
_BACKGROUND = "kaoping.sharedcache.background"


def mark_background(app) -> None:
    """This app fills values ahead of need in a low-priority process: it shares what it computes but
    takes no lock that pages would wait on."""
    app.extensions[_BACKGROUND] = True


def _process_lock(name: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.Lock())


def _redis():
    """The Redis client for shared values (one per app), or None without Redis."""
    app = current_app
    url = app.config.get("CACHE_REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("kaoping.sharedcache.redis")
    if client is None:
        from redis import Redis

        client = app.extensions["kaoping.sharedcache.redis"] = Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2)
    return client


def _shared_name(name: str, ident: Any) -> str:
    """The Redis key: the database's address (without a password) keeps two installations sharing a
    Redis apart."""
    from sqlalchemy.engine import make_url

    database = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    installation = hashlib.sha256(database.encode()).hexdigest()[:16]
    return f"{current_app.config.get('RATELIMIT_KEY_PREFIX') or 'kaoping'}:figures:{installation}:{name}:{ident}"


def cached(name: str, ident: Any, key: tuple, compute: Callable[[], T], wait: float = 30.0) -> T:
    """``compute()``'s value for ``ident`` (e.g. a cycle's id) as long as ``key`` (the fingerprint of
    its inputs) is the same; computed at most once at a time per process and, with Redis, once for
    every process. A process waits at most ``wait`` s for another to fill the shared value, then
    computes it itself."""
    memory = current_app.extensions.setdefault(f"kaoping.sharedcache.{name}", {})
    found = memory.get(ident)
    if found is not None and found[0] == key:
        return found[1]
    with _process_lock(f"{name}:{ident}"):  # one thread fills a value; the others wait for it
        found = memory.get(ident)
        if found is not None and found[0] == key:
            return found[1]
        value = _shared(name, ident, key, compute, wait)
        if len(memory) >= KEEP and ident not in memory:  # a few cycles are looked at; forget the oldest
            memory.pop(next(iter(memory)))
        memory[ident] = (key, value)
        return value


def _shared(name: str, ident: Any, key: tuple, compute: Callable[[], T], wait: float) -> T:
    client = _redis()
    if client is None:
        return compute()
    shared = _shared_name(name, ident)
    deadline = time.monotonic() + wait
    background = current_app.extensions.get(_BACKGROUND, False)
    try:
        while True:
            stored = client.get(shared)
            if stored is not None:
                stored_key, value = pickle.loads(stored)
                if stored_key == key:
                    return value
            if background or client.set(shared + ":filling", "1", nx=True, ex=FILL_SECONDS):
                break  # this process fills it
            if time.monotonic() >= deadline:
                log.warning("figures %s:%s: another process is still computing them; computing here", name, ident)
                return compute()
            time.sleep(0.1)
    except Exception:  # Redis unreachable: each process computes its own, as without Redis
        log.warning("figures %s:%s: Redis unreachable, computed in this process", name, ident, exc_info=True)
        return compute()
    try:
        value = compute()
        try:
            client.set(shared, pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL),
                       ex=SHARED_DAYS * 24 * 3600)
        except Exception:
            log.warning("figures %s:%s: not shared (Redis unreachable)", name, ident, exc_info=True)
        return value
    finally:
        if not background:
            try:
                client.delete(shared + ":filling")
            except Exception:  # it expires by itself
                pass
