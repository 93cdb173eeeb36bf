"""Forms for filing and reviewing claims, points rules and the case-record upload."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..formutil import select_choices
from .states import ROLE_LABELS

PARTICIPANT_ROWS = 8
SHARE_RULE = Regexp(r"^\s*\d{1,3}(\.\d{1,2})?\s*$", message=_l("请填写 0–100 的数字，最多两位小数。"))


class ParticipantRow(Form):
    """One participant; a row left empty is ignored."""

    unit_id = SelectField(_l("单位"), coerce=int, validators=[Optional()])
    badge_no = StringField(_l("警号"), validators=[Optional(), Length(max=20)])
    role = SelectField(_l("角色"), choices=select_choices({"": "—", **ROLE_LABELS}), validators=[Optional()])
    share = StringField(_l("建议比例（百分比）"), validators=[Optional(), SHARE_RULE])

    @property
    def is_blank(self) -> bool:
        return not (self.unit_id.data or (self.badge_no.data or "").strip() or (self.share.data or "").strip())


class ClaimForm(FlaskForm):
    case_ref = StringField(_l("案件编号"), validators=[DataRequired(), Length(max=50)])
    case_type = SelectField(_l("案件类别"), validators=[DataRequired()])
    severity = SelectField(_l("严重程度"), validators=[DataRequired()])
    case_date = DateField(_l("案发日期"), validators=[DataRequired(message=_l("请填写有效的日期。"))])
    summary = TextAreaField(_l("案情与协作经过"), validators=[Optional(), Length(max=2000)])
    lead_unit_id = SelectField(_l("主办单位"), coerce=int, validators=[DataRequired(message=_l("请选择主办单位。"))])
    participants = FieldList(FormField(ParticipantRow), min_entries=PARTICIPANT_ROWS, max_entries=30)
    submit = SubmitField(_l("保存草稿"))

    def set_choices(self, case_types, severities, units: dict) -> None:
        self.case_type.choices = select_choices({t: t for t in case_types})
        self.severity.choices = select_choices({s: s for s in severities})
        self.lead_unit_id.choices = select_choices({0: "—", **units})
        for entry in self.participants:
            entry.form.unit_id.choices = select_choices({0: "—", **units})

    def service_data(self) -> dict:
        return {
            "case_ref": self.case_ref.data, "case_type": self.case_type.data, "severity": self.severity.data,
            "case_date": self.case_date.data, "summary": self.summary.data or "",
            "lead_unit_id": self.lead_unit_id.data,
            "participants": [
                {"unit_id": e.form.unit_id.data, "badge_no": (e.form.badge_no.data or "").strip(),
                 "role": e.form.role.data, "share": (e.form.share.data or "").strip()}
                for e in self.participants if not e.form.is_blank
            ],
        }


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=1000)])


class MergeForm(FlaskForm):
    target = SelectField(_l("保留的申报"), coerce=int)
    reason = TextAreaField(_l("说明"), validators=[Optional(), Length(max=1000)])


class PointsRulesForm(FlaskForm):
    base_points = TextAreaField(_l("基础分值（每行：案件类别 严重程度 分值）"), validators=[DataRequired()],
                                render_kw={"rows": 12})
    multiplier_step = DecimalField(_l("每多一个单位加乘"), places=2,
                                   validators=[InputRequired(), NumberRange(min=0, max=5)])
    multiplier_cap = DecimalField(_l("加乘上限"), places=2, validators=[InputRequired(), NumberRange(min=1, max=10)])
    min_unit_share = DecimalField(_l("单位计入加乘的最低比例（%，该单位民警比例合计）"), places=2,
                                  validators=[InputRequired(), NumberRange(min=0, max=100)])
    officer_cap = DecimalField(_l("每名民警每周期积分上限（留空为不设上限）"), places=2,
                               validators=[Optional(), NumberRange(min=0, max=100000)])
    submit = SubmitField(_l("保存积分规则"))


class CaseImportForm(FlaskForm):
    file = FileField(_l("案件数据文件"), validators=[
        FileRequired(message=_l("请选择文件。")),
        FileAllowed(["csv", "xlsx"], message=_l("只支持 .csv 和 .xlsx 文件。")),
    ])
    submit = SubmitField(_l("导入"))
