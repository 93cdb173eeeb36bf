"""Two gunicorn worker processes on one PostgreSQL database with Redis for rate limits: the set-up
a bureau runs in production. These tests only run on PostgreSQL (TEST_DATABASE_URL)."""
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(database_url: str, log, **env_extra) -> tuple[subprocess.Popen, str]:
    """A 2-worker gunicorn (4 threads each) serving ``database_url``; (process, base URL)."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="multiprocess-test-secret",
               KAOPING_ENV="production", RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/14",
               RATELIMIT_KEY_PREFIX=f"kaoping-mp-{port}", **env_extra)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
             "--graceful-timeout", "2", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("gunicorn did not start:\n" + log.read_text())


def stop_gunicorn(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def gunicorn(app, database_url, tmp_path_factory):
    """Base URL of a 2-worker gunicorn serving the test database (the `app` fixture made its tables)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("multi-process tests run on PostgreSQL (set TEST_DATABASE_URL)")
    process, base = start_gunicorn(database_url, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")
    yield base
    stop_gunicorn(process)


class Browser:
    """A cookie-keeping HTTP client that fills in the CSRF token like a browser's form would."""

    CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method, path, data=None):
        body = urllib.parse.urlencode(data or {}, doseq=True).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def get(self, path):
        return self.request("GET", path)

    def csrf(self, path):
        status, html = self.get(path)
        match = self.CSRF.search(html)
        assert match, f"no CSRF token on {path} ({status})"
        return match.group(1)

    def post(self, path, data=None, form_page=None):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(form_page or path))
        return self.request("POST", path, data)

    def login(self, username, password):
        status, _ = self.post("/login", {"username": username, "password": password})
        assert status == 302, f"login as {username} failed ({status})"
        return self


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
