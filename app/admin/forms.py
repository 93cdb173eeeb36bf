from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..formutil import select_choices
from ..models import ROLES
from ..notify.forms import ContactFields
from ..templating import CATEGORY_LABELS, CYCLE_KIND_LABELS, ROLE_LABELS, UNIT_KIND_LABELS

CODE_RULE = Regexp(r"^[A-Za-z0-9_-]+$", message=_l("只能包含字母、数字、下划线和连字符。"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UnitForm(FlaskForm):
    code = StringField(_l("单位代码"), validators=[DataRequired(), Length(max=32), CODE_RULE])
    name = StringField(_l("单位名称"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("类型"), choices=select_choices(UNIT_KIND_LABELS))
    category = SelectField(
        _l("派出所类别"), choices=select_choices({"": "—", **{str(k): v for k, v in CATEGORY_LABELS.items()}}),
    )
    parent_id = SelectField(_l("上级单位"), coerce=int, validators=[Optional()])
    population = IntegerField(_l("辖区常住人口"), validators=[Optional(), NumberRange(min=1, max=100_000_000)],
                              description=_l("派出所填写：用于按每万人口计的考评指标。"))
    submit = SubmitField(_l("保存"))

    def validate_category(self, field):
        if self.kind.data == "station" and not field.data:
            raise ValidationError(_l("派出所必须选择类别。"))
        if self.kind.data != "station" and field.data:
            raise ValidationError(_l("只有派出所有类别。"))


class OfficerForm(FlaskForm):
    badge_no = StringField(_l("警号"), validators=[DataRequired(), Length(max=20), CODE_RULE])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=50)])
    unit_id = SelectField(_l("所在单位"), coerce=int, validators=[DataRequired()])
    position = StringField(_l("职务"), validators=[Optional(), Length(max=50)])
    is_leader = BooleanField(_l("单位领导"))
    submit = SubmitField(_l("保存"))


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(min=2, max=50), CODE_RULE])
    badge_no = StringField(_l("关联民警警号"), validators=[Optional(), Length(max=20)])
    roles = MultiCheckboxField(_l("角色"), choices=select_choices({r: ROLE_LABELS[r] for r in ROLES}),
                               validators=[DataRequired(message=_l("请至少选择一个角色。"))])
    # Only for someone who sees every bureau (removed otherwise, see scope.bureau_field).
    bureau_id = SelectField(_l("所属局"), coerce=int, validate_choice=False, validators=[Optional()],
                            description=_l("管理员、协调员只能查看和修改所属局的数据；不选则为全系统账号。"))
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=200)])
    mobile = StringField(_l("手机号"), validators=[Optional(), Length(max=20)],
                         description=_l("用于短信通知，仅本人和管理员可见。"))
    email = StringField(_l("电子邮箱"), validators=[Optional(), Length(max=254)],
                        description=_l("用于邮件通知，仅本人和管理员可见。"))
    submit = SubmitField(_l("保存"))

    def validate_mobile(self, field):
        ContactFields.check_mobile(field)

    def validate_email(self, field):
        ContactFields.check_email(field)


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("重置密码"))


class CycleForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("周期类型"), choices=select_choices(CYCLE_KIND_LABELS))
    starts_on = DateField(_l("开始日期"), validators=[DataRequired()])
    ends_on = DateField(_l("结束日期"), validators=[DataRequired()])
    deadline_on = DateField(_l("评价截止日期"), validators=[Optional()])
    bureau_id = SelectField(_l("所属局"), coerce=int, validate_choice=False, validators=[Optional()],
                            description=_l("周期只考评该局的单位和民警，排名、等次和奖金都在局内计算。"))
    submit = SubmitField(_l("保存"))

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("结束日期不能早于开始日期。"))

    def validate_deadline_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("截止日期不能早于开始日期。"))


class ImportForm(FlaskForm):
    file = FileField(_l("文件（.xlsx 或 .csv）"), validators=[
        FileRequired(_l("请选择文件。")), FileAllowed(["xlsx", "csv"], _l("只支持 .csv 和 .xlsx 文件。"))
    ])
    submit = SubmitField(_l("导入"))


class ConfirmForm(FlaskForm):
    """An empty form that only carries the CSRF token for POST buttons."""
    submit = SubmitField(_l("确认"))


class AuditFilterForm(FlaskForm):
    """The audit log's filters, read from the query string (a GET form: nothing to forge)."""

    class Meta:
        csrf = False

    who = StringField(_l("操作人"), validators=[Optional(), Length(max=50)])
    kind = SelectField(_l("对象类型"), validators=[Optional()])
    since = DateField(_l("起始日期"), validators=[Optional()])
    until = DateField(_l("截止日期"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("截止日期不能早于起始日期。"))
