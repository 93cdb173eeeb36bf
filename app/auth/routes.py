from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from ..extensions import db, limiter
from ..security import client_key, is_safe_redirect
from . import services
from .forms import ChangePasswordForm, LoginForm

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_failed(response) -> bool:
    # Only failed attempts count towards the limit: a successful login redirects.
    return request.method == "POST" and response.status_code != 302


def _username_key() -> str:
    username = (request.form.get("username") or "").strip().lower()[:50]
    return f"login-user:{username}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=client_key, methods=["POST"], deduct_when=_login_failed)
@limiter.limit(_login_limit, key_func=_username_key, methods=["POST"], deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is None:
            form.password.errors.append(_("用户名或密码不正确。"))
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            target = request.args.get("next")
            return redirect(target if is_safe_redirect(target) else url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
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
    return render_template("auth/password.html", form=form)
