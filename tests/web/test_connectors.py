"""Pull connectors against a stand-in business system: a real HTTP server on 127.0.0.1 started by the
test. Successes move the watermark; a timeout, a 500, malformed answers and bad rows store nothing and
leave the watermark where it was."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Connector, Incident
from app.monitoring.connectors import TOKEN_PURPOSE, pull
from app.sealing import seal, unseal
from app.trends.services import seed_incident_types

from ..factories import make_unit

ROW = {"external_id": "P1", "unit_code": "PS01", "incident_type": "fraud", "received_at": "2026-11-03 08:15",
       "arrived_at": "2026-11-03 08:25"}


class Handler(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        Handler.seen.append((parts.path, parse_qs(parts.query).get("since", [""])[0],
                             self.headers.get("Authorization")))
        if parts.path == "/slow":
            time.sleep(1.5)
            body = {"rows": [], "watermark": "x"}
        elif parts.path == "/boom":
            self.send_response(500)
            self.end_headers()
            return
        elif parts.path == "/notjson":
            self._send(b"<html>oops</html>")
            return
        elif parts.path == "/shape":
            body = [ROW]
        elif parts.path == "/badrow":
            body = {"rows": [ROW, {**ROW, "external_id": "P2", "arrived_at": "2026-11-03 07:00"}], "watermark": "w2"}
        else:
            since = parse_qs(parts.query).get("since", [""])[0]
            rows = [ROW] if since == "" else [{**ROW, "arrived_at": "2026-11-03 08:20"}, {**ROW, "external_id": "P3"}]
            body = {"rows": rows, "watermark": "w1" if since == "" else "w2"}
        self._send(json.dumps(body).encode())

    def _send(self, raw):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def system():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _connector(url, **extra):
    make_unit("PS01") if not db.session.execute(sa.text("SELECT 1 FROM unit WHERE code = 'PS01'")).first() else None
    seed_incident_types()
    connector = Connector(name=f"警综 {url[-6:]}", kind="incidents", url=url,
                          sealed_token=seal("s3cret", TOKEN_PURPOSE), **extra)
    db.session.add(connector)
    db.session.commit()
    return connector


def _incidents():
    return db.session.scalar(sa.select(sa.func.count(Incident.id)))


def test_pulls_move_the_watermark_and_update_by_external_id(app, ctx, system):
    connector = _connector(system + "/feed")
    assert pull(connector)
    db.session.commit()
    assert (_incidents(), connector.watermark, connector.last_created) == (1, "w1", 1)
    assert pull(connector)
    db.session.commit()
    assert (_incidents(), connector.watermark, connector.last_created, connector.last_updated) == (2, "w2", 1, 1)
    assert [s[1] for s in Handler.seen] == ["", "w1"] and Handler.seen[0][2] == "Bearer s3cret"
    arrived = db.session.execute(sa.select(Incident.arrived_at).filter_by(external_id="P1")).scalar_one()
    assert arrived.minute == 20  # 08:20 Beijing time = 00:20 UTC, the re-sent value


@pytest.mark.parametrize("path, words", [
    ("/slow", "没有响应"), ("/boom", "HTTP 500"), ("/notjson", "JSON"), ("/shape", "rows"), ("/badrow", "第 2 行"),
])
def test_failures_store_nothing_and_keep_the_watermark(app, ctx, system, path, words):
    app.config["CONNECTOR_TIMEOUT"] = 0.5
    try:
        connector = _connector(system + path, watermark="w0")
        assert not pull(connector)
        db.session.commit()
        assert _incidents() == 0
        assert connector.watermark == "w0" and words in connector.last_error and connector.last_success_at is None
        assert connector.last_run_at is not None
    finally:
        app.config.pop("CONNECTOR_TIMEOUT", None)


def test_unreachable_system_and_cli_and_admin_page(app, client, auth, system):
    with app.app_context():
        _connector(system + "/feed")
        dead = Connector(name="停用的系统", kind="cases", url="http://127.0.0.1:9/none", watermark="w9")
        db.session.add(dead)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["pull-records"])
    assert result.exit_code == 1 and "1 rows (1 created" in result.output and "无法连接" in result.output
    again = app.test_cli_runner().invoke(args=["pull-records"])  # nothing due within the interval
    assert again.output == ""
    auth.as_role("admin", username="office")
    page = client.get("/monitoring/connectors").get_data(as_text=True)
    assert "w1" in page and "无法连接" in page and "w9" in page
    bad = client.post("/monitoring/connectors", data={"name": "x", "kind": "cases", "url": "ftp://x", "interval": 5})
    assert "http://" in bad.get_data(as_text=True)
    client.post("/monitoring/connectors", data={"name": "案件系统", "kind": "cases", "url": system + "/feed",
                                                "interval": 5})
    with app.app_context():
        assert db.session.execute(sa.select(Connector).filter_by(name="案件系统")).scalar_one().interval_minutes == 5


def test_the_token_is_sealed_at_rest_and_a_changed_key_stores_nothing(app, client, auth, system):
    auth.as_role("admin", username="office")
    client.post("/monitoring/connectors", data={"name": "案件系统", "kind": "incidents", "url": system + "/feed",
                                                "interval": 5, "token": "  t0ken-for-the-system "})
    with app.app_context():
        if not db.session.execute(sa.text("SELECT 1 FROM unit WHERE code = 'PS01'")).first():
            make_unit("PS01")
        seed_incident_types()
        db.session.commit()
        connector = db.session.execute(sa.select(Connector).filter_by(name="案件系统")).scalar_one()
        stored = db.session.execute(sa.text("SELECT sealed_token FROM connector")).scalar_one()
        assert "t0ken" not in stored and unseal(stored, TOKEN_PURPOSE) == "t0ken-for-the-system"
        assert unseal(stored, "resident-sms-token") is None  # one purpose cannot open another's
        assert pull(connector)
        db.session.commit()
        assert Handler.seen[-1][2] == "Bearer t0ken-for-the-system"
        secret = app.config["SECRET_KEY"]
        app.config["SECRET_KEY"] = "another installation"
        try:
            connector.watermark = "w0"
            assert not pull(connector)
            db.session.commit()
            assert "重新填写" in connector.last_error and connector.watermark == "w0" and _incidents() == 1
        finally:
            app.config["SECRET_KEY"] = secret
    # Saving again with the token left blank keeps it.
    client.post("/monitoring/connectors/%d" % connector.id, data={"name": "案件系统", "kind": "incidents",
                                                                  "url": system + "/feed", "interval": 5})
    with app.app_context():
        kept = db.session.execute(sa.text("SELECT sealed_token FROM connector")).scalar_one()
        assert unseal(kept, TOKEN_PURPOSE) == "t0ken-for-the-system"
