"""Instrument versions in the database: the default set, edits that make new versions, JSON."""
from flask_babel import gettext as _
from sqlalchemy import func

from surveys.instruments import (
    Competency,
    InstrumentFormatError,
    InstrumentSpec,
    Item,
    default_instruments,
    from_json,
    to_json,
)

from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import RATER_GROUPS, Instrument, InstrumentItem, utcnow


def spec_of(instrument: Instrument) -> InstrumentSpec:
    """The content of a stored version as plain data."""
    return InstrumentSpec(
        code=instrument.code, rater_group=instrument.rater_group, title=instrument.title, intro=instrument.intro,
        version=instrument.version,
        competencies=tuple(Competency(c["code"], c["name"], bool(c.get("comment", True)))
                           for c in instrument.competencies),
        items=tuple(Item(i.competency, i.text, tuple(i.scale_labels), i.allow_na) for i in instrument.items),
    )


def _fill(instrument: Instrument, spec: InstrumentSpec) -> None:
    instrument.title, instrument.intro, instrument.rater_group = spec.title, spec.intro, spec.rater_group
    instrument.competencies = [{"code": c.code, "name": c.name, "comment": c.comment} for c in spec.competencies]
    instrument.items = [
        InstrumentItem(position=pos, competency=item.competency, text=item.text,
                       scale_labels=list(item.scale_labels), allow_na=item.allow_na)
        for pos, item in enumerate(spec.items, start=1)
    ]


def next_version(code: str) -> int:
    return (db.session.scalar(db.select(func.max(Instrument.version)).where(Instrument.code == code)) or 0) + 1


def create_instrument(spec: InstrumentSpec) -> Instrument:
    """Store ``spec`` as the next version of its code."""
    instrument = Instrument(code=spec.code, version=next_version(spec.code))
    _fill(instrument, spec)
    db.session.add(instrument)
    flush_or_fail(_("问卷“%(code)s”的这个版本已存在，请重试。", code=spec.code))
    record("instrument_created", "feedback_instrument", instrument.id,
           after={"code": instrument.code, "version": instrument.version, "items": len(spec.items)})
    return instrument


def save_instrument(instrument: Instrument, spec: InstrumentSpec) -> Instrument:
    """Edit a version in place while no cycle uses it; a frozen one gets a new version instead."""
    if spec.rater_group != instrument.rater_group or spec.code != instrument.code:
        raise DomainError(_("不能修改问卷代码和评价关系。"))
    if instrument.is_frozen:
        return create_instrument(spec)
    before = {"title": instrument.title, "items": len(instrument.items)}
    instrument.items = []
    db.session.flush()  # free the positions before the new items take them
    _fill(instrument, spec)
    flush_or_fail(_("问卷保存失败，请重试。"))
    record("instrument_saved", "feedback_instrument", instrument.id, before=before,
           after={"title": instrument.title, "items": len(spec.items)})
    return instrument


def ensure_default_instruments() -> int:
    """Create the shipped questionnaires that are missing; returns how many were created."""
    existing = set(db.session.execute(db.select(Instrument.code)).scalars())
    created = 0
    for spec in default_instruments():
        if spec.code not in existing:
            create_instrument(spec)
            created += 1
    return created


def latest_instruments() -> dict[str, Instrument]:
    """Per rater group, the newest version of its standard questionnaire (or of any, if none)."""
    rows = db.session.execute(db.select(Instrument)).scalars().all()
    out: dict[str, Instrument] = {}
    for group in RATER_GROUPS:
        candidates = [r for r in rows if r.rater_group == group]
        pool = [r for r in candidates if r.code == f"std-{group}"] or candidates
        if pool:
            out[group] = max(pool, key=lambda r: (r.version, r.id))
    return out


def export_instrument(instrument: Instrument) -> str:
    return to_json(spec_of(instrument))


