"""Case records (the data pool claims are verified against): import from rows or an uploaded
file, all or nothing, with a row-by-row report."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import scope
from ..audit import record
from ..dbutil import flush_or_fail
from ..extensions import db
from ..models import (
    CaseRecord,
    Officer,
    Unit,
    User,
    utcnow,
)
from .filing import normalise_ref

CASE_COLUMNS = ("案件编号", "案发日期", "案件类别", "单位代码", "可防性", "案件状态", "办理阶段", "受理日期",
                "立案日期", "破案结案日期", "移送日期", "办理期限", "主办民警警号")

CASE_KEYS = {"案件编号": "case_ref", "案发日期": "case_date", "案件类别": "case_type", "单位代码": "unit_code",
             "可防性": "is_preventable", "案件状态": "status", "办理阶段": "stage", "受理日期": "accepted_on",
             "立案日期": "filed_on", "破案结案日期": "solved_on", "移送日期": "transferred_on", "办理期限": "deadline",
             "主办民警警号": "officer_badge"}
STAGE_DATE_KEYS = (("accepted", "accepted_on"), ("filed", "filed_on"), ("solved", "solved_on"),
                   ("transferred", "transferred_on"))


YES = {"是", "可防", "y", "yes", "1", "true"}

NO = {"", "否", "不可防", "n", "no", "0", "false"}

CASE_STATUS_WORDS = {"": "open", "在办": "open", "open": "open", "已结": "closed", "结案": "closed",
                     "closed": "closed"}


@dataclass
class CaseImportReport:
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, message)
    created: int = 0
    updated: int = 0
    rows: int = 0
    batch: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "created": self.created, "updated": self.updated,
                "batch": self.batch, "errors": [{"row": n, "message": m} for n, m in self.errors]}


def parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for candidate in (text[:10], text):
        for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    return None


def _preventable(value) -> bool | None:
    """True/False from a bool or 是/否 (and the like); None when it cannot be read."""
    if isinstance(value, bool):
        return value
    word = str(value or "").strip().lower()
    return word in YES if word in YES | NO else None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_case_row(raw: dict, units: dict[str, Unit], seen: dict[str, int],
                    officers: dict[str, int]) -> tuple[tuple, list[str]]:
    """One row read and checked: ((ref, case_date, case_type, unit, preventable, progress), problems).
    ``seen``: references of the rows before, by row number (a repeat is a problem); ``progress``:
    stage, stage dates, deadline, officer and status (:func:`_case_progress`)."""
    v = {CASE_KEYS.get(k, k): val for k, val in dict(raw).items()}
    if any(isinstance(val, str) and _CONTROL.search(val) for val in v.values()):  # PostgreSQL refuses NUL
        return ("", None, "", None, None, {}), [_("含有不可见的控制字符，请检查这一行")]
    problems = []
    ref = normalise_ref(str(v.get("case_ref") or ""))
    if not ref:
        problems.append(_("缺少案件编号"))
    elif len(ref) > 50:
        problems.append(_("案件编号过长（最多 50 个字符）"))
    elif ref in seen:
        problems.append(_("案件编号 %(ref)s 与第 %(row)d 行重复", ref=ref, row=seen[ref]))
    case_date = parse_date(v.get("case_date"))
    if case_date is None:
        problems.append(_("案发日期“%(d)s”无法识别（应为 2026-10-01 这样的日期）", d=v.get("case_date") or ""))
    case_type = str(v.get("case_type") or "").strip()
    if not case_type:
        problems.append(_("缺少案件类别"))
    elif len(case_type) > 20:
        problems.append(_("案件类别过长"))
    code = str(v.get("unit_code") or "").strip()
    if code not in units:
        problems.append(_("未知的单位代码“%(code)s”", code=code) if code else _("缺少单位代码"))
    preventable = _preventable(v.get("is_preventable"))
    if preventable is None:
        problems.append(_("“可防性”应填“是”或“否”"))
    status = CASE_STATUS_WORDS.get(str(v.get("status") or "").strip().lower())
    if status is None:
        problems.append(_("“案件状态”应填“在办”或“已结”"))
    progress = _case_progress(v, case_date, case_type, status, officers, problems)
    return (ref, case_date, case_type, units.get(code), preventable, progress), problems


def _officers_by_badge(badges: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(badges), 500):
        found.update(db.session.execute(select(Officer.badge_no, Officer.id)
                                        .where(Officer.badge_no.in_(badges[start:start + 500]))).all())
    return found


def _case_progress(v: dict, case_date: date | None, case_type: str, status: str | None,
                   officers: dict[str, int], problems: list[str]) -> dict:
    """Stage, stage dates, deadline, officer and status of one case row (see ``monitoring.stages``).

    Without a stage the latest stage with a date counts (a legacy 已结 row without dates is solved).
    """
    dates = _stage_dates(v, case_date, problems)
    stage = _case_stage(v, dates, status, problems)
    done = stage in CLOSED_STAGES
    problems.extend(stage_date_problems(dates))
    deadline = _stage_deadline(v.get("deadline"), case_type, stage, dates, done, problems)
    badge = str(v.get("officer_badge") or "").strip()
    if badge and badge not in officers:
        problems.append(_("未知的警号“%(badge)s”", badge=badge[:20]))
    return {"stage": stage, **dates, "stage_deadline": deadline,
            "officer_id": officers.get(badge), "status": "closed" if done else "open"}


CLOSED_STAGES = ("solved", "transferred")


def _stage_dates(v: dict, case_date: date | None, problems: list[str]) -> dict[str, date | None]:
    """The row's stage dates by column key; an empty acceptance date is the case date."""
    dates: dict[str, date | None] = {}
    for _stage, key in STAGE_DATE_KEYS:
        text = v.get(key)
        dates[key] = parse_date(text) if text not in (None, "") else None
        if text not in (None, "") and dates[key] is None:
            problems.append(_("日期“%(d)s”无法识别（应为 2026-10-01 这样的日期）", d=str(text)[:20]))
    dates["accepted_on"] = dates["accepted_on"] or case_date
    return dates


