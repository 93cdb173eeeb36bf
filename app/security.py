"""Access control helpers: role checks, safe redirects, client keys for rate limits."""
import hashlib
import logging
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, request
from flask_login import current_user, login_required

from .scope import province_reads


def role_required(*roles: str):
    """Allow the view only to logged-in users holding one of ``roles`` (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles) and not province_reads(roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def is_safe_redirect(target: str | None) -> bool:
    """True for a path on this site only: no scheme, no host, no protocol-relative '//' tricks."""
    if not target or not isinstance(target, str):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")


def safe_referrer(default: str) -> str:
    """The page the request came from, as a path on this site, else ``default``.

    The Referer header is the client's to write: only a URL on our own host is followed back, and
    then only its path and query (never a scheme or host taken from the header)."""
    referrer = request.referrer
    if not referrer or not isinstance(referrer, str):
        return default
    parts = urlsplit(referrer)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return default
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target if is_safe_redirect(target) else default


def client_key() -> str:
    """A hashed client address for rate limits; the raw IP is never stored."""
    address = request.remote_addr or "unknown"
    secret = current_app.config.get("SECRET_KEY") or ""
    return hashlib.sha256(f"{secret}:{address}".encode()).hexdigest()[:32]


CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",  # no inline scripts: every script is a static file
    "style-src 'self' 'unsafe-inline'",  # inline style attributes in server-rendered SVG charts
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def register_security_headers(app) -> None:
    """Headers on every response; ProxyFix when the app runs behind a reverse proxy (TRUSTED_PROXIES)."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.before_request
    def refuse_nul_in_query():
        """A NUL character in the query string is never meant (PostgreSQL cannot even compare text
        with one, so a search or filter would fail): the request is refused as invalid (400)."""
        if b"%00" in request.query_string or b"\x00" in request.query_string:
            abort(400)

    @app.after_request
    def add_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


RATE_LIMIT_DOWN = ("RATE LIMITS DEGRADED: the rate-limit storage (%s) is unreachable; login and window-QR "
                   "limits are now counted in each app process's memory, so N processes allow N times the "
                   "limit. Restore Redis; the limiter switches back on its own.")


class _StorageDownAlarm(logging.Filter):
    """Flask-Limiter says "falling back to in-memory storage" as a mere warning: make it an error that
    names the storage and the consequence, so that monitoring sees it."""

    def __init__(self, uri: str):
        super().__init__()
        self.uri = uri

    def filter(self, record: logging.LogRecord) -> bool:
        if "falling back to in-memory" in record.getMessage():
            record.msg, record.args = RATE_LIMIT_DOWN, (self.uri,)
            record.levelno, record.levelname = logging.ERROR, "ERROR"
        return True


def register_rate_limit_alarm(app) -> None:
    """Log loudly when the shared rate-limit storage is down (at start and whenever the limiter falls back).

    With RATELIMIT_IN_MEMORY_FALLBACK_ENABLED the limits keep working per process meanwhile."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith("memory://"):
        return
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(f, _StorageDownAlarm) for f in limiter_log.filters):
        limiter_log.addFilter(_StorageDownAlarm(uri))
    from .extensions import limiter

    with app.app_context():
        try:
            healthy = limiter.storage.check()
        except Exception:  # noqa: BLE001 (any driver error means the same: unreachable)
            healthy = False
    if not healthy:
        app.logger.error(RATE_LIMIT_DOWN, uri)
