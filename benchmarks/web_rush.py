"""The deadline rush of issue 19, run by ``bench_web.py --rush``: a prebuilt province (from
``bench_province.py --keep``) served as the README recommends (gunicorn 4 workers × 4 threads, rate
limits in Redis, jobs on RQ with ``flask --app wsgi worker``), while

* officers arrive at a steady rate (open loop): each logs in, lands on the home page, opens
  /feedback/, opens a 360 form they owe, submits it with every item answered and lands on
  /feedback/ again (a browser follows the redirects), thinking ``--think`` seconds between pages;
* station leaders open their home page, their station dashboard and their unit's 360 progress in
  turn from a random start, thinking ``--leader-think`` seconds on average between pages
  (uniform from half to one and a half times: leaders are not in step with each other);
* an admin opens the cycle, starts a score run (the POST queues the job; the RQ worker runs it) and
  watches the job page's status as the page does (every second) until it ends.

Prints per kind of request and per group (officers logging in, their 360 pages, their submits,
leaders' pages, the admin) its count, errors and p50/p95/p99/max latency, the same for all requests
made while the score run computed and by the run's step; where the slowest requests spent their time
(inside gunicorn or waiting before it, from gunicorn's access log, which names each request by the
X-Request-Id the client sends; whether it was its worker's first of its kind, i.e. a cold cache);
how often a PostgreSQL backend of the database waited for a lock (sampled); the CPU each process
group used and how busy the machine was; then checks the outcome:

* every form posted with success is stored exactly once (submitted, one response), the others not;
* the score run is consistent with one snapshot of the answers: from its stored rater counts it
  tells which of the rush's forms it saw (each officer rates and is rated at most once in the rush,
  so this is exact), then recomputes the run in a transaction where the forms it did not see are
  still owed, and compares the inputs hash and every result row; the transaction is rolled back.
  Forms stored before the run started must be in it, forms posted after it ended must not.

On a machine shared with other work the latencies follow its load, printed beside them (how busy
the CPUs were, the load average): a request waits for a core. What each page costs the server (its
CPU, measured one request at a time after the rush), the errors and the two checks do not depend
on it.

It writes to the database it is given (accounts for the officers and leaders it uses, their
answers, one score run): run it on a copy (``CREATE DATABASE x TEMPLATE y``). Each run picks forms
still owed, so it can be repeated on the same copy.
"""
from __future__ import annotations

import gzip
import http.client
import itertools
import json
import multiprocessing as mp
import os
import random
import re
import resource
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_province import PASSWORD, make_app  # noqa: E402
from bench_web import _cpu_by_pid, _cpu_used, _free_port, _machine_busy, _processes  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/kaoping_province_bench_50000"
REDIS = "redis://127.0.0.1:6379/13"  # --redis: another Redis database when other work shares the server
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REVISION = re.compile(r'name="revision" value="(-?\d+)"')
ITEM = re.compile(r'name="(item_\d+)"')
JOB = re.compile(r"/jobs/(\d+)")
# the keys of a soft_360 result's rater counts, by assignment relation
RATER_GROUP = {"self": "self", "peer": "peer", "collaborator": "collaborator", "supervisor": "supervisor",
               "subordinate": "subordinate"}