def infer_stage(dates: dict[str, date | None], status: str | None) -> str:
    """The stage of a row that names none: the latest stage with a date; a closed case with no
    date past filing counts as solved."""
    stage = next((s for s, key in reversed(STAGE_DATE_KEYS) if dates[key]), "accepted")
    if status == "closed" and stage in ("accepted", "filed"):
        return "solved"
    return stage


def _case_stage(v: dict, dates: dict[str, date | None], status: str | None, problems: list[str]) -> str:
    """The stage the row names (or the inferred one), checked against its dates and status."""
    from ..monitoring.stages import STAGE_WORDS

    word = str(v.get("stage") or "").strip().lower()
    stage = STAGE_WORDS.get(word) if word else None
    if word and stage is None:
        problems.append(_("“办理阶段”应填受理、立案、破案、结案或移送"))
    if stage is None:
        stage = infer_stage(dates, status)
    elif stage != "accepted" and dates[dict(STAGE_DATE_KEYS)[stage]] is None:
        problems.append(_("办理阶段为“%(stage)s”时需要填写该阶段的日期", stage=v.get("stage")))
    done = stage in CLOSED_STAGES
    if word and v.get("status") not in (None, "") and status is not None and (status == "closed") != done:
        problems.append(_("“案件状态”与“办理阶段”不一致"))
    return stage


def stage_date_problems(dates: dict[str, date | None]) -> list[str]:
    """What is wrong with the order of a case's stage dates (nothing before acceptance, no
    transfer before solving)."""
    problems = []
    accepted = dates["accepted_on"]
    if accepted is not None and any(d is not None and d < accepted for d in dates.values()):
        problems.append(_("各阶段日期不能早于受理日期"))
    solved, transferred = dates["solved_on"], dates["transferred_on"]
    if solved and transferred and transferred < solved:
        problems.append(_("移送日期不能早于破案/结案日期"))
    return problems


def _stage_deadline(text: object, case_type: str, stage: str, dates: dict[str, date | None], done: bool,
                    problems: list[str]) -> date | None:
    """The current stage's deadline: the row's own, else the statutory one; none once the case is done."""
    from ..monitoring.stages import statutory_deadline

    deadline = None
    if text not in (None, ""):
        deadline = parse_date(text)
        if deadline is None:
            problems.append(_("办理期限“%(d)s”无法识别（应为 2026-10-01 这样的日期）", d=str(text)[:20]))
    if done:
        return None
    return deadline if deadline is not None else statutory_deadline(case_type, stage, dates)


