"""Results an officer sees of themself (gated, anonymous) and the soft indicators for the assessment."""
import math
import random

import pytest
import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.extensions import db
from app.feedback import services
from app.models import Assignment, Cycle, Officer

from .feedback_helpers import build_world


def answer(app, rater_id, ratee_id, relation, value, comment=None, skip_competency=None):
    """Submit a full answer sheet through the service, as the view would."""
    with app.app_context():
        row = db.session.execute(sa.select(Assignment).filter_by(rater_id=rater_id, ratee_id=ratee_id,
                                                                 relation=relation)).scalar_one()
        cycle = db.session.get(Cycle, row.cycle_id)
        instrument = services.instruments_for(cycle)[row.rater_group]
        posted = {}
        for item in instrument.items:
            if item.competency == skip_competency:
                posted[f"item_{item.id}"] = "na"
            else:
                posted[f"item_{item.id}"] = str(value(item) if callable(value) else value)
        if comment:
            posted["comment_teamwork"] = comment
        services.save_response(row, db.session.get(Officer, rater_id), posted, True, row.revision)
        db.session.commit()


def close(app, cycle_id):
    with app.app_context():
        transition_cycle(db.session.get(Cycle, cycle_id), "closed")
        db.session.commit()


def peers_of(app, ratee_id):
    with app.app_context():
        return db.session.execute(sa.select(Assignment.rater_id).filter_by(ratee_id=ratee_id, relation="peer")
                                  .order_by(Assignment.rater_id)).scalars().all()


def test_results_show_only_groups_above_their_thresholds(app, client, auth):
    world = build_world(app, members=6, peers=3)
    me = world.member_ids[0]
    answer(app, me, me, "self", 5)
    answer(app, world.leader_id, me, "supervisor", 3)
    raters = peers_of(app, me)
    assert len(raters) == 3
    answer(app, raters[0], me, "peer", 4, comment="配合很好")
    answer(app, raters[1], me, "peer", 2, comment="需要多沟通")
    auth.login("m0")
    assert "周期关闭后才能查看" in client.get(f"/feedback/results/{world.cycle_id}",
                                             follow_redirects=True).get_data(as_text=True)
    close(app, world.cycle_id)
    with app.app_context():
        report = services.feedback_report(db.session.get(Officer, me), db.session.get(Cycle, world.cycle_id))
    row = report.rows[0]
    assert row.cells["self"].mean == 5 and row.cells["supervisor"].mean == 3
    assert not row.cells["peer"].shown and row.cells["peer"].mean is None  # 2 peers < 3
    assert not row.cells["others"].shown  # 3 others < 4
    assert report.comments == {}  # no comments where "others" is hidden
    page = client.get(f"/feedback/results/{world.cycle_id}").get_data(as_text=True)
    assert "5.00" in page and "3.00" in page and "配合很好" not in page
    # the third peer makes peers and "others" visible, with the comments, unattributed
    with app.app_context():
        db.session.execute(sa.update(Cycle).values(status="open"))  # (reopened only for this test's set-up)
        db.session.commit()
    answer(app, raters[2], me, "peer", 3)
    close(app, world.cycle_id)
    with app.app_context():
        report = services.feedback_report(db.session.get(Officer, me), db.session.get(Cycle, world.cycle_id))
    row = report.rows[0]
    assert row.cells["peer"].shown and row.cells["peer"].mean == pytest.approx(3.0) and row.cells["peer"].n == 3
    assert row.cells["others"].shown and row.cells["others"].n == 4
    assert sorted(report.comments["teamwork"]) == ["配合很好", "需要多沟通"]
    page = client.get(f"/feedback/results/{world.cycle_id}").get_data(as_text=True)
    assert "配合很好" in page and "需要多沟通" in page
    for rater in raters:  # no names of raters on the page
        with app.app_context():
            assert db.session.get(Officer, rater).name not in page


