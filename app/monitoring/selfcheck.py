"""The monthly self-check (月自查): a station checks every unit-level indicator against its target.

draft → submitted (locked) → returned (with reasons; the leader edits and resubmits) → accepted by
the office, which enters its verified score beside the leader's. A month's self-check is due by the
SELF_CHECK_DUE_WORKDAY-th working day (default the 5th) of the month after; one not submitted by then
is 逾期未报, and one first submitted after it 逾期提交 (a return does not make a station late). Items
below target need a rectification item (整改项) before submitting; closing one needs a note. State
moves are conditional UPDATEs on (id, status), so two clicks cannot both win. Services flush; views
commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import scope
from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..localtime import local_day_start_utc, to_local
from ..models import (
    EVIDENCE_MAX_BYTES,
    Evidence,
    Indicator,
    IndicatorValue,
    Rectification,
    SelfCheck,
    SelfCheckItem,
    Unit,
    User,
    utcnow,
)
from ..models.cycle import Cycle
from . import derived, notices

LARGE_GAP = 10.0     # points between the leader's score and the office's: flagged
REPEATED_GAP = 5.0   # a gap at least this large on the same item two months running: flagged
# Extension → (content type, the file's first bytes).
EVIDENCE_TYPES = {
    "pdf": ("application/pdf", (b"%PDF",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}


def month_bounds(month: date) -> derived.Period:
    from .services import month_period, today

    period = month_period(month)
    return derived.Period(period.start, period.end, min(period.end, today()))


def _catalogue_values(unit: Unit, month: date) -> dict[str, float]:
    """Current imported values of the unit in a monthly cycle covering ``month`` (code → value)."""
    of_unit = sa.or_(Cycle.bureau_id == unit.bureau_id, Cycle.bureau_id.is_(None))  # its bureau's cycle first
    cycle = db.session.execute(sa.select(Cycle).where(Cycle.kind == "month", Cycle.starts_on <= month,
                                                      Cycle.ends_on >= month, of_unit)
                               .order_by(Cycle.bureau_id.is_(None)).limit(1)).scalar_one_or_none()
    if cycle is None:
        return {}
    rows = db.session.execute(
        sa.select(Indicator.code, IndicatorValue.value).join(Indicator, Indicator.id == IndicatorValue.indicator_id)
        .where(IndicatorValue.cycle_id == cycle.id, IndicatorValue.unit_id == unit.id, IndicatorValue.is_current))
    return dict(rows.all())


def live_items(unit: Unit, month: date) -> list[dict]:
    """Every unit-level indicator with its live value, target and light: the derived ones from the
    records, the others from the month's imported values (None until imported)."""
    period = month_bounds(month)
    values = derived.compute_all(period, [unit])
    imported = _catalogue_values(unit, month)
    items, seen = [], set()
    from ..assessment.services import indicators

    catalogue = sorted((i for i in indicators(active_only=True, bureau_id=unit.bureau_id)
                        if i.level == "unit" and not i.is_soft), key=lambda i: (i.sort_order, i.id))
    for ind in catalogue:
        rule = derived.RULES.get(ind.code)
        if rule is not None:
            value = values[ind.code][unit.id]
            value = derived.Value(value.value, ind.target if ind.target is not None else value.target, value.detail)
            light, source = derived.light(rule, value), rule.source
        else:
            value = derived.Value(imported.get(ind.code), ind.target)
            light = derived.traffic_light(ind.direction, value.value, value.target, ind.unit_of_measure == "件")
            source = ind.source or ""
        seen.add(ind.code)
        items.append({"code": ind.code, "name": ind.name, "unit_of_measure": ind.unit_of_measure,
                      "direction": ind.direction, "live_value": value.value, "target": value.target,
                      "light": light, "source": str(source)[:100]})
    for code, rule in derived.RULES.items():
        if code in seen:
            continue
        value = values[code][unit.id]
        items.append({"code": code, "name": str(rule.name), "unit_of_measure": str(rule.unit_of_measure),
                      "direction": rule.direction, "live_value": value.value, "target": value.target,
                      "light": derived.light(rule, value), "source": rule.source[:100]})
    return items


def find(unit: Unit, month: date) -> SelfCheck | None:
    return db.session.execute(sa.select(SelfCheck).filter_by(unit_id=unit.id, month=month)).scalar_one_or_none()