def import_instrument(raw: bytes) -> Instrument:
    """A new version from an exported JSON file (of the same code, or a new questionnaire)."""
    try:
        spec = from_json(raw)
    except InstrumentFormatError as error:
        raise DomainError(_("问卷文件格式不正确：%(detail)s", detail=str(error)), field="file") from error
    return create_instrument(spec)


def freeze(instruments) -> None:
    now = utcnow()
    for instrument in instruments:
        if instrument.frozen_at is None:
            instrument.frozen_at = now


# ---- the browser editor: one line per competency and per item ------------------------------------
YES = {"是", "y", "yes", "1", "true"}
NO = {"否", "n", "no", "0", "false", ""}


def spec_to_lines(spec: InstrumentSpec) -> tuple[str, str]:
    competencies = "\n".join(f"{c.code} | {c.name} | {'是' if c.comment else '否'}" for c in spec.competencies)
    items = "\n".join(f"{i.competency} | {i.text} | {'/'.join(i.scale_labels)} | {'是' if i.allow_na else '否'}"
                      for i in spec.items)
    return competencies, items


def _filled_lines(text: str) -> list[tuple[int, list[str]]]:
    """(line number from 1, its |-separated parts, stripped) for every non-blank line."""
    return [(number, [p.strip() for p in line.split("|")])
            for number, line in enumerate((text or "").splitlines(), start=1) if line.strip()]


def _competency_rows(text: str) -> list[dict]:
    """“代码 | 名称 | 是/否” lines (the comment box flag defaults to 是)."""
    comps = []
    for number, parts in _filled_lines(text):
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise DomainError(_("能力项第 %(n)d 行格式不正确：应为“代码 | 名称 | 是/否”。", n=number),
                              field="competencies")
        flag = parts[2].lower() if len(parts) == 3 else "是"
        if flag not in YES | NO:
            raise DomainError(_("能力项第 %(n)d 行：是否提供意见框应填“是”或“否”。", n=number), field="competencies")
        comps.append({"code": parts[0], "name": parts[1], "comment": flag in YES})
    return comps


def _item_rows(text: str, competency_codes: set[str]) -> list[dict]:
    """“能力项代码 | 题目 | 五个标签 | 是/否” lines (the N/A flag defaults to 是)."""
    rows = []
    for number, parts in _filled_lines(text):
        if len(parts) not in (3, 4):
            raise DomainError(_("题目第 %(n)d 行格式不正确：应为“能力项代码 | 题目 | 五个标签 | 是/否”。", n=number),
                              field="items")
        labels = [label.strip() for label in parts[2].split("/")]
        flag = parts[3].lower() if len(parts) == 4 else "是"
        if len(labels) != 5 or not all(labels):
            raise DomainError(_("题目第 %(n)d 行：需要 5 个分值标签，用 / 分隔。", n=number), field="items")
        if flag not in YES | NO:
            raise DomainError(_("题目第 %(n)d 行：是否允许“无法评价”应填“是”或“否”。", n=number), field="items")
        if parts[0] not in competency_codes:
            raise DomainError(_("题目第 %(n)d 行：能力项代码“%(code)s”不在能力项列表中。", n=number, code=parts[0]),
                              field="items")
        rows.append({"competency": parts[0], "text": parts[1], "scale_labels": labels, "allow_na": flag in YES})
    return rows


def spec_from_lines(base: InstrumentSpec, title: str, intro: str, competencies: str, items: str) -> InstrumentSpec:
    """Parse the editor's text; a DomainError names the line and the problem."""
    comps = _competency_rows(competencies)
    rows = _item_rows(items, {c["code"] for c in comps})
    from surveys.instruments import from_dict

    try:
        return from_dict({"code": base.code, "rater_group": base.rater_group, "title": title, "intro": intro or "",
                          "competencies": comps, "items": rows, "version": base.version})
    except InstrumentFormatError as error:
        raise DomainError(_("问卷内容不完整：%(detail)s", detail=str(error)), field="items") from error
