"""360-degree feedback services: the rater design, rating, nominations, tracking, results and the
soft indicators for the main assessment. Services flush; views commit."""
from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from scoring.common import RaterGroup
from surveys.anonymity import (
    NON_SELF,
    OTHERS,
    OUTSIDER,
    RATEE,
    Viewer,
    counts_for_competency,
    gated_means,
    pooled_visible,
    shuffled_comments,
    thresholds,
    unit_mean_visible,
)
from surveys.design import DEFAULT_PEERS, OfficerNode, Planned, UnitNode, build_design, design_counts
from surveys.forms import MAX_COMMENT, parse_value
from surveys.instruments import COMPETENCIES, TEAMWORK

from .. import scope
from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..localtime import local_today as bureau_today
from ..models import (
    RATER_GROUPS,
    RELATIONS,
    Answer,
    Assignment,
    Comment,
    Cycle,
    Instrument,
    InstrumentItem,
    Nomination,
    Officer,
    Response,
    Unit,
    User,
    utcnow,
)
from ..notify.audience import officer_user
from ..notify.services import notify
from .instruments import ensure_default_instruments, freeze, latest_instruments

if TYPE_CHECKING:  # numpy is imported where the scoring runs, not at app start
    from numpy.typing import NDArray

MAX_NOMINATIONS = 3
RELATION_ORDER = {r: i for i, r in enumerate(("self", "supervisor", "peer", "collaborator", "subordinate"))}
OPEN_STATUSES = ("pending", "draft")