# ---- the database ------------------------------------------------------------------------------
def check_schema(url: str) -> str:
    """The province database's schema must be what this branch's migrations build. A database made
    by ``bench_province.py`` (``create_all``) has no alembic_version: when its tables match the
    models exactly (and a test holds the models to the migrations), it is stamped at head. Then the
    README's deploy step, ``flask --app wsgi db upgrade``, runs (a no-op at head)."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import stamp

    from app.extensions import db

    app = make_app(url)
    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            has_version = sa.inspect(conn).has_table("alembic_version")
        if diff:
            raise SystemExit(f"the database's schema differs from this branch's models: {diff[:5]}")
        note = "schema matches the models"
        if not has_version:
            stamp(revision="head")
            note += "; stamped at head (it was built by create_all)"
        db.engine.dispose()
    env = dict(os.environ, DATABASE_URL=url, KAOPING_ENV="development")
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    return note + "; flask db upgrade: at head"


def prepare(url: str, n_officers: int, n_leaders: int, seed: int) -> dict:
    """Pick ``n_officers`` forms still owed (each officer rates and is rated at most once) and
    ``n_leaders`` station heads, and give each of them an account (username = 警号, the bench password,
    roles as the demo gives them). Returns the cycle, the forms, the leaders and the admin."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from app.extensions import db

    app = make_app(url)
    with app.app_context():
        cycle_id = db.session.scalar(sa.text("SELECT min(id) FROM cycle WHERE status = 'open'"))
        if cycle_id is None:
            raise SystemExit("no open cycle in the database (build it with bench_province.py --keep)")
        owed = db.session.execute(sa.text(
            "SELECT a.id, a.rater_id, a.ratee_id FROM feedback_assignment a JOIN officer o ON o.id = a.rater_id "
            "WHERE a.cycle_id = :c AND a.status = 'pending' AND o.is_active AND NOT o.is_leader ORDER BY a.id"),
            {"c": cycle_id}).all()
        rng = random.Random(seed)
        rng.shuffle(owed)
        raters: set[int] = set()
        ratees: set[int] = set()
        forms = []
        for assignment_id, rater, ratee in owed:
            if rater in raters or ratee in ratees or rater in ratees or ratee in raters:
                continue
            raters.add(rater)
            ratees.add(ratee)
            forms.append((assignment_id, rater))
            if len(forms) == n_officers:
                break
        leaders = db.session.execute(sa.text(
            "SELECT DISTINCT ON (o.unit_id) o.id, o.unit_id FROM officer o JOIN unit u ON u.id = o.unit_id "
            "WHERE o.is_leader AND o.is_active AND u.kind = 'station' ORDER BY o.unit_id, o.id")).all()
        leaders = rng.sample(leaders, min(n_leaders, len(leaders)))
        people = [rater for _a, rater in forms] + [oid for oid, _u in leaders]
        password_hash = generate_password_hash(PASSWORD)  # one hash for all, as the demo does
        db.session.execute(sa.text(
            "INSERT INTO user_account (username, password_hash, officer_id, is_active, created_at, session_version, "
            "must_change_password, language) SELECT o.badge_no, :h, o.id, true, now(), 1, false, 'zh' "
            "FROM officer o WHERE o.id = ANY(:ids) ON CONFLICT DO NOTHING"), {"h": password_hash, "ids": people})
        db.session.execute(sa.text(
            "UPDATE user_account SET password_hash = :h, must_change_password = false, is_active = true "
            "WHERE officer_id = ANY(:ids)"), {"h": password_hash, "ids": people})
        db.session.execute(sa.text(
            "INSERT INTO user_role (user_id, role) SELECT u.id, r.role FROM user_account u JOIN officer o "
            "ON o.id = u.officer_id CROSS JOIN (VALUES ('officer'), ('supervisor')) r(role) "
            "WHERE u.officer_id = ANY(:ids) AND (r.role = 'officer' OR o.is_leader) ON CONFLICT DO NOTHING"),
            {"ids": people})
        users = dict(db.session.execute(sa.text(
            "SELECT officer_id, username FROM user_account WHERE officer_id = ANY(:ids)"), {"ids": people}).all())
        db.session.commit()
        submitted_before = db.session.scalar(sa.text(
            "SELECT count(*) FROM feedback_assignment WHERE cycle_id = :c AND status = 'submitted'"), {"c": cycle_id})
        officers = db.session.scalar(sa.text("SELECT count(*) FROM officer"))
        db.engine.dispose()
    return {"cycle": cycle_id, "officers": officers, "submitted_before": submitted_before,
            "forms": [(assignment_id, users[rater]) for assignment_id, rater in forms],
            "leaders": [(users[oid], unit_id) for oid, unit_id in leaders]}


# ---- the servers -------------------------------------------------------------------------------
# gunicorn's access log names each request by the client's X-Request-Id, the worker (pid) that
# served it and its time inside gunicorn in µs: a slow request is then told apart as slow in the
# server or waiting before it (the listen queue, a busy machine)
ACCESS_FORMAT = "%({x-request-id}i)s %(p)s %(D)s %(s)s"


def start_servers(url: str, port: int, log_dir: Path, redis: str = REDIS) -> list[subprocess.Popen]:
    """gunicorn as the README recommends, and one worker with the README's command."""
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret", KAOPING_ENV="production",
               RATELIMIT_STORAGE_URI=redis, JOBS_REDIS_URL=redis,
               JOBS_QUEUE=f"kaoping-bench-rush-{os.getpid()}")  # no other worker on this Redis takes our jobs
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "4", "-k", "gthread", "--threads", "4",
                            "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                            "--access-logfile", str(log_dir / "access.log"), "--access-logformat", ACCESS_FORMAT,
                            "wsgi:app"],
                           cwd=ROOT, env=env, stderr=open(log_dir / "gunicorn.log", "w"))
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=open(log_dir / "worker.log", "w"))
    deadline = time.monotonic() + 300  # four workers importing the app on a busy machine
    web_ready = False
    while time.monotonic() < deadline:
        try:
            if not web_ready:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                web_ready = conn.getresponse().status == 200
            # a deployed worker has long been listening (its figures filled, app.jobs.worker) when a rush
            # begins: wait for it as for gunicorn
            if web_ready and "Listening on" in (log_dir / "worker.log").read_text(errors="replace"):
                return [web, worker]
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    for process in (web, worker):
        process.kill()
    raise SystemExit("gunicorn did not start")


