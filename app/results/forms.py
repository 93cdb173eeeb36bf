"""Forms of the results path: submit to the committee, decide, final, the committee."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..formutil import select_choices


class SubmitRunForm(FlaskForm):
    note = TextAreaField(_l("发布原因"), validators=[Optional(), Length(max=1000)],
                         description=_l("有业务系统数据缺失（按 0 分计）时必填，记入审计日志。"))
    submit = SubmitField(_l("提交考评委员会审定"))


class DecisionForm(FlaskForm):
    decision = SelectField(_l("决定"), choices=select_choices({"approve": _l("同意"), "return": _l("退回")}),
                           validators=[DataRequired()])
    reason = TextAreaField(_l("意见或退回原因"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("提交决定"))


class FinalizeForm(FlaskForm):
    submit = SubmitField(_l("公示期满，确定为最终结果"))


class CommitteeMemberForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("添加审定人"))


class EmptyForm(FlaskForm):
    """CSRF only (removing a member)."""
