"""Kaoping web application: ``create_app`` builds and wires one app instance."""
import logging
import os

from flask import Flask, has_request_context, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import finalise_config, load_config
from .extensions import babel, bootstrap, compress, csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    """Create the app. ``config`` overrides what the environment says (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    from .dbutil import DatabaseIdConverter

    app.url_map.converters["int"] = DatabaseIdConverter  # before any route is added
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    finalise_config(app.config, app.instance_path)

    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_cli(app)
    register_static_files(app)
    if os.environ.get("KAOPING_BENCH_HELLO") == "1":
        # The load benchmark's baseline: the cheapest response this app can give (benchmarks/bench_web.py).
        app.add_url_rule("/bench/hello", "bench_hello", lambda: "hello")
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    return app


def select_locale() -> str:
    from flask import current_app

    if not has_request_context():  # CLI and background work speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if isinstance(chosen, str) and chosen in languages:
        return chosen
    return request.accept_languages.best_match(list(languages)) or "zh"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Foreign keys and WAL on every SQLite connection; a busy timeout instead of instant locks."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (so that Alembic and create_all see every table)

    db.init_app(app)
    from .dbutil import ping_after_idle

    with app.app_context():
        for engine in db.engines.values():
            ping_after_idle(engine, float(app.config.get("DATABASE_PING_AFTER_IDLE", 10)))
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)

    from .auth.services import load_user

    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("请先登录。")


def register_security(app: Flask) -> None:
    from .scope import register as register_scope
    from .security import register_rate_limit_alarm, register_security_headers

    register_security_headers(app)
    register_scope(app)
    register_rate_limit_alarm(app)


def register_blueprints(app: Flask) -> None:
    from .admin.routes import bp as admin_bp
    from .auth.routes import bp as auth_bp
    from .claims.routes import bp as claims_bp
    from .feedback.admin_routes import admin_bp as feedback_admin_bp
    from .feedback.routes import bp as feedback_bp
    from .main.routes import bp as main_bp
    from .public.routes import bp as public_bp
    from .residents.routes import bp as residents_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(claims_bp, url_prefix="/claims")
    app.register_blueprint(public_bp)
    app.register_blueprint(residents_bp, url_prefix="/residents")
    app.register_blueprint(feedback_bp, url_prefix="/feedback")
    app.register_blueprint(feedback_admin_bp, url_prefix="/admin/feedback")

    from .api.routes import bp as api_bp
    from .assessment.routes import bp as assessment_bp
    from .assessment.routes import register as register_assessment

    app.register_blueprint(assessment_bp, url_prefix="/assessment")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    register_assessment()

    from .reports.routes import bp as reports_bp
    from .reports.routes import register as register_reports

    app.register_blueprint(reports_bp, url_prefix="/reports")
    register_reports()

    from .trends.routes import bp as trends_bp
    from .trends.routes import register as register_trends

    app.register_blueprint(trends_bp, url_prefix="/trends")
    register_trends()
    from .jobs.routes import bp as jobs_bp

    app.register_blueprint(jobs_bp, url_prefix="/jobs")

    from .monitoring.routes import bp as monitoring_bp
    from .monitoring.routes import register as register_monitoring

    app.register_blueprint(monitoring_bp, url_prefix="/monitoring")
    register_monitoring()
    from .results.routes import bp as results_bp
    from .results.routes import register as register_results

    app.register_blueprint(results_bp, url_prefix="/results")
    register_results(app)
    from .notify.channel_routes import bp as notify_channels_bp
    from .notify.channel_routes import register as register_notify_channels

    app.register_blueprint(notify_channels_bp)
    register_notify_channels()
    from .notify.routes import bp as notify_bp
    from .notify.routes import register as register_notify

    app.register_blueprint(notify_bp, url_prefix="/notifications")
    register_notify(app)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from .templating import register

    register(app)


def register_cli(app: Flask) -> None:
    from .cli import register

    register(app)


def register_static_files(app: Flask) -> None:
    from .staticfiles import register

    register(app)