def open_self_check(unit: Unit, month: date, user: User | None = None) -> SelfCheck:
    """The station's self-check of ``month``, created with the live values when missing."""
    check = find(unit, month)
    if check is not None:
        return check
    from .services import today

    if month > today().replace(day=1):
        raise DomainError(_("还没到这个月，不能开始自查。"))
    check = SelfCheck(unit_id=unit.id, month=month)
    db.session.add(check)
    for item in live_items(unit, month):
        check.items.append(SelfCheckItem(**item))
    flush_or_fail(_("本月自查已由他人创建，请刷新页面。"))
    record("self_check_opened", "self_check", check.id, after={"unit": unit.code, "month": month.isoformat()},
           user_id=user.id if user else None)
    return check


def _editable(check: SelfCheck) -> None:
    if not check.is_editable:
        raise DomainError(_("自查已提交，不能再修改（需考评办退回后才能修改）。"))


def refresh_values(check: SelfCheck) -> None:
    """Take the live values again (while the leader still edits)."""
    _editable(check)
    fresh = {i["code"]: i for i in live_items(check.unit, check.month)}
    for item in check.items:
        if item.code in fresh:
            new = fresh[item.code]
            item.live_value, item.target, item.light = new["live_value"], new["target"], new["light"]
    db.session.flush()


def save_items(check: SelfCheck, entries: dict[int, tuple[float | None, str]], summary: str) -> None:
    """The leader's score (0–100 or None) and comment per item id."""
    _editable(check)
    for item in check.items:
        if item.id in entries:
            score, comment = entries[item.id]
            if score is not None and not 0 <= score <= 100:
                raise DomainError(_("自评分应在 0 到 100 之间。"))
            item.self_score, item.comment = score, comment.strip()[:2000]
    check.summary = summary.strip()[:4000]
    db.session.flush()


def add_rectification(check: SelfCheck, item: SelfCheckItem, what: str, owner: str,
                      due_on: date | None) -> Rectification:
    _editable(check)
    what, owner = (what or "").strip(), (owner or "").strip()
    if item.self_check_id != check.id:
        raise DomainError(_("该指标不属于这份自查。"))
    if not what or not owner or due_on is None:
        raise DomainError(_("整改项需要写明整改内容、责任人和完成期限。"))
    if due_on < check.month:
        raise DomainError(_("完成期限不能早于自查月份。"))
    rect = Rectification(self_check_id=check.id, item_id=item.id, unit_id=check.unit_id, what=what[:2000],
                         owner=owner[:50], due_on=due_on)
    db.session.add(rect)
    db.session.flush()
    record("rectification_opened", "rectification", rect.id, after={"item": item.code, "due_on": due_on.isoformat()})
    return rect


def close_rectification(rect: Rectification, note: str, user: User) -> None:
    note = (note or "").strip()
    if not note:
        raise DomainError(_("关闭整改项需要填写整改情况说明。"))
    done = db.session.execute(
        sa.update(Rectification).where(Rectification.id == rect.id, Rectification.status == "open")
        .values(status="closed", close_note=note[:2000], closed_at=utcnow(), closed_by_id=user.id)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]  # an UPDATE's CursorResult
    if done != 1:
        raise DomainError(_("该整改项已经关闭。"))
    db.session.refresh(rect)
    record("rectification_closed", "rectification", rect.id, after={"note": note[:200]}, user_id=user.id)


