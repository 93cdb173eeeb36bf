"""Case stages (受理 → 立案 → 破案/结案 → 移送) and the statutory deadline of each stage.

The deadline of a stage counts from a stage date:
- 治安 (administrative) cases: 30 days from 受理 to 结案 (治安管理处罚法 第九十九条), for both the 受理
  and the 立案 stage;
- 刑事 (criminal) cases: 7 days from 受理 to the 立案 decision (公安机关办理刑事案件程序规定, the
  extended review time), then 60 days from 立案 to 破案 (the two-month 侦查羁押期限).
A case that is solved (破案/结案) or transferred (移送) is done (办结) and has no deadline. A sending
system may give the deadline itself (办理期限), which then wins: extensions are approved there.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

STAGE_LABELS = {"accepted": _l("受理"), "filed": _l("立案"), "solved": _l("破案/结案"), "transferred": _l("移送")}
# Words a file or a sending system may use for a stage.
STAGE_WORDS = {"受理": "accepted", "accepted": "accepted", "立案": "filed", "filed": "filed",
               "破案": "solved", "结案": "solved", "破案/结案": "solved", "solved": "solved",
               "移送": "transferred", "transferred": "transferred"}
# (kind, stage) → (the stage date the time counts from, days)
DEADLINE_RULES = {
    ("criminal", "accepted"): ("accepted_on", 7),
    ("criminal", "filed"): ("filed_on", 60),
    ("administrative", "accepted"): ("accepted_on", 30),
    ("administrative", "filed"): ("accepted_on", 30),
}
NEAR_DAYS = 3  # 超期预警: a deadline within this many days is "near"


def case_kind(case_type: str) -> str:
    return "criminal" if case_type.startswith("刑事") else "administrative"


def statutory_deadline(case_type: str, stage: str, dates: dict[str, date | None]) -> date | None:
    """The deadline of ``stage`` for a case of ``case_type`` given its stage dates, or None when done."""
    rule = DEADLINE_RULES.get((case_kind(case_type), stage))
    if rule is None:
        return None
    start = dates.get(rule[0]) or dates.get("accepted_on")
    return None if start is None else start + timedelta(days=rule[1])


def deadline_state(deadline: date | None, today: date) -> str:
    """'overdue', 'near' or '' for an open case's deadline."""
    if deadline is None:
        return ""
    if deadline < today:
        return "overdue"
    return "near" if (deadline - today).days <= NEAR_DAYS else ""