def _backends(url: str) -> list[int]:
    """The PostgreSQL backends serving this database (not the other databases of a shared server)."""
    import psycopg

    with psycopg.connect(url) as conn:
        return [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND pid <> pg_backend_pid()")]


class BackendSampler(threading.Thread):
    """Samples this database's backends every ``every`` s during the rush: how many run a statement
    and how many of those wait for a lock (a row or table lock another transaction holds), with the
    longest lock wait seen and its statement."""

    def __init__(self, url: str, every: float = 0.25):
        super().__init__(daemon=True)
        self.url, self.every, self.stop = url, every, threading.Event()
        self.samples: list[tuple[float, int, int]] = []  # (wall, active, waiting on a lock)
        self.longest: tuple[float, str] = (0.0, "")

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(self.every):
                rows = conn.execute(
                    "SELECT wait_event_type, extract(epoch FROM now() - query_start), left(query, 120) "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state = 'active'").fetchall()
                locked = [(float(age or 0), query) for kind, age, query in rows if kind == "Lock"]
                self.samples.append((time.time(), len(rows), len(locked)))
                for age, query in locked:
                    if age > self.longest[0]:
                        self.longest = (age, query)

    def summary(self) -> str:
        if not self.samples:
            return "no samples"
        with_lock = sum(1 for _w, _a, n in self.samples if n)
        active = [a for _w, a, _n in self.samples]
        return (f"{len(self.samples)} samples every {self.every:g} s: statements running {max(active)} at most, "
                f"{sum(active) / len(active):.1f} on average; a lock wait in {with_lock} samples "
                f"(at most {max(n for _w, _a, n in self.samples)} at once)"
                + (f", the longest {self.longest[0]:.2f} s: {self.longest[1]!r}" if with_lock else ""))


# ---- a browser ---------------------------------------------------------------------------------
_REQUEST_IDS = itertools.count(1)


class Browser:
    """One user's keep-alive connection with its cookies; every request's latency is recorded as
    (kind, start, seconds, ok, request id); the id goes to the server as X-Request-Id."""

    def __init__(self, port: int, record):
        self.port, self.record, self.cookies = port, record, {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, kind: str, method: str, path: str, form: dict | None = None, expect=(200,)):
        request_id = f"{os.getpid()}-{next(_REQUEST_IDS)}"
        headers = {"Accept-Encoding": "gzip, deflate, br",  # as browsers ask: the server compresses pages
                   "X-Request-Id": request_id}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started, wall = time.perf_counter(), time.time()
        try:
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()  # the server closed an idle keep-alive connection: a browser reconnects
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
            page = _decoded(response.read(), response.getheader("Content-Encoding", ""))
        except (OSError, http.client.HTTPException):
            self.record(kind, wall, time.perf_counter() - started, False, request_id)
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return None, None, ""
        ok = response.status in expect
        self.record(kind, wall, time.perf_counter() - started, ok, request_id)
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _sep, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return (response.status if ok else None), response.getheader("Location", ""), page.decode(errors="replace")

    def log_in(self, kind: str, username: str) -> bool:
        _status, _loc, page = self.request(f"{kind}: login page", "GET", "/login")
        token = CSRF.search(page)
        status, location, _page = self.request(
            f"{kind}: login (POST)", "POST", "/login",
            {"username": username, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}, expect=(302,))
        if status is None or location.rstrip("/").endswith("/login"):
            return False
        return self.request(f"{kind}: home page", "GET", "/")[0] is not None

    def close(self):
        self.conn.close()


def _decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        import brotli  # Flask-Compress's own dependency

        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _officer_visit(port, record, think, assignment_id, username) -> tuple[bool | None, float, float]:
    """One officer's visit: (outcome, wall time the form was posted, wall time the answer came).
    The outcome is True when the form was stored (the POST redirected to /feedback/), False when
    the POST failed, None when the visit ended before the POST."""
    browser = Browser(port, record)
    try:
        if not browser.log_in("officer", username):
            return None, 0.0, 0.0
        time.sleep(think)
        if browser.request("officer: /feedback/", "GET", "/feedback/")[0] is None:
            return None, 0.0, 0.0
        time.sleep(think)
        status, _loc, page = browser.request("officer: 360 form", "GET", f"/feedback/a/{assignment_id}")
        token, revision = CSRF.search(page), REVISION.search(page)
        if status is None or not token or not revision:
            return None, 0.0, 0.0
        items = sorted(set(ITEM.findall(page)))
        answers = {name: str(1 + (assignment_id + i) % 5) for i, name in enumerate(items)}
        time.sleep(think)
        posted = time.time()
        status, location, _page = browser.request(
            "officer: submit form (POST)", "POST", f"/feedback/a/{assignment_id}",
            {**answers, "csrf_token": token.group(1), "revision": revision.group(1), "action": "submit"},
            expect=(302,))
        answered = time.time()
        stored = status is not None and location.rstrip("/").endswith("/feedback")
        if stored:
            browser.request("officer: /feedback/", "GET", "/feedback/")
        return stored, posted, answered
    finally:
        browser.close()


def _leader_loop(port, record, think, username, unit_id, stop) -> None:
    """A station leader opening their pages in turn until ``stop``. Leaders start at a random moment
    within one think time and think ``think`` s on average (uniform between half and one and a half
    times it): with a fixed think time all leaders would open the same page at the same instant
    every round, a thundering herd no station ever makes."""
    browser = Browser(port, record)
    rng = random.Random(f"{username}:{unit_id}")
    try:
        time.sleep(rng.uniform(0, think))
        if not browser.log_in("leader", username):
            return
        pages = [("leader: home page", "/"), ("leader: station dashboard", f"/reports/units/{unit_id}"),
                 ("leader: unit 360 progress", "/feedback/tracking")]
        turn = 0
        while not stop.is_set():
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))
            kind, path = pages[turn % len(pages)]
            browser.request(kind, "GET", path)
            turn += 1
    finally:
        browser.close()


