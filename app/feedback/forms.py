from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..formutil import select_choices

RELATION_LABELS = {
    "self": _l("自评"), "peer": _l("同事互评"), "supervisor": _l("领导评价"), "subordinate": _l("下属评价"),
    "collaborator": _l("跨单位协作评价"),
}
GROUP_LABELS = {**RELATION_LABELS, "others": _l("他评合计")}
STATUS_LABELS = {"pending": _l("未开始"), "draft": _l("草稿"), "submitted": _l("已提交"), "declined": _l("已拒评")}


class DeclineForm(FlaskForm):
    revision = HiddenField()
    reason = TextAreaField(_l("不能评价的原因"), validators=[DataRequired(message=_l("请说明不能评价的原因。")),
                                                          Length(max=500)],
                           description=_l("例如：本周期没有与该同事共事。"))
    submit = SubmitField(_l("拒绝评价"))


class NominationForm(FlaskForm):
    badge_no = StringField(_l("被提名民警警号"), validators=[DataRequired(), Length(max=20)])
    reason = StringField(_l("协作事项"), validators=[Optional(), Length(max=300)],
                         description=_l("例如：联合处置某案件、专项行动。"))
    submit = SubmitField(_l("提名"))


class DesignForm(FlaskForm):
    seed = IntegerField(_l("随机种子"), validators=[DataRequired(), NumberRange(min=0, max=2**31 - 1)])
    peers = IntegerField(_l("每人互评人数"), validators=[DataRequired(), NumberRange(min=1, max=12)])
    submit = SubmitField(_l("生成评价安排"))


class AddAssignmentForm(FlaskForm):
    rater_badge = StringField(_l("评价人警号"), validators=[DataRequired(), Length(max=20)])
    ratee_badge = StringField(_l("被评价人警号"), validators=[DataRequired(), Length(max=20)])
    relation = SelectField(_l("关系"), choices=select_choices(RELATION_LABELS))
    submit = SubmitField(_l("添加"))


class InstrumentChoiceForm(FlaskForm):
    self = SelectField(RELATION_LABELS["self"], coerce=int)
    peer = SelectField(RELATION_LABELS["peer"], coerce=int)
    supervisor = SelectField(RELATION_LABELS["supervisor"], coerce=int)
    subordinate = SelectField(RELATION_LABELS["subordinate"], coerce=int)
    submit = SubmitField(_l("保存问卷选择"))


class InstrumentForm(FlaskForm):
    title = StringField(_l("标题"), validators=[DataRequired(), Length(max=200)])
    intro = TextAreaField(_l("填写说明"), validators=[Optional(), Length(max=2000)])
    competencies = TextAreaField(
        _l("能力项"), validators=[DataRequired()], render_kw={"rows": 7},
        description=_l("每行一项：代码 | 名称 | 是否提供意见框（是/否）"))
    items = TextAreaField(
        _l("题目"), validators=[DataRequired()], render_kw={"rows": 20},
        description=_l("每行一题：能力项代码 | 题目 | 1–5 分的标签（用 / 分隔） | 是否允许“无法评价”（是/否）"))
    submit = SubmitField(_l("保存"))


class ImportInstrumentForm(FlaskForm):
    file = FileField(_l("问卷 JSON 文件"),
                     validators=[FileRequired(), FileAllowed(["json"], _l("只支持 .json 文件。"))])
    submit = SubmitField(_l("导入"))


class ThresholdForm(FlaskForm):
    """Anonymity: the fewest raters a group needs before a report shows it."""

    self = IntegerField(GROUP_LABELS["self"], validators=[DataRequired(), NumberRange(min=1, max=50)])
    supervisor = IntegerField(GROUP_LABELS["supervisor"], validators=[DataRequired(), NumberRange(min=1, max=50)])
    peer = IntegerField(GROUP_LABELS["peer"], validators=[DataRequired(), NumberRange(min=2, max=50)])
    subordinate = IntegerField(GROUP_LABELS["subordinate"], validators=[DataRequired(), NumberRange(min=2, max=50)])
    collaborator = IntegerField(GROUP_LABELS["collaborator"], validators=[DataRequired(), NumberRange(min=1, max=50)])
    others = IntegerField(GROUP_LABELS["others"], validators=[DataRequired(), NumberRange(min=2, max=50)])
    submit = SubmitField(_l("保存匿名阈值"))
