"""What a final result sets in motion: talks (约谈) with flagged units and their follow-ups, and
promotion eligibility from the final annual grades. Services flush; views commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _

from .. import scope
from ..assessment import runs as assessment_runs
from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, Officer, ScoreResult, ScoreRun, TalkRecord, Unit, utcnow

DEFAULT_PROMOTION_RULE = {"years": 3, "min_good": 2, "good": ["excellent", "good"], "exclude": ["basic_pass", "fail"]}


# ---- talks (约谈) --------------------------------------------------------------------------------
def flag_for(unit: Unit, cycle: Cycle) -> dict | None:
    """The 约谈 flag of ``unit`` whose later year is ``cycle`` (from final annual results)."""
    for flag in assessment_runs.consecutive_last_flags():
        if flag["unit"].id == unit.id and flag["cycles"][-1].id == cycle.id:
            return flag
    return None


def record_talk(unit: Unit, cycle: Cycle, *, held_on: date, held_by: str, with_whom: str, notes: str = "",
                position_change: str = "", follow_up_on: date | None = None, user_id: int | None = None) -> TalkRecord:
    """Record the talk with a flagged unit's head (and any position change) after the final result."""
    held_by, with_whom = (held_by or "").strip(), (with_whom or "").strip()
    if flag_for(unit, cycle) is None:
        raise DomainError(_("该单位在此年度没有约谈提示（依据最终结果）。"))
    if not held_by or not with_whom:
        raise DomainError(_("请填写约谈人和约谈对象。"), field="held_by")
    if follow_up_on is not None and follow_up_on < held_on:
        raise DomainError(_("回访日期不能早于约谈日期。"), field="follow_up_on")
    talk = TalkRecord(unit_id=unit.id, cycle_id=cycle.id, held_on=held_on, held_by=held_by, with_whom=with_whom,
                      notes=(notes or "").strip(), position_change=(position_change or "").strip(),
                      follow_up_on=follow_up_on, created_by_id=user_id)
    db.session.add(talk)
    db.session.flush()
    record("talk_recorded", "unit", unit.id, user_id=user_id,
           after={"cycle": cycle.id, "held_on": held_on.isoformat(), "with": with_whom,
                  "follow_up_on": follow_up_on.isoformat() if follow_up_on else None})
    return talk


