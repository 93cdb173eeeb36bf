"""sealed secrets: connector tokens sealed at rest; resident SMS tokens re-sealed with Fernet

Revision ID: 0011_lead_sealing
Revises: 0010_h20events
Create Date: 2026-12-03 08:10:00

A connector's bearer token was kept in plain text; it moves to ``sealed_token`` (app.sealing). The
tokens of resident SMS still to be sent were sealed with a hand-written HMAC stream cipher; they are
opened with it once more here and sealed again with Fernet. Both need the installation's SECRET_KEY,
which Flask-Migrate's app provides. Downgrading opens the connector tokens back into plain text and
erases the resident tokens it cannot re-seal the old way (their messages are then not sent).
"""
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

from app.sealing import seal, unseal

# revision identifiers, used by Alembic.
revision = '0011_lead_sealing'
down_revision = '0010_h20events'
branch_labels = None
depends_on = None

CONNECTOR = "connector-token"
RESIDENT = "resident-sms-token"


def _old_unseal(sealed: str, secret: str) -> str | None:
    """The earlier cipher: XOR with HMAC-SHA256(key, nonce ‖ counter) blocks, ``nonce:cipher`` in hex."""
    try:
        nonce_hex, cipher_hex = sealed.split(":")
        nonce, cipher = bytes.fromhex(nonce_hex), bytes.fromhex(cipher_hex)
    except ValueError:
        return None
    key = hashlib.sha256(b"kaoping resident sms|" + secret.encode()).digest()
    stream = b"".join(hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
                      for i in range(len(cipher) // 32 + 1))
    try:
        return bytes(a ^ b for a, b in zip(cipher, stream, strict=False)).decode("ascii")
    except UnicodeDecodeError:
        return None


def upgrade():
    secret = str(current_app.config["SECRET_KEY"])
    conn = op.get_bind()
    with op.batch_alter_table('connector') as batch:
        batch.add_column(sa.Column('sealed_token', sa.Text(), nullable=True))
    for cid, token in conn.execute(sa.text("SELECT id, token FROM connector WHERE token <> ''")).all():
        conn.execute(sa.text("UPDATE connector SET sealed_token = :s WHERE id = :id"),
                     {"s": seal(token, CONNECTOR, secret), "id": cid})
    with op.batch_alter_table('connector') as batch:
        batch.drop_column('token')
    for iid, sealed in conn.execute(sa.text(
            "SELECT invitation_id, sealed_token FROM resident_contact WHERE sealed_token IS NOT NULL")).all():
        token = _old_unseal(sealed, secret)
        conn.execute(sa.text("UPDATE resident_contact SET sealed_token = :s WHERE invitation_id = :id"),
                     {"s": seal(token, RESIDENT, secret) if token else None, "id": iid})


def downgrade():
    secret = str(current_app.config["SECRET_KEY"])
    conn = op.get_bind()
    with op.batch_alter_table('connector') as batch:
        batch.add_column(sa.Column('token', sa.String(length=200), server_default='', nullable=False))
    for cid, sealed in conn.execute(sa.text("SELECT id, sealed_token FROM connector "
                                            "WHERE sealed_token IS NOT NULL")).all():
        conn.execute(sa.text("UPDATE connector SET token = :t WHERE id = :id"),
                     {"t": (unseal(sealed, CONNECTOR, secret) or "")[:200], "id": cid})
    with op.batch_alter_table('connector') as batch:
        batch.drop_column('sealed_token')
    conn.execute(sa.text("UPDATE resident_contact SET sealed_token = NULL"))
