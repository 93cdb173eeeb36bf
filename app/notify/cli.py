"""Commands: send what is due (for cron or a periodic job), and a local SMS gateway stand-in."""
from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("send-notifications")
@with_appcontext
def send_notifications():
    """Send the SMS and e-mails that are due: retries, messages held for the quiet hours, residents' SMS."""
    from .delivery import send_due

    counts = send_due()
    click.echo(", ".join(f"{name}: {n}" for name, n in sorted(counts.items())) or "nothing due")


class StandinGateway(ThreadingHTTPServer):
    """An SMS gateway that sends nothing: it answers the app's JSON POSTs (app.notify.channels) and
    keeps what it received in ``received``. Used by the tests and by ``flask sms-gateway-standin``."""

    daemon_threads = True

    def __init__(self, address=("127.0.0.1", 0), *, echo=None, token: str = ""):
        self.received: list[dict] = []
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.echo, self.token = echo, token
        # Every accepted POST, repeats (same client_msg_id, not sent again) marked "duplicate".
        # Tests steer the answers: a list of statuses (or "hang" for no answer in time) used in turn.
        self.script: list[int | str] = []
        self.hang_seconds = 2.0
        super().__init__(address, _StandinHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/sms"


class _StandinHandler(BaseHTTPRequestHandler):
    server: StandinGateway

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - http.server's name
        gateway = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if gateway.token and self.headers.get("Authorization") != f"Bearer {gateway.token}":
            return self._answer(401, {"error": "unauthorised"})
        with gateway.lock:
            step = gateway.script.pop(0) if gateway.script else 200
        if step == "hang":
            threading.Event().wait(gateway.hang_seconds)
            step = 200
        if step != 200:
            return self._answer(int(step), {"error": "stand-in told to fail"})
        try:
            message = json.loads(raw)
            phone, text, msg_id = str(message["phone"]), str(message["text"]), str(message["client_msg_id"])
        except (ValueError, KeyError, TypeError):
            return self._answer(400, {"error": "expected JSON with phone, text, client_msg_id"})
        with gateway.lock:
            repeat = msg_id in gateway.seen
            gateway.seen.add(msg_id)  # the contract: one message per client_msg_id, however often posted
            gateway.received.append({"phone": phone, "text": text, "client_msg_id": msg_id, "duplicate": repeat})
        if gateway.echo and not repeat:
            gateway.echo(f"SMS to {phone} ({msg_id}): {text}")
        self._answer(200, {"id": msg_id, "duplicate": repeat})


@click.command("sms-gateway-standin")
@click.option("--port", default=8025, show_default=True)
@click.option("--token", default="", help="Require this bearer token (set SMS_GATEWAY_TOKEN to the same).")
def sms_gateway_standin(port, token):
    """Serve a local SMS gateway stand-in on 127.0.0.1 that logs each message instead of sending it.

    Point the app at it: SMS_GATEWAY_URL=http://127.0.0.1:8025/sms (and set users' mobile numbers)."""
    server = StandinGateway(("127.0.0.1", port), echo=click.echo, token=token)
    click.echo(f"SMS gateway stand-in on {server.url} — messages are printed here, never sent. Ctrl+C stops it.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.command("send-reminders")
@click.option("--date", "day", default="", help="The bureau-local day to run for (YYYY-MM-DD); today if omitted.")
@with_appcontext
def send_reminders(day: str) -> None:
    """Send the day's reminders now (a second run the same day tells nobody again)."""
    from .reminders import run_reminders

    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD, e.g. 2026-12-01", param_hint="--date") from None
    summary = run_reminders(chosen)
    db.session.commit()
    click.echo(", ".join(f"{name}: {count}" for name, count in summary.items()))