def _client_process(port, forms, leaders, rate, think, leader_think, start_at, stop, out):
    """Officers arrive every 1/rate s from ``start_at`` (open loop); leaders loop until ``stop``."""
    lock = threading.Lock()
    samples: list[tuple] = []
    outcomes: dict[int, tuple] = {}

    def record(kind, wall, seconds, ok, request_id=""):
        with lock:
            samples.append((kind, wall, seconds, ok, request_id))

    def visit(assignment_id, username):
        outcome = _officer_visit(port, record, think, assignment_id, username)
        with lock:
            outcomes[assignment_id] = outcome

    leader_threads = [threading.Thread(target=_leader_loop, args=(port, record, leader_think, u, unit, stop))
                      for u, unit in leaders]
    for t in leader_threads:
        t.start()
    late = 0
    with ThreadPoolExecutor(max_workers=256) as pool:
        for when, assignment_id, username in forms:
            delay = start_at + when - time.time()
            if delay > 0:
                if stop.wait(delay):
                    break
            elif delay < -1:
                late += 1
            if stop.is_set():
                break
            pool.submit(visit, assignment_id, username)
    for t in leader_threads:
        t.join()
    out.put({"samples": samples, "outcomes": outcomes, "late": late})


# ---- the admin ---------------------------------------------------------------------------------
def score_run_through_web(port, record, cycle_id) -> dict:
    """Log in as admin, open the cycle, start a score run, poll its status every second as the job
    page does; returns the job's id, its final status and the wall times of the POST and the end."""
    browser = Browser(port, record)
    try:
        if not browser.log_in("admin", "admin"):
            return {"error": "admin login failed"}
        _status, _loc, page = browser.request("admin: cycle page", "GET", f"/admin/cycles/{cycle_id}")
        token = CSRF.search(page)
        posted = time.time()
        status, location, _page = browser.request(
            "admin: compute (POST)", "POST", f"/assessment/cycles/{cycle_id}/compute",
            {"csrf_token": token.group(1) if token else "", "reason": "bench_web --rush"}, expect=(302,))
        job = JOB.search(location or "")
        if status is None or not job:
            return {"error": f"compute POST answered {status} {location}"}
        job_id = int(job.group(1))
        browser.request("admin: job page", "GET", f"/jobs/{job_id}?stay=1")
        steps: list[tuple[float, str]] = []  # (wall time first seen, the job's step), for the phases
        while True:
            time.sleep(1)
            status, _loc, body = browser.request("admin: job status poll", "GET", f"/jobs/{job_id}/status")
            if status is None:
                continue
            info = json.loads(body)
            if not steps or steps[-1][1] != info["step"]:
                steps.append((time.time(), info["step"]))
            if info["finished"]:
                return {"job": job_id, "posted": posted, "ended": time.time(), "info": info, "steps": steps}
    finally:
        browser.close()


