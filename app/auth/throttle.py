"""Login throttling that stops guessing without handing an attacker a lockout button.

Three counters of failed logins, all in the rate-limit storage (Redis when configured):
- per (address, username): LOGIN_RATE_LIMIT, then 429 — one address guessing one account;
- per address: LOGIN_ADDRESS_RATE_LIMIT, then 429 — one address trying many accounts;
- per username, from any address: LOGIN_USERNAME_SLOWDOWN. Past it every attempt on that username
  waits LOGIN_SLOWDOWN_SECONDS before its password is checked — slowed, never refused, so that the
  real user with the right password still gets in from their own address while the account is
  under attack from many others.
The first two are Flask-Limiter decorators on the login view; the third is counted here.
"""
import hashlib
import logging
import time

from flask import current_app, request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ..extensions import limiter
from ..security import client_key

log = logging.getLogger(__name__)
# Used only if even Flask-Limiter's own strategy fails (storage down and no fallback): per process.
_local = MovingWindowRateLimiter(MemoryStorage())


def username_of_request() -> str:
    return (request.form.get("username") or "").strip().lower()[:50]


def _username_digest(username: str) -> str:
    secret = current_app.config.get("SECRET_KEY") or ""
    return hashlib.sha256(f"{secret}:user:{username}".encode()).hexdigest()[:32]


def address_user_key() -> str:
    return f"login:{client_key()}:{_username_digest(username_of_request())}"


def address_key() -> str:
    return f"login-address:{client_key()}"


def _slowdown_limit():
    return parse(current_app.config["LOGIN_USERNAME_SLOWDOWN"])


def _strategy_call(method: str, *args):
    try:
        return getattr(limiter.limiter, method)(*args)
    except Exception:  # noqa: BLE001 (any storage error): keep counting in this process, loudly
        log.error("Rate-limit storage unreachable: login slow-down counted in this process only "
                  "(RATELIMIT_STORAGE_URI=%s)", current_app.config.get("RATELIMIT_STORAGE_URI"), exc_info=True)
        return getattr(_local, method)(*args)


def username_under_attack(username: str) -> bool:
    """True once failed logins on ``username`` from all addresses together reach the slow-down limit."""
    return not _strategy_call("test", _slowdown_limit(), "login-user", _username_digest(username))


def count_failure(username: str) -> None:
    _strategy_call("hit", _slowdown_limit(), "login-user", _username_digest(username))


def pause(seconds: float) -> None:
    """Wait before answering (tests replace this to see that a wait was asked for)."""
    time.sleep(seconds)


def slow_down_if_attacked(username: str) -> float:
    """Wait LOGIN_SLOWDOWN_SECONDS when ``username`` is under attack; the seconds waited."""
    if not username or not username_under_attack(username):
        return 0.0
    seconds = float(current_app.config["LOGIN_SLOWDOWN_SECONDS"])
    pause(seconds)
    return seconds
