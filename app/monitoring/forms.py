from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import IntegerField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..admin.forms import MultiCheckboxField
from ..formutil import select_choices

RECORD_KINDS = {"incidents": _l("警情记录"), "cases": _l("案件记录")}


class RecordImportForm(FlaskForm):
    kind = RadioField(_l("数据类型"), choices=select_choices(RECORD_KINDS), default="incidents",
                      validators=[InputRequired(message=_l("请选择数据类型。"))])
    file = FileField(_l("数据文件"), validators=[
        FileRequired(message=_l("请选择文件。")),
        FileAllowed(["csv", "xlsx"], message=_l("只支持 .csv 和 .xlsx 文件。")),
    ])
    submit = SubmitField(_l("导入"))


def _minutes(label):
    return IntegerField(label, validators=[InputRequired(message=_l("请填写分钟数。")),
                                           NumberRange(1, 240, message=_l("应为 1 到 240 之间的整数。"))])


class TargetForm(FlaskForm):
    derived = MultiCheckboxField(_l("由业务记录派生、拒绝导入的指标"), choices=[])
    category_1 = _minutes(_l("一类所（分钟）"))
    category_2 = _minutes(_l("二类所（分钟）"))
    category_3 = _minutes(_l("三类所（分钟）"))
    submit = SubmitField(_l("保存"))


class ConnectorForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(message=_l("请填写名称。")), Length(max=100)])
    kind = RadioField(_l("数据类型"), choices=select_choices(RECORD_KINDS), default="incidents",
                      validators=[InputRequired(message=_l("请选择数据类型。"))])
    url = StringField(_l("地址"), validators=[DataRequired(message=_l("请填写地址。")), Length(max=500)])
    token = StringField(_l("访问令牌（可选）"), validators=[Length(max=200)])
    interval = IntegerField(_l("拉取间隔（分钟）"), default=15, validators=[
        InputRequired(message=_l("请填写分钟数。")),
        NumberRange(1, 1440, message=_l("应为 1 到 1440 之间的整数。"))])
    submit = SubmitField(_l("保存"))
