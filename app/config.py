"""Configuration read from the environment (see README: DATABASE_URL, SECRET_KEY, ...)."""
import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """The app cannot start with the configuration it was given."""


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _cache_redis_url() -> str:
    url = os.environ.get("CACHE_REDIS_URL", "").strip()
    if url.lower() == "off":
        return ""
    return url or os.environ.get("JOBS_REDIS_URL", "")


def load_config(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables."""
    env = os.environ.get("KAOPING_ENV", "production").strip().lower()
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "kaoping.db")
    )
    return {
        "KAOPING_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # No ping on every checkout (it cost one round trip per request): connections are replaced
        # after DATABASE_POOL_RECYCLE seconds, and one idle longer than DATABASE_PING_AFTER_IDLE
        # seconds is pinged before use (app.dbutil.ping_after_idle) — the case where a firewall or a
        # database restart may have dropped it. A connection busy serving requests is not pinged.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": int(os.environ.get("DATABASE_POOL_RECYCLE", "1800") or 1800)},
        "DATABASE_PING_AFTER_IDLE": float(os.environ.get("DATABASE_PING_AFTER_IDLE", "10") or 10),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "kaoping"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Failed logins (app.auth.throttle): per address and username, per address, and per username
        # from all addresses together, past which attempts on that username are slowed, not refused.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "5 per 15 minutes"),
        "LOGIN_ADDRESS_RATE_LIMIT": os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "20 per 15 minutes"),
        "LOGIN_USERNAME_SLOWDOWN": os.environ.get("LOGIN_USERNAME_SLOWDOWN", "10 per 15 minutes"),
        "LOGIN_SLOWDOWN_SECONDS": float(os.environ.get("LOGIN_SLOWDOWN_SECONDS", "2") or 2),
        # Redis unreachable: keep every limit, counted in each process's memory (logged as an error).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE"),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0") or 0),
        # The results path (公示): working days of the notice, of a corrected version's notice, and to
        # answer an objection.
        "RESULT_NOTICE_DAYS": int(os.environ.get("RESULT_NOTICE_DAYS", "5") or 5),
        "RESULT_CORRECTION_NOTICE_DAYS": int(os.environ.get("RESULT_CORRECTION_NOTICE_DAYS", "2") or 2),
        "OBJECTION_REVIEW_DAYS": int(os.environ.get("OBJECTION_REVIEW_DAYS", "3") or 3),
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "zh",
        # Times are stored in UTC and shown in the bureau's zone (app.localtime); Babel follows it.
        "BUREAU_TIMEZONE": os.environ.get("BUREAU_TIMEZONE", "").strip() or "Asia/Shanghai",
        "LANGUAGES": {"zh": "简体中文", "en": "English"},
        "BOOTSTRAP_SERVE_LOCAL": True,
        "STATIC_BUILD_DIR": os.environ.get("STATIC_BUILD_DIR", "").strip(),  # app.staticfiles
        "PER_PAGE": 25,
        # Background jobs (app/jobs): RQ on this Redis with a separate worker, else threads in-process.
        "JOBS_REDIS_URL": os.environ.get("JOBS_REDIS_URL", ""),
        "JOBS_QUEUE": os.environ.get("JOBS_QUEUE", "kaoping"),
        "JOBS_BACKEND": os.environ.get("JOBS_BACKEND", ""),
        "JOBS_HEARTBEAT": float(os.environ.get("JOBS_HEARTBEAT", "5") or 5),
        "JOBS_STALE_AFTER": float(os.environ.get("JOBS_STALE_AFTER", "60") or 60),
        "JOBS_QUEUE_TIMEOUT": float(os.environ.get("JOBS_QUEUE_TIMEOUT", "3600") or 3600),
        "JOBS_TIMEOUT": int(os.environ.get("JOBS_TIMEOUT", "7200") or 7200),
        "JOBS_STEP_DELAY": float(os.environ.get("JOBS_STEP_DELAY", "0") or 0),
        # The background worker's CPU priority (os.nice increment): on a small server the web's requests
        # win the cores over a score run's numpy and JSON; 0 leaves it at the web's priority.
        "JOBS_WORKER_NICE": int(os.environ.get("JOBS_WORKER_NICE", "10") or 0),
        # Costly figures every web process shows (app.sharedcache) are computed once for the installation
        # and kept in this Redis; empty: the jobs' Redis; "off": each process computes its own.
        "CACHE_REDIS_URL": _cache_redis_url(),
        # Rows of a file read in a request, and of a file imported by a job (uploads, the CLI, the
        # API's files); 0: the defaults of app.tabular (20,000 and 500,000).
        "IMPORT_MAX_ROWS": int(os.environ.get("IMPORT_MAX_ROWS", "0") or 0),
        "IMPORT_JOB_MAX_ROWS": int(os.environ.get("IMPORT_JOB_MAX_ROWS", "0") or 0),
        # Messages outside the app (app.notify.channels). Each channel is optional: SMS when
        # SMS_GATEWAY_URL is set, e-mail when SMTP_HOST and SMTP_FROM are. Messages carry links to
        # SITE_BASE_URL (the address users open the site at), never a login token.
        "SITE_BASE_URL": os.environ.get("SITE_BASE_URL", "").strip() or "http://127.0.0.1:5000",
        "SMS_GATEWAY_URL": os.environ.get("SMS_GATEWAY_URL", "").strip(),
        "SMS_GATEWAY_TOKEN": os.environ.get("SMS_GATEWAY_TOKEN", ""),  # sent as "Authorization: Bearer …"
        "SMS_GATEWAY_TIMEOUT": float(os.environ.get("SMS_GATEWAY_TIMEOUT", "10") or 10),  # seconds
        "SMTP_HOST": os.environ.get("SMTP_HOST", "").strip(),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25") or 25),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _flag("SMTP_STARTTLS"),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "").strip(),
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "10") or 10),  # seconds
        # No SMS between these local hours (bureau time zone); a message due then waits for the morning.
        "SMS_QUIET_HOURS": os.environ.get("SMS_QUIET_HOURS", "21:00-08:00").strip(),
        # A failed send is retried after NOTIFY_RETRY_SECONDS, doubling each time, up to
        # NOTIFY_MAX_ATTEMPTS attempts in all; then it is given up (and the delivery log says so).
        "NOTIFY_MAX_ATTEMPTS": int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "5") or 5),
        "NOTIFY_RETRY_SECONDS": float(os.environ.get("NOTIFY_RETRY_SECONDS", "60") or 60),
        # Batch invitations sent by SMS: the one reminder to a resident who has not answered, after these days.
        "RESIDENT_SMS_REMINDER_DAYS": int(os.environ.get("RESIDENT_SMS_REMINDER_DAYS", "3") or 3),
        # The reminders' scheduler (app.notify.schedule) beats this often, in the worker (RQ) or, without
        # Redis, in each web process; "0" turns the in-process beat off (e.g. when cron runs send-reminders).
        "NOTIFY_TICK_SECONDS": float(os.environ.get("NOTIFY_TICK_SECONDS", "60") or 0),
        # A month's self-check (月自查) is due by this working day of the month after.
        "SELF_CHECK_DUE_WORKDAY": int(os.environ.get("SELF_CHECK_DUE_WORKDAY", "5") or 5),
    }


def finalise_config(config: dict, instance_path: str) -> None:
    """Fill in development defaults and refuse to start without a secret in production."""
    zone = config.get("BUREAU_TIMEZONE") or "Asia/Shanghai"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        if zone != "Asia/Shanghai":  # the default has a fixed-offset fallback (app.localtime)
            raise ConfigError(f"BUREAU_TIMEZONE={zone!r} is not a known time zone (e.g. Asia/Shanghai).") from error
    config["BUREAU_TIMEZONE"] = config["BABEL_DEFAULT_TIMEZONE"] = zone
    if config.get("SMS_QUIET_HOURS"):
        from .notify.quiet import parse_quiet_hours

        try:
            parse_quiet_hours(config["SMS_QUIET_HOURS"])
        except ValueError as error:
            raise ConfigError(f"SMS_QUIET_HOURS={config['SMS_QUIET_HOURS']!r}: {error} (e.g. 21:00-08:00, "
                              "or empty for none).") from error
    relaxed = config.get("TESTING") or config.get("KAOPING_ENV") in {"development", "testing"}
    if not config.get("SECRET_KEY"):
        if not relaxed:
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
                "string (for example: python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set KAOPING_ENV=development for a local demo."
            )
        # A per-instance development key keeps sessions across restarts without a shared default.
        key_file = Path(instance_path) / "dev_secret_key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
        config["SECRET_KEY"] = key_file.read_text().strip()
