"""Batch invitations sent straight to residents by SMS, when the bureau configured its gateway.

The link's token is stored only as a hash (DESIGN), yet the message, and its one reminder, go later
from a background job. So until they have gone, the token is kept *sealed* (authenticated
encryption under a key derived from the app's SECRET_KEY, app.sealing). Unsealing also checks the
result against the invitation's token hash, so a changed secret or a tampered row never sends a
wrong link. The sealed token and the phone number are erased as soon as no message may go any
more: both sent, or the invitation answered, revoked or expired. The log (ResidentSms) never
holds the link, and never the phone number.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import CursorResult

from surveys.residents import hash_token

from ..extensions import db
from ..models import ResidentContact, ResidentInvitation, ResidentSms, utcnow
from ..notify.channels import send_sms, sms_configured
from ..notify.delivery import claim, close, not_due, postpone, record, send_guarded
from ..notify.quiet import sms_allowed_from
from ..sealing import seal, unseal

_OPEN = ("queued", "retrying")


# ---- sealing the token -------------------------------------------------------------------------
PURPOSE = "resident-sms-token"


def seal_token(token: str) -> str:
    """The link's token sealed with this installation's SECRET_KEY (app.sealing)."""
    return seal(token, PURPOSE)


def unseal_token(sealed: str | None, token_hash: str) -> str | None:
    """The token, or None when it cannot be recovered (erased, other key, tampered) or is not the
    invitation's (its hash differs)."""
    token = unseal(sealed, PURPOSE)
    return token if token is not None and hash_token(token) == token_hash else None


# ---- queueing ----------------------------------------------------------------------------------
def queue_invitation_sms(invitation: ResidentInvitation, token: str, phone: str, now: datetime | None = None) -> None:
    """Keep the phone and the sealed token, and queue the invitation SMS and its one reminder."""
    now = now or utcnow()
    days = int(current_app.config.get("RESIDENT_SMS_REMINDER_DAYS") or 0)
    db.session.add(ResidentContact(invitation_id=invitation.id, phone=phone, sealed_token=seal_token(token),
                                   created_at=now))
    db.session.add(ResidentSms(invitation_id=invitation.id, purpose="invite", created_at=now,
                               next_attempt_at=sms_allowed_from(now)))
    remind_at = now + timedelta(days=days)
    if days > 0 and remind_at < invitation.expires_at:
        db.session.add(ResidentSms(invitation_id=invitation.id, purpose="reminder", created_at=now,
                                   next_attempt_at=remind_at))


def start_sending(first_invitation_id: int) -> None:
    """Start the background job that sends the queued SMS (when the caller's transaction commits)."""
    from ..jobs import enqueue

    enqueue("resident_sms", f"resident-sms:{first_invitation_id}")


# ---- sending -----------------------------------------------------------------------------------
def message_text(purpose: str, link: str, expires: str) -> str:
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "zh"):
        if purpose == "reminder":
            return _("【公安局】您前几天办理的业务还未评价，欢迎抽空填写（%(expires)s前有效）：%(link)s",
                     expires=expires, link=link)
        return _("【公安局】感谢您办理业务，请对本次服务进行评价（%(expires)s前有效）：%(link)s",
                 expires=expires, link=link)


def send_resident_sms(sms_id: int, now: datetime | None = None) -> str:
    """Attempt one resident SMS if it is due and still wanted; what became of it."""
    from ..localtime import format_local
    from .services import link_url

    now = now or utcnow()
    row = db.session.execute(
        sa.select(ResidentSms.purpose, ResidentSms.status, ResidentSms.attempts, ResidentSms.next_attempt_at,
                  ResidentSms.invitation_id, ResidentContact.phone, ResidentContact.sealed_token,
                  ResidentInvitation.token_hash, ResidentInvitation.used_at, ResidentInvitation.revoked_at,
                  ResidentInvitation.expires_at)
        .join(ResidentInvitation, ResidentInvitation.id == ResidentSms.invitation_id)
        .outerjoin(ResidentContact, ResidentContact.invitation_id == ResidentSms.invitation_id)
        .where(ResidentSms.id == sms_id)).one_or_none()
    db.session.rollback()
    if unready := not_due(row, now):
        return unready
    assert row is not None  # not_due said "missing" otherwise
    if row.used_at is not None or row.revoked_at is not None or row.expires_at <= now:
        # One reason for all three: the log must not tell which residents answered.
        close(ResidentSms, sms_id, row.attempts, "cancelled", "answered, revoked or expired")
        erase_contacts(now)
        return "cancelled"
    token = unseal_token(row.sealed_token, row.token_hash)
    if not row.phone or token is None:
        close(ResidentSms, sms_id, row.attempts, "failed", "phone or link no longer available")
        return "failed"
    if not sms_configured():
        return "unconfigured"
    allowed = sms_allowed_from(now)
    if allowed > now:
        postpone(ResidentSms, sms_id, row.attempts, allowed)
        return "postponed"
    if not claim(ResidentSms, sms_id, row.attempts, now):
        return "taken"
    outcome = send_sms(row.phone, message_text(row.purpose, link_url(token), format_local(row.expires_at)),
                       f"kaoping-r{sms_id}")
    if token in outcome.provider_response or token in outcome.error:  # a gateway echoing the text: keep no link
        outcome = type(outcome)(outcome.sent, outcome.provider_response.replace(token, "…"),
                                outcome.error.replace(token, "…"), outcome.retryable)
    status = record(ResidentSms, sms_id, row.attempts + 1, outcome)
    if status not in _OPEN:
        erase_contacts(now)
    return status


def erase_contacts(now: datetime | None = None) -> int:
    """Erase the phone and sealed token of every invitation no message may go to any more: answered,
    revoked or expired (their open messages are cancelled), or with no message left to send."""
    now = now or utcnow()
    finished = sa.select(ResidentInvitation.id).where(sa.or_(
        ResidentInvitation.used_at.is_not(None), ResidentInvitation.revoked_at.is_not(None),
        ResidentInvitation.expires_at <= now))
    db.session.execute(sa.update(ResidentSms).where(ResidentSms.status.in_(_OPEN),
                                                    ResidentSms.invitation_id.in_(finished))
                       .values(status="cancelled", last_error="answered, revoked or expired", next_attempt_at=None))
    still_open = sa.select(ResidentSms.invitation_id).where(ResidentSms.status.in_(_OPEN))
    erased = cast(CursorResult[Any], db.session.execute(
        sa.update(ResidentContact).where(ResidentContact.erased_at.is_(None),
                                         ResidentContact.invitation_id.not_in(still_open))
        .values(phone=None, sealed_token=None, erased_at=now))).rowcount
    db.session.commit()
    return erased


def send_due_resident_sms(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send the residents' SMS that are due (invitations, reminders, retries); erase what is done."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    ids = db.session.execute(
        sa.select(ResidentSms.id).where(ResidentSms.status.in_(_OPEN), ResidentSms.next_attempt_at <= now)
        .order_by(ResidentSms.next_attempt_at, ResidentSms.id).limit(limit)).scalars().all()
    db.session.rollback()
    for sms_id in ids:
        outcome = send_guarded(send_resident_sms, sms_id, now)
        counts[outcome] = counts.get(outcome, 0) + 1
    erase_contacts(now)
    return counts


def send_job(job, **_args) -> dict:
    """The background job a batch upload starts (app.jobs kind ``resident_sms``)."""
    return {"counts": send_due_resident_sms()}
