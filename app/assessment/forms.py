"""Forms of the main assessment: catalogue, per-cycle settings, import, compute, API clients."""
from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, FloatField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from scoring.assessment import GRADES

from ..formutil import select_choices
from .catalogue import (
    BASIC_SATISFIED_LABELS,
    DIMENSION_LABELS,
    DIRECTION_LABELS,
    GRADE_LABELS,
    LEVEL_LABELS,
    METHOD_LABELS,
    ROLLUP_LABELS,
)

PERCENT = [InputRequired(), NumberRange(0, 100)]
SCORE_BASIS = {"adjusted": _l("难度加权分（可超过 100）"), "total": _l("总分")}
CODE_RULE = Regexp(r"^[A-Za-z0-9_-]+$", message=_l("只能包含字母、数字、下划线和连字符。"))
BONUS_BASIS = {"unit": _l("按单位（每个单位一份）"), "headcount": _l("按人数（份额再乘以单位民警人数）")}


class CategoryMapField(StringField):
    """Station category → number, typed as "1=15, 2=10, 3=6"; data is a dict {"1": 15.0, ...}."""

    def _value(self):
        return ", ".join(f"{k}={float(v):g}" for k, v in sorted((self.data or {}).items()))

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "") or ""
        out = {}
        for part in text.replace("，", ",").replace("＝", "=").split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            try:
                category, number = int(key.strip()), float(value)
            except ValueError:
                category = number = None
            if not sep or category not in (1, 2, 3) or number is None or not math.isfinite(number):
                self.data = {}
                raise ValueError(_l("无法理解“%(part)s”：应为 类别=数值，例如 1=15, 2=10, 3=6。", part=part[:30]))
            out[str(category)] = number
        self.data = out or None


class IndicatorForm(FlaskForm):
    code = StringField(_l("指标代码"), validators=[DataRequired(), Length(max=64), CODE_RULE])
    name = StringField(_l("指标名称"), validators=[DataRequired(), Length(max=100)])
    dimension = SelectField(_l("维度"), choices=select_choices(DIMENSION_LABELS))
    level = SelectField(_l("适用层级"), choices=select_choices(LEVEL_LABELS))
    weight = FloatField(_l("维度内权重"), validators=[InputRequired(), NumberRange(min=0, max=100)],
                        description=_l("同一层级、同一维度内各指标的权重之和应为 100。"))
    unit_weight = FloatField(_l("计入单位时的维度内权重"), validators=[Optional(), NumberRange(min=0, max=100)],
                             description=_l("仅民警层级指标：填写后，单位取其民警的平均值，按此权重计入单位考评。"))
    direction = SelectField(_l("方向"), choices=select_choices(DIRECTION_LABELS))
    unit_of_measure = StringField(_l("计量单位"), validators=[Optional(), Length(max=20)])
    method = SelectField(_l("计分方法"), choices=select_choices(METHOD_LABELS))
    target = FloatField(_l("目标值"), validators=[Optional()])
    floor = FloatField(_l("起点值（0 分）"), validators=[Optional()],
                       description=_l("可选：达到此值得 0 分，达到目标值得 100 分，其间线性计分；"
                                      "不填则按 完成值/目标值 计分。"))
    category_targets = CategoryMapField(_l("分类目标值"), validators=[Optional()],
                                        description=_l("可选：各类别派出所的目标值，例如 1=15, 2=10, 3=6；"
                                                       "未列出的类别用上面的目标值。"))
    category_floors = CategoryMapField(_l("分类起点值"), validators=[Optional()],
                                       description=_l("可选：各类别的起点值，例如 1=40, 2=26, 3=16。"))
    min_value = FloatField(_l("取值下限"), validators=[Optional()])
    max_value = FloatField(_l("取值上限"), validators=[Optional()])
    source = StringField(_l("数据来源"), validators=[Optional(), Length(max=100)])
    splits_preventable = BooleanField(_l("按可防性拆分（案件数类指标）"))
    per_capita = BooleanField(_l("按每万人口计（单位层级的案件数类指标）"),
                              description=_l("数值除以派出所辖区常住人口再乘以 10000；"
                                             "目标值和起点值也按每万人口填写。"))
    is_soft = BooleanField(_l("柔性指标（由本平台计算，不能导入）"))
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    is_active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class ImportValuesForm(FlaskForm):
    file = FileField(_l("指标数据文件"), validators=[
        FileRequired(_l("请选择文件。")), FileAllowed(["csv", "xlsx"], _l("只支持 .csv 和 .xlsx 文件。"))])
    submit = SubmitField(_l("导入"))


class ComputeForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[Optional(), Length(max=1000)],
                           description=_l("周期已发布结果时必填：说明为什么重新计算。"))
    rollup = SelectField(_l("计算方式"), choices=select_choices(ROLLUP_LABELS), validators=[Optional()])
    submit = SubmitField(_l("计算"))


class PublishForm(FlaskForm):
    note = TextAreaField(_l("发布原因"), validators=[Optional(), Length(max=1000)],
                         description=_l("有业务系统数据缺失（按 0 分计）时必填，记入审计日志。"))
    submit = SubmitField(_l("发布为周期结果"))


class ApiClientForm(FlaskForm):
    name = StringField(_l("接入系统名称"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("生成令牌"))


def _numbers(text: str, count: int, label) -> list[float]:
    parts = [p for p in text.replace("，", ",").replace(" ", "").split(",") if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValidationError(_l("请填写用逗号分隔的数字。")) from None
    if len(values) != count:
        raise ValidationError(_l("需要 %(n)d 个数字（%(label)s）。", n=count, label=label))
    return values


class SettingsFormBase(FlaskForm):
    """Fixed part of the settings form; the indicator weight fields are added per cycle."""

    dim_law_enforcement = FloatField(DIMENSION_LABELS["law_enforcement"], validators=PERCENT)
    dim_basic_control = FloatField(DIMENSION_LABELS["basic_control"], validators=PERCENT)
    dim_public_service = FloatField(DIMENSION_LABELS["public_service"], validators=PERCENT)
    dim_team_management = FloatField(DIMENSION_LABELS["team_management"], validators=PERCENT)
    diff_1 = FloatField(_l("一类所难度系数"), validators=[InputRequired(), NumberRange(min=0.01, max=10)])
    diff_2 = FloatField(_l("二类所难度系数"), validators=[InputRequired(), NumberRange(min=0.01, max=10)])
    diff_3 = FloatField(_l("三类所难度系数"), validators=[InputRequired(), NumberRange(min=0.01, max=10)])
    nonpreventable_weight = FloatField(_l("不可防案件的权重"), validators=[InputRequired(), NumberRange(0, 1)],
                                       description=_l("0–1：一件不可防案件（如流窜作案）按多少件可防案件计。"))
    seasonal = TextAreaField(_l("季节性调整"), validators=[Optional(), Length(max=2000)],
                             description=_l(
                                 "每行一条：指标代码=权重倍数，例如 fraud_prevention=1.5："
                                 "该指标占总分的权重恰为原来的 1.5 倍，本层级其他指标按比例缩小；"
                                 "或 指标代码=+分值 临时加入指标库中的指标，例如 fraud_publicity=+5。"))
    station_targets = TextAreaField(_l("目标责任书（单个派出所的目标值）"),
                                    validators=[Optional(), Length(max=5000)],
                                    description=_l("每行一条：指标代码@单位代码=目标值，"
                                                   "例如 case_compliance@PS01=97。"))
    baseline_codes = StringField(_l("按本所基线计分的指标"), validators=[Optional(), Length(max=1000)],
                                 description=_l("指标代码，逗号分隔（单位层级、按目标计分的指标）："
                                                "目标取本所前三个已发布年度考评的平均值（至少两年有数据），起点分按"
                                                "类别的比例缩放；没有基线的派出所仍按类别目标。"))
    basic_satisfied_credit = SelectField(_l("群众评价中“基本满意”的计法"), coerce=float,
                                         choices=select_choices(BASIC_SATISFIED_LABELS))
    missing = SelectField(_l("缺失数据的处理"), choices=select_choices({
        "indicator": _l("按指标：业务系统的硬指标缺失记 0 分（发布需说明原因），柔性指标缺失按同维度重新分配权重"),
        "zero": _l("所有缺失指标记 0 分"), "exclude": _l("有缺失则不计总分")}))
    min_coverage = FloatField(_l("最低数据覆盖率"), validators=[InputRequired(), NumberRange(0, 1)],
                              description=_l("0–1：有数据的指标权重占比低于此值的对象不计总分。"))
    grade_mode = SelectField(_l("等次评定方式"), choices=select_choices(
        {"quota": _l("分数线 + 名额上限（全局统一）"), "threshold": _l("仅按分数线"), "share": _l("按比例强制分布")}))
    grade_caps = StringField(_l("优秀、良好的名额上限（%）"), validators=[DataRequired()],
                             description=_l("两个百分比，逗号分隔，例如 15, 35：达到分数线的对象中，按分数从高到低"
                                            "最多这么多可评优秀、良好（至少 1 名，并列者同等对待）。"))
    grade_shares = StringField(_l("各等次比例（%）"), validators=[DataRequired()],
                               description=_l("优秀、良好、合格、基本合格、不合格，逗号分隔，合计 100。"))
    grade_thresholds = StringField(_l("等次分数线"), validators=[DataRequired()],
                                   description=_l("优秀、良好、合格、基本合格的最低分，逗号分隔，递减。"))
    grade_within_category = BooleanField(_l("名额或比例在各类别内分别计算（默认全局统一）"))
    grade_on = SelectField(_l("评定依据"), choices=select_choices(SCORE_BASIS))
    bonus_pool = FloatField(_l("效能奖金总额（元）"), validators=[Optional(), NumberRange(min=0)],
                            description=_l("留空则不计算奖金。"))
    bonus_floor = FloatField(_l("奖金起点分"), validators=[InputRequired()],
                             description=_l("总分（0–100，不乘难度系数）不高于此分的不发奖金；高于的部分按比例分配。"))
    bonus_on = SelectField(_l("难度系数"), choices=select_choices(
        {"adjusted": _l("乘在超出起点的部分上：系数 ×（总分 − 起点分）"), "total": _l("不用于奖金")}))
    bonus_basis = SelectField(_l("奖金分配基数"), choices=select_choices(BONUS_BASIS))
    bonus_level = SelectField(_l("奖金发放对象"), choices=select_choices(LEVEL_LABELS))
    top_share = FloatField(_l("“绩效+发展”优先培训组比例（%）"), validators=[InputRequired(), NumberRange(0, 100)])
    bottom_share = FloatField(_l("个人提升计划组比例（%）"), validators=[InputRequired(), NumberRange(0, 100)])
    rollup_method = SelectField(_l("汇总下级周期的默认方法"), choices=select_choices(
        {k: v for k, v in ROLLUP_LABELS.items() if k}))
    submit = SubmitField(_l("保存设置"))

    weight_fields: list = []  # (field name, spec code, level, dimension), set per form class

    def validate_grade_shares(self, field):
        values = _numbers(field.data or "", len(GRADES), "、".join(str(GRADE_LABELS[g]) for g in GRADES))
        if abs(sum(values) - 100) > 1e-6:
            raise ValidationError(_l("各等次比例之和必须为 100，当前为 %(t)s。", t=f"{sum(values):g}"))

    def validate_grade_thresholds(self, field):
        values = _numbers(field.data or "", len(GRADES) - 1, _l("四条分数线"))
        if any(a <= b for a, b in zip(values, values[1:], strict=False)):
            raise ValidationError(_l("分数线必须从高到低递减。"))

    def validate_seasonal(self, field):
        self.parsed_seasonal, self.parsed_added = parse_seasonal(field.data or "")

    def validate_station_targets(self, field):
        self.parsed_station_targets = parse_station_targets(field.data or "")

    def validate_grade_caps(self, field):
        values = _numbers(field.data or "", 2, _l("优秀、良好"))
        if any(not 0 <= v <= 100 for v in values):
            raise ValidationError(_l("名额上限必须在 0 到 100 之间。"))

    def validate_bottom_share(self, field):
        if (self.top_share.data or 0) + (field.data or 0) > 100:
            raise ValidationError(_l("两组比例之和不能超过 100。"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        dims = [self.dim_law_enforcement, self.dim_basic_control, self.dim_public_service, self.dim_team_management]
        if all(f.data is not None for f in dims):
            total = sum(f.data for f in dims)
            if abs(total - 100) > 1e-6:
                self.dim_law_enforcement.errors = list(self.dim_law_enforcement.errors) + [
                    _l("四个维度的权重之和必须为 100，当前为 %(t)s。", t=f"{total:g}")]
                ok = False
        groups: dict[tuple[str, str], list] = {}
        for name, _code, level, dim in self.weight_fields:
            groups.setdefault((level, dim), []).append(self[name])
        for (level, dim), fields in groups.items():
            if any(f.data is None for f in fields):
                continue
            total = sum(f.data for f in fields)
            if abs(total - 100) > 1e-6:
                fields[0].errors = list(fields[0].errors) + [
                    _l("%(level)s层级“%(dim)s”维度内各指标的权重之和必须为 100，当前为 %(t)s。",
                       level=LEVEL_LABELS[level], dim=DIMENSION_LABELS[dim], t=f"{total:g}")]
                ok = False
        return ok


def parse_seasonal(text: str) -> tuple[dict[str, float], dict[str, float]]:
    """({code: multiplier}, {code: points added}) from lines "code=1.5" and "code=+5"."""
    multipliers: dict[str, float] = {}
    added: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        code, sep, value = line.replace("＝", "=").partition("=")
        value = value.strip()
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not code.strip() or number is None or number != number or number <= 0:
            raise ValidationError(_l("无法理解“%(line)s”：应为 指标代码=大于 0 的倍数，或 指标代码=+分值。",
                                     line=line[:60]))
        if value.startswith("+"):
            if number >= 100:
                raise ValidationError(_l("“%(line)s”：加入的分值必须小于 100。", line=line[:60]))
            added[code.strip()] = number
        else:
            multipliers[code.strip()] = number
    return multipliers, added


def parse_station_targets(text: str) -> dict[str, dict[str, float]]:
    """{spec code: {station code: target}} from lines "case_compliance@PS01=97"."""
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        left, sep, value = line.replace("＝", "=").partition("=")
        code, at, unit = left.strip().rpartition("@")
        try:
            target = float(value)
        except ValueError:
            target = None
        if not sep or not at or not code or not unit.strip() or target is None or not target > 0 \
                or target == float("inf"):
            raise ValidationError(_l("无法理解“%(line)s”：应为 指标代码@单位代码=大于 0 的目标值。", line=line[:60]))
        out.setdefault(code.strip(), {})[unit.strip()] = target
    return out


def settings_form_class(specs, names: dict[str, str]):
    """A SettingsForm class with one weight field per indicator spec (grouped by level and dimension)."""
    attrs, weight_fields = {}, []
    for i, spec in enumerate(specs):
        name = f"w_{i}"
        label = names.get(spec.code, spec.code)
        attrs[name] = FloatField(label, validators=[InputRequired(), NumberRange(0, 100)])
        weight_fields.append((name, spec.code, spec.level, spec.dimension))
    attrs["weight_fields"] = weight_fields
    return type("SettingsForm", (SettingsFormBase,), attrs)
