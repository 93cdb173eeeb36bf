"""Load benchmark: the resident link cycle (GET the form, POST the answer, each with a fresh token)
against a bare "hello" route of the same app, both served by gunicorn with 2 workers on PostgreSQL.

Prints requests per second, p50/p99 latency and errors for both, and their ratio. Target: the
resident cycle reaches at least half the hello route's rate, with no errors and p99 under 150 ms.

    python benchmarks/bench_web.py [--seconds 15] [--clients 32]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); it creates and drops its own database.
"""
import argparse
import http.client
import multiprocessing as mp
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "kaoping_bench_web"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ANSWER = {"overall": "4", "attitude": "4", "efficiency": "3", "fairness": "4", "resolved": "yes", "comment": ""}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(n_tokens: int) -> tuple[str, list[str]]:
    """A fresh, migrated database with one station, one service type and n fresh invitations."""
    import sqlalchemy as sa

    admin = sa.create_engine(ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    url = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
    env = dict(os.environ, DATABASE_URL=url, KAOPING_ENV="development")
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    os.environ.update(DATABASE_URL=url, KAOPING_ENV="development")
    from app import create_app
    from app.extensions import db
    from app.models import Officer, ResidentInvitation, ServiceType, Unit, utcnow
    from surveys.residents import hash_token, new_token

    app = create_app()
    with app.app_context():
        unit = Unit(code="PS01", name="城关派出所", kind="station", category=1)
        officer = Officer(badge_no="010001", name="张警官", unit=unit)
        service = ServiceType(name="窗口办事", is_sensitive=False)
        db.session.add_all([unit, officer, service])
        db.session.flush()
        tokens = [new_token() for _ in range(n_tokens)]
        now = utcnow()
        from datetime import timedelta

        db.session.execute(sa.insert(ResidentInvitation), [
            {"token_hash": hash_token(t), "service_type_id": service.id, "unit_id": unit.id, "reference": f"B{i}",
             "source": "staff", "created_at": now, "expires_at": now + timedelta(days=7)}
            for i, t in enumerate(tokens)])
        db.session.commit()
        db.engine.dispose()
    return url, tokens


def start_gunicorn(url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret", KAOPING_ENV="production",
               KAOPING_BENCH_HELLO="1", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/13")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "16",
                                "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                               cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def _hello_worker(port, seconds, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, errors, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        try:
            conn.request("GET", "/bench/hello")
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append(time.perf_counter() - start)
        errors += not ok
    out.put((latencies, errors, len(latencies)))


def _resident_worker(port, seconds, tokens, out):
    """Each cycle is a new resident: new connection, no cookies, GET the form, POST the answer."""
    latencies, errors, cycles, end = [], 0, 0, time.monotonic() + seconds
    for token in tokens:
        if time.monotonic() >= end:
            break
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            start = time.perf_counter()
            conn.request("GET", f"/r/{token}")
            response = conn.getresponse()
            page = response.read().decode()
            latencies.append(time.perf_counter() - start)
            cookie = response.getheader("Set-Cookie", "").split(";")[0]
            match = CSRF.search(page)
            if response.status != 200 or not match:
                errors += 1
                continue
            body = urllib.parse.urlencode({**ANSWER, "csrf_token": match.group(1)})
            start = time.perf_counter()
            conn.request("POST", f"/r/{token}", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            errors += response.status not in (200, 302, 303)
            cycles += 1
        except (OSError, http.client.HTTPException):
            errors += 1
        finally:
            conn.close()
    out.put((latencies, errors, cycles))


def run(kind, port, seconds, clients, tokens=None):
    out = mp.Queue()
    per = len(tokens) // clients if tokens else 0
    procs = []
    for i in range(clients):
        if kind == "hello":
            args = (port, seconds, out)
            target = _hello_worker
        else:
            args = (port, seconds, tokens[i * per:(i + 1) * per], out)
            target = _resident_worker
        procs.append(mp.Process(target=target, args=args))
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    elapsed = time.monotonic() - started
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r[0])
    count = sum(r[2] for r in results)
    errors = sum(r[1] for r in results)
    pct = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else (
        lambda q: float("nan"))
    return {"rate": count / elapsed, "requests": len(latencies) / elapsed, "p50": pct(0.50), "p99": pct(0.99),
            "errors": errors, "count": count}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    url, tokens = prepare_database(n_tokens=40_000)
    port = _free_port()
    server = start_gunicorn(url, port)
    try:
        run("hello", port, 2, args.clients)  # warm up
        hello = run("hello", port, args.seconds, args.clients)
        resident = run("resident", port, args.seconds, args.clients, tokens)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"gunicorn 2 workers (gthread) on PostgreSQL, {args.clients} concurrent clients, {args.seconds:g} s each")
    print(f"{'':<26}{'per second':>12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    print(f"{'hello route':<26}{hello['rate']:>12.0f}{hello['requests']:>10.0f}{hello['p50']:>9.1f}"
          f"{hello['p99']:>9.1f}{hello['errors']:>8d}")
    print(f"{'resident cycle (GET+POST)':<26}{resident['rate']:>12.0f}{resident['requests']:>10.0f}"
          f"{resident['p50']:>9.1f}{resident['p99']:>9.1f}{resident['errors']:>8d}")
    print(f"ratio resident cycles / hello requests: {resident['rate'] / hello['rate']:.2f} "
          f"(resident requests / hello requests: {resident['requests'] / hello['requests']:.2f})")
    print(f"answers stored in the run: {resident['count']}")


if __name__ == "__main__":
    main()
