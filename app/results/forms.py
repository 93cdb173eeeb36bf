"""Forms of the results path: submit to the committee, decide, final, the committee."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, MultipleFileField, SelectField, StringField, SubmitField, TextAreaField
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


class CalendarDaysForm(FlaskForm):
    days = TextAreaField(_l("放假和调休安排"), validators=[DataRequired(), Length(max=20_000)],
                         description=_l("每行一个日期和“休”或“班”，可加说明，例如：2027-01-01 休 元旦；"
                                        "2027-02-06 班 春节调休。已录入的日期会被替换。"))
    submit = SubmitField(_l("保存"))


class EmptyForm(FlaskForm):
    """CSRF only (removing a member)."""


class ObjectionForm(FlaskForm):
    item_kind = SelectField(_l("申诉项目"), validators=[DataRequired()], choices=select_choices({
        "indicator": _l("业务指标"), "soft": _l("柔性指标（360 或群众评价）"), "grade": _l("等次"),
        "rank": _l("排名")}))
    item_code = SelectField(_l("指标"), validators=[Optional()], choices=[], validate_choice=False)
    reason = TextAreaField(_l("申诉理由"), validators=[DataRequired(), Length(max=4000)])
    evidence = MultipleFileField(_l("证明材料（PDF、JPG、PNG、XLSX，每个不超过 5 MB，最多 5 个）"))
    submit = SubmitField(_l("提交申诉"))


class ReviewForm(FlaskForm):
    outcome = SelectField(_l("复核结论"), validators=[DataRequired()],
                          choices=select_choices({"reject": _l("驳回"), "accept": _l("采纳")}))
    reply = TextAreaField(_l("答复"), validators=[DataRequired(), Length(max=4000)])
    corrected_value = StringField(_l("更正值（采纳业务指标申诉时可填：导入该值并重新计算为新版本，另行公示）"),
                                  validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("提交复核结论"))


class TalkForm(FlaskForm):
    held_on = DateField(_l("约谈日期"), validators=[DataRequired()])
    held_by = StringField(_l("约谈人"), validators=[DataRequired(), Length(max=200)])
    with_whom = StringField(_l("约谈对象（当年负责人）"), validators=[DataRequired(), Length(max=200)])
    notes = TextAreaField(_l("约谈记录"), validators=[Optional(), Length(max=4000)])
    position_change = TextAreaField(_l("岗位调整"), validators=[Optional(), Length(max=2000)])
    follow_up_on = DateField(_l("回访日期"), validators=[Optional()])
    submit = SubmitField(_l("保存约谈记录"))