def clean_text(value: str | None) -> str:
    """Free text without control characters (PostgreSQL refuses NUL in text), trimmed."""
    return "".join(ch for ch in (value or "") if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def clean_badge(value: str | None) -> str:
    return clean_text(value)[:20]


# ---- cycle settings ----------------------------------------------------------------------------
def feedback_settings(cycle: Cycle) -> dict:
    """The cycle's 360 settings (``config["feedback"]``) with defaults filled in."""
    stored = dict((cycle.config or {}).get("feedback") or {})
    stored.setdefault("seed", cycle.id or 0)
    stored.setdefault("peers", DEFAULT_PEERS)
    stored.setdefault("instruments", {})
    return stored


def _update_settings(cycle: Cycle, **changes) -> None:
    """Write into the cycle's config; only the draft cycle (or the open hook, still draft) may."""
    if cycle.status != "draft":
        raise DomainError(_("周期已开启，评价安排已冻结，不能再修改。"))
    config = dict(cycle.config or {})
    config["feedback"] = {**(config.get("feedback") or {}), **changes}
    cycle.config = config  # a new dict, so that the JSON column is saved


def instruments_for(cycle: Cycle) -> dict[str, Instrument]:
    """The questionnaire each rater group answers in ``cycle``: frozen choice, else the latest."""
    chosen = feedback_settings(cycle)["instruments"]
    out = latest_instruments()
    for group, instrument_id in chosen.items():
        instrument = db.session.get(Instrument, int(instrument_id))
        if instrument is not None and instrument.rater_group == group:
            out[group] = instrument
    return out


def choose_instruments(cycle: Cycle, choice: Mapping[str, int]) -> None:
    """Pick the questionnaire version per rater group for a draft cycle."""
    picked = {}
    for group, instrument_id in choice.items():
        instrument = db.session.get(Instrument, int(instrument_id)) if instrument_id else None
        if instrument is None or instrument.rater_group != group or group not in RATER_GROUPS:
            raise DomainError(_("所选问卷与评价关系不符。"), field=group)
        picked[group] = instrument.id
    _update_settings(cycle, instruments=picked)
    record("feedback_instruments_chosen", "cycle", cycle.id, after=picked)
    db.session.flush()


THRESHOLD_GROUPS = ("self", "supervisor", "peer", "subordinate", "collaborator", OTHERS)


def set_thresholds(cycle: Cycle, values: Mapping[str, int]) -> None:
    """Minimum raters per group before a report shows it (draft cycles only; frozen on open)."""
    limits = {}
    for group in THRESHOLD_GROUPS:
        value = values.get(group)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 50:
            raise DomainError(_("最少人数应为 1 到 50 之间的整数。"), field=group)
        limits[group] = value
    if limits["peer"] < 2 or limits["subordinate"] < 2 or limits[OTHERS] < 2:
        raise DomainError(_("同事、下属和他评合计至少需要 2 人，否则无法匿名。"), field="peer")
    _update_settings(cycle, thresholds=limits)
    record("feedback_thresholds_set", "cycle", cycle.id, after=limits)
    db.session.flush()


# ---- the design --------------------------------------------------------------------------------
def _org_nodes(cycle: Cycle | None = None):
    """The cycle's bureau's active units and officers (a design never crosses bureaus)."""
    units = [UnitNode(u.id, u.kind, u.parent_id) for u in db.session.execute(
        select(Unit).where(Unit.is_active, scope.cycle_unit_clause(cycle))).scalars()]
    officers = [OfficerNode(o.id, o.unit_id, o.is_leader) for o in db.session.execute(
        select(Officer).join(Officer.unit).where(Officer.is_active, Unit.is_active,
                                                 scope.cycle_unit_clause(cycle))).scalars()]
    return units, officers


def generate_design(cycle: Cycle, seed: int | None = None, peers: int | None = None) -> int:
    """(Re)generate the cycle's assignments from the org tree; manual and nominated ones stay."""
    if cycle.status != "draft":
        raise DomainError(_("周期已开启，评价安排已冻结，不能再修改。"))
    if peers is not None and not 1 <= peers <= 12:
        raise DomainError(_("每人的互评人数应在 1 到 12 之间。"), field="peers")
    count = write_design(cycle, seed, peers)
    record("feedback_design_generated", "cycle", cycle.id, after={**_design_summary(cycle), "assignments": count})
    return count


def _design_summary(cycle: Cycle) -> dict:
    settings = feedback_settings(cycle)
    return {"seed": settings["seed"], "peers": settings["peers"]}


def write_design(cycle: Cycle, seed: int | None = None, peers: int | None = None) -> int:
    """Replace the generated assignments (bulk insert). Used by ``generate_design`` and the demo."""
    settings = feedback_settings(cycle)
    seed = settings["seed"] if seed is None else int(seed)
    peers = settings["peers"] if peers is None else int(peers)
    units, officers = _org_nodes(cycle)
    plan = build_design(units, officers, peers=peers, seed=seed)
    db.session.execute(delete(Assignment).where(Assignment.cycle_id == cycle.id, Assignment.source == "design"))
    kept = set(db.session.execute(
        select(Assignment.rater_id, Assignment.ratee_id, Assignment.relation).where(Assignment.cycle_id == cycle.id)
    ))
    now = utcnow()
    rows = [{"cycle_id": cycle.id, "rater_id": p.rater, "ratee_id": p.ratee, "relation": p.relation,
             "status": "pending", "source": "design", "created_at": now, "updated_at": now, "revision": 0,
             "decline_reason": ""}
            for p in plan if (p.rater, p.ratee, p.relation) not in kept]
    if rows:
        db.session.execute(insert(Assignment), rows)
    config = dict(cycle.config or {})
    config["feedback"] = {**(config.get("feedback") or {}), "seed": seed, "peers": peers,
                          "generated_at": now.isoformat(timespec="seconds")}
    cycle.config = config
    db.session.flush()
    return len(rows)


def add_assignment(cycle: Cycle, rater_badge: str, ratee_badge: str, relation: str) -> Assignment:
    if cycle.status != "draft":
        raise DomainError(_("周期已开启，评价安排已冻结，不能再修改。"))
    people = {}
    for key, badge in (("rater", rater_badge), ("ratee", ratee_badge)):
        officer = db.session.execute(select(Officer).filter_by(badge_no=clean_badge(badge))).scalar_one_or_none()
        if officer is None:
            raise DomainError(_("找不到警号为“%(badge)s”的民警。", badge=clean_badge(badge)), field=f"{key}_badge")
        people[key] = officer
    if relation not in RELATIONS:
        raise DomainError(_("评价关系无效。"), field="relation")
    if (relation == "self") != (people["rater"].id == people["ratee"].id):
        raise DomainError(_("只有自评的评价人和被评价人是同一人。"), field="relation")
    assignment = Assignment(cycle_id=cycle.id, rater_id=people["rater"].id, ratee_id=people["ratee"].id,
                            relation=relation, source="manual")
    db.session.add(assignment)
    flush_or_fail(_("该评价安排已存在。"), field="ratee_badge")
    record("feedback_assignment_added", "cycle", cycle.id,
           after={"rater": people["rater"].badge_no, "ratee": people["ratee"].badge_no, "relation": relation})
    return assignment


def remove_assignment(assignment: Assignment) -> None:
    cycle = cast(Cycle, db.session.get(Cycle, assignment.cycle_id))  # the foreign key holds
    if cycle.status != "draft":
        raise DomainError(_("周期已开启，评价安排已冻结，不能再修改。"))
    record("feedback_assignment_removed", "cycle", cycle.id,
           before={"rater": assignment.rater.badge_no, "ratee": assignment.ratee.badge_no,
                   "relation": assignment.relation})
    db.session.delete(assignment)
    db.session.flush()


@dataclass
class DesignPreview:
    units: list = field(default_factory=list)  # per unit: dict of figures
    officers: list = field(default_factory=list)  # (officer, {relation: n as ratee}, {relation: n as rater})
    total: int = 0
    by_relation: dict = field(default_factory=dict)


def design_preview(cycle: Cycle, unit_id: int | None = None) -> DesignPreview:
    """Counts per ratee and per rater (for one unit's officers), and a summary per unit."""
    rows = db.session.execute(
        select(Assignment.rater_id, Assignment.ratee_id, Assignment.relation).where(Assignment.cycle_id == cycle.id)
    ).all()
    as_ratee, as_rater = design_counts(Planned(*r) for r in rows)
    preview = DesignPreview(total=len(rows))
    for _rater, _ratee, relation in rows:
        preview.by_relation[relation] = preview.by_relation.get(relation, 0) + 1
    officers = db.session.execute(
        select(Officer).join(Officer.unit).options(contains_eager(Officer.unit))  # not one query per unit
        .where(Officer.is_active, scope.cycle_unit_clause(cycle)).order_by(Unit.code, Officer.badge_no)
    ).scalars().all()
    per_unit: dict[int, dict] = {}
    for officer in officers:
        figures = per_unit.setdefault(officer.unit_id, {"unit": officer.unit, "officers": 0, "peers": [], "load": []})
        figures["officers"] += 1
        figures["peers"].append(as_ratee.get(officer.id, {}).get("peer", 0))
        figures["load"].append(as_rater.get(officer.id, {}).get("peer", 0))
        if officer.unit_id == unit_id:
            preview.officers.append((officer, as_ratee.get(officer.id, {}), as_rater.get(officer.id, {})))
    for figures in per_unit.values():
        figures["peers_range"] = (min(figures["peers"]), max(figures["peers"]))
        figures["load_range"] = (min(figures["load"]), max(figures["load"]))
        preview.units.append(figures)
    return preview


def freeze_on_open(cycle: Cycle) -> None:
    """BEFORE_TRANSITION["open"]: freeze the questionnaire versions and the anonymity thresholds.

    A cycle without 360 assignments (e.g. a monthly self-check) is left alone.
    """
    has_design = db.session.scalar(select(func.count(Assignment.id)).where(Assignment.cycle_id == cycle.id))
    if not has_design:
        return
    ensure_default_instruments()
    chosen = instruments_for(cycle)
    missing = [g for g in RATER_GROUPS if g not in chosen]
    if missing:
        raise DomainError(_("缺少评价问卷，不能开启周期。"))
    freeze(chosen.values())
    _update_settings(cycle, **_frozen_settings(cycle, chosen))
    db.session.flush()  # the status change refreshes the cycle: write the config first


def _frozen_settings(cycle: Cycle, chosen: dict[str, Instrument]) -> dict:
    return {"instruments": {g: i.id for g, i in chosen.items()}, "thresholds": thresholds(cycle.config),
            "frozen_at": utcnow().isoformat(timespec="seconds")}


def freeze_settings_now(cycle: Cycle) -> None:
    """Freeze the questionnaires and thresholds of a cycle that is already past draft (demo data)."""
    ensure_default_instruments()
    chosen = instruments_for(cycle)
    freeze(chosen.values())
    config = dict(cycle.config or {})
    config["feedback"] = {**(config.get("feedback") or {}), **_frozen_settings(cycle, chosen)}
    cycle.config = config
    db.session.flush()


# ---- rating ------------------------------------------------------------------------------------
def local_today() -> date:
    return bureau_today()


def closed_reason(cycle: Cycle) -> str | None:
    """Why ratings in ``cycle`` can no longer be changed, or None while they can."""
    if cycle.status == "draft":
        return _("本周期尚未开启评价。")
    if cycle.status != "open":
        return _("本周期已关闭，评价只能查看，不能再修改。")
    if local_today() > cycle.effective_deadline:
        return _("评价已于 %(date)s 截止，只能查看，不能再修改。", date=cycle.effective_deadline.isoformat())
    return None


def _check_own_and_open(assignment: Assignment, officer: Officer | None) -> Cycle:
    if officer is None or assignment.rater_id != officer.id:
        raise DomainError(_("这不是您的评价任务。"))
    cycle = cast(Cycle, db.session.get(Cycle, assignment.cycle_id))  # the foreign key holds
    reason = closed_reason(cycle)
    if reason:
        raise DomainError(reason)
    return cycle


def _bump(assignment: Assignment, revision: int, **values) -> None:
    """Atomic conditional update: of two tabs posting the same revision, only the first wins."""
    result = cast(CursorResult[Any], db.session.execute(  # an UPDATE's result
        update(Assignment).where(Assignment.id == assignment.id, Assignment.revision == revision)
        .values(revision=Assignment.revision + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(_("这份评价已在其他窗口保存或提交过，本次内容未保存。请刷新页面查看最新内容。"))
    db.session.expire(assignment)


def _get_or_create_response(assignment: Assignment, instrument: Instrument) -> Response:
    response = db.session.execute(select(Response).filter_by(assignment_id=assignment.id)).scalar_one_or_none()
    if response is not None:
        return response
    try:
        with db.session.begin_nested():
            response = Response(assignment_id=assignment.id, instrument_id=instrument.id)
            db.session.add(response)
    except IntegrityError:  # the other tab created it a moment ago: the unique key keeps one
        response = db.session.execute(select(Response).filter_by(assignment_id=assignment.id)).scalar_one()
    return response


def save_response(assignment: Assignment, officer: Officer | None, posted: Mapping[str, str], submit: bool,
                  revision: int) -> Response:
    """Save a draft or submit (idempotent upsert of answers and comments, one response per assignment).

    ``posted``: the form's fields ``item_<id>`` ("1".."5", "na" or "") and ``comment_<competency>``.
    A submit needs every item answered; once submitted, later saves must stay complete.
    """
    cycle = _check_own_and_open(assignment, officer)
    instrument = instruments_for(cycle)[assignment.rater_group]
    items = {item.id: item for item in instrument.items}
    comment_codes = {c["code"] for c in instrument.competencies if c.get("comment", True)}
    answers, comments = _parse_posted(posted, items, comment_codes)
    response = db.session.execute(select(Response).filter_by(assignment_id=assignment.id)).scalar_one_or_none()
    existing = {} if response is None else {
        a.item_id: a for a in db.session.execute(select(Answer).filter_by(response_id=response.id)).scalars()}
    final = submit or assignment.status == "submitted"
    if final:
        _check_complete(items, answers, existing)
    if not answers and not any(comments.values()) and response is None and not final:
        raise DomainError(_("您还没有填写任何内容。"))
    _bump(assignment, revision, status="submitted" if final else "draft", decline_reason="")
    response = _get_or_create_response(assignment, instrument)
    _store_answers(response, answers, existing)
    _store_comments(response, comments)
    now = utcnow()
    response.updated_at = now
    if final:
        response.submitted_at = now
    flush_or_fail(_("这份评价已在其他窗口保存，本次内容未保存。请刷新页面后重试。"))
    if final:
        record("feedback_submitted", "feedback_assignment", assignment.id)
    return response


def _tampered() -> str:
    return _("提交的内容与问卷不符（页面可能已过期），未保存。请刷新页面后重新填写。")


def _parse_posted(posted: Mapping[str, str], items: Mapping[int, InstrumentItem],
                  comment_codes: set[str]) -> tuple[dict[int, int | None], dict[str, str]]:
    """The answered items ({item id: 1..5, None for N/A}) and comments of a posted form, checked
    against the questionnaire; DomainError (nothing saved) at the first bad field."""
    answers: dict[int, int | None] = {}
    comments: dict[str, str] = {}
    for key, raw in posted.items():
        if key.startswith("item_"):
            item = items.get(int(key[5:])) if key[5:].isdigit() else None
            if item is None:
                raise DomainError(_tampered())
            answered, value = _parse_answer(item, raw)
            if answered:
                answers[item.id] = value
        elif key.startswith("comment_"):
            code = key[len("comment_"):]
            if code not in comment_codes:
                raise DomainError(_tampered())
            comments[code] = _parse_comment(key, raw)
    return answers, comments


def _parse_answer(item: InstrumentItem, raw: str) -> tuple[bool, int | None]:
    """(answered, value) of one item's field: a blank is unanswered, "na" is None where allowed."""
    try:
        answered, value = parse_value(raw)
    except ValueError:
        raise DomainError(_("第 %(n)d 题的答案无效，请选择 1–5 分。", n=item.position)) from None
    if answered and value is None and not item.allow_na:
        raise DomainError(_("第 %(n)d 题不能选择“无法评价”。", n=item.position))
    return answered, value


def _parse_comment(key: str, raw: str) -> str:
    text = clean_text(raw)
    if len(text) > MAX_COMMENT:
        raise DomainError(_("意见最多 %(n)d 个字。", n=MAX_COMMENT), field=key)
    return text


def _check_complete(items: Mapping[int, InstrumentItem], answers: Mapping[int, int | None],
                    existing: Mapping[int, Answer]) -> None:
    """A submit (or a save after it) needs every item answered, now or before."""
    missing = sorted(items[i].position for i in items if i not in answers and i not in existing)
    if missing:
        raise DomainError(_("还有 %(n)d 题未作答（第 %(list)s 题），请答完后再提交；也可以先保存草稿。",
                            n=len(missing), list="、".join(str(p) for p in missing)))


def _store_answers(response: Response, answers: Mapping[int, int | None], existing: Mapping[int, Answer]) -> None:
    for item_id, value in answers.items():
        if item_id in existing:
            existing[item_id].value = value
        else:
            db.session.add(Answer(response_id=response.id, item_id=item_id, value=value))


def _store_comments(response: Response, comments: Mapping[str, str]) -> None:
    """Comments replace the saved ones per competency; an emptied comment is deleted."""
    current = {c.competency: c
               for c in db.session.execute(select(Comment).filter_by(response_id=response.id)).scalars()}
    for code, text in comments.items():
        if code in current and not text:
            db.session.delete(current[code])
        elif code in current:
            current[code].text = text
        elif text:
            db.session.add(Comment(response_id=response.id, competency=code, text=text))


def decline_assignment(assignment: Assignment, officer: Officer | None, reason: str, revision: int) -> None:
    """"I don't work with this person": the assignment is closed with the reason."""
    _check_own_and_open(assignment, officer)
    if assignment.relation == "self":
        raise DomainError(_("自评不能拒绝。"))
    reason = clean_text(reason)
    if len(reason) < 2:
        raise DomainError(_("请说明不能评价的原因。"), field="reason")
    if len(reason) > 500:
        raise DomainError(_("原因最多 500 个字。"), field="reason")
    _bump(assignment, revision, status="declined", decline_reason=reason)
    record("feedback_declined", "feedback_assignment", assignment.id, note=reason)
    db.session.flush()


def saved_answers(assignment: Assignment) -> tuple[dict[int, int | None], dict[str, str]]:
    """The rater's own saved answers ({item id: value or None for N/A}) and comments."""
    response = db.session.execute(select(Response).filter_by(assignment_id=assignment.id)).scalar_one_or_none()
    if response is None:
        return {}, {}
    answers = {a.item_id: a.value
               for a in db.session.execute(select(Answer).filter_by(response_id=response.id)).scalars()}
    comments = {c.competency: c.text for c in db.session.execute(
        select(Comment).filter_by(response_id=response.id)).scalars()}
    return answers, comments


@dataclass
class InboxCycle:
    cycle: Cycle
    assignments: list
    answered: dict  # assignment id -> answered items
    n_items: dict  # relation group -> items in its questionnaire
    closed_reason: str | None

    @property
    def done(self) -> int:
        return sum(1 for a in self.assignments if a.status in ("submitted", "declined"))

    @property
    def total(self) -> int:
        return len(self.assignments)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def inbox(officer: Officer) -> list[InboxCycle]:
    """The officer's ratings in open cycles, then in the latest closed ones (read-only)."""
    cycles = db.session.execute(
        select(Cycle).join(Assignment, Assignment.cycle_id == Cycle.id)
        .where(Assignment.rater_id == officer.id, Cycle.status.in_(("open", "closed")))
        .group_by(Cycle.id).order_by(Cycle.status.desc(), Cycle.starts_on.desc()).limit(3)
    ).scalars().all()
    out = []
    for cycle in cycles:
        assignments = list(db.session.execute(
            select(Assignment).where(Assignment.cycle_id == cycle.id, Assignment.rater_id == officer.id)
            .options(selectinload(Assignment.ratee).selectinload(Officer.unit))
        ).scalars().all())
        assignments.sort(key=lambda a: (a.status in ("submitted", "declined"), RELATION_ORDER[a.relation],
                                        a.ratee.name))
        answered = dict(db.session.execute(
            select(Response.assignment_id, func.count(Answer.id)).join(Answer, Answer.response_id == Response.id)
            .join(Assignment, Assignment.id == Response.assignment_id)
            .where(Assignment.cycle_id == cycle.id, Assignment.rater_id == officer.id)
            .group_by(Response.assignment_id)
        ).all())
        n_items = {group: len(instrument.items) for group, instrument in instruments_for(cycle).items()}
        out.append(InboxCycle(cycle, assignments, answered, n_items, closed_reason(cycle)))
    return out


def ratings_due_panel(user: User):
    """HOME_PANELS: the officer's open ratings in open cycles."""
    if user.officer is None:
        return None
    rows = db.session.execute(
        select(Cycle, func.count(Assignment.id), func.sum(Assignment.status.in_(OPEN_STATUSES).cast(db.Integer)))
        .join(Assignment, Assignment.cycle_id == Cycle.id)
        .where(Assignment.rater_id == user.officer.id, Cycle.status == "open")
        .group_by(Cycle.id).order_by(Cycle.starts_on.desc())
    ).all()
    if not rows:
        return None
    return {"cycles": [{"cycle": c, "total": total, "due": int(due or 0), "closed_reason": closed_reason(c)}
                       for c, total, due in rows]}


# ---- nominations -------------------------------------------------------------------------------
def nominate(cycle: Cycle, officer: Officer, badge_no: str, reason: str) -> Nomination:
    """An officer names a colleague from another unit to rate them (up to MAX_NOMINATIONS)."""
    if cycle.status not in ("draft", "open") or (cycle.status == "open" and closed_reason(cycle)):
        raise DomainError(_("本周期已不能提名。"))
    nominee = db.session.execute(
        select(Officer).where(Officer.badge_no == clean_badge(badge_no), Officer.is_active)
    ).scalar_one_or_none()
    if nominee is None:
        raise DomainError(_("找不到警号为“%(badge)s”的在岗民警。", badge=clean_badge(badge_no)), field="badge_no")
    if nominee.id == officer.id:
        raise DomainError(_("不能提名自己。"), field="badge_no")
    if nominee.unit_id == officer.unit_id:
        raise DomainError(_("本单位同事已在互评范围内，请提名其他单位与您协作过的民警。"), field="badge_no")
    used = cast(int, db.session.scalar(select(func.count(Nomination.id)).where(  # a count is never NULL
        Nomination.cycle_id == cycle.id, Nomination.officer_id == officer.id, Nomination.status != "rejected")))
    if used >= MAX_NOMINATIONS:
        raise DomainError(_("每个周期最多提名 %(n)d 名跨单位协作民警。", n=MAX_NOMINATIONS), field="badge_no")
    nomination = Nomination(cycle_id=cycle.id, officer_id=officer.id, nominee_id=nominee.id,
                            reason=clean_text(reason)[:300])
    db.session.add(nomination)
    flush_or_fail(_("您已提名过这位民警。"), field="badge_no")
    record("feedback_nominated", "feedback_nomination", nomination.id,
           after={"officer": officer.badge_no, "nominee": nominee.badge_no})
    return nomination


def can_decide(nomination: Nomination, leader: Officer | None) -> bool:
    return bool(leader and leader.is_leader and leader.id != nomination.officer_id
                and nomination.officer.unit_id in lead_unit_ids(leader))


def decide_nomination(nomination: Nomination, leader: Officer | None, approve: bool) -> None:
    """The nominating officer's leader approves (the nominee gets a collaborator rating) or rejects."""
    if not can_decide(nomination, leader):
        raise DomainError(_("只有被提名民警所在单位的领导可以审批。"))
    cycle = cast(Cycle, db.session.get(Cycle, nomination.cycle_id))  # the foreign key holds
    if cycle.status not in ("draft", "open"):
        raise DomainError(_("本周期已关闭，不能再审批。"))
    status = "approved" if approve else "rejected"
    leader = cast(Officer, leader)  # can_decide refused None
    result = cast(CursorResult[Any], db.session.execute(  # an UPDATE's result
        update(Nomination).where(Nomination.id == nomination.id, Nomination.status == "pending")
        .values(status=status, decided_by_id=leader.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(_("该提名已被处理过。"))
    db.session.expire(nomination)
    if approve:
        exists = db.session.scalar(select(func.count(Assignment.id)).where(
            Assignment.cycle_id == cycle.id, Assignment.rater_id == nomination.nominee_id,
            Assignment.ratee_id == nomination.officer_id, Assignment.relation == "collaborator"))
        if not exists:
            db.session.add(Assignment(cycle_id=cycle.id, rater_id=nomination.nominee_id,
                                      ratee_id=nomination.officer_id, relation="collaborator", source="nomination"))
    flush_or_fail(_("该提名已被处理过。"))
    record(f"feedback_nomination_{status}", "feedback_nomination", nomination.id)
    nominator = officer_user(nomination.officer_id)
    if nominator is not None:  # the nominee is not named: the message says only how it was decided
        notify([nominator], f"nomination_{status}", f"nomination:{nomination.id}:{status}",
               link="/feedback/nominations", params={"cycle": cycle.name})


def pending_nominations_for(leader: Officer):
    return db.session.execute(
        select(Nomination).join(Officer, Officer.id == Nomination.officer_id)
        .where(Nomination.status == "pending", Officer.unit_id.in_(lead_unit_ids(leader)),
               Nomination.officer_id != leader.id)
        .order_by(Nomination.created_at)
    ).scalars().all()


# ---- tracking ----------------------------------------------------------------------------------
def lead_unit_ids(leader: Officer | None) -> list[int]:
    """The units a leader sees: their own and the squads under a police-type unit."""
    if leader is None or not leader.is_leader:
        return []
    ids = [leader.unit_id]
    ids += db.session.execute(select(Unit.id).where(Unit.parent_id == leader.unit_id, Unit.kind == "squad")).scalars()
    return ids


@dataclass
class Rate:
    total: int = 0
    submitted: int = 0
    declined: int = 0

    @property
    def done(self) -> int:
        return self.submitted + self.declined

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0


def response_rates(cycle: Cycle, unit_ids: list[int] | None = None) -> dict:
    """Completion per rater unit, per relation and overall (submitted or declined count as done)."""
    query = (select(Officer.unit_id, Assignment.relation, Assignment.status, func.count(Assignment.id))
             .join(Officer, Officer.id == Assignment.rater_id).where(Assignment.cycle_id == cycle.id)
             .group_by(Officer.unit_id, Assignment.relation, Assignment.status))
    if unit_ids is not None:
        query = query.where(Officer.unit_id.in_(unit_ids))
    by_unit: dict[int, Rate] = defaultdict(Rate)
    by_relation: dict[str, Rate] = defaultdict(Rate)
    overall = Rate()
    for unit_id, relation, status, n in db.session.execute(query):
        for rate in (by_unit[unit_id], by_relation[relation], overall):
            rate.total += n
            rate.submitted += n if status == "submitted" else 0
            rate.declined += n if status == "declined" else 0
    # The rater units by the same join (a list of every unit's id would grow with the province).
    rater_units = query.with_only_columns(Officer.unit_id).group_by(None).distinct()
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(rater_units))).scalars()}
    return {
        "units": sorted(((units[i], r) for i, r in by_unit.items()), key=lambda x: x[0].code),
        "relations": sorted(by_relation.items(), key=lambda x: RELATION_ORDER[x[0]]),
        "overall": overall,
    }


def officers_owing(cycle: Cycle, unit_ids: list[int] | None = None) -> list[tuple[Officer, int]]:
    """Officers who still owe ratings (pending or draft), with how many, by unit and badge."""
    return [(officer, n) for officer, n in db.session.execute(owing_query(cycle, unit_ids))]


def owing_query(cycle: Cycle, unit_ids: list[int] | None = None, search: str = "", unit_id: int | None = None):
    """SELECT (officer, ratings owed) of ``officers_owing``, narrowed to a name or badge number and
    a unit, for a page of the list or a streamed export."""
    query = (select(Officer, func.count(Assignment.id)).join(Assignment, Assignment.rater_id == Officer.id)
             .join(Officer.unit).options(contains_eager(Officer.unit))  # the unit with its officer, not per unit
             .where(Assignment.cycle_id == cycle.id, Assignment.status.in_(OPEN_STATUSES))
             .group_by(Officer.id, Unit.id).order_by(Unit.code, Officer.badge_no))
    if unit_ids is not None:
        query = query.where(Officer.unit_id.in_(unit_ids))
    search = (search or "").strip()
    if search:
        query = query.where(Officer.name.contains(search, autoescape=True) | (Officer.badge_no == search))
    if unit_id is not None:
        query = query.where(Officer.unit_id == unit_id)
    return query


def owing_rows(cycle: Cycle, unit_ids: list[int] | None = None) -> tuple[list[str], Iterator[list]]:
    """Header and rows of the reminder list export; the rows are read in batches as they are written."""
    header = [_("单位"), _("警号"), _("姓名"), _("待完成评价数")]
    query = (select(Unit.name, Officer.badge_no, Officer.name, func.count(Assignment.id))
             .join(Assignment, Assignment.rater_id == Officer.id).join(Officer.unit)
             .where(Assignment.cycle_id == cycle.id, Assignment.status.in_(OPEN_STATUSES))
             .group_by(Officer.id, Unit.id).order_by(Unit.code, Officer.badge_no))
    if unit_ids is not None:
        query = query.where(Officer.unit_id.in_(unit_ids))

    def rows() -> Iterator[list]:
        # Run when the streamed response reads it, not in the view: by then the view's transaction
        # (and a server-side cursor opened in it) has ended.
        for row in db.session.execute(query.execution_options(yield_per=2000)):
            yield list(row)

    return header, rows()


# ---- results (gated) ---------------------------------------------------------------------------
REPORT_GROUPS = ("self", "supervisor", "peer", "subordinate", "collaborator", OTHERS)


@dataclass
class ReportRow:
    code: str
    name: str
    cells: dict  # group -> Cell


@dataclass
class FeedbackReport:
    rows: list
    overall: dict  # group -> Cell
    comments: dict  # competency code -> [text] (anonymous, shuffled)
    limits: dict
    groups: tuple = REPORT_GROUPS
    show_counts: bool = False  # raters per cell: admins only

    @property
    def has_content(self) -> bool:
        return any(cell.shown for cell in self.overall.values())


def results_visible(cycle: Cycle) -> bool:
    return cycle.status in ("closed", "published")


def competency_names(cycle: Cycle) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    for instrument in instruments_for(cycle).values():
        for c in instrument.competencies:
            names.setdefault(c["code"], c["name"])
    order = {c.code: i for i, c in enumerate(COMPETENCIES)}
    return sorted(names.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def viewer_for(user, ratee_id: int, cycle: Cycle) -> Viewer:
    """Who ``user`` is to ratee ``ratee_id``'s 360 figures in ``cycle``: the ratee, one of their raters
    (in which groups), or neither; admins may see raw details."""
    officer = getattr(user, "officer", None)
    sees_details = bool(user is not None and user.has_role("admin"))
    if officer is None:
        return Viewer(sees_details=sees_details)
    if officer.id == ratee_id:
        return Viewer(is_ratee=True, sees_details=sees_details)
    rated = db.session.execute(select(Assignment.relation).where(
        Assignment.cycle_id == cycle.id, Assignment.rater_id == officer.id, Assignment.ratee_id == ratee_id,
        Assignment.status == "submitted")).scalars().all()
    return Viewer(rated_as=frozenset(rated), sees_details=sees_details)


def rated_by(user, cycle: Cycle) -> dict[int, frozenset]:
    """{ratee id: the groups in which ``user`` rated them in ``cycle``} (one query)."""
    officer = getattr(user, "officer", None)
    if officer is None:
        return {}
    out: dict[int, set] = defaultdict(set)
    for ratee_id, relation in db.session.execute(select(Assignment.ratee_id, Assignment.relation).where(
            Assignment.cycle_id == cycle.id, Assignment.rater_id == officer.id, Assignment.status == "submitted")):
        out[ratee_id].add(relation)
    return {k: frozenset(v) for k, v in out.items()}


def feedback_report(officer: Officer, cycle: Cycle, viewer: Viewer = RATEE) -> FeedbackReport:
    """What ``viewer`` (by default the ratee, ``officer``) may see of ``officer``'s ratings in ``cycle``:
    per-competency and per-group means (1–5) that pass the anonymity gate for this viewer, and shuffled
    anonymous comments. Never returns who gave which answer."""
    limits = thresholds(cycle.config)
    rows = db.session.execute(
        select(Response.id, Response.instrument_id, Assignment.relation, InstrumentItem.competency, Answer.value)
        .join(Assignment, Assignment.id == Response.assignment_id)
        .join(Answer, Answer.response_id == Response.id)
        .join(InstrumentItem, InstrumentItem.id == Answer.item_id)
        .where(Assignment.cycle_id == cycle.id, Assignment.ratee_id == officer.id, Assignment.status == "submitted")
    ).all()
    instrument_ids = {r[1] for r in rows}
    n_items: dict[tuple[int, str], int] = defaultdict(int)
    total_items: dict[int, int] = defaultdict(int)
    if instrument_ids:
        for instrument_id, competency in db.session.execute(
                select(InstrumentItem.instrument_id, InstrumentItem.competency)
                .where(InstrumentItem.instrument_id.in_(instrument_ids))):
            n_items[instrument_id, competency] += 1
            total_items[instrument_id] += 1
    # per response and competency: answered values (N/A left out)
    values: dict[tuple[int, str], list[int]] = defaultdict(list)
    meta: dict[int, tuple[int, str]] = {}
    for response_id, instrument_id, relation, competency, value in rows:
        meta[response_id] = (instrument_id, relation)
        if value is not None:
            values[response_id, competency].append(value)
    out_rows = []
    for code, name in competency_names(cycle):
        scores: dict[str, list[float]] = defaultdict(list)
        for response_id, (instrument_id, relation) in meta.items():
            answered = values.get((response_id, code), [])
            if n_items[instrument_id, code] and counts_for_competency(len(answered), n_items[instrument_id, code]):
                scores[relation].append(sum(answered) / len(answered))
        out_rows.append(ReportRow(code, name, gated_means(scores, limits, viewer)))
    overall_scores: dict[str, list[float]] = defaultdict(list)
    for response_id, (instrument_id, relation) in meta.items():
        answered = [v for (rid, _c), vals in values.items() if rid == response_id for v in vals]
        if counts_for_competency(len(answered), total_items[instrument_id]):
            overall_scores[relation].append(sum(answered) / len(answered))
    overall = gated_means(overall_scores, limits, viewer)
    comment_rows = db.session.execute(
        select(Comment.competency, Comment.text).join(Response, Response.id == Comment.response_id)
        .join(Assignment, Assignment.id == Response.assignment_id)
        .where(Assignment.cycle_id == cycle.id, Assignment.ratee_id == officer.id, Assignment.status == "submitted",
               Assignment.relation != "self")
    ).all()
    shown_others = {row.code for row in out_rows if row.cells[OTHERS].shown}
    comments: dict[str, list[str]] = defaultdict(list)
    for code, text in comment_rows:
        if code in shown_others:
            comments[code].append(text)
    comments = {code: shuffled_comments(texts, f"{cycle.id}:{officer.id}:{code}") for code, texts in comments.items()}
    return FeedbackReport(out_rows, overall, comments, limits, show_counts=viewer.sees_details)


# ---- 360 figures inside score-run results -------------------------------------------------------
# Officer-level indicators built from 360 answers and the rater groups each pools; their figures pass
# the same gate as the report's cells, decided together with them (surveys.anonymity.POOLS).
RESULT_360_POOLS = {"soft_360": NON_SELF, "soft_teamwork": ("peer", "collaborator")}
# Details only admins see: how many raters of which kind, careless and collusion flags.
ADMIN_DETAILS = ("raters", "careless_raters", "suspect_collusive_raters", "rated_carelessly",
                 "teamwork_peer_raters", "answers", "collaborators", "rater_groups")
# What a hidden 360 indicator still shows: nothing derived from the ratings.
TEAMWORK_NON_360 = ("team_points", "team_points_normalised")


def indicator_360_visible(code: str, details: Mapping, viewer: Viewer, limits: Mapping[str, int]) -> bool:
    """May ``viewer`` see the figures of an officer's 360-based indicator ``code`` (soft_360,
    soft_teamwork)? Decided by the anonymity gate from the rater counts stored in its details; a
    figure whose counts are unknown is hidden."""
    if code not in RESULT_360_POOLS:
        return True
    if code == "soft_teamwork":
        if details.get("teamwork_peer") is None:
            return True  # team points only: nothing from the ratings
        n = details.get("teamwork_peer_raters")
        counts = n if isinstance(n, Mapping) else None
    else:
        raw = details.get("raters")
        counts = raw if isinstance(raw, Mapping) else None
    if counts is None:
        return False
    return pooled_visible(counts, RESULT_360_POOLS[code], limits, viewer)


def unit_indicator_360_visible(code: str, details: Mapping) -> bool:
    """May a unit's mean of its officers' 360 figures (soft_360@unit, soft_teamwork@unit) be shown?"""
    if code == "soft_360":
        return unit_mean_visible(details.get("officers"))
    if code == "soft_teamwork" and details.get("teamwork_peer_scaled") is not None:
        return unit_mean_visible(details.get("teamwork_officers"))
    return True


def gated_breakdown(result, viewer: Viewer, limits: Mapping[str, int]) -> dict:
    """A score result's breakdown as ``viewer`` may see it: a 360-based indicator whose figures fail the
    anonymity gate (an officer's: too few raters other than the viewer; a unit's mean: too few
    officers) carries ``hidden_360`` and no raw value, score or contribution
    (the total still includes it: scoring uses every answer); admin-only details are removed for
    everyone else."""
    breakdown = dict(result.breakdown or {})
    out = []
    for x in breakdown.get("indicators", []):
        x = dict(x)
        details = dict(x.get("details") or {})
        base = x["code"].split("@", 1)[0]
        if not (indicator_360_visible(base, details, viewer, limits) if result.level == "officer"
                else unit_indicator_360_visible(base, details)):
            x.update(raw=None, normalised=None, contribution=None, shown=None, hidden_360=True)
            details = {k: v for k, v in details.items()
                       if (base == "soft_teamwork" and k in TEAMWORK_NON_360) or k in ADMIN_DETAILS}
        if not viewer.sees_details:
            details = {k: v for k, v in details.items() if k not in ADMIN_DETAILS}
            if not viewer.is_ratee:  # how the officer rated others: theirs and the admins' to know
                details.pop("own_leniency_as_rater", None)
        x["details"] = details
        out.append(x)
    breakdown["indicators"] = out
    return breakdown


def result_viewer(user, result) -> Viewer:
    """The anonymity viewer of ``user`` for a score result (an officer's: who they are to that officer)."""
    if result.level != "officer" or result.officer_id is None:
        return Viewer(sees_details=bool(user is not None and user.has_role("admin")))
    return viewer_for(user, result.officer_id, result.run.cycle)


def result_cycles(officer: Officer) -> list[Cycle]:
    """Closed or published cycles in which someone rated ``officer``."""
    return list(db.session.execute(
        select(Cycle).join(Assignment, Assignment.cycle_id == Cycle.id)
        .where(Assignment.ratee_id == officer.id, Cycle.status.in_(("closed", "published")))
        .group_by(Cycle.id).order_by(Cycle.starts_on.desc())
    ).scalars().all())


# ---- scoring: soft indicators for the main assessment ------------------------------------------
# Cross-unit collaborators answer the peer questionnaire and count as peers in scoring.
GROUP_INDEX = {"self": RaterGroup.SELF, "peer": RaterGroup.PEER, "supervisor": RaterGroup.SUPERVISOR,
               "subordinate": RaterGroup.SUBORDINATE, "collaborator": RaterGroup.PEER}


@dataclass
class CycleRatings:
    """A cycle's submitted answers as arrays for scoring: one entry per answer, people and items as
    indexes into ``officer_ids`` and ``item_competency`` (the competency index of each item)."""

    officer_ids: list[int]
    rater: NDArray[Any]
    ratee: NDArray[Any]
    item: NDArray[Any]
    group: NDArray[Any]
    value: NDArray[Any]
    relation_is_collaborator: NDArray[Any]
    item_competency: NDArray[Any]
    competency_codes: list[str]
    # each answer's response, and each response's rater and ratee (indexes into officer_ids), rater
    # group and collaborator flag: who rated whom, once per response rather than once per answer
    response: NDArray[Any]
    response_rater: NDArray[Any]
    response_ratee: NDArray[Any]
    response_group: NDArray[Any]
    response_is_collaborator: NDArray[Any]


# Responses per answer query: ~16 answers each, so about 65,000 answers (a few MB) per query.
RESPONSES_PER_QUERY = 4096
# The ids of one query's responses span at most 2**RESPONSE_OFFSET_BITS (see _AnswerLayout); an
# answer is one number while the items' ids span at most PACKED_ITEM_BITS bits.
RESPONSE_OFFSET_BITS = 16
PACKED_ITEM_BITS = 16


def load_ratings(cycle: Cycle) -> CycleRatings | None:
    """The cycle's submitted answers as numpy arrays (the only place that reads who rated whom), in
    the order they were stored (by answer id).

    A province has millions of answers: no Python object per answer. The submitted responses
    (rater, ratee, rater group) are read once; the answers (response, item, value) in ranges of
    response ids, each range one statement with a few parameters (see ``app.bulk``); numpy joins them.
    The items' competencies are read separately, once per item. People and items are int32 indexes,
    groups int8 (what ``RatingSet`` keeps, so scoring takes them without a copy).
    """
    import numpy as np

    responses = _submitted_responses(cycle)
    answer_id, position, item_id, value = _answers_of(responses[0])
    del answer_id  # the order is all it was for
    if not len(position):
        return None
    answered = np.zeros(responses.shape[1], dtype=bool)
    answered[position] = True
    people, person = _dense_index(np.concatenate([responses[1, answered], responses[2, answered]]))
    rater_of, ratee_of = np.zeros((2, responses.shape[1]), dtype=np.int32)
    rater_of[answered], ratee_of[answered] = person.reshape(2, -1)
    item_ids, item = _dense_index(item_id)
    del item_id
    real = value.astype(np.float64)
    real[value == 0] = np.nan  # 0 = not applicable (NULL)
    response_group, response_is_collaborator = responses[3].astype(np.int8), responses[4] == 1
    return CycleRatings(
        officer_ids=people.tolist(),
        rater=rater_of[position],
        ratee=ratee_of[position],
        item=item,
        group=response_group[position],
        value=real,
        relation_is_collaborator=response_is_collaborator[position],
        **_item_competencies(item_ids),
        response=position,
        response_rater=rater_of,
        response_ratee=ratee_of,
        response_group=response_group,
        response_is_collaborator=response_is_collaborator,
    )


def _submitted_responses(cycle: Cycle) -> NDArray[Any]:
    """(5, n) int64, by response id: the cycle's submitted responses' ids, raters, ratees, rater
    groups and 1 for a cross-unit collaborator (else 0).

    Two plain reads joined by numpy: the cycle's submitted assignments, then the responses of that
    range of assignment ids. (The database's own join of a province's half a million responses
    builds a hash table larger than its working memory and costs several times both reads.) The
    (32-bit) ids travel two to a number, the group and the flag with the assignment's id: the
    database's work grows with the numbers it packs.
    """
    import numpy as np

    from ..bulk import integer_arrays

    group = case({relation: int(g) for relation, g in GROUP_INDEX.items()}, value=Assignment.relation)
    collaborator = case((Assignment.relation == "collaborator", 1), else_=0)
    kind, people = integer_arrays(
        select(sa.cast(Assignment.id, sa.BigInteger) * 8 + group * 2 + collaborator,
               sa.cast(Assignment.rater_id, sa.BigInteger) * 2**32 + Assignment.ratee_id)
        .where(Assignment.cycle_id == cycle.id, Assignment.status == "submitted"))
    if not len(kind):
        return np.zeros((5, 0), dtype=np.int64)
    order = np.argsort(kind)  # by assignment id
    kind, people = kind[order], people[order]
    assignment_ids = kind >> 3
    (links,) = integer_arrays(
        select(sa.cast(Response.id, sa.BigInteger) * 2**32 + Response.assignment_id)
        .where(Response.assignment_id.between(int(assignment_ids[0]), int(assignment_ids[-1]))))
    links.sort()  # by response id
    response_id, assignment_id = links >> 32, links & (2**32 - 1)
    # the range may hold responses to other cycles' assignments, or to ones not submitted
    position = np.minimum(np.searchsorted(assignment_ids, assignment_id), len(assignment_ids) - 1)
    ours = assignment_ids[position] == assignment_id
    response_id, position = response_id[ours], position[ours]
    kind, people = kind[position], people[position]
    return np.stack([response_id, people >> 32, people & (2**32 - 1), (kind >> 1) & 3, kind & 1])


def _answers_of(response_ids: NDArray[Any]) -> tuple[NDArray[Any], ...]:
    """The answers of the (sorted) responses, by answer id: (answer id, index into
    ``response_ids``, item id, value with 0 for not applicable), each (n_answers,)."""
    import numpy as np

    from ..bulk import integer_arrays

    if not len(response_ids):
        return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8)
    layout = _AnswerLayout.of_items(*db.session.execute(select(func.min(InstrumentItem.id),
                                                               func.max(InstrumentItem.id))).one())

    def part(packed, start: int, end: int) -> tuple[NDArray[Any], ...]:
        """(answer id, index into ``response_ids``, item id, value) of one range's answers."""
        answer_id, offset, item, value = layout.decode(packed)
        # the range may hold responses of other cycles or not submitted: keep the cycle's own
        first = int(response_ids[start])
        lookup = np.full(int(response_ids[end - 1]) - first + 1, -1, dtype=np.int32)
        lookup[response_ids[start:end] - first] = np.arange(start, end, dtype=np.int32)
        position = lookup[offset]
        ours = position >= 0
        if not ours.all():
            answer_id, position, item, value = answer_id[ours], position[ours], item[ours], value[ours]
        return answer_id, position, item.astype(np.int32), value.astype(np.int8)

    # (Taking a range apart in a thread while the database reads the next one saves less than it costs:
    # the arrays a thread allocates are freed into its own malloc arena, so the scoring that follows
    # has to fault in fresh memory, half a second at 50,000 officers.)
    statement, parts = layout.statement, []
    for start, end in layout.ranges(response_ids):
        packed = integer_arrays(statement, {"first": int(response_ids[start]), "last": int(response_ids[end - 1]),
                                            **layout.params})
        parts.append(part(packed, start, end))
    return tuple(_by_id(parts))


@dataclass(frozen=True)
class _AnswerLayout:
    """How the answers of a range of responses travel: one 64-bit number per answer (answer id, the
    response's offset from the first of the range, the item's offset from the lowest item id and the
    value, 3 bits) while the items' ids span few enough bits; otherwise two (answer id and offset;
    item id and value). Half the numbers is about half the database's work. Every range spans at
    most 2**response_bits response ids (a range with other cycles' responses among its own holds
    fewer of its own)."""

    item_low: int
    item_bits: int  # 0: two numbers per answer

    @classmethod
    def of_items(cls, item_low: int | None, item_high: int | None) -> _AnswerLayout:
        """The layout for items with ids from item_low to item_high (None: no items)."""
        span_bits = max(int((item_high or 0) - (item_low or 0)).bit_length(), 1)
        return cls(item_low or 0, span_bits if span_bits <= PACKED_ITEM_BITS else 0)

    @property
    def response_bits(self) -> int:
        # packed: the answer id takes the high 32 bits, then offset, item, value in the low 32
        return min(RESPONSE_OFFSET_BITS, 29 - self.item_bits) if self.item_bits else RESPONSE_OFFSET_BITS

    @property
    def statement(self) -> sa.Select:
        offset = sa.cast(Answer.response_id, sa.BigInteger) - sa.bindparam("first", type_=sa.BigInteger)
        value = func.coalesce(Answer.value, 0)
        in_range = Answer.response_id.between(sa.bindparam("first"), sa.bindparam("last"))
        if self.item_bits:
            item = sa.cast(Answer.item_id, sa.BigInteger) - sa.bindparam("item_low", type_=sa.BigInteger)
            return select(sa.cast(Answer.id, sa.BigInteger) * 2**32 + offset * 2**(self.item_bits + 3) + item * 8
                          + value).where(in_range)
        return select(sa.cast(Answer.id, sa.BigInteger) * 2**32 + offset,
                      sa.cast(Answer.item_id, sa.BigInteger) * 8 + value).where(in_range)

    @property
    def params(self) -> dict:
        return {"item_low": self.item_low} if self.item_bits else {}

    def ranges(self, response_ids: NDArray[Any]) -> list[tuple[int, int]]:
        """[start, end) slices of the sorted ``response_ids``: at most RESPONSES_PER_QUERY each,
        spanning fewer than 2**response_bits ids."""
        import numpy as np

        out, start, span = [], 0, 2**self.response_bits
        while start < len(response_ids):
            end = min(start + RESPONSES_PER_QUERY, len(response_ids),
                      int(np.searchsorted(response_ids, response_ids[start] + span)))
            out.append((start, end))
            start = end
        return out

    def decode(self, packed: NDArray[Any]) -> tuple[NDArray[Any], ...]:
        """(answer id, response offset, item id, value) of a range's numbers (k, n)."""
        low = packed[0] & (2**32 - 1)
        if not self.item_bits:
            return packed[0] >> 32, low, packed[1] >> 3, packed[1] & 7
        return (packed[0] >> 32, low >> (self.item_bits + 3), ((low >> 3) & (2**self.item_bits - 1)) + self.item_low,
                low & 7)


def _by_id(parts: Sequence[tuple[NDArray[Any], ...]]) -> list[NDArray[Any]]:
    """The parts' columns joined in the order of the first, unique non-negative ids (the same order
    as a stable argsort): as they come when the parts are in order; else each value put straight into
    its id's slot of a table no larger than a few times the data (rather than millions of ids joined,
    then sorted)."""
    import numpy as np

    ids = [part[0] for part in parts if len(part[0])]
    n = sum(len(i) for i in ids)
    in_order = all(bool(np.all(i[1:] > i[:-1])) for i in ids)
    if in_order and all(a[-1] < b[0] for a, b in zip(ids, ids[1:], strict=False)):
        return [np.concatenate(column) for column in zip(*parts, strict=True)]
    low = min(int(i.min()) for i in ids)
    span = max(int(i.max()) for i in ids) - low + 1
    if span > 4 * n + 4096:  # ids too sparse for a table
        columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
        order = np.argsort(columns[0], kind="stable")
        return [column[order] for column in columns]
    present = np.zeros(span, dtype=bool)
    for i in ids:
        present[i - low] = True
    out = [np.flatnonzero(present) + low]
    for k in range(1, len(parts[0])):
        table = np.empty(span, dtype=parts[0][k].dtype)
        for part in parts:
            table[part[0] - low] = part[k]
        out.append(table[present])
    return out


def _dense_index(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """``np.unique(values, return_inverse=True)`` (int32 inverse) for non-negative ids, without
    sorting millions of values when a lookup table no larger than the data will do."""
    import numpy as np

    top = int(values.max()) + 1 if len(values) else 0
    if top > 4 * len(values) + 4096:
        unique, inverse = np.unique(values, return_inverse=True)
        return unique.astype(np.int64), inverse.reshape(-1).astype(np.int32)
    present = np.zeros(top, dtype=bool)
    present[values] = True
    lookup = np.cumsum(present, dtype=np.int32)
    lookup -= 1
    return np.flatnonzero(present).astype(np.int64), lookup[values]


def _item_competencies(item_ids: NDArray[Any]) -> dict[str, Any]:
    """``item_competency`` (the competency index of each answered item) and ``competency_codes``
    (the known competencies first, then any others by code)."""
    import numpy as np

    competency_of = {item_id: competency for item_id, competency in db.session.execute(
        select(InstrumentItem.id, InstrumentItem.competency)
        .where(InstrumentItem.id.between(int(item_ids[0]), int(item_ids[-1]))))}
    answered = [competency_of[i] for i in item_ids.tolist()]
    known = [c.code for c in COMPETENCIES]
    codes = known + sorted(set(answered) - set(known))
    code_index = {c: i for i, c in enumerate(codes)}
    return {"item_competency": np.array([code_index[c] for c in answered], dtype=np.int64),
            "competency_codes": codes}


def _num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else round(x, 4)


def _nums(values) -> list[float | None]:
    """:func:`_num` of each value of a (n,) array."""
    import numpy as np

    return [None if math.isnan(x) else round(x, 4) for x in np.asarray(values, dtype=np.float64).tolist()]


def score_ratings(arrays: CycleRatings):
    """scoring.score_feedback on a cycle's ratings: bias-adjusted scores, flags and reliability."""
    import numpy as np

    from scoring.feedback import RatingSet, score_feedback

    ratings = RatingSet(rater=arrays.rater, ratee=arrays.ratee, item=arrays.item, group=arrays.group,
                        value=arrays.value, n_people=len(arrays.officer_ids), n_items=len(arrays.item_competency),
                        item_competency=arrays.item_competency)
    # Degenerate inputs (every rater straight-lining in a tiny unit) make the engine's misfit test
    # overflow to infinity, which it then reads correctly as "no misfit evidence"; keep that quiet.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return score_feedback(ratings)


def _responses_of(arrays: CycleRatings, mask) -> NDArray[Any]:
    """(n_responses,) bool: the responses with an answer selected by ``mask`` (n_answers,)."""
    import numpy as np

    selected = np.zeros(len(arrays.response_rater), dtype=bool)
    selected[arrays.response[mask]] = True
    return selected


class _RaterPairs:
    """The distinct (rater, ratee) pairs among selections of a cycle's responses: the responses are
    sorted by pair once, then each selection only picks from them in that order."""

    def __init__(self, arrays: CycleRatings):
        import numpy as np

        self.n = len(arrays.officer_ids)
        keys = arrays.response_rater.astype(np.int64) * self.n + arrays.response_ratee
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]

    def of(self, selected) -> tuple[NDArray[Any], NDArray[Any]]:
        """(rater, ratee) indexes of the distinct pairs among the responses ``selected``
        (n_responses,) bool, sorted."""
        import numpy as np

        keys = self.keys[selected[self.order]]
        if len(keys):
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        return keys // self.n, keys % self.n

    def raters(self, selected) -> NDArray[Any]:
        """(n,) int: distinct raters per ratee among the responses ``selected``."""
        import numpy as np

        return np.bincount(self.of(selected)[1], minlength=self.n)


def soft_indicator_values(cycle: Cycle) -> dict:
    """Soft indicators (柔性指标) from the cycle's submitted 360 answers, for the main assessment.

    Returns {"soft_360": {"level": "officer", "values": {officer_id: bias-adjusted overall score on the
    1–5 scale}, "details": {officer_id: {...}}}, "teamwork_peer": {"level": "officer", "values":
    {officer_id: mean peer (and cross-unit collaborator) rating on the 团队协作 items}, "details": {...}}}.
    Officers without non-self ratings are left out of ``values``.
    """
    import numpy as np

    out: dict[str, dict[str, Any]] = {"soft_360": {"level": "officer", "values": {}, "details": {}},
           "teamwork_peer": {"level": "officer", "values": {}, "details": {}}}
    arrays = load_ratings(cycle)
    if arrays is None:
        return out
    scores = score_ratings(arrays)
    n = len(arrays.officer_ids)
    answered = ~np.isnan(arrays.value)
    others = answered & (arrays.group != RaterGroup.SELF)
    rated = arrays.ratee[others]
    raw_sum = np.bincount(rated, arrays.value[others], minlength=n)
    raw_n = np.bincount(rated, minlength=n)
    raw_mean = np.divide(raw_sum, raw_n, out=np.full(n, np.nan), where=raw_n > 0)
    suspects = np.asarray(scores.suspect_pairs).reshape(-1, 2)
    suspect_as_ratee = np.bincount(suspects[:, 1], minlength=n) if len(suspects) else np.zeros(n, int)
    careless = np.asarray(scores.careless, dtype=bool)
    # a response's group is the same for each of its answers: select responses, not answers
    answered_response, pairs = _responses_of(arrays, answered), _RaterPairs(arrays)
    group, collab = arrays.response_group, arrays.response_is_collaborator
    careless_raters_of = np.zeros(n, dtype=np.int64)
    if careless.any():
        raters, ratees = pairs.of(answered_response & (group != RaterGroup.SELF))
        careless_raters_of = np.bincount(ratees[careless[raters]], minlength=n)
    # raters per group as the report counts them (collaborators apart from peers), for the anonymity
    # gate of whoever later views these figures
    selects = {"self": group == RaterGroup.SELF, "peer": (group == RaterGroup.PEER) & ~collab,
               "collaborator": collab, "supervisor": group == RaterGroup.SUPERVISOR,
               "subordinate": group == RaterGroup.SUBORDINATE}
    rater_counts = {g: pairs.raters(answered_response & sel) for g, sel in selects.items()}
    # whole columns as Python numbers at once (rounded as _num does), then one dict per officer
    overall, raw, bias, leniency_correction, leniency, down_weighting = (_nums(column) for column in (
        scores.overall, raw_mean, scores.overall - raw_mean, scores.overall_unweighted - raw_mean, scores.leniency,
        scores.weighting_change))
    raters_by_group = {g: counts.tolist() for g, counts in rater_counts.items()}
    careless_raters, suspect_raters = careless_raters_of.tolist(), suspect_as_ratee.tolist()
    rated_carelessly = careless.tolist()
    for i, officer_id in enumerate(arrays.officer_ids):
        if overall[i] is None:
            continue
        out["soft_360"]["values"][officer_id] = overall[i]
        out["soft_360"]["details"][officer_id] = {
            "raw_mean": raw[i],
            "score": overall[i],
            "bias_adjustment": bias[i],
            "leniency_correction": leniency_correction[i],
            "own_leniency_as_rater": leniency[i],
            "raters": {g: counts[i] for g, counts in raters_by_group.items()},
            "down_weighting_effect": down_weighting[i],
            "careless_raters": careless_raters[i],
            "suspect_collusive_raters": suspect_raters[i],
            "rated_carelessly": rated_carelessly[i],
        }
    # teamwork: peers and cross-unit collaborators on the 团队协作 items, plain means per ratee
    if TEAMWORK in arrays.competency_codes:
        team = arrays.competency_codes.index(TEAMWORK)
        mask = answered & (arrays.group == RaterGroup.PEER) & (arrays.item_competency == team)[arrays.item]
        t_sum = np.bincount(arrays.ratee[mask], arrays.value[mask], minlength=n)
        t_n = np.bincount(arrays.ratee[mask], minlength=n)
        teamwork_response = _responses_of(arrays, mask)
        t_raters = pairs.raters(teamwork_response)
        c_raters = pairs.raters(teamwork_response & collab)
        # A mean that no outsider may see does not enter the score either: otherwise the total, less
        # the figures shown beside it, would give it away (one peer's teamwork rating, say).
        limits = thresholds(cycle.config)
        visible: dict[tuple[int, int], bool] = {}  # the gate's answer depends on the two counts alone
        sums, answers, raters, collaborators = t_sum.tolist(), t_n.tolist(), t_raters.tolist(), c_raters.tolist()
        for j in np.flatnonzero(t_n).tolist():
            officer_id = arrays.officer_ids[j]
            groups = {"peer": raters[j] - collaborators[j], "collaborator": collaborators[j]}
            key = (groups["peer"], groups["collaborator"])
            if key not in visible:
                visible[key] = pooled_visible(groups, ("peer", "collaborator"), limits, OUTSIDER)
            if not visible[key]:
                continue
            mean = _num(sums[j] / answers[j])
            out["teamwork_peer"]["values"][officer_id] = mean
            out["teamwork_peer"]["details"][officer_id] = {
                "mean": mean, "answers": answers[j], "raters": raters[j],
                "collaborators": collaborators[j], "rater_groups": groups,
            }
    return out


def weakest_competencies(officer_id: int, cycle: Cycle, n: int = 2) -> list[dict]:
    """The officer's ``n`` lowest bias-adjusted competencies (for a development plan), lowest first:
    [{"code", "name", "score", "self_gap"}]; empty without non-self ratings."""
    import numpy as np

    arrays = load_ratings(cycle)
    if arrays is None or officer_id not in arrays.officer_ids:
        return []
    scores = score_ratings(arrays)
    i = arrays.officer_ids.index(officer_id)
    by_comp = np.asarray(scores.by_competency)[i]
    gap = np.asarray(scores.self_gap)[i]
    names = dict(competency_names(cycle))
    order = [k for k in np.argsort(by_comp, kind="stable") if not np.isnan(by_comp[k])]
    return [{"code": arrays.competency_codes[k], "name": names.get(arrays.competency_codes[k],
                                                                  arrays.competency_codes[k]),
             "score": _num(by_comp[k]), "self_gap": _num(gap[k]) if k < len(gap) else None}
            for k in order[:n]]

