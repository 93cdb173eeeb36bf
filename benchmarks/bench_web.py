"""Load benchmark: the resident link cycle (GET the form, POST the answer, each with a fresh token)
against a bare "hello" route of the same app, both served by gunicorn with 2 workers on PostgreSQL.

Prints visits and requests per second, p50/p99 latency per request and errors for both, their
ratio, and the CPU each request cost the server (gunicorn workers), PostgreSQL and the clients, with
how busy the machine was. Target: the resident cycle reaches at least half the hello route's rate,
with no errors and p99 under 150 ms.

    python benchmarks/bench_web.py [--seconds 15] [--rounds 5] [--clients 32] [--procs 2] [--threads 4]

Measured the same way: every visit is a new client on a new connection; a resident's visit is GET +
POST on it, a hello visit one GET. The 32 clients are threads in ``--procs`` processes (not one
process each), so that on a small machine they leave the server its share; their CPU is printed.
With a closed loop of 32 clients on a saturated machine, latency follows from throughput (Little's
law: mean latency = clients / requests per second), so p99 and the rate move together. The two
kinds take turns in short rounds (``--rounds``) so that a shared host speeding up or slowing down
weighs on both alike; the ratio of each round is printed too. The CPU per request is the steadiest
figure: on a machine where clients, PostgreSQL and gunicorn share the cores, the rate ratio is close
to the ratio of what a request of each kind costs all of them together.

Needs PostgreSQL at 127.0.0.1:5432 (user postgres) and Redis; it makes its own database
(kaoping_bench_web, dropped and made again on every run).

``--rush`` measures the deadline rush of issue 19 instead, on a prebuilt province (``--url``, made
by ``bench_province.py --keep``; use a copy, it writes to it): officers logging in and submitting the
360 forms they owe and station leaders opening their dashboards while a score run computes in the
RQ worker, served as the README recommends. See ``web_rush.py``.

    python benchmarks/bench_web.py --rush [--url postgresql://…/copy_of_province] [--rate 4] [--officers 2000]
"""
import argparse
import http.client
import multiprocessing as mp
import os
import re
import resource
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


def start_gunicorn(url: str, port: int, threads: int = 4) -> subprocess.Popen:
    """gunicorn with 2 workers: gthread with ``threads`` threads each, or sync workers when ``threads`` is 0."""
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret", KAOPING_ENV="production",
               KAOPING_BENCH_HELLO="1", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/13")
    workers = ["-k", "gthread", "--threads", str(threads)] if threads else ["-k", "sync", "--backlog", "2048"]
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", *workers,
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


# ---- clients ------------------------------------------------------------------------------------
# Both routes are measured the same way: every visit is a new client on a new TCP connection (a
# resident opening a link), the resident's visit being GET form + POST answer on that connection and
# the hello visit one GET. Latency is per request, from sending it to reading the whole response.
# The clients are a few processes running threads (not one process per client), so that they leave
# the server its share of a small machine; the CPU they use is printed next to the server's.
def _hello_visit(port, _token):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        start = time.perf_counter()
        conn.request("GET", "/bench/hello")
        response = conn.getresponse()
        response.read()
        return [time.perf_counter() - start], response.status == 200
    finally:
        conn.close()


