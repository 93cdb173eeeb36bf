"""The seed catalogue of indicators and the default per-cycle assessment settings.

Weights are within the dimension at the indicator's level; at each level the weights of a
dimension add to 100. Officer-level indicators with a ``unit_weight`` also count for units, as the
mean of the unit's officers (360 综合) or as documented in :mod:`app.assessment.soft` (团队协作).
"""
from flask_babel import lazy_gettext as _l

DIMENSION_LABELS = {
    "law_enforcement": _l("执法质量"), "basic_control": _l("基础管控"),
    "public_service": _l("群众服务"), "team_management": _l("队伍管理"),
}
LEVEL_LABELS = {"unit": _l("单位"), "officer": _l("民警")}
DIRECTION_LABELS = {"higher": _l("越高越好"), "lower": _l("越低越好")}
METHOD_LABELS = {"target": _l("对标目标值"), "minmax": _l("极差法（同类别不足 5 个时与全局比较）")}
GRADE_LABELS = {"excellent": _l("优秀"), "good": _l("良好"), "pass": _l("合格"),
                "basic_pass": _l("基本合格"), "fail": _l("不合格")}
ROLLUP_LABELS = {"": _l("不汇总（直接计算本周期数据）"), "mean": _l("取平均"), "last": _l("取最近一期"),
                 "weighted": _l("按天数加权")}

# Soft indicators fed by this platform (see app/assessment/soft.py).
SOFT_CODES = ("soft_residents", "soft_residents_officer", "soft_360", "soft_teamwork")

RATE = {"unit_of_measure": "%", "min_value": 0.0, "max_value": 100.0}
POINTS = {"unit_of_measure": "分", "min_value": 0.0, "max_value": 100.0}

