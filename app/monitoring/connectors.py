"""Pull connectors: fetch new and changed records from a business system since the last watermark.

The system answers ``GET <url>?since=<watermark>`` (``Authorization: Bearer <token>`` when one is
set) with ``{"rows": [...], "watermark": "..."}``; rows are those of the token API's import of the
same kind (``/api/v1/imports/incidents`` or ``case-records``). A pull stores every row or none, inside
a savepoint: on a timeout, an HTTP error, a malformed answer or any bad row nothing is stored, the
error is kept on the connector and the watermark stays where it was, so the next pull asks again.
``flask pull-records`` runs the connectors that are due (from cron or a systemd timer).
"""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..localtime import local_today
from ..models import Connector, utcnow
from ..sealing import seal, unseal
from . import notices

MAX_ROWS = 20_000
TOKEN_PURPOSE = "connector-token"  # kept sealed at rest (app.sealing), opened only to send it
MAX_BYTES = 32 * 1024 * 1024


class PullError(Exception):
    """A pull that stored nothing; ``message`` is for the admin page."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _fetch(connector: Connector) -> dict:
    query = urllib.parse.urlencode({"since": connector.watermark})
    url = connector.url + ("&" if "?" in connector.url else "?") + query
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if connector.sealed_token:
        token = unseal(connector.sealed_token, TOKEN_PURPOSE)
        if token is None:
            raise PullError(_("访问令牌无法解密（系统密钥已更换），请在连接器设置中重新填写。"))
        request.add_header("Authorization", f"Bearer {token}")
    timeout = float(current_app.config.get("CONNECTOR_TIMEOUT", 20))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https checked)
            raw = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise PullError(_("业务系统返回错误 HTTP %(code)d。", code=error.code)) from None
    except (TimeoutError, socket.timeout):
        raise PullError(_("业务系统在 %(s)s 秒内没有响应。", s=f"{timeout:g}")) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise PullError(_("业务系统在 %(s)s 秒内没有响应。", s=f"{timeout:g}")) from None
        raise PullError(_("无法连接业务系统：%(reason)s", reason=str(reason)[:200])) from None
    if len(raw) > MAX_BYTES:
        raise PullError(_("业务系统返回的数据过大。"))
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise PullError(_("业务系统返回的不是有效的 JSON。")) from None
    if not isinstance(body, dict) or not isinstance(body.get("rows"), list) \
            or not isinstance(body.get("watermark", ""), str):
        raise PullError(_("业务系统的应答应为 {\"rows\": [...], \"watermark\": \"...\"}。"))
    if len(body["rows"]) > MAX_ROWS:
        raise PullError(_("一次最多拉取 %(n)d 行。", n=MAX_ROWS))
    return body


def _store(connector: Connector, rows: list) -> tuple[int, int]:
    from ..claims.services import CaseImportReport, import_case_records
    from ..trends.services import IncidentReport, import_incident_rows

    if any(not isinstance(row, dict) for row in rows):
        raise PullError(_("每一行应为 JSON 对象。"))
    report: IncidentReport | CaseImportReport
    if connector.kind == "incidents":
        report = import_incident_rows(list(enumerate(rows, start=1)))
    else:
        report = import_case_records(rows, source=f"pull:{connector.name}"[:60])
    if not report.ok:
        first = "；".join(_("第 %(n)d 行：%(m)s", n=n, m=m) for n, m in report.errors[:3])
        raise PullError(_("%(n)d 行有误，未导入任何数据。%(first)s", n=len(report.errors), first=first))
    return report.created, report.updated


def pull(connector: Connector) -> bool:
    """Fetch and store one connector's new records; True on success. The caller commits either way
    (the outcome is recorded on the connector)."""
    connector.last_run_at = utcnow()
    try:
        body = _fetch(connector)
        savepoint = db.session.begin_nested()
        try:
            created, updated = _store(connector, body["rows"])
            savepoint.commit()
        except BaseException:
            savepoint.rollback()
            raise
    except (PullError, DomainError) as error:
        connector.last_error = error.message
        db.session.flush()
        notices.connector_failed(connector, local_today())
        return False
    connector.last_error = ""
    connector.last_success_at = connector.last_run_at
    connector.last_rows, connector.last_created, connector.last_updated = len(body["rows"]), created, updated
    if body.get("watermark"):
        connector.watermark = body["watermark"][:100]
    db.session.flush()
    record("connector_pulled", "connector", connector.id,
           after={"rows": len(body["rows"]), "created": created, "updated": updated})
    return True


def due_connectors(force: bool = False) -> list[Connector]:
    now = utcnow()
    rows = db.session.execute(sa.select(Connector).where(Connector.is_active).order_by(Connector.id)).scalars()
    return [c for c in rows if force or c.last_run_at is None
            or c.last_run_at + timedelta(minutes=c.interval_minutes) <= now]


def save_connector(name: str, kind: str, url: str, token: str, interval: int, connector: Connector | None = None):
    name, url = name.strip(), url.strip()
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DomainError(_("地址应以 http:// 或 https:// 开头。"), field="url")
    clash = db.session.execute(sa.select(Connector.id).where(Connector.name == name)).scalar()
    if clash and (connector is None or clash != connector.id):
        raise DomainError(_("已有同名的连接器。"), field="name")
    connector = connector or Connector()
    connector.name, connector.kind, connector.url, connector.interval_minutes = name, kind, url, interval
    if token.strip():
        connector.sealed_token = seal(token.strip(), TOKEN_PURPOSE)
    db.session.add(connector)
    db.session.flush()
    record("connector_saved", "connector", connector.id, after={"name": name, "kind": kind, "url": url})
    return connector