def cpu_per_page(port, workers, forms, leaders, job_id, repeat=5) -> dict[str, float]:
    """The gunicorn workers' CPU per request of each kind, one request at a time (the rush is over):
    what a request costs the server, whatever else the machine is doing."""
    samples: list = []

    def record(*args):
        samples.append(args)

    def cost(make_request) -> float:
        before = _cpu_by_pid(workers)
        for _ in range(repeat):
            make_request()
        return _cpu_used(before, _cpu_by_pid(workers)) * 1000 / repeat

    def log_in():
        browser = Browser(port, record)
        browser.log_in("calibration", forms[0][1])
        browser.close()

    out: dict[str, float] = {}
    officer, leader, admin = Browser(port, record), Browser(port, record), Browser(port, record)
    try:
        out["logging in (page, POST, home)"] = cost(log_in)
        officer.log_in("officer", forms[0][1])
        leader.log_in("leader", leaders[0][0])
        admin.log_in("admin", "admin")
        for kind, browser, path in (
                ("officer home", officer, "/"), ("/feedback/", officer, "/feedback/"),
                ("360 form", officer, f"/feedback/a/{forms[0][0]}"), ("leader home", leader, "/"),
                ("station dashboard", leader, f"/reports/units/{leaders[0][1]}"),
                ("unit 360 progress", leader, "/feedback/tracking"),
                ("job status", admin, f"/jobs/{job_id}/status")):
            out[kind] = cost(lambda b=browser, p=path: b.request("calibration", "GET", p))
    finally:
        for browser in (officer, leader, admin):
            browser.close()
    return out


# ---- the checks --------------------------------------------------------------------------------
def check_forms(url: str, outcomes: dict[int, bool | None]) -> dict:
    """Every form posted with success stored once; no other rush form stored."""
    import sqlalchemy as sa

    from app.extensions import db

    posted = [a for a, ok in outcomes.items() if ok]
    app = make_app(url)
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT a.id, a.status, count(r.id) AS responses, count(r.submitted_at) AS submitted "
            "FROM feedback_assignment a LEFT JOIN feedback_response r ON r.assignment_id = a.id "
            "WHERE a.id = ANY(:ids) GROUP BY a.id, a.status"), {"ids": list(outcomes)}).all()
        db.engine.dispose()
    stored = {a for a, status, responses, submitted in rows if status == "submitted" and responses == 1 == submitted}
    return {"posted_ok": len(posted), "stored": len(stored), "stored_of_posted": len(stored & set(posted)),
            "stored_not_posted": len(stored - set(posted)), "attempted": len(outcomes)}


def check_score_run(url: str, job: dict, forms: list[tuple[int, str]], submit_times: dict[int, tuple]) -> dict:
    """Which rush forms the run saw (from its rater counts), whether that is one snapshot (stored
    before it started: in; posted after it ended: out), and whether a recompute on exactly those
    answers gives the same inputs hash and the same result rows (in a transaction rolled back)."""
    import sqlalchemy as sa

    from app.assessment.runs import compute_run
    from app.extensions import db
    from app.models import Cycle, Job, ScoreResult, ScoreRun

    app = make_app(url)
    out: dict = {}
    with app.app_context():
        job_row = db.session.get(Job, job["job"])
        run = db.session.get(ScoreRun, int((job_row.result or {})["run_id"]))
        started = job_row.started_at.replace(tzinfo=UTC).timestamp()
        finished = job_row.finished_at.replace(tzinfo=UTC).timestamp()
        out["run"] = run.id
        # the rater counts the run stored for each ratee of a rush form, against the counts without it
        rush = db.session.execute(sa.text(
            "SELECT a.id, a.ratee_id, a.relation, a.status FROM feedback_assignment a WHERE a.id = ANY(:ids)"),
            {"ids": [a for a, _u in forms]}).all()
        ratees = [r.ratee_id for r in rush]
        counts = defaultdict(int)
        for ratee, relation, n in db.session.execute(sa.text(
                "SELECT ratee_id, relation, count(*) FROM feedback_assignment WHERE cycle_id = :c "
                "AND status = 'submitted' AND ratee_id = ANY(:r) GROUP BY ratee_id, relation"),
                {"c": run.cycle_id, "r": ratees}):
            counts[(ratee, relation)] = n
        seen_counts = {}
        for officer_id, breakdown in db.session.execute(sa.text(
                "SELECT officer_id, breakdown FROM score_result WHERE run_id = :run AND officer_id = ANY(:r)"),
                {"run": run.id, "r": ratees}):
            breakdown = json.loads(breakdown) if isinstance(breakdown, str) else breakdown
            for indicator in breakdown.get("indicators", []):
                if indicator.get("code") == "soft_360":
                    seen_counts[officer_id] = (indicator.get("details") or {}).get("raters") or {}
        seen, unseen, unknown = [], [], []
        for a in rush:
            if a.status != "submitted":
                continue
            now = counts[(a.ratee_id, a.relation)]
            # a ratee without a 360 score in the run had no rater but themselves in it
            absent = 0 if a.relation != "self" else None
            in_run = seen_counts.get(a.ratee_id, {}).get(RATER_GROUP[a.relation], absent)
            if in_run == now:
                seen.append(a.id)
            elif in_run == now - 1:
                unseen.append(a.id)
            else:
                unknown.append(a.id)
        out.update(seen=len(seen), unseen=len(unseen), unknown=len(unknown))
        # stored (POST answered) before the job started → must be seen; posted after it ended → not
        out["stored_before_start_missing"] = sum(1 for a in unseen if submit_times.get(a, (0, 1e18))[1] < started)
        out["posted_after_end_seen"] = sum(1 for a in seen if submit_times.get(a, (0, 0))[0] > finished)
        out["during"] = sum(1 for a in seen + unseen if started <= submit_times.get(a, (0, 0))[1]
                            and submit_times.get(a, (1e18, 0))[0] <= finished)
        # the recompute on the same answers: the forms the run did not see are owed again, in a
        # transaction that is rolled back
        db.session.execute(sa.text("UPDATE feedback_assignment SET status = 'pending' WHERE id = ANY(:ids)"),
                           {"ids": unseen})
        again = compute_run(db.session.get(Cycle, run.cycle_id), reason="bench check")
        columns = ("level", "unit_id", "officer_id", "category", "total", "adjusted_total", "coefficient", "rank",
                   "rank_overall", "grade", "bonus_cents", "coverage", "excluded", "breakdown")

        def rows(run_id):
            return {(r[0], r[1], r[2]): r[3:] for r in db.session.execute(
                sa.select(*[getattr(ScoreResult, c) for c in columns]).where(ScoreResult.run_id == run_id))}

        first, second = rows(run.id), rows(again.id)
        out["rows"] = len(first)
        out["rows_equal"] = sum(1 for k, v in first.items() if second.get(k) == v)
        out["rows_differ"] = len(set(first) | set(second)) - out["rows_equal"]
        out["hash_equal"] = run.inputs_hash == again.inputs_hash
        db.session.rollback()
        db.engine.dispose()
    return out


