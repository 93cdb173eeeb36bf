from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from ..extensions import db, limiter
from ..security import is_safe_redirect
from . import services, throttle
from .forms import ChangePasswordForm, LoginForm

bp = Blueprint("auth", __name__)

# Where a user who must choose their own password may still go.
PASSWORD_CHANGE_ALLOWED = frozenset({"auth.change_password", "auth.logout", "auth.login", "static",
                                     "main.set_language", "main.healthz"})


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def _login_failed(response) -> bool:
    # Only failed attempts count towards the limits: a successful login redirects.
    return request.method == "POST" and response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=throttle.address_user_key, methods=["POST"], deduct_when=_login_failed)
@limiter.limit(_address_limit, key_func=throttle.address_key, methods=["POST"], deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        throttle.slow_down_if_attacked(username.lower())
        user = services.authenticate(username, form.password.data)
        if user is None:
            throttle.count_failure(username.lower())
            form.password.errors.append(_("用户名或密码不正确。"))
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            if user.must_change_password:
                flash(_("您的密码由管理员设置，请先修改为只有您知道的密码。"), "warning")
                return redirect(url_for("auth.change_password"))
            target = request.args.get("next")
            return redirect(target if is_safe_redirect(target) else url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # Every session of the user ends, not only this browser's: a copied cookie is worthless.
        services.log_out(current_user._get_current_object())
        db.session.commit()
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except DomainError as error:
            db.session.rollback()
            getattr(form, error.field or "password").errors.append(error.message)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # the session id changed with the version
            flash(_("密码已修改。"), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form, forced=current_user.must_change_password,
                           min_length=services.MIN_PASSWORD_LENGTH)


@bp.before_app_request
def require_own_password():
    """A user whose password someone else chose (create-admin, an admin) changes it before anything else.

    Residents' pages and the token-authenticated API carry no staff session and are left alone (the
    resident page is the busiest of the site: no session lookup there)."""
    endpoint = request.endpoint
    if (endpoint is None or request.blueprint in ("public", "api") or endpoint in PASSWORD_CHANGE_ALLOWED
            or endpoint.rsplit(".", 1)[-1] == "static"):  # app and Bootstrap files: no session lookup
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None