def check_evidence(filename: str, raw: bytes) -> tuple[str, str]:
    """(clean file name, content type) of an acceptable evidence file, else DomainError."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in EVIDENCE_TYPES:
        raise DomainError(_("台账只支持 PDF、JPG、PNG 和 XLSX 文件。"), field="file")
    if not raw:
        raise DomainError(_("文件是空的。"), field="file")
    if len(raw) > EVIDENCE_MAX_BYTES:
        raise DomainError(_("文件超过 %(mb)d MB 的上限。", mb=EVIDENCE_MAX_BYTES // (1024 * 1024)), field="file")
    content_type, magic = EVIDENCE_TYPES[ext]
    if not raw.startswith(magic):
        raise DomainError(_("文件内容与扩展名 .%(ext)s 不符。", ext=ext), field="file")
    return name, content_type


def add_evidence(check: SelfCheck, filename: str, raw: bytes, user: User, item: SelfCheckItem | None = None,
                 rectification: Rectification | None = None) -> Evidence:
    if rectification is None:
        _editable(check)
    name, content_type = check_evidence(filename, raw)
    evidence = Evidence(self_check_id=check.id, item_id=item.id if item else None,
                        rectification_id=rectification.id if rectification else None, filename=name,
                        content_type=content_type, size=len(raw), data=raw, uploaded_by_id=user.id)
    db.session.add(evidence)
    db.session.flush()
    record("evidence_added", "self_check", check.id, after={"file": name, "size": len(raw)}, user_id=user.id)
    return evidence


def evidence_list(check: SelfCheck) -> list[Evidence]:
    return list(db.session.execute(sa.select(Evidence).where(Evidence.self_check_id == check.id)
                                   .order_by(Evidence.id)).scalars())


def rectifications(check: SelfCheck) -> list[Rectification]:
    return list(db.session.execute(sa.select(Rectification).where(Rectification.self_check_id == check.id)
                                   .order_by(Rectification.id)).scalars())


def due_on(month: date) -> date:
    """The last day to submit the self-check of ``month``: the SELF_CHECK_DUE_WORKDAY-th working day
    of the month after (the 5th by default; October's National Day week pushes it back). A year the
    holiday calendar does not know counts Monday to Friday: a due day is always shown."""
    from ..results.calendar import is_workday

    wanted = max(1, min(int(current_app.config.get("SELF_CHECK_DUE_WORKDAY") or 5), 20))
    day = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    counted = 0
    while True:
        if is_workday(day, strict=False):
            counted += 1
            if counted == wanted:
                return day
        day += timedelta(days=1)


def timeliness(check: SelfCheck | None, month: date, today: date, due: date | None = None) -> str | None:
    """"overdue" (not submitted and the due day has passed), "late" (first submitted after the due
    day), "on_time", or None (not submitted, not due yet; or its first submission is not known).
    ``due``: the month's due day when the caller has it (a list of stations asks once)."""
    due = due or due_on(month)
    first = check.first_submitted_at if check is not None else None
    if first is not None:
        return "late" if to_local(first).date() > due else "on_time"
    if (check is None or check.status == "draft") and today > due:
        return "overdue"
    return None


def _move(check: SelfCheck, allowed: tuple[str, ...], to: str, **values) -> None:
    done = db.session.execute(
        sa.update(SelfCheck).where(SelfCheck.id == check.id, SelfCheck.status.in_(allowed))
        .values(status=to, version=SelfCheck.version + 1, **values)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]  # an UPDATE's CursorResult
    if done != 1:
        raise DomainError(_("自查的状态已经变化（可能有人刚刚处理过），请刷新页面。"))
    db.session.refresh(check)


def submit(check: SelfCheck, user: User) -> None:
    """Lock the self-check for the office; every item below target needs a rectification item."""
    _editable(check)
    covered = {r.item_id for r in rectifications(check)}
    missing = [i.name for i in check.items if i.light == "red" and i.id not in covered]
    if missing:
        raise DomainError(_("以下未达标的指标还没有整改项：%(names)s", names="、".join(missing)))
    was = check.status
    now = utcnow()
    first = {"first_submitted_at": now} if was == "draft" else {}  # a resubmission keeps the first
    _move(check, ("draft", "returned"), "submitted", submitted_at=now, submitted_by_id=user.id, **first)
    record("self_check_submitted", "self_check", check.id, before={"status": was}, after={"status": "submitted"},
           user_id=user.id)


def return_check(check: SelfCheck, reason: str, user: User) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("退回需要写明理由。"))
    _move(check, ("submitted",), "returned", return_reason=reason[:2000], reviewed_at=utcnow(),
          reviewed_by_id=user.id, times_returned=SelfCheck.times_returned + 1)
    record("self_check_returned", "self_check", check.id, after={"reason": reason[:200]}, user_id=user.id)
    notices.self_check_returned(check)


def accept(check: SelfCheck, verified: dict[int, float | None], user: User) -> None:
    """Accept with the office's verified score per item id (None: not verified)."""
    if check.status != "submitted":
        raise DomainError(_("只有已提交的自查才能验收。"))
    for item in check.items:
        score = verified.get(item.id)
        if score is not None and not 0 <= score <= 100:
            raise DomainError(_("核定分应在 0 到 100 之间。"))
        item.verified_score = score
    db.session.flush()
    _move(check, ("submitted",), "accepted", reviewed_at=utcnow(), reviewed_by_id=user.id)
    record("self_check_accepted", "self_check", check.id, user_id=user.id)


@dataclass
class GapLine:
    item: SelfCheckItem
    gap: float | None
    large: bool
    repeated: bool