def test_a_rater_with_too_few_answers_in_a_competency_does_not_count_there(app):
    world = build_world(app, members=6, peers=3)
    me = world.member_ids[0]
    raters = peers_of(app, me)
    answer(app, world.leader_id, me, "supervisor", 4, skip_competency="dispute")
    for rater in raters:
        answer(app, rater, me, "peer", 4)
    close(app, world.cycle_id)
    with app.app_context():
        report = services.feedback_report(db.session.get(Officer, me), db.session.get(Cycle, world.cycle_id))
    dispute = next(r for r in report.rows if r.code == "dispute")
    teamwork = next(r for r in report.rows if r.code == "teamwork")
    assert not dispute.cells["supervisor"].shown and dispute.cells["peer"].n == 3
    assert not dispute.cells["others"].shown  # 3 others without the supervisor there
    assert teamwork.cells["supervisor"].shown and teamwork.cells["others"].n == 4


def test_a_group_recoverable_by_subtraction_is_protected(app):
    world = build_world(app, members=6, peers=3)
    me = world.member_ids[0]
    with app.app_context():  # one cross-unit collaborator besides the supervisor and three peers
        db.session.add(Assignment(cycle_id=world.cycle_id, rater_id=world.outsider_id, ratee_id=me,
                                  relation="collaborator", source="nomination"))
        db.session.commit()
    answer(app, world.leader_id, me, "supervisor", 4)
    for rater in peers_of(app, me):
        answer(app, rater, me, "peer", 4)
    answer(app, world.outsider_id, me, "collaborator", 1)
    close(app, world.cycle_id)
    with app.app_context():
        report = services.feedback_report(db.session.get(Officer, me), db.session.get(Cycle, world.cycle_id))
    overall = report.overall
    assert overall["peer"].shown and overall["supervisor"].shown
    # "others" (5 raters) minus peers and supervisor would give away the one collaborator
    assert not overall["collaborator"].shown and not overall["others"].shown


def test_only_ones_own_results(app, client, auth):
    world = build_world(app, members=4)
    close(app, world.cycle_id)
    auth.login("m1")
    page = client.get(f"/feedback/results/{world.cycle_id}").get_data(as_text=True)
    assert "评价人数不足" in page
    assert client.get("/feedback/results/999").status_code == 404


def test_soft_indicators_from_submitted_answers(app):
    world = build_world(app, members=6, peers=3)
    officers = world.member_ids
    with app.app_context():
        rows = db.session.execute(sa.select(Assignment.rater_id, Assignment.ratee_id, Assignment.relation)
                                  .where(Assignment.cycle_id == world.cycle_id)).all()
    strong = officers[0]
    rng = random.Random(3)

    def value(item, ratee):
        if item.competency == "teamwork" and ratee in (strong, officers[1]):
            return 5 if ratee == strong else 3  # exact figures for the teamwork check
        return min(5, max(1, (5 if ratee == strong else 3) + rng.choice((-1, 0, 0, 1))))

    for rater, ratee, relation in rows:
        if rater == officers[5]:
            continue  # one member never answers: still owes ratings
        answer(app, rater, ratee, relation, lambda item, r=ratee: value(item, r))
    with app.app_context():
        cycle = db.session.get(Cycle, world.cycle_id)
        result = services.soft_indicator_values(cycle)
        weakest = services.weakest_competencies(officers[1], cycle, n=2)
    soft = result["soft_360"]
    assert soft["level"] == "officer" and result["teamwork_peer"]["level"] == "officer"
    assert set(soft["values"]) >= set(officers[:5])
    assert soft["values"][strong] > soft["values"][officers[1]]
    assert all(1 <= v <= 5 for v in soft["values"].values())
    details = soft["details"][strong]
    assert details["raw_mean"] > 4 and details["raters"]["peer"] >= 2
    assert set(details) >= {"raw_mean", "score", "leniency_correction", "raters", "down_weighting_effect"}
    team = result["teamwork_peer"]
    assert team["values"][strong] == pytest.approx(5.0)
    # a teamwork mean no outsider may see (fewer than 3 peers rated it) is left out of the score too
    assert all(sum(d["rater_groups"].values()) >= 3 for d in team["details"].values())
    peers_of_second = sum(1 for rater, ratee, relation in rows
                          if ratee == officers[1] and relation == "peer" and rater != officers[5])
    assert (officers[1] in team["values"]) == (peers_of_second >= 3)
    if peers_of_second >= 3:
        assert team["values"][officers[1]] == pytest.approx(3.0)
    import json

    json.dumps(result)  # JSON-able for the assessment's audit trail
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in soft["values"].values())
    assert len(weakest) == 2 and all(w["score"] is not None for w in weakest)


