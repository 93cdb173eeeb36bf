"""Forms of the notification settings: a user's own addresses, and the delivery log's filters."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

_MOBILE = re.compile(r"1[3-9]\d{9}")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{7,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def normalise_mobile(raw: str | None) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and +86 dropped), another country's in
    E.164 (+…); "" for empty. ValueError for anything else."""
    text = re.sub(r"[\s\-()（）]", "", raw or "")
    if not text:
        return ""
    if text.startswith("+86"):
        text = text[3:]
    if _MOBILE.fullmatch(text) or _INTERNATIONAL.fullmatch(text):
        return text
    raise ValueError(text)


def normalise_email(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text:
        return ""
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise ValueError(text)
    return text.lower() if text.isascii() else text


class ContactFields:
    """Mobile and e-mail fields with their checks, shared by the user's page and the admin's form."""

    @staticmethod
    def check_mobile(field) -> None:
        try:
            field.data = normalise_mobile(field.data)
        except ValueError:
            raise ValidationError(_l("手机号格式不正确：请填写11位手机号（如 13800138000）。")) from None

    @staticmethod
    def check_email(field) -> None:
        try:
            field.data = normalise_email(field.data)
        except ValueError:
            raise ValidationError(_l("电子邮箱格式不正确（如 name@example.gov.cn）。")) from None


class PreferencesForm(FlaskForm):
    """The user's own addresses; the per-kind channel boxes are read from the request (one per pair)."""

    mobile = StringField(_l("手机号"), validators=[Optional(), Length(max=20)])
    email = StringField(_l("电子邮箱"), validators=[Optional(), Length(max=254)])
    submit = SubmitField(_l("保存"))

    def validate_mobile(self, field):
        ContactFields.check_mobile(field)

    def validate_email(self, field):
        ContactFields.check_email(field)


class DeliveryFilterForm(FlaskForm):
    """The delivery log's filters, from the query string (a GET form: nothing to forge)."""

    class Meta:
        csrf = False

    status = SelectField(_l("状态"), validators=[Optional()])
    channel = SelectField(_l("渠道"), validators=[Optional()])
    since = DateField(_l("起始日期"), validators=[Optional()])
    until = DateField(_l("截止日期"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("截止日期不能早于起始日期。"))
