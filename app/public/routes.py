"""Residents answer here, without an account. Views parse, call a service, render.

Nothing about the client is stored with an answer: the rate limit keys on a hashed address held
only by the limiter's storage, and the window cookie holds unit codes, signed, in the browser.
"""
from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy.exc import OperationalError

from ..dbutil import read_without_transaction
from ..extensions import db, limiter
from ..residents import services
from ..residents.forms import ResidentForm, page_texts
from ..residents.services import LinkUnavailable
from ..residents.settings import setting
from ..security import client_key

bp = Blueprint("public", __name__)

WINDOW_COOKIE = "kp_window"
SUBMIT_ATTEMPTS = 3


def _message(title: str, message: str, status: int = 200, tone: str = "info"):
    db.session.rollback()
    return render_template("public/message.html", title=title, message=message, tone=tone), status


def _unavailable(reason: str):
    if reason == "used":
        return _message(_("您已经评价过了"), _("您已经提交过评价，感谢您的反馈。"), 200, "success")
    # Unknown, expired and revoked links look the same: nothing is revealed about a guessed token.
    return _message(_("链接不可用"), _("该评价链接无效或已过期。如需评价，请联系为您服务的单位。"), 404, "secondary")


def _thanked():
    return _message(_("感谢您的评价"), _("您的评价已提交。感谢您对公安工作的支持！"), 200, "success")


# ---- single-use links --------------------------------------------------------------------------
def _form_page(unit_name: str, service_name: str, officer_names=(), form: ResidentForm | None = None):
    """The answer page; ``form`` (after a refused POST) gives the values chosen and the messages."""
    locale = str(get_locale())
    texts = page_texts(locale)
    return render_template("public/form.html", unit_name=unit_name, service_name=service_name,
                           officer_names=officer_names, errors=form.errors if form else {}, action=request.path,
                           questions=_questions(locale, texts, form), submit_label=texts["submit_label"])


_PRISTINE_QUESTIONS: dict[tuple, Markup] = {}


def _questions(locale: str, texts: dict, form: ResidentForm | None) -> Markup:
    """The questions' HTML. Unanswered, it depends only on the language and the comment limit: it is
    rendered once per process for each and kept (most pages a resident opens are unanswered)."""
    comment_max = int(setting("RESIDENT_COMMENT_MAX"))
    if form is None:
        key = (locale, comment_max)
        html = _PRISTINE_QUESTIONS.get(key)
        if html is None:
            html = _PRISTINE_QUESTIONS[key] = Markup(render_template(
                "public/_questions.html", values={}, errors={}, comment_max=comment_max, **texts))
        return html
    return Markup(render_template("public/_questions.html", values=form.data, errors=form.errors,
                                  comment_max=comment_max, **texts))


@bp.route("/r/<path:token>", methods=["GET", "POST"])
def resident_link(token):
    form = None
    if request.method == "POST":
        form = ResidentForm()
        if form.is_bot():
            return redirect(url_for(".thanks"))
        if form.validate_on_submit():
            return _submit_link(token, form)
    # One SELECT and no transaction around it: no BEGIN/ROLLBACK round trips for a page view.
    read_without_transaction()
    try:
        link = services.open_invitation(token)
    except LinkUnavailable as error:
        return _unavailable(error.reason)
    return _form_page(link.unit_name, link.service_name, link.officer_names, form)


def _submit_link(token: str, form: ResidentForm):
    for _attempt in range(SUBMIT_ATTEMPTS):
        try:
            services.submit_link_response(token, form.answers())
            db.session.commit()
        except LinkUnavailable as error:
            db.session.rollback()
            return _unavailable(error.reason)
        except OperationalError:
            # SQLite: racing writers can outlast the busy timeout ("database is locked"). Start
            # again; a lost race then reads as "already answered".
            db.session.rollback()
            current_app.logger.info("resident link submit: database busy, retrying")
            continue
        return redirect(url_for(".thanks"))
    state = services.link_state(token)
    if state == "pending":
        return _message(_("系统繁忙"), _("提交的人较多，请稍后再提交一次。"), 503, "warning")
    return _unavailable(state)


@bp.route("/thanks")
def thanks():
    return _thanked()


# ---- the window QR -----------------------------------------------------------------------------
def _window_limit() -> str:
    return setting("RESIDENT_WINDOW_RATE_LIMIT")


def _window_key() -> str:
    """Hashed client address per window: a resident may answer two stations from one phone."""
    code = str((request.view_args or {}).get("code", ""))[:40]
    return f"{client_key()}:window:{code}"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="resident-window")


def _answered_units() -> list[str]:
    """Unit codes this browser answered for recently (a signed cookie; a deterrent, not a guarantee)."""
    raw = request.cookies.get(WINDOW_COOKIE)
    if not raw:
        return []
    try:
        codes = _serializer().loads(raw, max_age=int(setting("RESIDENT_WINDOW_COOKIE_HOURS")) * 3600)
    except BadSignature:
        return []
    return [c for c in codes if isinstance(c, str)][:20] if isinstance(codes, list) else []


@bp.route("/q/<path:code>", methods=["GET", "POST"])
@limiter.limit(_window_limit, key_func=_window_key, methods=["POST"])
def window(code):
    unit = services.window_unit(code)
    if unit is None:
        return _message(_("二维码不可用"), _("找不到该服务窗口。请确认扫描的是窗口张贴的评价二维码。"), 404,
                        "secondary")
    answered = _answered_units()
    if unit.code in answered:
        return _message(_("您已经评价过了"), _("您今天已经评价过本窗口的服务，感谢您的反馈。"), 200, "success")
    form = ResidentForm()
    if request.method == "POST":
        if form.is_bot():
            return redirect(url_for(".thanks"))
        if form.validate_on_submit():
            services.submit_window_response(unit, form.answers())
            db.session.commit()
            response = make_response(redirect(url_for(".thanks")))
            response.set_cookie(WINDOW_COOKIE, _serializer().dumps((answered + [unit.code])[-20:]),
                                max_age=int(setting("RESIDENT_WINDOW_COOKIE_HOURS")) * 3600, path="/q/",
                                httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
            return response
    return _form_page(unit.name, _("窗口办事"), form=form if request.method == "POST" else None)


# ---- errors on these pages use the resident layout, never the staff one ------------------------
@bp.errorhandler(CSRFError)
def csrf_error(error):
    return _message(_("页面已过期"), _("页面停留时间过长，请返回重新打开链接后再提交。"), 400, "warning")


@bp.errorhandler(429)
def too_many(error):
    return _message(_("提交过于频繁"), _("提交次数过多，请稍后再试。"), 429, "warning")
