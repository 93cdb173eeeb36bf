"""360-degree questionnaires (instruments) as plain data: the default set, JSON export and import.

An instrument belongs to one rater group and holds items, each under a competency, on a 1–5 scale
with a label for every point and an optional "not applicable"; each competency may offer a comment
box. The database keeps versions; this module only knows the content.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

RATER_GROUPS = ("self", "peer", "supervisor", "subordinate")
SCALE_POINTS = 5
FORMAT = "kaoping-instrument"
FORMAT_VERSION = 1
MAX_ITEMS = 80
MAX_TEXT = 500


class InstrumentFormatError(ValueError):
    """The JSON does not describe a valid instrument; ``str(error)`` says where."""


@dataclass(frozen=True)
class Competency:
    code: str
    name: str
    comment: bool = True  # offer a free-text comment box


@dataclass(frozen=True)
class Item:
    competency: str
    text: str
    scale_labels: tuple[str, ...]
    allow_na: bool = True


@dataclass(frozen=True)
class InstrumentSpec:
    code: str
    rater_group: str
    title: str
    competencies: tuple[Competency, ...]
    items: tuple[Item, ...]
    intro: str = ""
    version: int = 1

    def items_of(self, competency: str) -> list[Item]:
        return [item for item in self.items if item.competency == competency]


# ---- the default set -------------------------------------------------------------------------------
COMPETENCIES = (
    Competency("dispute", "矛盾化解"),
    Competency("control", "要素管控"),
    Competency("incident", "处警办案"),
    Competency("public", "群众工作"),
    Competency("discipline", "纪律作风"),
    Competency("teamwork", "团队协作"),
)
TEAMWORK = "teamwork"

FREQUENCY = ("从不", "很少", "有时", "经常", "总是")
QUALITY = ("很差", "较差", "一般", "较好", "很好")

# Behaviour statements per competency, written for the person being rated in the third person
# ("该同志"); the self questionnaire turns them into the first person ("我").
_STATEMENTS = {
    "dispute": [
        ("接到邻里、家庭纠纷后能及时到场，先稳定双方情绪再了解事实", FREQUENCY),
        ("调解时讲清法律和政策依据，提出双方都能接受的解决办法", FREQUENCY),
        ("对调解过的纠纷进行回访，防止矛盾反复或激化", FREQUENCY),
    ],
    "control": [
        ("掌握辖区重点人员、重点场所的底数和动态", QUALITY),
        ("按要求开展安全隐患排查，发现问题跟踪整改到位", FREQUENCY),
        ("及时、准确地录入和更新基础信息", FREQUENCY),
    ],
    "incident": [
        ("接警后按规定时限到达现场，处置程序规范", FREQUENCY),
        ("案件材料完整、证据规范，经得起法制审核", QUALITY),
        ("现场处置中注意安全防护和执法记录仪全程使用", FREQUENCY),
    ],
    "public": [
        ("对来所办事群众态度热情、耐心解答", FREQUENCY),
        ("主动走访辖区群众和单位，听取意见建议", FREQUENCY),
    ],
    "discipline": [
        ("遵守工作纪律和考勤制度，着装和言行规范", FREQUENCY),
        ("廉洁自律，不利用职务之便谋取私利", FREQUENCY),
    ],
    "teamwork": [
        ("主动配合同事完成联合处警、专项行动等任务", FREQUENCY),
        ("愿意分享工作经验和信息，帮助新同事成长", FREQUENCY),
        ("在分歧中能沟通协商，以工作大局为重", FREQUENCY),
    ],
}
# Extra statements that only make sense from one side of a reporting line.
_EXTRA = {
    "supervisor": {"teamwork": [("服从工作安排，及时向领导报告工作进展和问题", FREQUENCY)]},
    "subordinate": {
        "teamwork": [("合理分配工作任务，公平对待每一位民警", FREQUENCY)],
        "discipline": [("以身作则，带头遵守纪律和规定", FREQUENCY)],
    },
}
_TITLES = {
    "self": "自我评价问卷",
    "peer": "同事互评问卷",
    "supervisor": "领导评价问卷（领导评价所属民警）",
    "subordinate": "下属评价问卷（民警评价所在单位领导）",
}
_INTROS = {
    "self": "请根据本周期的实际工作，如实评价自己。",
    "peer": "请根据本周期与该同事共事的实际情况作答；没有观察到的行为请选“无法评价”。",
    "supervisor": "请根据本周期对该民警的日常观察作答。",
    "subordinate": "请根据本周期在该领导带领下工作的实际情况作答。您的回答以匿名方式汇总。",
}


def _word(text: str, group: str) -> str:
    if group == "self":
        return "我" + text
    if group == "subordinate":
        return "该领导" + text
    return "该同志" + text


def default_instrument(rater_group: str) -> InstrumentSpec:
    """The shipped questionnaire for ``rater_group``: six competencies, 2–4 items each."""
    if rater_group not in RATER_GROUPS:
        raise ValueError(f"unknown rater group {rater_group!r}")
    items = []
    for competency in COMPETENCIES:
        statements = _STATEMENTS[competency.code] + _EXTRA.get(rater_group, {}).get(competency.code, [])
        for text, labels in statements:
            items.append(Item(competency.code, _word(text, rater_group), tuple(labels),
                              allow_na=rater_group != "self"))
    return InstrumentSpec(code=f"std-{rater_group}", rater_group=rater_group, title=_TITLES[rater_group],
                          intro=_INTROS[rater_group], competencies=COMPETENCIES, items=tuple(items))


def default_instruments() -> list[InstrumentSpec]:
    return [default_instrument(group) for group in RATER_GROUPS]


# ---- JSON --------------------------------------------------------------------------------------
def to_json(spec: InstrumentSpec) -> str:
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(spec)}
    for item in data["items"]:
        item["scale_labels"] = list(item["scale_labels"])
    return json.dumps(data, ensure_ascii=False, indent=2)


def _text(value: object, where: str, max_len: int = MAX_TEXT, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InstrumentFormatError(f"{where}: text expected")
    value = value.strip()
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise InstrumentFormatError(f"{where}: control characters are not allowed")
    if required and not value:
        raise InstrumentFormatError(f"{where}: must not be empty")
    if len(value) > max_len:
        raise InstrumentFormatError(f"{where}: longer than {max_len} characters")
    return value


def from_json(raw: str | bytes) -> InstrumentSpec:
    """Parse and validate an exported instrument; raises InstrumentFormatError."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InstrumentFormatError("not valid JSON") from error
    return from_dict(data)


