"""Officers' rating inbox and form: drafts, submits, declines, and every bad input changing nothing."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.extensions import db
from app.models import Assignment, Cycle, Instrument, Response

from .feedback_helpers import assignment_id, build_world, counts, full_answers, items_of, state


@pytest.fixture
def world(app):
    return build_world(app)


def test_inbox_lists_what_is_due_with_progress_and_deadline(app, client, auth, world):
    auth.login("m0")
    page = client.get("/feedback/").get_data(as_text=True)
    # Relations named from the rater's side: m0 rates their leader 王所长 as 评价我的领导.
    assert "自评" in page and "评价同事" in page and "评价我的领导" in page and "王所长" in page
    assert "下属评价" not in page
    assert "已完成 0 / " in page and "评价截止" in page
    home = client.get("/").get_data(as_text=True)
    assert "待完成的 360 评价" in home and "还有" in home


def test_officer_completes_a_self_and_a_peer_rating(app, client, auth, world):
    me, peer = world.member_ids[0], None
    with app.app_context():
        peer = db.session.execute(
            sa.select(Assignment.ratee_id).filter_by(rater_id=me, relation="peer")).scalars().first()
    self_id = assignment_id(app, me, me, "self")
    peer_id = assignment_id(app, me, peer, "peer")
    auth.login("m0")
    form = client.get(f"/feedback/a/{self_id}").get_data(as_text=True)
    assert "自我评价问卷" in form and "矛盾化解" in form and "团队协作" in form
    self_items = items_of(app, "self")
    # a draft with two answers, then come back and submit all
    draft = {"revision": "0", "action": "draft", f"item_{self_items[0][0]}": "3", f"item_{self_items[1][0]}": "5"}
    response = client.post(f"/feedback/a/{self_id}", data=draft, follow_redirects=True)
    assert "草稿已保存" in response.get_data(as_text=True)
    assert state(app, self_id)[0] == "draft" and counts(app, self_id) == (1, 2)
    again = client.get(f"/feedback/a/{self_id}").get_data(as_text=True)
    assert f'<input checked class="form-check-input" id="item_{self_items[1][0]}-4"' in again
    response = client.post(f"/feedback/a/{self_id}", data={"revision": "1", "action": "submit",
                                                          **full_answers(self_items, "4"),
                                                          "comment_teamwork": "我需要多和同事沟通。"},
                           follow_redirects=True)
    assert "已提交" in response.get_data(as_text=True)
    status, revision, values = state(app, self_id)
    assert status == "submitted" and counts(app, self_id) == (1, len(self_items))
    assert {v for _, v in values} == {4}
    peer_items = items_of(app, "peer")
    answers = full_answers(peer_items, "5")
    answers[f"item_{peer_items[0][0]}"] = "na"
    response = client.post(f"/feedback/a/{peer_id}", data={"revision": "0", "action": "submit", **answers},
                           follow_redirects=True)
    assert "已提交" in response.get_data(as_text=True)
    assert state(app, peer_id)[0] == "submitted"
    assert None in {v for _, v in state(app, peer_id)[2]}
    inbox = client.get("/feedback/").get_data(as_text=True)
    assert "已完成 2 / " in inbox


def test_editing_a_submitted_rating_keeps_the_latest_answer_and_no_duplicate_rows(app, client, auth, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    items = items_of(app, "self")
    auth.login("m0")
    client.post(f"/feedback/a/{self_id}", data={"revision": "0", "action": "submit", **full_answers(items, "2")})
    client.post(f"/feedback/a/{self_id}", data={"revision": "1", "action": "submit", **full_answers(items, "5")})
    status, revision, values = state(app, self_id)
    assert status == "submitted" and revision == 2
    assert counts(app, self_id) == (1, len(items)) and {v for _, v in values} == {5}


def test_submit_needs_every_item_and_changes_nothing_otherwise(app, client, auth, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    items = items_of(app, "self")
    auth.login("m0")
    answers = full_answers(items[:-1], "3")
    page = client.post(f"/feedback/a/{self_id}", data={"revision": "0", "action": "submit", **answers})
    assert "还有 1 题未作答" in page.get_data(as_text=True)
    assert state(app, self_id) == ("pending", 0, []) and counts(app, self_id) == (0, 0)


def test_tampered_item_id_is_refused_and_changes_nothing(app, client, auth, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    peer_items = items_of(app, "peer")  # items of another questionnaire: not on this form
    auth.login("m0")
    data = {"revision": "0", "action": "submit", **full_answers(items_of(app, "self"), "3"),
            f"item_{peer_items[0][0]}": "3"}
    page = client.post(f"/feedback/a/{self_id}", data=data).get_data(as_text=True)
    assert "提交的内容与问卷不符" in page
    assert state(app, self_id) == ("pending", 0, [])
    page = client.post(f"/feedback/a/{self_id}", data={"revision": "0", "action": "draft", "item_abc": "3"})
    assert "提交的内容与问卷不符" in page.get_data(as_text=True)
    assert counts(app, self_id) == (0, 0)


@pytest.mark.parametrize("value", ["0", "6", "3.5", "-1", "五"])
def test_out_of_range_values_are_refused(app, client, auth, world, value):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    items = items_of(app, "self")
    auth.login("m0")
    data = {"revision": "0", "action": "draft", **full_answers(items, "3")}
    data[f"item_{items[2][0]}"] = value
    page = client.post(f"/feedback/a/{self_id}", data=data).get_data(as_text=True)
    assert "第 3 题的答案无效" in page
    assert state(app, self_id) == ("pending", 0, [])


def test_not_applicable_only_where_allowed(app, client, auth, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    items = items_of(app, "self")  # the self questionnaire has no "cannot judge"
    auth.login("m0")
    data = {"revision": "0", "action": "draft", f"item_{items[0][0]}": "na"}
    assert "不能选择“无法评价”" in client.post(f"/feedback/a/{self_id}", data=data).get_data(as_text=True)
    assert counts(app, self_id) == (0, 0)


def test_someone_elses_assignment_is_forbidden(app, client, auth, world):
    other = world.member_ids[1]
    theirs = assignment_id(app, other, other, "self")
    auth.login("m0")
    assert client.get(f"/feedback/a/{theirs}").status_code == 403
    data = {"revision": "0", "action": "submit", **full_answers(items_of(app, "self"), "5")}
    assert client.post(f"/feedback/a/{theirs}", data=data).status_code == 403
    assert client.post(f"/feedback/a/{theirs}/decline", data={"reason": "不认识", "revision": "0"}).status_code == 403
    assert state(app, theirs) == ("pending", 0, [])
    assert client.get("/feedback/a/999999").status_code == 404


def test_closed_cycle_is_read_only_with_a_clear_message(app, client, auth, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    with app.app_context():
        transition_cycle(db.session.get(Cycle, world.cycle_id), "closed")
        db.session.commit()
    auth.login("m0")
    page = client.get(f"/feedback/a/{self_id}").get_data(as_text=True)
    assert "本周期已关闭，评价只能查看" in page and "fieldset disabled" in page
    data = {"revision": "0", "action": "submit", **full_answers(items_of(app, "self"), "5")}
    page = client.post(f"/feedback/a/{self_id}", data=data, follow_redirects=True).get_data(as_text=True)
    assert "本周期已关闭" in page
    assert state(app, self_id) == ("pending", 0, [])


def test_after_the_deadline_the_form_is_read_only(app, client, auth):
    world = build_world(app, deadline=date.today() - timedelta(days=1))
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    auth.login("m0")
    page = client.get(f"/feedback/a/{self_id}").get_data(as_text=True)
    assert "截止，只能查看" in page
    data = {"revision": "0", "action": "submit", **full_answers(items_of(app, "self"), "5")}
    page = client.post(f"/feedback/a/{self_id}", data=data, follow_redirects=True).get_data(as_text=True)
    assert "截止，只能查看" in page and state(app, self_id) == ("pending", 0, [])


def test_double_submit_from_two_tabs_keeps_one_response_and_refuses_the_stale_tab(app, client, auth, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    items = items_of(app, "self")
    auth.login("m0")
    # both tabs loaded the form at revision 0
    first = client.post(f"/feedback/a/{self_id}",
                        data={"revision": "0", "action": "submit", **full_answers(items, "4")})
    assert first.status_code == 302
    before = state(app, self_id)
    second = client.post(f"/feedback/a/{self_id}", data={"revision": "0", "action": "submit",
                                                         **full_answers(items, "1")})
    assert "已在其他窗口保存或提交过" in second.get_data(as_text=True)
    assert state(app, self_id) == before and counts(app, self_id) == (1, len(items))


def test_the_database_holds_one_response_per_assignment(app, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    with app.app_context():
        instrument_id = db.session.execute(sa.select(Instrument.id)).scalars().first()
        db.session.add(Response(assignment_id=self_id, instrument_id=instrument_id))
        db.session.commit()
        db.session.add(Response(assignment_id=self_id, instrument_id=instrument_id))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_decline_needs_a_reason_and_self_cannot_be_declined(app, client, auth, world):
    me = world.member_ids[0]
    with app.app_context():
        peer_id = db.session.execute(sa.select(Assignment.id).filter_by(rater_id=me, relation="peer")).scalars().first()
    self_id = assignment_id(app, me, me, "self")
    auth.login("m0")
    page = client.post(f"/feedback/a/{peer_id}/decline", data={"reason": "", "revision": "0"}, follow_redirects=True)
    assert "请说明不能评价的原因" in page.get_data(as_text=True) and state(app, peer_id)[0] == "pending"
    page = client.post(f"/feedback/a/{self_id}/decline", data={"reason": "不想评", "revision": "0"},
                       follow_redirects=True)
    assert "自评不能拒绝" in page.get_data(as_text=True) and state(app, self_id)[0] == "pending"
    page = client.post(f"/feedback/a/{peer_id}/decline", data={"reason": "本季度没有共事", "revision": "0"},
                       follow_redirects=True)
    assert "已拒绝" in page.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Assignment, peer_id)
        assert row.status == "declined" and row.decline_reason == "本季度没有共事"


def test_a_draft_cycle_cannot_be_rated(app, client, auth):
    world = build_world(app, open_cycle=False)
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    auth.login("m0")
    data = {"revision": "0", "action": "submit", **full_answers(items_of(app, "self"), "5")}
    page = client.post(f"/feedback/a/{self_id}", data=data, follow_redirects=True).get_data(as_text=True)
    assert "尚未开启" in page and state(app, self_id) == ("pending", 0, [])


def test_an_incomplete_submit_marks_every_missing_item_and_counts_the_answered(app, client, auth, world):
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    items = items_of(app, "self")
    assert len(items) > 12  # more than the ten numbers the message used to list
    auth.login("m0")
    answered = items[:2]
    page = client.post(f"/feedback/a/{self_id}", data={"revision": "0", "action": "submit",
                                                       **full_answers(answered, "3")}).get_data(as_text=True)
    missing = len(items) - 2
    numbers = "、".join(str(n) for n in range(3, len(items) + 1))
    assert f"还有 {missing} 题未作答（第 {numbers} 题）" in page
    assert page.count('class="badge text-bg-danger missing-mark"') == missing
    assert page.count("rating-item is-missing") == missing
    assert f'已答 <span class="answered-count">2</span> / {len(items)}' in page
    fresh = client.get(f"/feedback/a/{self_id}").get_data(as_text=True)
    assert 'class="badge text-bg-danger missing-mark"' not in fresh  # nothing marked before a submit


# ---- save_response's steps, each on its own ----------------------------------------------------
def test_parse_posted_keeps_answered_items_and_checks_each_field(app):
    from types import SimpleNamespace

    from app.errors import DomainError
    from app.feedback.services import _check_complete, _parse_posted

    items = {11: SimpleNamespace(id=11, position=1, allow_na=False),
             12: SimpleNamespace(id=12, position=2, allow_na=True),
             13: SimpleNamespace(id=13, position=3, allow_na=True)}
    with app.test_request_context():
        answers, comments = _parse_posted({"item_11": "4", "item_12": "na", "item_13": "", "comment_pro": " 好 ",
                                           "csrf_token": "x"}, items, {"pro"})
        assert answers == {11: 4, 12: None}  # a blank is unanswered, N/A is kept as None
        assert comments == {"pro": "好"}
        for posted in ({"item_99": "3"}, {"item_x": "3"}, {"comment_other": "a"}, {"item_11": "6"},
                       {"item_11": "na"}):
            with pytest.raises(DomainError):
                _parse_posted(posted, items, {"pro"})
        with pytest.raises(DomainError, match="第 1、3 题"):
            _check_complete(items, {12: None}, {})
        _check_complete(items, {12: None}, {11: object(), 13: object()})  # answered before: complete