# ---- the rush ----------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def rush(args) -> None:
    url = args.url
    print(f"database {url.rsplit('/', 1)[1]}: {check_schema(url)}", flush=True)
    plan = prepare(url, args.officers, args.leaders, args.seed)
    forms, leaders = plan["forms"], plan["leaders"]
    print(f"{plan['officers']:,} officers; {plan['submitted_before']:,} 360 forms already submitted; "
          f"{len(forms)} officers with a form they owe and {len(leaders)} station leaders take part", flush=True)
    port = _free_port()
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    servers = start_servers(url, port, log_dir, args.redis)
    web, worker = servers
    stop = mp.Event()
    out: mp.Queue = mp.Queue()
    samples: list[tuple] = []
    lock = threading.Lock()

    def record(kind, wall, seconds, ok, request_id=""):
        with lock:
            samples.append((kind, wall, seconds, ok, request_id))

    # officer i arrives i/rate s after the start; the client processes take turns
    start_at = time.time() + 2
    schedule = [(i / args.rate, a, u) for i, (a, u) in enumerate(forms)]
    clients = [mp.Process(target=_client_process, args=(
        port, schedule[p::args.procs], leaders[p::args.procs], args.rate, args.think, args.leader_think,
        start_at, stop, out)) for p in range(args.procs)]
    workers = _processes(lambda pid, comm, ppid: ppid == web.pid)
    postgres = _backends(url)
    cpu_before = (_cpu_by_pid(workers), _cpu_by_pid([worker.pid]), _cpu_by_pid(postgres),
                  resource.getrusage(resource.RUSAGE_CHILDREN))
    busy_before, load_before = _machine_busy(), os.getloadavg()[0]
    busy_marks: list[tuple] = []
    sampler = BackendSampler(url)
    sampler.start()
    try:
        for c in clients:
            c.start()
        time.sleep(max(0.0, start_at + args.warmup - time.time()))
        busy_marks.append(_machine_busy())
        job = score_run_through_web(port, record, plan["cycle"])
        busy_marks.append(_machine_busy())
        time.sleep(max(0.0, args.tail))
        stop.set()
        results = [out.get() for _ in clients]
        for c in clients:
            c.join()
        elapsed = time.time() - start_at
        postgres_after = sorted(set(postgres) | set(_backends(url)))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy_after = _machine_busy()
        cpu = {"gunicorn": _cpu_used(cpu_before[0], _cpu_by_pid(workers)),
               "worker": _cpu_used(cpu_before[1], _cpu_by_pid([worker.pid])),
               "postgres": _cpu_used(cpu_before[2], _cpu_by_pid(postgres_after)),
               "clients": (usage.ru_utime + usage.ru_stime) - (cpu_before[3].ru_utime + cpu_before[3].ru_stime)}
        load = (load_before, os.getloadavg()[0])
        sampler.stop.set()
        page_cpu = cpu_per_page(port, workers, forms, leaders, job.get("job"))
    finally:
        stop.set()
        sampler.stop.set()
        for process in servers:
            process.terminate()
        for process in servers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    for r in results:
        samples.extend(r["samples"])
    visits = {a: v for r in results for a, v in r["outcomes"].items()}
    outcomes = {a: ok for a, (ok, _posted, _answered) in visits.items()}
    # when each form's POST was sent and answered (wall clock), for the snapshot check
    submit_times = {a: (posted, answered) for a, (ok, posted, answered) in visits.items() if ok is not None}
    late = sum(r["late"] for r in results)
    report(samples, job, cpu, (busy_before, busy_after, busy_marks, load), elapsed, args, len(outcomes), late,
           start_at, log_dir)
    print(f"PostgreSQL backends of this database: {sampler.summary()}")
    print("server CPU per page, one request at a time after the rush (steady on a busy machine): "
          + ", ".join(f"{kind} {ms:.0f} ms" for kind, ms in page_cpu.items()))
    if "error" in job:
        print(f"score run: {job['error']}")
        return
    forms_check = check_forms(url, outcomes)
    print(f"360 forms: {forms_check['attempted']} officers came, "
          f"{forms_check['posted_ok']} forms posted with success, "
          f"{forms_check['stored']} stored (submitted, exactly one response each): "
          f"{forms_check['stored_of_posted']} of the posted, {forms_check['stored_not_posted']} not posted "
          "with success")
    if job["info"]["state"] != "succeeded":
        print(f"score run failed: {job['info'].get('error')}")
        return
    check = check_score_run(url, job, [(a, u) for a, u in forms if a in outcomes], submit_times)
    print(f"score run {check['run']}: saw {check['seen']} of the rush's forms, not {check['unseen']} "
          f"({check['unknown']} undecidable); {check['during']} were posted while it ran; stored before it started "
          f"but missing: {check['stored_before_start_missing']}; posted after it ended but in it: "
          f"{check['posted_after_end_seen']}")
    # the proof is the recompute: the same inputs hash and the same rows (an undecidable form, e.g. a self
    # rating of someone nobody else rated in the run, stays as it is in the recompute)
    consistent = (check["hash_equal"] and check["rows_differ"] == 0 and not check["stored_before_start_missing"]
                  and not check["posted_after_end_seen"])
    verdict = "yes" if consistent else "NO"
    print(f"recomputed on the same answers (the forms it did not see owed again, rolled back): inputs hash "
          f"{'equal' if check['hash_equal'] else 'DIFFERENT'}, {check['rows_equal']:,} of {check['rows']:,} result "
          f"rows equal, {check['rows_differ']} differ → consistent with one snapshot: {verdict}")


