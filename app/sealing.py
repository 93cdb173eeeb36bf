"""Secrets the app keeps only to send them on later, sealed at rest.

Two of them: a resident link's token until its SMS has gone (the token itself is stored only as a
hash, DESIGN), and a pull connector's bearer token for a business system. Both are sealed with
Fernet from `cryptography` (AES-128-CBC with an HMAC-SHA256 tag: a tampered or foreign value is
refused, never decrypted to garbage), under a key derived from the app's SECRET_KEY by HKDF with one
``purpose`` per use, so a value sealed for one use cannot be opened as another. A database dump
alone therefore reveals neither; a changed SECRET_KEY makes them unreadable (the SMS is then not
sent, the connector asks for its token again), never wrong.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet(purpose: str, secret_key: str | bytes | None = None) -> Fernet:
    secret = secret_key if secret_key is not None else current_app.config["SECRET_KEY"]
    material = secret if isinstance(secret, bytes) else str(secret).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kaoping sealing",
               info=purpose.encode()).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, purpose: str, secret_key: str | bytes | None = None) -> str:
    """``text`` encrypted and authenticated for ``purpose`` (ASCII, about 1.4× its length + 100)."""
    return _fernet(purpose, secret_key).encrypt(text.encode()).decode("ascii")


def unseal(sealed: str | None, purpose: str, secret_key: str | bytes | None = None) -> str | None:
    """The sealed text, or None when there is none or it cannot be opened (other key or purpose,
    tampered, not a sealed value)."""
    if not sealed:
        return None
    try:
        return _fernet(purpose, secret_key).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None
