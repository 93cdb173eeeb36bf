"""Demo 360 data: the default questionnaires, the design of the open cycle with ~70% of it answered,
and a closed past quarter answered in full, so that every report has content.

Answers come from a small generative model: each officer has a level and competency strengths; each
rater a leniency (a few clearly lenient or harsh), each unit a shared leniency; self ratings run
high; a few raters straight-line; a few write comments. Rows go in with bulk inserts.
"""
from datetime import date

from sqlalchemy import insert, select, update

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


def _answer_cycle(cycle: Cycle, rng, share: float, skip_rater_ids: set[int],
                  talkative_about: frozenset = frozenset()) -> tuple[int, int]:
    """Answer ``share`` of the cycle's assignments (all of them when 1); returns (responses, answers)."""
    instruments = services.instruments_for(cycle)
    officers = {o.id: o for o in db.session.execute(select(Officer)).scalars()}
    assignments = db.session.execute(
        select(Assignment.id, Assignment.rater_id, Assignment.ratee_id, Assignment.relation)
        .where(Assignment.cycle_id == cycle.id).order_by(Assignment.id)
    ).all()
    level = {oid: rng.gauss(0, 0.45) for oid in officers}
    strength = {(oid, c["code"]): rng.gauss(0, 0.3) for oid in officers
                for c in instruments["peer"].competencies}
    unit_mood = {o.unit_id: rng.gauss(0, 0.2) for o in officers.values()}
    leniency, straight = {}, set()
    for oid in officers:
        roll = rng.random()
        leniency[oid] = 0.9 if roll < 0.07 else -0.9 if roll < 0.14 else rng.gauss(0, 0.25)
        if rng.random() < 0.03:
            straight.add(oid)
    now = utcnow()
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
    group_of = {"collaborator": "peer"}
    answer_rows, comment_rows, response_rows = [], [], []
    for rows, complete in ((chosen, True), (drafts, False)):
        for row in rows:
            instrument = instruments[group_of.get(row.relation, row.relation)]
            response_rows.append({"assignment_id": row.id, "instrument_id": instrument.id, "created_at": now,
                                  "updated_at": now, "submitted_at": now if complete else None})
    if not response_rows:
        return 0, 0
    db.session.execute(insert(Response), response_rows)
    response_id = dict(db.session.execute(
        select(Response.assignment_id, Response.id).join(Assignment).where(Assignment.cycle_id == cycle.id)).all())
    for rows, complete in ((chosen, True), (drafts, False)):
        for row in rows:
            instrument = instruments[group_of.get(row.relation, row.relation)]
            rid = response_id[row.id]
            bias = 3.5 + level[row.ratee_id] + leniency[row.rater_id] + unit_mood[officers[row.rater_id].unit_id]
            if row.relation == "self":
                bias += 0.4
            elif row.relation == "subordinate":
                bias += 0.15
            flat = row.rater_id in straight
            items = instrument.items if complete else instrument.items[: max(1, len(instrument.items) // 3)]
            for item in items:
                if flat:
                    value = 5
                elif item.allow_na and rng.random() < 0.03:
                    value = None
                else:
                    raw = bias + strength[(row.ratee_id, item.competency)] + rng.gauss(0, 0.55)
                    value = min(5, max(1, round(raw)))
                answer_rows.append({"response_id": rid, "item_id": item.id, "value": value})
            chance = 0.5 if row.ratee_id in talkative_about else 0.06
            if complete and row.relation != "self" and rng.random() < chance:
                code = rng.choice(sorted(COMMENTS))
                comment_rows.append({"response_id": rid, "competency": code, "text": rng.choice(COMMENTS[code])})
    db.session.execute(insert(Answer), answer_rows)
    if comment_rows:
        db.session.execute(insert(Comment), comment_rows)
    for ids, values in (([r.id for r in chosen], {"status": "submitted", "revision": 1}),
                        ([r.id for r in drafts], {"status": "draft", "revision": 1}),
                        ([r.id for r in declined], {"status": "declined", "revision": 1,
                                                    "decline_reason": "本周期没有共事"})):
        for start in range(0, len(ids), 500):
            db.session.execute(update(Assignment).where(Assignment.id.in_(ids[start:start + 500])).values(**values)
                               .execution_options(synchronize_session=False))
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