def _resident_visit(port, token):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        start = time.perf_counter()
        conn.request("GET", f"/r/{token}")
        response = conn.getresponse()
        page = response.read().decode()
        latencies = [time.perf_counter() - start]
        if response.status != 200 or 'name="overall"' not in page:
            return latencies, False
        # A browser posts back what the page holds: a CSRF token and the session cookie if it has them.
        match = CSRF.search(page)
        body = urllib.parse.urlencode({**ANSWER, **({"csrf_token": match.group(1)} if match else {})})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        if cookie:
            headers["Cookie"] = cookie
        start = time.perf_counter()
        conn.request("POST", f"/r/{token}", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        return latencies, response.status in (302, 303)
    finally:
        conn.close()


def _client_process(kind, port, seconds, threads, tokens, out):
    import threading

    visit = _hello_visit if kind == "hello" else _resident_visit
    lock = threading.Lock()
    results = {"latencies": [], "errors": 0, "visits": 0}
    per = len(tokens) // threads if tokens else 0
    end = time.monotonic() + seconds

    def loop(mine):
        latencies, errors, visits = [], 0, 0
        for token in mine if mine is not None else iter(int, 1):
            if time.monotonic() >= end:
                break
            try:
                times, ok = visit(port, token)
            except (OSError, http.client.HTTPException):
                times, ok = [], False
            latencies.extend(times)
            errors += not ok
            visits += ok
        with lock:
            results["latencies"].extend(latencies)
            results["errors"] += errors
            results["visits"] += visits

    workers = [threading.Thread(target=loop, args=(tokens[i * per:(i + 1) * per] if tokens else None,))
               for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(results)


def _cpu_by_pid(pids) -> dict[int, float]:
    """utime + stime in seconds of each process still there (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings: processes seen both times, plus new ones from their start
    (a process that ended in between is missed)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _processes(predicate) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            if predicate(int(entry.name), comm, int(rest[1])):
                pids.append(int(entry.name))
    return pids


def _machine_busy() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def run(kind, port, seconds, clients, procs, server_pid, tokens=None):
    out = mp.Queue()
    threads = max(1, clients // procs)
    per = len(tokens) // procs if tokens else 0
    workers = _processes(lambda pid, comm, ppid: ppid == server_pid)
    postgres = _processes(lambda pid, comm, ppid: comm.startswith("postgres"))
    cpu_before = _cpu_by_pid(workers), _cpu_by_pid(postgres), resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = _machine_busy()
    processes = [mp.Process(target=_client_process, args=(
        kind, port, seconds, threads, tokens[i * per:(i + 1) * per] if tokens else None, out)) for i in range(procs)]
    started = time.monotonic()
    for p in processes:
        p.start()
    results = [out.get() for _ in processes]
    elapsed = time.monotonic() - started
    for p in processes:
        p.join()
    postgres_after = _processes(lambda pid, comm, ppid: comm.startswith("postgres"))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after = _machine_busy()
    cpu = {
        "server": _cpu_used(cpu_before[0], _cpu_by_pid(workers)),
        # Backends that came and went in between are missed; the pools keep theirs open.
        "postgres": _cpu_used(cpu_before[1], _cpu_by_pid(postgres_after)),
        "clients": (usage.ru_utime + usage.ru_stime) - (cpu_before[2].ru_utime + cpu_before[2].ru_stime),
        "machine": (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]),
    }
    return {"latencies": [x for r in results for x in r["latencies"]], "visits": sum(r["visits"] for r in results),
            "errors": sum(r["errors"] for r in results), "elapsed": elapsed, "cpu": cpu}


def summarise(rounds: list[dict]) -> dict:
    """Rates, latency percentiles and CPU of one kind over all its rounds, pooled."""
    latencies = sorted(x for r in rounds for x in r["latencies"])
    elapsed = sum(r["elapsed"] for r in rounds)
    visits = sum(r["visits"] for r in rounds)

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    cpu = {key: sum(r["cpu"][key] for r in rounds) for key in ("server", "postgres", "clients")}
    cpu["machine"] = sum(r["cpu"]["machine"] * r["elapsed"] for r in rounds) / elapsed
    return {"rate": visits / elapsed, "requests": len(latencies) / elapsed, "p50": pct(0.50), "p99": pct(0.99),
            "errors": sum(r["errors"] for r in rounds), "count": visits, "n_requests": len(latencies),
            "elapsed": elapsed, "cpu": cpu}


def _report(name, r):
    per_request = {k: (v * 1000 / r["n_requests"] if r["n_requests"] else float("nan"))
                   for k, v in r["cpu"].items() if k != "machine"}
    print(f"{name:<26}{r['rate']:>9.0f}{r['requests']:>9.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['errors']:>8d}"
          f"{per_request['server']:>9.2f}{per_request['postgres']:>9.2f}{per_request['clients']:>9.2f}"
          f"{r['cpu']['machine'] * 100:>7.0f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (threads in all)")
    parser.add_argument("--procs", type=int, default=2, help="client processes the threads are spread over")
    # 4 threads per worker, as in tests/multiprocess and the README: with 16, requests that wait on the
    # database queue again for the GIL behind the others and p99 grows 3-5 times for no more throughput.
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (0: sync workers)")
    parser.add_argument("--rounds", type=int, default=5, help="turns each kind takes (seconds split between them)")
    rush = parser.add_argument_group("--rush: the deadline rush on a prebuilt province (web_rush.py)")
    rush.add_argument("--rush", action="store_true", help="measure the deadline rush instead")
    rush.add_argument("--url", help="the province database (a copy: the rush writes to it)")
    rush.add_argument("--officers", type=int, default=2000, help="officers at most, each submitting one form")
    rush.add_argument("--rate", type=float, default=1, help="officers arriving per second")
    rush.add_argument("--think", type=float, default=1, help="seconds an officer spends on each page")
    rush.add_argument("--leaders", type=int, default=10, help="station leaders opening their pages")
    rush.add_argument("--leader-think", type=float, default=3,
                      help="seconds a leader spends on each page, on average (uniform, 0.5-1.5 times)")
    rush.add_argument("--warmup", type=float, default=20, help="seconds of rush before the score run starts")
    rush.add_argument("--tail", type=float, default=5, help="seconds of rush after the score run ends")
    rush.add_argument("--seed", type=int, default=1, help="which owed forms and leaders take part")
    rush.add_argument("--log-dir", default="instance/bench-rush", help="where the servers' logs go")
    rush.add_argument("--redis", default="redis://127.0.0.1:6379/13",
                      help="Redis for the rate limits and the job queue (another database number when others share it)")
    args = parser.parse_args()
    if args.rush:
        from web_rush import DEFAULT_URL
        from web_rush import rush as run_rush

        args.url = args.url or DEFAULT_URL
        run_rush(args)
        return
    url, tokens = prepare_database(n_tokens=60_000)
    port = _free_port()
    server = start_gunicorn(url, port, args.threads)
    warm, tokens = tokens[:2000], tokens[2000:]
    # The two kinds take turns in short rounds, so that a machine that slows down or speeds up in the
    # middle of the run (a shared host) weighs on both alike; the figures pool all rounds.
    step = args.seconds / args.rounds
    per_round = len(tokens) // args.rounds
    hello_rounds, resident_rounds = [], []
    try:
        run("hello", port, 2, args.clients, args.procs, server.pid)  # warm up both routes
        run("resident", port, 2, args.clients, args.procs, server.pid, warm)
        for i in range(args.rounds):
            hello_rounds.append(run("hello", port, step, args.clients, args.procs, server.pid))
            resident_rounds.append(run("resident", port, step, args.clients, args.procs, server.pid,
                                       tokens[i * per_round:(i + 1) * per_round]))
    finally:
        server.terminate()
        server.wait(timeout=10)
    hello, resident = summarise(hello_rounds), summarise(resident_rounds)
    print(f"gunicorn 2 workers (gthread, {args.threads} threads) on PostgreSQL; {args.clients} concurrent clients "
          f"in {args.procs} processes; {args.seconds:g} s each in {args.rounds} alternating rounds; "
          f"a new connection per visit; {os.cpu_count()} CPUs")
    print(f"{'':<26}{'visits/s':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'CPU ms per request: server':>28}{'postgres':>9}{'clients':>9}{'busy':>8}")
    _report("hello route", hello)
    _report("resident cycle (GET+POST)", resident)
    print(f"ratio resident cycles / hello requests: {resident['rate'] / hello['rate']:.2f} "
          f"(resident requests / hello requests: {resident['requests'] / hello['requests']:.2f})")
    spread = [(len(r["latencies"]) / r["elapsed"]) / max(1e-9, len(h["latencies"]) / h["elapsed"])
              for r, h in zip(resident_rounds, hello_rounds, strict=True)]
    print("resident requests / hello requests by round: " + ", ".join(f"{x:.2f}" for x in spread))
    print(f"answers stored in the run: {resident['count']}")


if __name__ == "__main__":
    main()
