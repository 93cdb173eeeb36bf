"""Demo 360 data: the default questionnaires, the design of the open cycle with ~70% of it answered,
and a closed past quarter answered in full, so that every report has content.

Answers come from a small generative model: each officer has a level and competency strengths; each
rater a leniency (a few clearly lenient or harsh), each unit a shared leniency; self ratings run
high; a few raters straight-line; a few write comments. Rows go in with bulk inserts.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from random import Random

from sqlalchemy import Row, insert, select, update

from ..admin.services import transition_cycle
from ..errors import DomainError
from ..extensions import db
from ..models import Answer, Assignment, Comment, Cycle, Officer, Response, User, utcnow
from . import services
from .instruments import ensure_default_instruments

SEED = 2026
PAST = ("2026年第三季度考评", date(2026, 7, 1), date(2026, 9, 30))
COMMENTS = {
    "dispute": ["调解纠纷很有耐心，群众信服。", "个别纠纷回访不够及时。", "处理邻里矛盾经验丰富，值得学习。"],
    "control": ["对辖区重点人员情况很熟悉。", "基础信息录入有时滞后。"],
    "incident": ["出警快，现场处置规范。", "案件材料偶有缺漏，需要加强。"],
    "public": ["接待群众热情周到。", "走访群众可以再多一些。"],
    "discipline": ["作风扎实，以身作则。"],
    "teamwork": ["乐于帮助新同事。", "联合行动中配合默契。", "沟通可以更主动一些。"],
}


def seed_instruments(rng):
    created = ensure_default_instruments()
    return f"{created} questionnaires" if created else None


@dataclass(frozen=True)
class _Population:
    """The generative model's hidden truth: each officer's level, competency strengths and rater
    leniency, each unit's shared leniency, and the raters who straight-line."""

    level: dict[int, float]
    strength: dict[tuple[int, str], float]
    unit_mood: dict[int, float]
    leniency: dict[int, float]
    straight: set[int]


def _draw_population(officers: dict[int, Officer], competencies: list[dict], rng: Random) -> _Population:
    level = {oid: rng.gauss(0, 0.45) for oid in officers}
    strength = {(oid, c["code"]): rng.gauss(0, 0.3) for oid in officers for c in competencies}
    unit_mood = {o.unit_id: rng.gauss(0, 0.2) for o in officers.values()}
    leniency, straight = {}, set()
    for oid in officers:
        roll = rng.random()
        leniency[oid] = 0.9 if roll < 0.07 else -0.9 if roll < 0.14 else rng.gauss(0, 0.25)
        if rng.random() < 0.03:
            straight.add(oid)
    return _Population(level, strength, unit_mood, leniency, straight)


def _pick_assignments(assignments: Sequence[Row], rng: Random, share: float,
                      skip_rater_ids: set[int]) -> tuple[list[Row], list[Row], list[Row]]:
    """(answered, left as drafts, declined): ``share`` answered, a few drafts and declines besides."""
    chosen, drafts, declined = [], [], []
    for row in assignments:
        if row.rater_id in skip_rater_ids:
            continue
        roll = rng.random()
        if roll < share:
            chosen.append(row)
        elif share < 1 and roll < share + 0.04:
            drafts.append(row)
        elif share < 1 and roll < share + 0.05 and row.relation not in ("self", "supervisor"):
            declined.append(row)
    return chosen, drafts, declined


def _insert_responses(cycle: Cycle, batches: list[tuple[list[Row], bool]], instrument_of) -> dict[int, int]:
    """One Response per answered or draft assignment; returns {assignment id: response id}."""
    now = utcnow()
    rows = [{"assignment_id": row.id, "instrument_id": instrument_of(row).id, "created_at": now,
             "updated_at": now, "submitted_at": now if complete else None}
            for assignments, complete in batches for row in assignments]
    if not rows:
        return {}
    db.session.execute(insert(Response), rows)
    return dict(db.session.execute(
        select(Response.assignment_id, Response.id).join(Assignment).where(Assignment.cycle_id == cycle.id)).all())


def _rating_bias(row: Row, people: _Population, officers: dict[int, Officer]) -> float:
    """The mean a rater's answers about a ratee centre on before item strengths and noise."""
    bias = 3.5 + people.level[row.ratee_id] + people.leniency[row.rater_id]
    bias += people.unit_mood[officers[row.rater_id].unit_id]
    if row.relation == "self":
        bias += 0.4
    elif row.relation == "subordinate":
        bias += 0.15
    return bias


def _answer_rows(row: Row, response_id: int, items, bias: float, people: _Population, rng: Random) -> list[dict]:
    """One answer per item: 5 for a straight-liner, else the bias plus strength and noise, rounded into 1–5."""
    out = []
    for item in items:
        if row.rater_id in people.straight:
            value = 5
        elif item.allow_na and rng.random() < 0.03:
            value = None
        else:
            raw = bias + people.strength[(row.ratee_id, item.competency)] + rng.gauss(0, 0.55)
            value = min(5, max(1, round(raw)))
        out.append({"response_id": response_id, "item_id": item.id, "value": value})
    return out


