"""Domain errors and the HTTP error handlers (HTML or JSON by what the client asked for)."""
from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db


class DomainError(Exception):
    """A rule of the domain was broken; ``message`` is already in the user's language."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _messages():
    return {
        400: _("请求无效。"),
        403: _("您没有权限访问此页面。"),
        404: _("找不到该页面。"),
        405: _("不支持该请求方式。"),
        413: _("上传的文件太大。"),
        429: _("操作过于频繁，请稍后再试。"),
        500: _("服务器出错了，我们已记录此问题，请稍后再试。"),
        503: _("服务暂时不可用，请稍后再试。"),
    }


def render_error(code: int, message: str | None = None):
    db.session.rollback()
    text = message or _messages().get(code, _("请求无效。"))
    if wants_json():
        return jsonify(error=text, status=code), code
    return render_template("errors/error.html", code=code, message=text), code


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _("表单已过期或无效，请刷新页面后重试。"))

    @app.errorhandler(HTTPException)
    def http_error(error):
        body, code = render_error(error.code or 500, getattr(error, "message", None))
        response = app.make_response((body, code))
        for name, value in error.get_headers():  # e.g. a 405's Allow, a 401's WWW-Authenticate
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(InternalServerError)
    def internal_error(error):
        app.logger.exception("unhandled error", exc_info=getattr(error, "original_exception", error))
        return render_error(500)