# the kinds of request, grouped as the issue names them
GROUPS = (("officers logging in (page, POST, home)", ("officer: login page", "officer: login (POST)",
                                                      "officer: home page")),
          ("officers' 360 pages (list, form)", ("officer: /feedback/", "officer: 360 form")),
          ("officers submitting a form (POST)", ("officer: submit form (POST)",)),
          ("leaders' pages (home, dashboard, progress)", ("leader: home page", "leader: station dashboard",
                                                         "leader: unit 360 progress")),
          ("admin (score run, job status)", ("admin: cycle page", "admin: compute (POST)", "admin: job page",
                                             "admin: job status poll")))


def _access_log(log_dir: Path) -> dict[str, tuple[int, float]]:
    """request id → (gunicorn worker pid, seconds inside gunicorn), from the access log."""
    out = {}
    try:
        lines = (log_dir / "access.log").read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] != "-":
            try:
                out[parts[0]] = (int(parts[1].strip("<>")), int(parts[2]) / 1e6)
            except ValueError:
                continue
    return out


def report(samples, job, cpu, busy, elapsed, args, n_officers, late, start_at, log_dir) -> None:
    """The table: p50/p95/p99/max per kind of request and per group after the warm-up, then the
    warm-up (each server process fills its caches) and everything while the score run computed;
    then where the slowest requests came from: the time they spent inside gunicorn (the rest
    waited before it: the listen queue, a free thread, a core), whether they were their worker's
    first of their kind (a cold cache), and the score run's step at the time."""
    busy_before, busy_after, marks, load = busy
    warm_until = start_at + args.warmup

    def share(a, b):
        return (b[0] - a[0]) / max(1, b[1] - a[1]) * 100

    print(f"gunicorn -w 4 -k gthread --threads 4, one RQ worker, rate limits in Redis; {os.cpu_count()} CPUs; "
          f"officers arrive {args.rate:g}/s ({n_officers} came, {late} started over a second late), think "
          f"{args.think:g} s; {args.leaders} leaders think {args.leader_think:g} s; {elapsed:.0f} s in all, "
          f"the first {args.warmup:g} s a warm-up")
    header = f"{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    print(f"{'after the warm-up':<44}{header}")
    after = [x for x in samples if x[1] >= warm_until]
    by_kind: dict[str, list] = defaultdict(list)
    for x in after:
        by_kind[x[0]].append(x)

    def line(name, rows):
        latencies = [x[2] for x in rows]
        print(f"{name:<44}{len(rows):>9}{sum(1 for x in rows if not x[3]):>8}{percentile(latencies, 0.5):>9.0f}"
              f"{percentile(latencies, 0.95):>9.0f}{percentile(latencies, 0.99):>9.0f}"
              f"{max(latencies, default=0) * 1000:>9.0f}")

    for kind in sorted(by_kind):
        line("  " + kind, by_kind[kind])
    for name, kinds in GROUPS:
        line(name, [x for k in kinds for x in by_kind.get(k, [])])
    line("all requests", after)
    line("warm-up (caches fill)", [x for x in samples if x[1] < warm_until])
    if "posted" in job:
        line("all, while the score run computed", [x for x in samples if job["posted"] <= x[1] <= job["ended"]])
        print(f"score run (POST → job done, through the worker): {job['ended'] - job['posted']:.1f} s, "
              f"state {job['info']['state']}; its steps (s from the POST): "
              + "; ".join(f"{step} {wall - job['posted']:.0f}" for wall, step in job.get("steps", [])))
    total = sum(cpu.values())
    print("CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) + f" (of {total:.0f}); machine busy "
          f"{share(busy_before, busy_after):.0f}% over the rush"
          + (f", {share(*marks):.0f}% while the score run computed" if len(marks) == 2 else "")
          + f"; load average {load[0]:.1f} at the start, {load[1]:.1f} at the end; gunicorn CPU per request "
          f"{cpu['gunicorn'] * 1000 / max(1, len(samples)):.0f} ms, {len(samples) / elapsed:.1f} requests/s")
    if job.get("steps"):
        print("after the warm-up, by the score run's phase:")
        phases: dict[str, list] = defaultdict(list)
        for x in after:
            phases[_phase(x[1], job, warm_until)].append(x)
        for name in sorted(phases, key=lambda n: min(x[1] for x in phases[n])):
            line("  " + name[:42], phases[name])
    _tail_report(samples, job, start_at, warm_until, log_dir)
    errors = sum(1 for line_ in (log_dir / "gunicorn.log").read_text(errors="replace").splitlines()
                 if "Traceback" in line_)
    print(f"server tracebacks logged: {errors} (logs in {log_dir})")