def _code(data: dict[str, Any]) -> str:
    code = _text(data.get("code"), "code", 40)
    if not all(c.isalnum() or c in "-_" for c in code):
        raise InstrumentFormatError("code: letters, digits, - and _ only")
    return code


def _competencies(raw: object) -> list[Competency]:
    if not isinstance(raw, list) or not raw:
        raise InstrumentFormatError("competencies: a non-empty list expected")
    competencies = []
    for i, comp in enumerate(raw):
        if not isinstance(comp, dict):
            raise InstrumentFormatError(f"competencies[{i}]: object expected")
        competencies.append(Competency(_text(comp.get("code"), f"competencies[{i}].code", 40),
                                       _text(comp.get("name"), f"competencies[{i}].name", 40),
                                       bool(comp.get("comment", True))))
    codes = [c.code for c in competencies]
    if len(set(codes)) != len(codes):
        raise InstrumentFormatError("competencies: codes must be unique")
    return competencies


def _item(i: int, item: object, codes: list[str]) -> Item:
    if not isinstance(item, dict):
        raise InstrumentFormatError(f"items[{i}]: object expected")
    if item.get("competency") not in codes:
        raise InstrumentFormatError(f"items[{i}].competency: not one of the competencies")
    labels = item.get("scale_labels")
    if not isinstance(labels, list) or len(labels) != SCALE_POINTS:
        raise InstrumentFormatError(f"items[{i}].scale_labels: {SCALE_POINTS} labels expected")
    return Item(item["competency"], _text(item.get("text"), f"items[{i}].text"),
                tuple(_text(label, f"items[{i}].scale_labels", 20) for label in labels),
                bool(item.get("allow_na", True)))


def _items(raw: object, competencies: list[Competency]) -> list[Item]:
    """The items, each of a listed competency; every competency must have one."""
    if not isinstance(raw, list) or not raw:
        raise InstrumentFormatError("items: a non-empty list expected")
    if len(raw) > MAX_ITEMS:
        raise InstrumentFormatError(f"items: at most {MAX_ITEMS}")
    codes = [c.code for c in competencies]
    items = [_item(i, item, codes) for i, item in enumerate(raw)]
    empty = [c.code for c in competencies if not any(it.competency == c.code for it in items)]
    if empty:
        raise InstrumentFormatError(f"competencies: {', '.join(empty)} without items")
    return items


def from_dict(data: object) -> InstrumentSpec:
    """Validate an instrument's dict (as ``to_json`` writes it); raises InstrumentFormatError at the
    first problem: format, code, rater group, competencies, items, title, intro, in that order."""
    if not isinstance(data, dict):
        raise InstrumentFormatError("top level must be an object")
    if data.get("format", FORMAT) != FORMAT:
        raise InstrumentFormatError("format: not a kaoping instrument")
    code = _code(data)
    group = data.get("rater_group")
    if group not in RATER_GROUPS:
        raise InstrumentFormatError(f"rater_group: one of {', '.join(RATER_GROUPS)}")
    competencies = _competencies(data.get("competencies"))
    items = _items(data.get("items"), competencies)
    version = data.get("version", 1)
    return InstrumentSpec(code=code, rater_group=group, title=_text(data.get("title"), "title", 200),
                          intro=_text(data.get("intro", ""), "intro", 2000, required=False),
                          competencies=tuple(competencies), items=tuple(items),
                          version=int(version) if str(version).isdigit() else 1)


__all__ = [
    "COMPETENCIES", "Competency", "InstrumentFormatError", "InstrumentSpec", "Item", "RATER_GROUPS", "TEAMWORK",
    "default_instrument", "default_instruments", "from_dict", "from_json", "to_json",
]
