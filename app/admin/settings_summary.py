"""A cycle's frozen settings (``cycle.config``) as the readable summary its page shows: labelled
sections of "setting: value" lines in the user's language instead of the raw JSON."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from scoring.assessment import GRADES

from ..assessment.catalogue import DIMENSION_LABELS, GRADE_LABELS, LEVEL_LABELS, METHOD_LABELS, ROLLUP_LABELS
from ..templating import CATEGORY_LABELS

MISSING_LABELS = {"renormalise": _l("按已有指标重新分配权重（标记为不完整）"), "zero": _l("缺失指标记 0 分"),
                  "exclude": _l("有缺失则不计总分")}
BASIS_LABELS = {"adjusted": _l("难度加权分（可超过 100）"), "total": _l("总分")}


@dataclass
class Section:
    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (setting, value)
    header: list[str] = field(default_factory=list)  # an optional table below the lines
    rows: list[list[str]] = field(default_factory=list)


def _num(value) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pct(value) -> str:
    return "—" if value is None else f"{100 * float(value):g}%"


Line = tuple[str, str]


def _assessment(cfg: dict, options: dict) -> Section:
    section = Section(_("主考核"))
    section.lines += _weighting_lines(cfg)
    section.lines += _grade_lines(cfg.get("grades") or {})
    section.lines += _bonus_lines(cfg.get("bonus") or {}, options)
    section.lines += _option_lines(options)
    indicators = cfg.get("indicators") or []
    if indicators:
        section.lines.append((_("指标"), _("%(n)d 项", n=len(indicators))))
        section.header = [_("代码"), _("层级"), _("维度"), _("权重"), _("计分方法"), _("目标值")]
        section.rows = [_indicator_row(i) for i in indicators]
    return section


def _weighting_lines(cfg: dict) -> list[Line]:
    """Dimension weights, difficulty coefficients, seasonal factors and the missing-data rules."""
    lines: list[Line] = []
    weights = cfg.get("dimension_weights") or {}
    if weights:
        lines.append((_("维度权重"), " · ".join(f"{DIMENSION_LABELS.get(k, k)} {_num(v)}" for k, v in weights.items())))
    difficulty = cfg.get("difficulty") or {}
    if difficulty:
        lines.append((_("难度系数"), " · ".join(
            f"{CATEGORY_LABELS.get(int(k), k) if str(k).isdigit() else k} {_num(v)}" for k, v in difficulty.items())))
    seasonal = cfg.get("seasonal") or {}
    lines.append((_("季节性调整"), "、".join(f"{k} ×{_num(v)}" for k, v in seasonal.items()) or _("无")))
    if "missing" in cfg:
        lines.append((_("缺失数据的处理"), str(MISSING_LABELS.get(cfg["missing"], cfg["missing"]))))
    if "min_coverage" in cfg:
        lines.append((_("最低数据覆盖率"), _pct(cfg["min_coverage"])))
    return lines


def _grade_lines(grades: dict) -> list[Line]:
    """The grading rule: shares per grade (within categories or overall) or score thresholds."""
    basis = BASIS_LABELS.get(grades.get("on") or "", "")
    if grades.get("mode") == "share":
        shares = " · ".join(f"{GRADE_LABELS[g]} {_num(s)}%" for g, s in zip(GRADES, grades.get("shares") or [],
                                                                            strict=False))
        where = _("各类别内分别评定") if grades.get("within_category") else _("全局评定")
        return [(_("等次（按比例）"), f"{shares}（{where}，{basis}）")]
    if grades:
        lines = " · ".join(f"{GRADE_LABELS[g]} ≥ {_num(t)}" for g, t in zip(GRADES, grades.get("thresholds") or [],
                                                                              strict=False))
        return [(_("等次（按分数线）"), f"{lines}（{basis}）")]
    return []


def _bonus_lines(bonus: dict, options: dict) -> list[Line]:
    """The efficiency bonus: not computed, or its pool, floor, basis and who receives it."""
    if not bonus:
        return []
    pool = bonus.get("pool_cents")
    return [(_("效能奖金"), _("不计算") if pool is None else _(
        "总额 %(pool)s 元，%(floor)s 分以上的部分按比例分配（%(on)s，发给%(level)s）",
        pool=f"{pool / 100:,.2f}", floor=_num(bonus.get("floor")), on=BASIS_LABELS.get(bonus.get("on") or "", ""),
        level=LEVEL_LABELS.get(options.get("bonus_level", "unit"), "")))]


def _option_lines(options: dict) -> list[Line]:
    """The dual track shares, the roll-up of lower cycles and the weight of non-preventable cases."""
    lines: list[Line] = []
    dual = options.get("dual_track") or {}
    if dual:
        lines.append((_("“绩效+发展”双轨"), _("优先培训组 %(top)s%%，个人提升计划组 %(bottom)s%%",
                                             top=_num(dual.get("top_share")), bottom=_num(dual.get("bottom_share")))))
    rollup = (options.get("rollup") or {}).get("method")
    if rollup is not None:
        lines.append((_("汇总下级周期"), str(ROLLUP_LABELS.get(rollup, rollup))))
    if "nonpreventable_weight" in options:
        lines.append((_("不可防案件的权重"), _num(options["nonpreventable_weight"])))
    return lines


def _indicator_row(i: dict) -> list[str]:
    return [i.get("code", ""), _label(LEVEL_LABELS, i.get("level")), _label(DIMENSION_LABELS, i.get("dimension")),
            _num(i.get("weight")), _label(METHOD_LABELS, i.get("method")), _num(i.get("target"))]


def _label(labels: Mapping[str, object], code: object) -> str:
    """The label of a code, else the code itself ("" for none)."""
    if isinstance(code, str) and code in labels:
        return str(labels[code])
    return str(code or "")


def _feedback(cfg: dict) -> Section:
    from ..feedback.forms import GROUP_LABELS

    section = Section(_("360评价"))
    if "peers" in cfg:
        section.lines.append((_("每人被互评人数"), _num(cfg["peers"])))
    thresholds = cfg.get("thresholds") or {}
    if thresholds:
        section.lines.append((_("匿名阈值（少于此人数不显示）"), " · ".join(
            f"{GROUP_LABELS.get(k, k)} {_num(v)}" for k, v in thresholds.items())))
    instruments = cfg.get("instruments") or {}
    if instruments:
        section.lines.append((_("问卷"), " · ".join(
            _("%(group)s 问卷 #%(id)s", group=GROUP_LABELS.get(k, k), id=v) for k, v in instruments.items())))
    return section


def _points(rules: dict) -> Section:
    section = Section(_("团队贡献积分规则"))
    base = rules.get("base_points") or {}
    severities = list(dict.fromkeys(s for by in base.values() for s in by))
    if base:
        section.header = [_("案件类别")] + severities
        section.rows = [[kind] + [_num(by.get(s)) for s in severities] for kind, by in base.items()]
    if "multiplier_step" in rules:
        section.lines.append((_("每多一个协作单位加成"), _pct(rules["multiplier_step"])))
    if "multiplier_cap" in rules:
        section.lines.append((_("加成上限"), "×" + _num(rules["multiplier_cap"])))
    if "officer_cap" in rules:
        cap = rules["officer_cap"]
        section.lines.append((_("每人每周期上限"), _("不设上限") if cap is None else _("%(c)s 分", c=_num(cap))))
    return section


def summarise(config: dict | None) -> list[Section]:
    """The readable sections of a cycle's settings; parts the cycle does not have are left out."""
    config = config or {}
    sections = []
    if config.get("assessment"):
        sections.append(_assessment(config["assessment"], config.get("assessment_options") or {}))
    if config.get("feedback"):
        sections.append(_feedback(config["feedback"]))
    if config.get("points_rules"):
        sections.append(_points(config["points_rules"]))
    return [s for s in sections if s.lines or s.rows]