def _phase(wall: float, job: dict, warm_until: float) -> str:
    """Where in the rush ``wall`` falls: the warm-up, before or after the score run, or its step."""
    steps = job.get("steps", [])
    if wall < warm_until:
        return "warm-up"
    if "posted" not in job or wall < job["posted"]:
        return "before the run"
    if wall > job["ended"]:
        return "after the run"
    current = next((step for at, step in reversed(steps) if at <= wall), steps[0][1] if steps else "")
    return f"run: {current}"


def _tail_report(samples, job, start_at, warm_until, log_dir, slowest=12) -> None:
    served = _access_log(log_dir)
    first_of_kind: set[str] = set()  # each gunicorn worker's first request of each kind
    seen: set[tuple] = set()
    for kind, _wall, _s, _ok, rid in sorted(samples, key=lambda x: x[1]):
        if rid in served and (served[rid][0], kind) not in seen:
            seen.add((served[rid][0], kind))
            first_of_kind.add(rid)

    def phase(wall) -> str:
        return _phase(wall, job, warm_until)

    if not served:
        return
    matched = sum(1 for x in samples if x[4] in served)
    print(f"server side (gunicorn's access log, {matched} of {len(samples)} requests found in it): where the "
          f"{slowest} slowest requests after the warm-up came from")
    print(f"{'kind':<30}{'at s':>6}{'ms':>7}{'in gunicorn':>12}{'worker':>8}  first of kind / phase")
    for kind, wall, seconds, _ok, rid in sorted((x for x in samples if x[1] >= warm_until), key=lambda x: -x[2])[
            :slowest]:
        pid, inside = served.get(rid, (0, float("nan")))
        print(f"{kind[:29]:<30}{wall - start_at:>6.0f}{seconds * 1000:>7.0f}{inside * 1000:>12.0f}{pid:>8}  "
              f"{'first' if rid in first_of_kind else '':<5} {phase(wall)}")
    slow = [x for x in samples if x[1] >= warm_until and x[2] > 0.5]
    if slow:
        inside = [x for x in slow if x[4] in served and served[x[4]][1] > 0.5 * x[2]]
        cold = [x for x in slow if x[4] in first_of_kind]
        running = [x for x in slow if "posted" in job and job["posted"] <= x[1] <= job["ended"]]
        print(f"after the warm-up, {len(slow)} requests over 500 ms: {len(inside)} spent most of it inside gunicorn "
              f"(the rest waited before it), {len(cold)} were their worker's first of their kind, {len(running)} came "
              "while the score run computed")
