"""Forms of the resident feedback: the public answer form and the staff pages."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..formutil import select_choices
from .settings import setting

LEVEL_LABELS = {4: _l("很满意"), 3: _l("满意"), 2: _l("基本满意"), 1: _l("不满意")}
RESOLVED_LABELS = {"yes": _l("已解决"), "partly": _l("部分解决"), "no": _l("未解决")}
CHANNEL_LABELS = {"link": _l("短信/现场链接"), "window": _l("窗口二维码")}
FOLLOW_UP_STATUS_LABELS = {"open": _l("待核查"), "checked": _l("已核查，待整改"), "fixed": _l("已整改")}


def _level(value):
    """Coerce a posted number; junk becomes None so that the validators answer in plain words."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**31 else None  # beyond a database integer: no such row


LEVEL_QUESTIONS = {"overall": _l("总体而言，您对这次服务满意吗？"), "attitude": _l("民警的服务态度"),
                   "efficiency": _l("办事效率"), "fairness": _l("办事是否公正")}
# Each question's answers in its own words, on the one stored scale (4 best … 1 worst): "办事是否公正"
# is not answered 很满意. Pages and exports that print an answer take its label from here.
ANSWER_LABELS = {
    "overall": LEVEL_LABELS,
    "attitude": {4: _l("很好"), 3: _l("较好"), 2: _l("一般"), 1: _l("差")},
    "efficiency": {4: _l("很快"), 3: _l("较快"), 2: _l("一般"), 1: _l("慢")},
    "fairness": {4: _l("完全公正"), 3: _l("比较公正"), 2: _l("基本公正"), 1: _l("不公正")},
}
RESOLVED_QUESTION = _l("您的问题解决了吗？")
COMMENT_LABEL = _l("意见或建议（选填）")
CONTACT_QUESTION = _l("是否同意本单位就这次评价的事情联系您？")
CONTACT_LABELS = {"no": _l("不同意（默认）"), "yes": _l("同意")}
HONEYPOT_LABEL = _l("请勿填写此项")
SUBMIT_LABEL = _l("提交评价")


_LEVEL_CHOICES = {str(level): level for level in LEVEL_LABELS}  # posted text → stored value
_RESOLVED_CHOICES = {state: state for state in RESOLVED_LABELS}


class ResidentAnswer:
    """The answer posted from /r/<token> or /q/<unit code>, checked field by field.

    Not a WTForms form, on purpose: the page is written out by hand (public/form.html with the texts
    of ``page_texts``), and this is the busiest POST of the site, where building and binding a form
    object of eight fields took more server CPU than storing the answer. The rules are few and fixed:
    four levels 1-4, a resolved state, an optional comment of at most RESIDENT_COMMENT_MAX
    characters, the consent to be contacted (link answers only; no unless chosen), and a honeypot.
    CSRF is the app's (CSRFProtect) for the window form and the link's token for the link form (see
    public.routes).
    """

    def __init__(self, formdata):
        self.data: dict = {}
        self.errors: dict[str, list[str]] = {}
        self._website = (formdata.get("website") or "").strip()
        for name in LEVEL_QUESTIONS:
            self._choose(name, formdata.get(name), _LEVEL_CHOICES)
        self._choose("resolved", formdata.get("resolved"), _RESOLVED_CHOICES)
        # Consent to be contacted is "yes" only when chosen; anything else, or nothing, is no.
        self.data["may_contact"] = (formdata.get("contact") or "").strip() == "yes"
        comment = formdata.get("comment") or ""
        self.data["comment"] = comment
        limit = int(setting("RESIDENT_COMMENT_MAX"))
        if len(comment.strip()) > limit:
            self.errors["comment"] = [_("意见或建议最多 %(n)d 字。", n=limit)]

    def _choose(self, name: str, raw, options: dict) -> None:
        raw = (raw or "").strip()
        self.data[name] = options.get(raw)
        if not raw:
            self.errors[name] = [_("请选择一项。")]
        elif self.data[name] is None:
            self.errors[name] = [_("请从给出的选项中选择。")]

    def validate(self) -> bool:
        return not self.errors

    def is_bot(self) -> bool:
        """Bots that fill every field fill the honeypot, hidden from people by CSS."""
        return bool(self._website)

    def answers(self) -> dict:
        return dict(self.data)


_PAGE_TEXTS: dict[str, dict] = {}


def page_texts(locale: str) -> dict:
    """The public form's questions and options in ``locale``, translated once per process: they are
    fixed strings, and the resident page is the busiest page of the site."""
    texts = _PAGE_TEXTS.get(locale)
    if texts is None:
        texts = {
            "level_questions": tuple((name, str(label), tuple((value, str(text))
                                                             for value, text in ANSWER_LABELS[name].items()))
                                     for name, label in LEVEL_QUESTIONS.items()),
            "resolved_label": str(RESOLVED_QUESTION),
            "resolved_options": tuple((value, str(label)) for value, label in RESOLVED_LABELS.items()),
            "comment_label": str(COMMENT_LABEL), "website_label": str(HONEYPOT_LABEL),
            "submit_label": str(SUBMIT_LABEL), "contact_label": str(CONTACT_QUESTION),
            "contact_options": tuple((value, str(label)) for value, label in CONTACT_LABELS.items()),
        }
        _PAGE_TEXTS[locale] = texts
    return texts


class InvitationForm(FlaskForm):
    # Choices are checked by the service, which says why (e.g. a sensitive type) in plain words.
    service_type_id = SelectField(_l("业务类型"), coerce=_level, validate_choice=False,
                                  validators=[DataRequired(message=_l("请选择业务类型。"))])
    unit_id = SelectField(_l("服务单位"), coerce=_level, validate_choice=False,
                          validators=[DataRequired(message=_l("请选择单位。"))])
    officers = StringField(_l("服务民警警号"), validators=[Optional(), Length(max=200)],
                           description=_l("多名民警用逗号或空格分隔；可不填。"))
    reference = StringField(_l("业务编号（警情号、案件编号等）"), validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("生成评价链接"))


class BatchForm(FlaskForm):
    file = FileField(_l("业务记录文件"), validators=[
        FileRequired(message=_l("请选择要上传的文件。")),
        FileAllowed(["csv", "xlsx"], message=_l("只支持 .csv 和 .xlsx 文件。")),
    ])
    fmt = SelectField(_l("链接文件格式"), choices=select_choices({"xlsx": "Excel (.xlsx)", "csv": "CSV (.csv)"}),
                      default="xlsx")
    preview = SubmitField(_l("先检查"))
    submit = SubmitField(_l("生成链接文件"))


class ServiceTypeForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(message=_l("请填写名称。")), Length(max=50)])
    is_sensitive = BooleanField(_l("敏感业务（不向群众发送评价邀请）"))
    is_active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class KeywordForm(FlaskForm):
    word = StringField(_l("关键词"), validators=[DataRequired(message=_l("请填写关键词。")), Length(max=30)])
    submit = SubmitField(_l("添加"))


class NoteForm(FlaskForm):
    note = TextAreaField(_l("说明"), validators=[DataRequired(message=_l("请填写说明。")), Length(max=2000)])
    submit = SubmitField(_l("保存"))