# code, name, dimension, level, weight, extra. The four dimensions as the bureau's report lists them:
# 执法质量 holds the callback satisfaction (群众回访满意度) and the usage rates (执法记录仪使用率,
# 执法办案场所使用率); 群众服务 measures satisfaction once (群众口碑), next to 窗口办结效率 and
# 矛盾纠纷调解成功率; case counts are scored against per-category targets between a floor and the
# target, so one case more costs a proportionate amount and a lone station is never top by default.
SEED_INDICATORS = [
    # ---- units ----
    ("case_compliance", "案件规范率", "law_enforcement", "unit", 35,
     {**RATE, "target": 95, "floor": 60, "source": "执法办案系统"}),
    ("callback_satisfaction", "群众回访满意度", "law_enforcement", "unit", 25,
     {**RATE, "target": 95, "floor": 60, "source": "回访系统"}),
    ("bodycam_usage", "执法记录仪使用率", "law_enforcement", "unit", 20,
     {**RATE, "target": 98, "floor": 60, "source": "执法记录仪管理系统"}),
    ("case_venue_usage", "执法办案场所使用率", "law_enforcement", "unit", 20,
     {**RATE, "target": 98, "floor": 60, "source": "执法办案管理中心"}),
    ("key_person_control", "重点人员动态管控率", "basic_control", "unit", 35,
     {**RATE, "target": 98, "floor": 70, "source": "重点人员管控系统"}),
    ("risk_rectification", "风险隐患排查整改率", "basic_control", "unit", 35,
     {**RATE, "target": 95, "floor": 60, "source": "基础管控平台"}),
    ("fraud_prevention", "电诈案件防范率", "basic_control", "unit", 15,
     {**RATE, "target": 90, "floor": 50, "source": "反诈中心"}),
    ("criminal_cases", "刑事案件发案数", "basic_control", "unit", 15,
     {"unit_of_measure": "件", "min_value": 0.0, "max_value": 100000.0, "direction": "lower",
      "target": 6, "floor": 16, "category_targets": {"1": 15, "2": 10, "3": 6},
      "category_floors": {"1": 40, "2": 26, "3": 16}, "splits_preventable": True, "source": "警综平台",
      "description": "按可防性拆分：数值填可防案件数，“不可防数”填流窜作案等不可防案件数（权重较低）。"
                     "按类别定目标值和起点：达到目标值得 100 分，达到起点得 0 分，其间按线性计分。"}),
    ("window_efficiency", "窗口办结效率", "public_service", "unit", 40,
     {**RATE, "target": 98, "floor": 70, "source": "政务服务平台"}),
    ("dispute_mediation", "矛盾纠纷调解成功率", "public_service", "unit", 35,
     {**RATE, "target": 90, "floor": 50, "source": "矛盾纠纷化解平台"}),
    ("soft_residents", "群众口碑", "public_service", "unit", 25,
     {**RATE, "target": 95, "is_soft": True, "source": "本平台：群众评价",
      "description": "群众通过链接和二维码评价的满意率（×100），经小样本收缩。"}),
    ("discipline", "纪律作风", "team_management", "unit", 25, {**POINTS, "target": 100, "source": "督察"}),
    ("training_rate", "培训参与率", "team_management", "unit", 15, {**RATE, "target": 95, "source": "教育训练系统"}),
    ("housekeeping", "内务规范化", "team_management", "unit", 15, {**POINTS, "target": 100, "source": "警务保障"}),
    # A seasonal indicator: inactive, added to a cycle with "fraud_publicity=+5" (5 points of the total).
    ("fraud_publicity", "反诈宣传", "basic_control", "unit", 0,
     {**RATE, "target": 100, "floor": 50, "is_active": False, "source": "反诈中心",
      "description": "季节性指标：电诈高发期在周期设置的季节性调整中加入，例如 fraud_publicity=+5。"}),
    # ---- officers (soft_360 and soft_teamwork also count for units) ----
    ("officer_case_compliance", "个人执法规范率", "law_enforcement", "officer", 100,
     {**RATE, "target": 95, "floor": 60, "source": "执法办案系统"}),
    ("officer_control_tasks", "要素管控任务完成率", "basic_control", "officer", 100,
     {**RATE, "target": 95, "floor": 50, "source": "基础管控平台"}),
    ("soft_residents_officer", "个人群众评价", "public_service", "officer", 100,
     {**RATE, "target": 95, "is_soft": True, "source": "本平台：群众评价"}),
    ("soft_360", "360 综合", "team_management", "officer", 50,
     {**POINTS, "target": 90, "is_soft": True, "unit_weight": 25, "source": "本平台：360 评价",
      "description": "上级、同事、下属评价经评价者偏差校正后的综合分（1–5 分换算为 0–100）；单位取其民警的平均。"}),
    ("soft_teamwork", "团队协作", "team_management", "officer", 30,
     {**POINTS, "target": 90, "is_soft": True, "unit_weight": 20, "source": "本平台：协作积分与同事评价",
      "description": "团队贡献积分（同类别内以最高者为 100）与同事评价的团队协作项（1–5 分换算为 0–100）的平均。"}),
    ("officer_training", "个人培训学时完成率", "team_management", "officer", 20,
     {**RATE, "target": 100, "source": "教育训练系统"}),
]

DEFAULT_OPTIONS = {
    "dual_track": {"top_share": 10.0, "bottom_share": 10.0},
    "rollup": {"method": "mean"},
    "nonpreventable_weight": 0.5,
    "bonus_level": "unit",
    # 目标责任书: {spec code: {station code: target}}, frozen with the cycle.
    "station_targets": {},
    # Credit of a 基本满意 answer in resident satisfaction: 0.5 (half satisfied) or 1 (satisfied).
    "basic_satisfied_credit": 0.5,
}
BASIC_SATISFIED_LABELS = {0.5: _l("基本满意按半个满意计（0.5）"), 1.0: _l("基本满意按满意计（1）")}

# The seasonal example: more weight on anti-fraud work in a fraud peak (e.g. the fourth quarter).
SEASONAL_EXAMPLE = {"fraud_prevention": 1.5}
# A season may also add an indicator for the cycle, with its points of the total.
SEASONAL_ADDITION_EXAMPLE = {"fraud_publicity": 5.0}

UNIT_SUFFIX = "@unit"


def unit_code(code: str) -> str:
    """The spec code under which an officer-level indicator counts for units."""
    return code + UNIT_SUFFIX


def base_code(spec_code: str) -> str:
    return spec_code[: -len(UNIT_SUFFIX)] if spec_code.endswith(UNIT_SUFFIX) else spec_code