def _store_case_records(parsed: list[tuple], report: CaseImportReport) -> None:
    """Create or update a record per checked row (existing references looked up 500 at a time)."""
    existing: dict[str, CaseRecord] = {}
    rec: CaseRecord | None
    refs = [p[0] for p in parsed]
    for start in range(0, len(refs), 500):
        for found in db.session.execute(select(CaseRecord).where(CaseRecord.case_ref.in_(refs[start:start + 500]))
                                        ).scalars():
            existing[found.case_ref] = found
    now = utcnow()
    for ref, case_date, case_type, unit, preventable, progress in parsed:
        rec = existing.get(ref)
        if rec is None:
            rec = CaseRecord(case_ref=ref)
            db.session.add(rec)
            report.created += 1
        else:
            report.updated += 1
        rec.case_date, rec.case_type, rec.unit_id = case_date, case_type, unit.id
        rec.is_preventable = preventable
        for key, value in progress.items():
            setattr(rec, key, value)
        rec.import_batch, rec.imported_at = report.batch, now
    flush_or_fail(_("导入时发现重复的案件编号（可能有人同时导入），请重试。"), field="file")


def import_case_records(rows: list[dict], row_numbers: list[int] | None = None, source: str = "api",
                        user: User | None = None) -> CaseImportReport:
    """Create or update case records: all rows or none, with a row-by-row report.

    Each row: case_ref, case_date (YYYY-MM-DD), case_type, unit_code, is_preventable (bool or 是/否),
    status (在办/已结 or open/closed), and the case's progress: stage (受理/立案/破案/结案/移送),
    accepted_on, filed_on, solved_on, transferred_on, deadline (the current stage's, else the
    statutory one of ``monitoring.stages``), officer_badge (主办民警); the Chinese column names of
    the upload file work too. An existing reference is updated. The caller commits when
    ``report.ok``, else rolls back.
    """
    report = CaseImportReport(rows=len(rows), batch=uuid.uuid4().hex[:16])
    numbers = row_numbers or list(range(1, len(rows) + 1))
    units = {u.code: u for u in db.session.execute(select(Unit).where(scope.clause(Unit.bureau_id))).scalars()}
    badges = {str(row.get(k) or "").strip() for row in rows if isinstance(row, dict)
              for k in ("officer_badge", "主办民警警号")} - {""}
    badges = {b for b in badges if not _CONTROL.search(b)}
    officers = _officers_by_badge(sorted(badges))
    seen: dict[str, int] = {}
    parsed = []
    for number, raw in zip(numbers, rows, strict=True):
        row, problems = _check_case_row(raw, units, seen, officers)
        ref = row[0]
        if ref and ref not in seen:
            seen[ref] = number
        if problems:
            report.errors.append((number, "；".join(problems)))
        else:
            parsed.append(row)
    if not rows:
        report.errors.append((1, _("没有数据行。")))
    if report.errors:
        return report
    _store_case_records(parsed, report)
    record("case_records_imported", "case_record", report.batch,
           after={"created": report.created, "updated": report.updated, "source": source},
           user_id=user.id if user else None)
    db.session.flush()
    return report


def import_case_records_file(filename: str, raw: bytes, user: User | None = None) -> CaseImportReport:
    """An uploaded .csv/.xlsx with the columns of CASE_COLUMNS (可防性 and 案件状态 optional)."""
    from ..tabular import read_table

    table = read_table(filename, raw, required=("案件编号", "案发日期", "案件类别", "单位代码"))
    return import_case_records([r.values for r in table], [r.number for r in table], source=filename, user=user)


def case_record_summary() -> dict:
    total = db.session.scalar(select(func.count(CaseRecord.id)))
    last = db.session.execute(select(CaseRecord.import_batch, CaseRecord.imported_at)
                              .order_by(CaseRecord.imported_at.desc()).limit(1)).first()
    return {"total": total or 0, "last_batch": last[0] if last else None, "last_at": last[1] if last else None}
