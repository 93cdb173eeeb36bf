"""API clients: each business system gets a token, shown once; only its SHA-256 is stored."""
from __future__ import annotations

import hashlib
import secrets

from flask_babel import gettext as _

from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import ApiClient, utcnow

TOKEN_PREFIX = "kp_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(name: str, user_id: int | None = None) -> tuple[ApiClient, str]:
    """Create a client; returns it and its token (the only time the token is known)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("请填写接入系统的名称。"), field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(name=name[:100], token_hash=hash_token(token), created_by_id=user_id)
    db.session.add(client)
    flush_or_fail(_("名称“%(name)s”已被使用。", name=name), field="name")
    record("api_client_created", "api_client", client.id, after={"name": client.name})
    return client, token


def revoke_client(client: ApiClient) -> None:
    if client.revoked_at is not None:
        raise DomainError(_("该令牌已经吊销。"))
    client.revoked_at = utcnow()
    record("api_client_revoked", "api_client", client.id, after={"name": client.name})
    db.session.flush()


def client_for_token(token: str | None) -> ApiClient | None:
    """The active client holding ``token``, else None (unknown or revoked)."""
    if not token or len(token) > 200:
        return None
    client = db.session.execute(
        db.select(ApiClient).filter_by(token_hash=hash_token(token))).scalar_one_or_none()
    if client is None or client.revoked_at is not None:
        return None
    return client