def close_follow_up(talk: TalkRecord, user_id: int | None = None) -> TalkRecord:
    if talk.follow_up_on is None:
        raise DomainError(_("该约谈没有回访安排。"))
    done = db.session.execute(
        db.update(TalkRecord).where(TalkRecord.id == talk.id, TalkRecord.follow_up_done_at.is_(None))
        .values(follow_up_done_at=utcnow()).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        db.session.rollback()
        raise DomainError(_("该回访已经完成。"))
    db.session.refresh(talk)
    record("talk_follow_up_done", "unit", talk.unit_id, user_id=user_id, after={"talk": talk.id})
    db.session.flush()
    return talk


def open_follow_ups(unit_id: int) -> list[TalkRecord]:
    return list(db.session.execute(
        db.select(TalkRecord).where(TalkRecord.unit_id == unit_id, TalkRecord.follow_up_on.is_not(None),
                                    TalkRecord.follow_up_done_at.is_(None))
        .order_by(TalkRecord.follow_up_on)).scalars())


# ---- promotion eligibility -----------------------------------------------------------------------
def promotion_rule() -> dict:
    return {**DEFAULT_PROMOTION_RULE, **(current_app.config.get("PROMOTION_RULE") or {})}


@dataclass
class Eligibility:
    officer: Officer
    grades: list[tuple[Cycle, ScoreResult | None]] = field(default_factory=list)  # newest first
    eligible: bool = False
    why: str = ""


def promotion_list(page: int = 1, per_page: int = 100) -> tuple[list[Cycle], list[Eligibility], int]:
    """Each active officer's grades in the last N final annual cycles against the rule: at least
    ``min_good`` grades in ``good`` and none in ``exclude``. Returns (cycles newest first, one
    page of officers, total officers)."""
    rule = promotion_rule()
    cycle_runs = _final_years(int(rule["years"]))
    total, officers = _officer_page(page, per_page)
    by_key = _officer_results(cycle_runs, officers)
    out = []
    for officer in officers:
        item = Eligibility(officer, grades=[(cycle, by_key.get((run.id, officer.id)) if run else None)
                                            for cycle, run in cycle_runs])
        _judge(item, rule)
        out.append(item)
    return [c for c, _r in cycle_runs], out, total


def _final_years(years: int) -> list[tuple[Cycle, ScoreRun | None]]:
    """The last ``years`` final (published) annual cycles, newest first, with their runs."""
    cycles = db.session.execute(
        db.select(Cycle).where(Cycle.kind == "year", Cycle.status == "published", scope.cycle_clause())
        .order_by(Cycle.starts_on.desc()).limit(years)).scalars().all()
    return [(c, assessment_runs.published_run(c)) for c in cycles]


def _officer_page(page: int, per_page: int) -> tuple[int, list[Officer]]:
    """(active officers in all, one page of them by badge number)."""
    visible = scope.unit_clause(Officer.unit_id)
    total = db.session.scalar(db.select(db.func.count()).select_from(Officer).where(Officer.is_active, visible)) or 0
    officers = db.session.execute(
        db.select(Officer).where(Officer.is_active, visible).order_by(Officer.badge_no)
        .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return total, list(officers)


def _officer_results(cycle_runs, officers: list[Officer]) -> dict[tuple[int, int], ScoreResult]:
    """(run id, officer id) → the officer's result in that run, for one page of officers."""
    run_ids = [r.id for _c, r in cycle_runs if r is not None]
    results = db.session.execute(
        db.select(ScoreResult).where(ScoreResult.run_id.in_(run_ids or [0]), ScoreResult.level == "officer",
                                     ScoreResult.officer_id.in_([o.id for o in officers] or [0]))).scalars().all()
    return {(r.run_id, r.officer_id): r for r in results}


def _judge(item: Eligibility, rule: dict) -> None:
    """Set the officer's eligibility and the reason from their grades."""
    grades = [r.grade for _c, r in item.grades if r is not None and r.grade]
    n_good = sum(g in set(rule["good"]) for g in grades)
    bad = [g for g in grades if g in set(rule["exclude"])]
    item.eligible = n_good >= int(rule["min_good"]) and not bad
    if bad:
        item.why = _("有不符合条件的等次")
    elif n_good < int(rule["min_good"]):
        item.why = _("符合等次 %(n)d 次，少于 %(m)d 次", n=n_good, m=int(rule["min_good"]))
    else:
        item.why = _("符合条件")


# ---- award nominations (评优) ---------------------------------------------------------------------
def award_quota(cycle: Cycle, level: str) -> int | None:
    """The cycle's award quota for a level (cycle config "award_quotas": {"unit": n, "officer": n});
    None = every 优秀 (the grade itself already has the cycle's quota)."""
    quota = ((cycle.config or {}).get("award_quotas") or {}).get(level)
    return int(quota) if quota is not None else None


def award_candidates(cycle: Cycle) -> dict[str, list[ScoreResult]]:
    """Per level, the final result's 优秀 subjects best first, cut at the cycle's quota."""
    run = assessment_runs.published_run(cycle)
    if run is None:
        raise DomainError(_("此周期还没有最终结果，不能评优。"))
    out = {}
    for level in ("unit", "officer"):
        rows = db.session.execute(
            db.select(ScoreResult).where(ScoreResult.run_id == run.id, ScoreResult.level == level,
                                         ScoreResult.grade == "excellent")
            .order_by(ScoreResult.adjusted_total.desc(), ScoreResult.id)).scalars().all()
        quota = award_quota(cycle, level)
        out[level] = list(rows if quota is None else rows[:quota])
    return out


def confirm_awards(cycle: Cycle, user_id: int | None = None) -> int:
    """Store the nominations of the cycle (once: a unique key per cycle and subject)."""
    from ..dbutil import flush_or_fail
    from ..models import AwardNomination

    if db.session.scalar(db.select(AwardNomination.id).where(AwardNomination.cycle_id == cycle.id).limit(1)):
        raise DomainError(_("此周期的评优名单已经确认。"))
    candidates = award_candidates(cycle)
    rows = [AwardNomination(cycle_id=cycle.id, run_id=r.run_id, result_id=r.id, unit_id=r.unit_id,
                            officer_id=r.officer_id, subject_key=f"u{r.unit_id}" if r.unit_id else f"o{r.officer_id}",
                            confirmed_by_id=user_id) for level in candidates.values() for r in level]
    if not rows:
        raise DomainError(_("最终结果中没有优秀等次，没有可确认的评优名单。"))
    db.session.add_all(rows)
    flush_or_fail(_("此周期的评优名单已经确认。"))
    record("awards_confirmed", "cycle", cycle.id, user_id=user_id, after={"nominations": len(rows)})
    return len(rows)


# ---- dual track as records (绩效+发展) ---------------------------------------------------------------
def _head_of(officer: Officer) -> str:
    """The name of the head (a leader) of the officer's station, the default owner of a plan."""
    from ..assessment.datapool import station_of

    station = station_of(officer.unit)
    if station is None:
        return ""
    head = db.session.execute(
        db.select(Officer).where(Officer.unit_id == station.id, Officer.is_leader, Officer.is_active,
                                 Officer.id != officer.id).order_by(Officer.badge_no)).scalars().first()
    return f"{head.name}（{head.badge_no}）" if head else ""


def create_development_records(cycle: Cycle, user_id: int | None = None) -> int:
    """Turn the final result's dual track into records: priority training for the top group, an
    improvement plan (goals: the weakest indicators) for the bottom group, owned by the station's
    head (else the office) with a deadline at the end of the next cycle of the same length."""
    from ..dbutil import flush_or_fail
    from ..models import DevelopmentRecord

    run = assessment_runs.published_run(cycle)
    if run is None:
        raise DomainError(_("此周期还没有最终结果。"))
    if db.session.scalar(db.select(DevelopmentRecord.id).where(DevelopmentRecord.cycle_id == cycle.id).limit(1)):
        raise DomainError(_("此周期的培训和改进记录已经生成。"))
    groups = assessment_runs.dual_track_groups(run, "officer")
    deadline = cycle.ends_on + (cycle.ends_on - cycle.starts_on) + timedelta(days=1)
    records = []
    for result in groups["top"]:
        records.append(DevelopmentRecord(
            cycle_id=cycle.id, run_id=run.id, officer_id=result.officer_id, track="training",
            owner=_head_of(result.officer) or _("考评办"), goals=_("列入优先培训：参加上级组织的专项培训"),
            deadline_on=deadline, created_by_id=user_id))
    for plan in groups["bottom"]:
        result = plan["result"]
        weak = "、".join(x.get("name") or x["code"] for x in plan["indicators"]) or _("总分")
        records.append(DevelopmentRecord(
            cycle_id=cycle.id, run_id=run.id, officer_id=result.officer_id, track="improvement",
            owner=_head_of(result.officer) or _("考评办"), goals=_("改进：%(w)s", w=weak),
            deadline_on=deadline, created_by_id=user_id))
    if not records:
        raise DomainError(_("最终结果没有培训或改进对象。"))
    db.session.add_all(records)
    flush_or_fail(_("此周期的培训和改进记录已经生成。"))
    record("development_records_created", "cycle", cycle.id, user_id=user_id, after={"records": len(records)})
    return len(records)


def review_development(item, status: str, note: str, user_id: int | None = None):
    """Record the follow-up review of a training or improvement record."""
    from ..models import DevelopmentRecord
    from ..models.results import REVIEW_STATUSES

    note = (note or "").strip()
    if status not in REVIEW_STATUSES:
        raise DomainError(_("请求无效。"))
    if status in ("achieved", "not_achieved") and not note:
        raise DomainError(_("请填写复查意见。"), field="note")
    before = {"status": item.review_status}
    db.session.execute(db.update(DevelopmentRecord).where(DevelopmentRecord.id == item.id)
                       .values(review_status=status, review_note=note, reviewed_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.refresh(item)
    record("development_reviewed", "officer", item.officer_id, user_id=user_id, before=before,
           after={"status": status, "record": item.id}, note=note)
    db.session.flush()
    return item