def test_soft_indicators_of_an_empty_cycle(app):
    world = build_world(app, members=3)
    with app.app_context():
        result = services.soft_indicator_values(db.session.get(Cycle, world.cycle_id))
    assert result["soft_360"]["values"] == {} and result["teamwork_peer"]["values"] == {}


def test_soft_indicators_read_in_ranges_count_only_submitted_answers(app, monkeypatch):
    """The answers are read in ranges of responses (a province has millions): any range size gives
    the same figures, and a sheet saved but not submitted counts in none."""
    world = build_world(app, members=6, peers=3)
    with app.app_context():
        rows = db.session.execute(sa.select(Assignment.rater_id, Assignment.ratee_id, Assignment.relation)
                                  .where(Assignment.cycle_id == world.cycle_id).order_by(Assignment.id)).all()
    drafts = set(rows[1::4])  # saved between submitted sheets, so inside the ranges read
    for k, (rater, ratee, relation) in enumerate(rows):
        if (rater, ratee, relation) in drafts:
            with app.app_context():
                row = db.session.execute(sa.select(Assignment).filter_by(
                    rater_id=rater, ratee_id=ratee, relation=relation)).scalar_one()
                instrument = services.instruments_for(db.session.get(Cycle, row.cycle_id))[row.rater_group]
                services.save_response(row, db.session.get(Officer, rater),
                                       {f"item_{item.id}": "1" for item in instrument.items}, False, row.revision)
                db.session.commit()
        else:
            answer(app, rater, ratee, relation, lambda item, k=k: 1 + (item.id + k) % 5)

    def figures():
        with app.app_context():
            return services.soft_indicator_values(db.session.get(Cycle, world.cycle_id))

    whole = figures()
    for size in (1, 3):
        monkeypatch.setattr(services, "RESPONSES_PER_QUERY", size)
        assert figures() == whole
    # ranges cut by their span of response ids too; answers as two numbers each (items spread wide)
    for name, value in (("RESPONSES_PER_QUERY", 4096), ("RESPONSE_OFFSET_BITS", 1), ("PACKED_ITEM_BITS", 0)):
        monkeypatch.setattr(services, name, value)
        assert figures() == whole
    submitted = {}
    for rater, ratee, relation in set(rows) - drafts:
        if relation != "self":
            submitted.setdefault(ratee, set()).add(rater)
    for ratee, details in whole["soft_360"]["details"].items():
        raters = details["raters"]
        assert raters["peer"] + raters["collaborator"] + raters["supervisor"] + raters["subordinate"] \
            == len(submitted[ratee])


def test_answer_ranges_hold_few_responses_and_span_few_ids():
    import numpy as np

    ids = np.array([1, 2, 3, 10, 11, 40, 41, 42, 43, 44, 45, 46, 47, 1000], dtype=np.int64)
    layout = services._AnswerLayout.of_items(5, 5 + 2**20)  # items spread past the packed layout's bits
    assert layout.item_bits == 0 and layout.params == {}
    packed = services._AnswerLayout.of_items(5, 100)
    assert packed.item_bits == 7 and packed.params == {"item_low": 5}
    assert services._AnswerLayout.of_items(None, None).item_bits == 1  # no items yet
    for lay in (layout, packed):
        ranges = lay.ranges(ids)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(ids)
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
        assert all(end - start <= services.RESPONSES_PER_QUERY for start, end in ranges)
        assert all(ids[end - 1] - ids[start] < 2**lay.response_bits for start, end in ranges)
    narrow = services._AnswerLayout(item_low=0, item_bits=16)  # 16 + 3 bits: 13 left for the offset
    assert narrow.response_bits == 13
    # a packed number as the database makes it: answer id, response offset, item offset, value
    number = np.array([[(123 << 32) + (4 << 10) + (90 << 3) + 5]], dtype=np.int64)
    answer_id, offset, item, value = packed.decode(number)
    assert (answer_id[0], offset[0], item[0], value[0]) == (123, 4, 95, 5)
