"""The two ways out of the app: the bureau's SMS gateway (HTTP) and e-mail (SMTP). Each is optional.

SMS gateway contract (document for the bureau's gateway, README "Notifications"): the app POSTs
``application/json`` to ``SMS_GATEWAY_URL``::

    {"phone": "13800138000", "text": "…", "client_msg_id": "kaoping-d42"}

with ``Authorization: Bearer <SMS_GATEWAY_TOKEN>`` when a token is set. ``client_msg_id`` is the same
for every attempt of one message, so a gateway that saw it already must not send it again (the app
sends at least once: a worker stopped between the gateway's answer and the app's record retries).
A 2xx answer means accepted (its body is kept as the provider's answer); 408, 429 and 5xx, a refused
connection or a timeout are retried later; any other 4xx is a permanent failure.
"""
from __future__ import annotations

import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app

PROVIDER_TEXT_LIMIT = 500  # characters of a provider's answer kept in the log


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: ``sent``, or a failure that is ``retryable`` or final."""

    sent: bool
    provider_response: str = ""
    error: str = ""
    retryable: bool = False


def sms_configured() -> bool:
    return bool(current_app.config.get("SMS_GATEWAY_URL"))


def email_configured() -> bool:
    config = current_app.config
    return bool(config.get("SMTP_HOST") and config.get("SMTP_FROM"))


def configured_channels() -> set[str]:
    return {name for name, ready in (("sms", sms_configured()), ("email", email_configured())) if ready}


def channel_states() -> list[dict]:
    """Each channel's configuration as the admin page shows it: set or not, never a secret."""
    config = current_app.config
    return [
        {"channel": "sms", "configured": sms_configured(),
         "details": {"SMS_GATEWAY_URL": _without_credentials(config.get("SMS_GATEWAY_URL") or ""),
                     "SMS_GATEWAY_TOKEN": bool(config.get("SMS_GATEWAY_TOKEN")),
                     "SMS_GATEWAY_TIMEOUT": config.get("SMS_GATEWAY_TIMEOUT"),
                     "SMS_QUIET_HOURS": config.get("SMS_QUIET_HOURS") or ""}},
        {"channel": "email", "configured": email_configured(),
         "details": {"SMTP_HOST": config.get("SMTP_HOST") or "", "SMTP_PORT": config.get("SMTP_PORT"),
                     "SMTP_STARTTLS": bool(config.get("SMTP_STARTTLS")), "SMTP_USER": bool(config.get("SMTP_USER")),
                     "SMTP_PASSWORD": bool(config.get("SMTP_PASSWORD")), "SMTP_FROM": config.get("SMTP_FROM") or ""}},
    ]


def _without_credentials(url: str) -> str:
    """``https://user:secret@host/path?key=…`` → ``https://host/path`` (no secret on a page)."""
    from urllib.parse import urlsplit

    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _short(text: object) -> str:
    return str(text)[:PROVIDER_TEXT_LIMIT]


# ---- SMS ---------------------------------------------------------------------------------------
def send_sms(phone: str, text: str, message_id: str) -> Outcome:
    """POST one message to the gateway (see the module docstring for the contract)."""
    config = current_app.config
    body = json.dumps({"phone": phone, "text": text, "client_msg_id": message_id}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message_id}
    if config.get("SMS_GATEWAY_TOKEN"):
        headers["Authorization"] = f"Bearer {config['SMS_GATEWAY_TOKEN']}"
    request = urllib.request.Request(config["SMS_GATEWAY_URL"], data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=float(config.get("SMS_GATEWAY_TIMEOUT") or 10)) as answer:
            text = answer.read(2000).decode(errors="replace")
            return Outcome(True, provider_response=_short(f"{answer.status} {text}"))
    except urllib.error.HTTPError as error:
        detail = _short(f"{error.code} {error.read(2000).decode(errors='replace') if error.fp else ''}")
        retryable = error.code >= 500 or error.code in (408, 429)
        return Outcome(False, provider_response=detail, error=f"HTTP {error.code}", retryable=retryable)
    except (TimeoutError, socket.timeout) as error:
        return Outcome(False, error=_short(f"timeout: {error}"), retryable=True)
    except urllib.error.URLError as error:  # refused, unreachable, DNS, TLS
        reason = error.reason
        retryable = not isinstance(reason, ssl.SSLCertVerificationError)
        return Outcome(False, error=_short(f"connection: {reason}"), retryable=retryable)
    except (ConnectionError, OSError) as error:
        return Outcome(False, error=_short(f"connection: {error}"), retryable=True)


# ---- e-mail ------------------------------------------------------------------------------------
def send_email(address: str, subject: str, text: str, message_id: str) -> Outcome:
    """Send one plain-text message by SMTP. ``message_id`` becomes the Message-ID's left part, the
    same for every attempt, so a mail system can recognise a repeat."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["SMTP_FROM"]
    message["To"] = address
    message["Subject"] = subject
    domain = config["SMTP_FROM"].rpartition("@")[2] or "kaoping.local"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message.set_content(text)
    timeout = float(config.get("SMTP_TIMEOUT") or 10)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=timeout) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            refused = smtp.send_message(message)
            if refused:
                return Outcome(False, provider_response=_short(refused), error="recipient refused")
            return Outcome(True, provider_response=_short(f"accepted by {config['SMTP_HOST']}"))
    except smtplib.SMTPRecipientsRefused as error:
        return Outcome(False, provider_response=_short(error.recipients), error="recipient refused")
    except smtplib.SMTPAuthenticationError as error:
        return Outcome(False, provider_response=_short(f"{error.smtp_code} {error.smtp_error!r}"),
                       error="authentication failed", retryable=True)
    except smtplib.SMTPResponseException as error:
        retryable = 400 <= error.smtp_code < 500
        return Outcome(False, provider_response=_short(f"{error.smtp_code} {error.smtp_error!r}"),
                       error=f"SMTP {error.smtp_code}", retryable=retryable)
    except (TimeoutError, socket.timeout) as error:
        return Outcome(False, error=_short(f"timeout: {error}"), retryable=True)
    except (smtplib.SMTPException, ConnectionError, OSError) as error:
        return Outcome(False, error=_short(f"connection: {error}"), retryable=True)
