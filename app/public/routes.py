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

from ..dbutil import lean_connection
from ..extensions import csrf, db, limiter
from ..residents import services
from ..residents.forms import ResidentAnswer, page_texts
from ..residents.services import LinkUnavailable
from ..residents.settings import setting
from ..security import client_key

bp = Blueprint("public", __name__)

WINDOW_COOKIE = "kp_window"
SUBMIT_ATTEMPTS = 3
# Routes without a rate limit: a link takes one answer and its 192-bit token cannot be guessed.
UNTHROTTLED = frozenset({"public.resident_link", "public.thanks"})


@limiter.request_filter
def _unthrottled() -> bool:
    """Tell the limiter up front: Flask-Limiter otherwise works out on every request that a route
    has no limits ("exempt" ones included), 6% of the CPU of the busiest request."""
    return request.endpoint in UNTHROTTLED


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
# The link's token guards its form against cross-site posting: a CSRF token proves that a post
# comes from a page this site served, and the 192-bit link token in the URL proves more, that the
# poster holds the link. The route uses no cookie, session or login, so a forged post could only
# spend a link the forger already holds, which they could do themselves. The page therefore needs
# no session and no per-visitor token, and is the same for every resident of a unit, service and
# officers: it is rendered once per process for each and kept (_link_page). Browsers that say a
# post is cross-site (Sec-Fetch-Site) are refused all the same.
LINK_PAGE_CACHE = "kaoping.resident_link_pages"
LINK_PAGE_CACHE_SIZE = 512


def _form_page(unit_name: str, service_name: str, officer_names=(), form: ResidentAnswer | None = None,
               with_csrf: bool = True, is_link: bool = False) -> str:
    """The answer page; ``form`` (after a refused POST) gives the values chosen and the messages.

    A link's page asks whether the station may contact the resident about this matter (a window
    answer names no business and nobody to contact) and says what is kept and who sees it."""
    locale = str(get_locale())
    texts = page_texts(locale)
    return render_template("public/form.html", unit_name=unit_name, service_name=service_name,
                           officer_names=officer_names, errors=form.errors if form else {}, with_csrf=with_csrf,
                           questions=_questions(locale, texts, form), submit_label=texts["submit_label"],
                           is_link=is_link, texts=texts, may_contact=bool(form and form.data.get("may_contact")),
                           officer_minimum=int(setting("RESIDENT_OFFICER_MIN_ANSWERS")))


def _link_page(link: services.OpenLink) -> str:
    """The unanswered page of a link, from the process's cache (cleared whole when full)."""
    key = (str(get_locale()), request.script_root, link.unit_name, link.service_name, link.officer_names,
           int(setting("RESIDENT_COMMENT_MAX")))
    pages = current_app.extensions.setdefault(LINK_PAGE_CACHE, {})
    page = pages.get(key)
    if page is None:
        if len(pages) >= LINK_PAGE_CACHE_SIZE:
            pages.clear()
        page = pages[key] = _form_page(link.unit_name, link.service_name, link.officer_names, with_csrf=False,
                                       is_link=True)
    return page


_PRISTINE_QUESTIONS: dict[tuple, Markup] = {}


def _questions(locale: str, texts: dict, form: ResidentAnswer | None) -> Markup:
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
@csrf.exempt  # the token is the form's protection: see above
def resident_link(token):
    form = None
    if request.method == "POST":
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            return _message(_("无法提交"), _("请直接打开评价链接后在该页面提交。"), 403, "warning")
        form = ResidentAnswer(request.form)
        if form.is_bot():
            return redirect(url_for(".thanks"))
        if form.validate():
            return _submit_link(token, form)
    try:
        with lean_connection() as connection:  # one SELECT, no transaction around it
            link = services.open_invitation(token, connection)
    except LinkUnavailable as error:
        return _unavailable(error.reason)
    if form is None:
        return _link_page(link)
    return _form_page(link.unit_name, link.service_name, link.officer_names, form, with_csrf=False, is_link=True)


def _submit_link(token: str, form: ResidentAnswer):
    for _attempt in range(SUBMIT_ATTEMPTS):
        try:
            with lean_connection(transaction=True) as connection:  # commits at the end, else rolls back
                services.submit_link_response(token, form.answers(), connection)
        except LinkUnavailable as error:
            return _unavailable(error.reason)
        except OperationalError:
            # SQLite: racing writers can outlast the busy timeout ("database is locked"). Start
            # again; a lost race then reads as "already answered".
            current_app.logger.info("resident link submit: database busy, retrying")
            continue
        return redirect(url_for(".thanks"))
    with lean_connection() as connection:
        state = services.link_state(token, connection)
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


def _all_windows_limit() -> str:
    return setting("RESIDENT_WINDOW_ADDRESS_RATE_LIMIT")


def _all_windows_key() -> str:
    """Hashed client address across every window: one address cannot multiply the per-window limit
    by the number of windows (25 windows × 10 an hour was 250 answers an hour from one phone)."""
    return f"{client_key()}:window-any"


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
@limiter.limit(_all_windows_limit, key_func=_all_windows_key, methods=["POST"])
def window(code):
    unit = services.window_unit(code)
    if unit is None:
        return _message(_("二维码不可用"), _("找不到该服务窗口。请确认扫描的是窗口张贴的评价二维码。"), 404,
                        "secondary")
    answered = _answered_units()
    if unit.code in answered:
        return _message(_("您已经评价过了"), _("您今天已经评价过本窗口的服务，感谢您的反馈。"), 200, "success")
    form = None
    if request.method == "POST":  # CSRF checked by the app's CSRFProtect before this view runs
        form = ResidentAnswer(request.form)
        if form.is_bot():
            return redirect(url_for(".thanks"))
        if form.validate():
            services.submit_window_response(unit, form.answers())
            db.session.commit()
            response = make_response(redirect(url_for(".thanks")))
            response.set_cookie(WINDOW_COOKIE, _serializer().dumps((answered + [unit.code])[-20:]),
                                max_age=int(setting("RESIDENT_WINDOW_COOKIE_HOURS")) * 3600, path="/q/",
                                httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
            return response
    return _form_page(unit.name, _("窗口办事"), form=form)


# ---- errors on these pages use the resident layout, never the staff one ------------------------
@bp.errorhandler(CSRFError)
def csrf_error(error):
    return _message(_("页面已过期"), _("页面停留时间过长，请返回重新打开链接后再提交。"), 400, "warning")


@bp.errorhandler(429)
def too_many(error):
    return _message(_("提交过于频繁"), _("提交次数过多，请稍后再试。"), 429, "warning")