def gaps(check: SelfCheck) -> list[GapLine]:
    """Self-assessed vs verified per item; a large gap, or one repeated from last month's self-check."""
    from ..trends.services import add_months

    previous = find(check.unit, add_months(check.month, -1))
    before = {i.code: i.gap for i in previous.items} if previous is not None else {}
    out = []
    for item in check.items:
        gap = item.gap
        large = gap is not None and abs(gap) >= LARGE_GAP
        last = before.get(item.code)
        repeated = (gap is not None and last is not None and abs(gap) >= REPEATED_GAP
                    and abs(last) >= REPEATED_GAP)
        out.append(GapLine(item, gap, large, repeated))
    return out


def overdue_rectifications(day: date, unit_ids: list[int] | None = None, limit: int = 50) -> tuple[list, int]:
    """Open rectification items past their due date (for the given units, or all): (first ``limit``, count)."""
    where = [Rectification.status == "open", Rectification.due_on < day]
    if unit_ids is not None:
        where.append(Rectification.unit_id.in_(unit_ids[:500]))
    where.append(scope.unit_clause(Rectification.unit_id))
    total = db.session.scalar(sa.select(sa.func.count(Rectification.id)).where(*where)) or 0
    rows = db.session.execute(sa.select(Rectification, Unit.name).join(Unit, Unit.id == Rectification.unit_id)
                              .where(*where).order_by(Rectification.due_on, Rectification.id).limit(limit)).all()
    return list(rows), total


def month_overview(month: date, page: int = 1, per_page: int = 20) -> tuple[list, int]:
    """For the office: every station with its self-check of ``month`` (None when not opened)."""
    query = (sa.select(Unit, SelfCheck).outerjoin(SelfCheck, sa.and_(SelfCheck.unit_id == Unit.id,
                                                                      SelfCheck.month == month))
             .where(Unit.kind == "station", Unit.is_active, scope.clause(Unit.bureau_id)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    status_order = sa.case((SelfCheck.status == "submitted", 0), (SelfCheck.status == "returned", 1),
                           (SelfCheck.status == "draft", 2), (SelfCheck.status == "accepted", 3), else_=4)
    rows = db.session.execute(query.order_by(status_order, Unit.code).limit(per_page)
                              .offset((page - 1) * per_page)).all()
    return list(rows), total


def month_timeliness(month: date, today: date) -> dict:
    """For the office: the due day of ``month``'s self-checks and how many active stations (of the
    viewer's bureaus) are overdue (not submitted, due day passed) and were late (first submitted
    after it). One query."""
    due = due_on(month)
    late_from = local_day_start_utc(due + timedelta(days=1))  # first submitted on a later local day
    not_submitted = sa.or_(SelfCheck.id.is_(None), SelfCheck.status == "draft")
    row = db.session.execute(
        sa.select(sa.func.count(sa.case((not_submitted, 1))),
                  sa.func.count(sa.case((SelfCheck.first_submitted_at >= late_from, 1))))
        .select_from(Unit).outerjoin(SelfCheck, sa.and_(SelfCheck.unit_id == Unit.id, SelfCheck.month == month))
        .where(Unit.kind == "station", Unit.is_active, scope.clause(Unit.bureau_id))).one()
    return {"due": due, "overdue": int(row[0]) if today > due else 0, "late": int(row[1]),
            "is_past": today > due}


def quarter_self_checks(unit: Unit, cycle: Cycle | None) -> list[dict] | None:
    """A quarter cycle's three monthly self-checks of ``unit`` with their rectification items (None
    for other cycles): for the station's quarterly evaluation page. Two queries."""
    from ..trends.services import add_months

    if cycle is None or cycle.kind != "quarter" or unit.kind != "station":
        return None
    first = cycle.starts_on.replace(day=1)
    months = [add_months(first, k) for k in range(3)]
    checks = {c.month: c for c in db.session.execute(
        sa.select(SelfCheck).where(SelfCheck.unit_id == unit.id, SelfCheck.month.in_(months))).scalars()}
    rects: dict[int, list[Rectification]] = {}
    if checks:
        for rect in db.session.execute(sa.select(Rectification).where(
                Rectification.self_check_id.in_([c.id for c in checks.values()]))
                .order_by(Rectification.due_on)).scalars():
            rects.setdefault(rect.self_check_id, []).append(rect)
    return [{"month": m, "check": checks.get(m), "rects": rects.get(checks[m].id, []) if m in checks else []}
            for m in months]