def _comment_row(row: Row, response_id: int, talkative_about: frozenset, rng: Random) -> dict | None:
    """Now and then a comment (often, about the officers in ``talkative_about``); never on a self rating."""
    chance = 0.5 if row.ratee_id in talkative_about else 0.06
    if row.relation == "self" or rng.random() >= chance:
        return None
    code = rng.choice(sorted(COMMENTS))
    return {"response_id": response_id, "competency": code, "text": rng.choice(COMMENTS[code])}


def _mark_assignments(chosen: list[Row], drafts: list[Row], declined: list[Row]) -> None:
    for ids, values in (([r.id for r in chosen], {"status": "submitted", "revision": 1}),
                        ([r.id for r in drafts], {"status": "draft", "revision": 1}),
                        ([r.id for r in declined], {"status": "declined", "revision": 1,
                                                    "decline_reason": "本周期没有共事"})):
        for start in range(0, len(ids), 500):
            db.session.execute(update(Assignment).where(Assignment.id.in_(ids[start:start + 500])).values(**values)
                               .execution_options(synchronize_session=False))


def _answer_cycle(cycle: Cycle, rng: Random, share: float, skip_rater_ids: set[int],
                  talkative_about: frozenset = frozenset()) -> tuple[int, int]:
    """Answer ``share`` of the cycle's assignments (all of them when 1); returns (responses, answers)."""
    instruments = services.instruments_for(cycle)
    officers = {o.id: o for o in db.session.execute(select(Officer)).scalars()}
    assignments = db.session.execute(
        select(Assignment.id, Assignment.rater_id, Assignment.ratee_id, Assignment.relation)
        .where(Assignment.cycle_id == cycle.id).order_by(Assignment.id)
    ).all()
    people = _draw_population(officers, instruments["peer"].competencies, rng)
    chosen, drafts, declined = _pick_assignments(assignments, rng, share, skip_rater_ids)
    group_of = {"collaborator": "peer"}

    def instrument_of(row: Row):
        return instruments[group_of.get(row.relation, row.relation)]

    batches = [(chosen, True), (drafts, False)]
    response_id = _insert_responses(cycle, batches, instrument_of)
    if not response_id:
        return 0, 0
    answer_rows, comment_rows = [], []
    for rows, complete in batches:
        for row in rows:
            items = instrument_of(row).items
            items = items if complete else items[: max(1, len(items) // 3)]
            rid = response_id[row.id]
            answer_rows += _answer_rows(row, rid, items, _rating_bias(row, people, officers), people, rng)
            comment = _comment_row(row, rid, talkative_about, rng) if complete else None
            if comment is not None:
                comment_rows.append(comment)
    db.session.execute(insert(Answer), answer_rows)
    if comment_rows:
        db.session.execute(insert(Comment), comment_rows)
    _mark_assignments(chosen, drafts, declined)
    db.session.flush()
    return len(chosen), len(answer_rows)


def _move_to(cycle: Cycle, target: str) -> None:
    """Use the real transition (every feature's hooks run); a hook refusing demo data does not stop it."""
    try:
        transition_cycle(cycle, target)
    except DomainError:
        stamp = {"open": "opened_at", "closed": "closed_at"}[target]
        cycle.status = target
        setattr(cycle, stamp, utcnow())
        db.session.flush()


def seed_feedback(rng):
    current = db.session.execute(
        select(Cycle).filter_by(kind="quarter", starts_on=date(2026, 10, 1))).scalar_one_or_none()
    if current is None or db.session.scalar(select(Assignment.id).where(Assignment.cycle_id == current.id).limit(1)):
        return None
    ensure_default_instruments()
    demo_officer = db.session.execute(select(User.officer_id).filter_by(username="officer")).scalar_one_or_none()
    skip = {demo_officer} if demo_officer else set()
    # the past quarter, answered in full, closed
    name, starts, ends = PAST
    past = db.session.execute(select(Cycle).filter_by(kind="quarter", starts_on=starts)).scalar_one_or_none()
    if past is None:
        past = Cycle(name=name, kind="quarter", starts_on=starts, ends_on=ends, deadline_on=date(2026, 9, 25),
                     config={})
        db.session.add(past)
        db.session.flush()
    past_summary = ""
    if not db.session.scalar(select(Assignment.id).where(Assignment.cycle_id == past.id).limit(1)):
        services.write_design(past, seed=SEED - 1, peers=services.DEFAULT_PEERS)
        if past.status == "draft":
            _move_to(past, "open")
        services.freeze_settings_now(past)
        # the demo officer's own results page gets a few comments to show
        responses, answers = _answer_cycle(past, rng, 1.0, set(), frozenset(skip))
        if past.status == "open":
            _move_to(past, "closed")
        past_summary = f"; {past.name}: {responses} responses, {answers} answers ({past.status})"
    # the open quarter: design with a fixed seed, about 70% answered, the demo officer's still due
    designed = services.write_design(current, seed=SEED, peers=services.DEFAULT_PEERS)
    services.freeze_settings_now(current)
    responses, answers = _answer_cycle(current, rng, 0.7, skip)
    return f"{current.name}: {designed} assignments, {responses} responses, {answers} answers{past_summary}"
