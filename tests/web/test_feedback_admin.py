"""Admin side: questionnaires (versions, editing, JSON), the design (preview, regenerate, single edits),
opening freezes it; nominations and their approval; response tracking for admins and leaders."""
import io
import json

import sqlalchemy as sa
from openpyxl import load_workbook

from app.extensions import db
from app.feedback import services
from app.feedback.instruments import ensure_default_instruments
from app.models import Assignment, AuditLog, Cycle, Instrument, Nomination, Officer

from ..factories import make_cycle, make_officer, make_user
from .feedback_helpers import assignment_id, build_world, full_answers, items_of


def n_rows(app, model, **filters):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def test_only_admins_reach_the_admin_pages(app, client, auth):
    auth.as_role("officer")
    assert client.get("/admin/feedback/instruments").status_code == 403
    assert client.get("/feedback/tracking").status_code == 403  # not a leader either


def test_default_questionnaires_edit_in_place_until_frozen_then_new_version(app, client, auth):
    auth.as_role("admin")
    client.post("/admin/feedback/instruments/defaults")
    page = client.get("/admin/feedback/instruments").get_data(as_text=True)
    assert "同事互评问卷" in page and "std-peer" in page
    with app.app_context():
        peer = db.session.execute(sa.select(Instrument).filter_by(code="std-peer")).scalar_one()
        peer_id = peer.id
    form = client.get(f"/admin/feedback/instruments/{peer_id}/edit").get_data(as_text=True)
    assert "teamwork | 团队协作 | 是" in form
    comps = "teamwork | 团队协作 | 是"
    items = "teamwork | 该同志主动补位 | 从不/很少/有时/经常/总是 | 是\nteamwork | 该同志分享信息 | 1/2/3/4/5 | 否"
    response = client.post(f"/admin/feedback/instruments/{peer_id}/edit",
                           data={"title": "互评（简版）", "intro": "", "competencies": comps, "items": items})
    assert response.status_code == 302
    with app.app_context():
        peer = db.session.get(Instrument, peer_id)
        assert peer.version == 1 and peer.title == "互评（简版）" and len(peer.items) == 2
        peer.frozen_at = peer.created_at  # as if a cycle had opened with it
        db.session.commit()
    response = client.post(f"/admin/feedback/instruments/{peer_id}/edit",
                           data={"title": "互评 v2", "intro": "", "competencies": comps, "items": items})
    with app.app_context():
        versions = db.session.execute(sa.select(Instrument.version, Instrument.title).filter_by(code="std-peer")
                                      .order_by(Instrument.version)).all()
        assert [tuple(v) for v in versions] == [(1, "互评（简版）"), (2, "互评 v2")]


def test_instrument_editor_refuses_bad_lines_and_changes_nothing(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        ensure_default_instruments()
        db.session.commit()
        peer_id = db.session.execute(sa.select(Instrument.id).filter_by(code="std-peer")).scalar_one()
    bad = client.post(f"/admin/feedback/instruments/{peer_id}/edit",
                      data={"title": "x", "competencies": "teamwork | 团队协作 | 是",
                            "items": "teamwork | 题目 | 1/2/3 | 是"}).get_data(as_text=True)
    assert "题目第 1 行：需要 5 个分值标签" in bad
    bad = client.post(f"/admin/feedback/instruments/{peer_id}/edit",
                      data={"title": "x", "competencies": "teamwork | 团队协作 | 是",
                            "items": "nope | 题目 | 1/2/3/4/5 | 是"}).get_data(as_text=True)
    assert "能力项代码“nope”不在能力项列表中" in bad
    with app.app_context():
        assert db.session.get(Instrument, peer_id).title == "同事互评问卷"
        assert len(db.session.get(Instrument, peer_id).items) > 10


def test_export_and_import_json(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        ensure_default_instruments()
        db.session.commit()
        self_id = db.session.execute(sa.select(Instrument.id).filter_by(code="std-self")).scalar_one()
    exported = client.get(f"/admin/feedback/instruments/{self_id}.json")
    data = json.loads(exported.data)
    assert data["rater_group"] == "self" and data["items"][0]["text"].startswith("我")
    data["code"] = "self-short"
    data["items"] = data["items"][:6]
    data["competencies"] = [c for c in data["competencies"] if c["code"] in {i["competency"] for i in data["items"]}]
    response = client.post("/admin/feedback/instruments/import", data={
        "file": (io.BytesIO(json.dumps(data, ensure_ascii=False).encode()), "self-short.json")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "已导入问卷" in response.get_data(as_text=True)
    before = n_rows(app, Instrument)
    response = client.post("/admin/feedback/instruments/import", data={
        "file": (io.BytesIO(b'{"code": "x", "rater_group": "boss"}'), "x.json")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "问卷文件格式不正确" in response.get_data(as_text=True) and n_rows(app, Instrument) == before


def test_design_preview_regenerate_add_remove_then_open_freezes(app, client, auth):
    auth.as_role("admin", username="boss", unit_code="BJ")
    world = build_world(app, members=8, open_cycle=False, peers=3)
    page = client.get(f"/admin/feedback/cycles/{world.cycle_id}/design").get_data(as_text=True)
    assert "各单位概况" in page and "0–3" in page  # members have 3 peers and rate 3; the lone leader none
    page = client.get(f"/admin/feedback/cycles/{world.cycle_id}/design?unit={world.unit_id}").get_data(as_text=True)
    assert "民警0" in page
    with app.app_context():
        first = set(db.session.execute(sa.select(Assignment.rater_id, Assignment.ratee_id)
                                       .filter_by(relation="peer")).all())
    client.post(f"/admin/feedback/cycles/{world.cycle_id}/design",
                data={"design-seed": "99", "design-peers": "4", "design-submit": "1"})
    with app.app_context():
        second = set(db.session.execute(sa.select(Assignment.rater_id, Assignment.ratee_id)
                                        .filter_by(relation="peer")).all())
        cycle = db.session.get(Cycle, world.cycle_id)
        assert cycle.config["feedback"]["seed"] == 99 and cycle.config["feedback"]["peers"] == 4
        badges = {o.id: o.badge_no for o in db.session.execute(sa.select(Officer)).scalars()}
    assert first != second and len(second) == 8 * 4
    outsider, member = badges[world.outsider_id], badges[world.member_ids[0]]
    response = client.post(f"/admin/feedback/cycles/{world.cycle_id}/design", data={
        "add-rater_badge": outsider, "add-ratee_badge": member, "add-relation": "collaborator", "add-submit": "1"})
    assert response.status_code == 302
    before = n_rows(app, Assignment)
    dup = client.post(f"/admin/feedback/cycles/{world.cycle_id}/design", data={
        "add-rater_badge": outsider, "add-ratee_badge": member, "add-relation": "collaborator", "add-submit": "1"})
    assert "该评价安排已存在" in dup.get_data(as_text=True) and n_rows(app, Assignment) == before
    wrong = client.post(f"/admin/feedback/cycles/{world.cycle_id}/design", data={
        "add-rater_badge": member, "add-ratee_badge": member, "add-relation": "peer", "add-submit": "1"})
    assert "只有自评的评价人和被评价人是同一人" in wrong.get_data(as_text=True) and n_rows(app, Assignment) == before
    added = assignment_id(app, world.outsider_id, world.member_ids[0], "collaborator")
    client.post(f"/admin/feedback/assignments/{added}/remove")
    assert n_rows(app, Assignment) == before - 1
    # a regenerate keeps manual rows; opening freezes the instruments and the design
    page = client.get(f"/admin/cycles/{world.cycle_id}").get_data(as_text=True)
    assert "360 评价" in page and "评价安排" in page
    client.post(f"/admin/cycles/{world.cycle_id}/open")
    with app.app_context():
        cycle = db.session.get(Cycle, world.cycle_id)
        assert cycle.status == "open"
        chosen = cycle.config["feedback"]["instruments"]
        assert set(chosen) == {"self", "peer", "supervisor", "subordinate"}
        assert all(db.session.get(Instrument, i).is_frozen for i in chosen.values())
        assert cycle.config["feedback"]["thresholds"]["peer"] == 3
    count = n_rows(app, Assignment)
    page = client.post(f"/admin/feedback/cycles/{world.cycle_id}/design",
                       data={"design-seed": "5", "design-peers": "2", "design-submit": "1"}).get_data(as_text=True)
    assert "评价安排已冻结" in page and n_rows(app, Assignment) == count


def test_a_cycle_without_a_design_opens_untouched(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        cycle_id = make_cycle().id
        db.session.commit()
    client.post(f"/admin/cycles/{cycle_id}/open")
    with app.app_context():
        cycle = db.session.get(Cycle, cycle_id)
        assert cycle.status == "open" and "feedback" not in cycle.config
        assert n_rows(app, Instrument) == 0


def test_nominations_and_their_approval(app, client, auth):
    world = build_world(app, members=3)
    with app.app_context():
        others = [make_officer(db.session.get(Officer, world.outsider_id).unit, name=f"外所{i}") for i in range(4)]
        badges = [o.badge_no for o in others]
        same_unit = db.session.get(Officer, world.member_ids[1]).badge_no
        db.session.commit()
    auth.login("m0")
    page = client.post("/feedback/nominations", data={"badge_no": same_unit, "reason": ""}).get_data(as_text=True)
    assert "本单位同事已在互评范围内" in page
    assert "找不到警号" in client.post("/feedback/nominations", data={"badge_no": "000"}).get_data(as_text=True)
    for badge in badges[:3]:
        assert client.post("/feedback/nominations", data={"badge_no": badge, "reason": "联合处置"}).status_code == 302
    page = client.post("/feedback/nominations", data={"badge_no": badges[3]}).get_data(as_text=True)
    assert "最多提名 3 名" in page
    page = client.post("/feedback/nominations", data={"badge_no": badges[0]}).get_data(as_text=True)
    assert "您已提名过这位民警" in page or "最多提名" in page
    assert n_rows(app, Nomination) == 3
    with app.app_context():
        nomination_ids = db.session.execute(sa.select(Nomination.id).order_by(Nomination.id)).scalars().all()
    # a colleague cannot decide; the leader can
    assert client.post(f"/feedback/approvals/{nomination_ids[0]}/approve").status_code == 403
    auth.logout()
    auth.login("outsider")
    assert client.post(f"/feedback/approvals/{nomination_ids[0]}/approve").status_code == 403
    auth.logout()
    auth.login("leader")
    assert "联合处置" in client.get("/feedback/approvals").get_data(as_text=True)
    client.post(f"/feedback/approvals/{nomination_ids[0]}/approve")
    client.post(f"/feedback/approvals/{nomination_ids[1]}/reject")
    again = client.post(f"/feedback/approvals/{nomination_ids[0]}/reject", follow_redirects=True)
    assert "该提名已被处理过" in again.get_data(as_text=True)
    with app.app_context():
        statuses = db.session.execute(sa.select(Nomination.status).order_by(Nomination.id)).scalars().all()
        assert statuses == ["approved", "rejected", "pending"]
        collab = db.session.execute(sa.select(Assignment).filter_by(relation="collaborator")).scalar_one()
        assert collab.ratee_id == world.member_ids[0] and collab.source == "nomination"
    # the nominee now finds the rating in their inbox
    auth.logout()
    with app.app_context():
        make_user("nominee", officer=db.session.get(Officer, collab.rater_id))
        db.session.commit()
    auth.login("nominee")
    assert "评价协作单位民警" in client.get("/feedback/").get_data(as_text=True)  # named from the rater's side


def test_leader_sees_the_response_rate_rise_and_exports_the_owing_list(app, client, auth):
    world = build_world(app, members=4)
    auth.login("leader")
    page = client.get("/feedback/tracking").get_data(as_text=True)
    assert 'id="overall-rate">0.0%' in page and "民警0" in page
    auth.logout()
    auth.login("m0")
    me = world.member_ids[0]
    self_id = assignment_id(app, me, me, "self")
    client.post(f"/feedback/a/{self_id}", data={"revision": "0", "action": "submit",
                                                **full_answers(items_of(app, "self"), "4")})
    auth.logout()
    auth.login("leader")
    page = client.get("/feedback/tracking").get_data(as_text=True)
    assert 'id="overall-rate">0.0%' not in page and "已提交 1" in page
    assert "外所民警" not in page  # only the leader's own unit
    export = client.get("/feedback/tracking.xlsx")
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("单位", "警号", "姓名", "待完成评价数")
    assert {r[2] for r in rows[1:]} >= {"民警1", "王所长"}
    auth.logout()


def test_admin_tracking_covers_all_units(app, client, auth):
    world = build_world(app, members=3)
    auth.as_role("admin", username="boss", unit_code="BJ")
    page = client.get(f"/admin/feedback/cycles/{world.cycle_id}/tracking").get_data(as_text=True)
    assert "PS01派出所" in page and "PS02派出所" in page and "外所民警" in page
    export = client.get(f"/admin/feedback/cycles/{world.cycle_id}/tracking.xlsx")
    assert export.status_code == 200 and export.mimetype.endswith("sheet")


def test_actions_are_audited(app, client, auth):
    world = build_world(app, members=3)
    me = world.member_ids[0]
    auth.login("m0")
    client.post(f"/feedback/a/{assignment_id(app, me, me, 'self')}",
                data={"revision": "0", "action": "submit", **full_answers(items_of(app, "self"), "4")})
    with app.app_context():
        actions = set(db.session.execute(sa.select(AuditLog.action)).scalars())
    assert {"feedback_design_generated", "feedback_submitted", "cycle_open"} <= actions


def test_design_counts_service_matches_the_generator(app):
    world = build_world(app, members=6, open_cycle=False, peers=2)
    with app.app_context():
        preview = services.design_preview(db.session.get(Cycle, world.cycle_id), world.unit_id)
        unit_rows = [u for u in preview.units if u["unit"].id == world.unit_id]
        assert unit_rows[0]["peers_range"][1] == 2
        assert preview.by_relation["supervisor"] == 6 and preview.by_relation["subordinate"] == 6


def test_anonymity_thresholds_are_set_per_draft_cycle(app, client, auth):
    auth.as_role("admin", username="boss", unit_code="BJ")
    world = build_world(app, members=3, open_cycle=False)
    data = {"limits-self": "1", "limits-supervisor": "1", "limits-peer": "4", "limits-subordinate": "3",
            "limits-collaborator": "3", "limits-others": "5", "limits-submit": "1"}
    assert client.post(f"/admin/feedback/cycles/{world.cycle_id}/design", data=data).status_code == 302
    bad = client.post(f"/admin/feedback/cycles/{world.cycle_id}/design", data={**data, "limits-peer": "1"})
    assert bad.status_code == 200
    with app.app_context():
        assert db.session.get(Cycle, world.cycle_id).config["feedback"]["thresholds"]["peer"] == 4
    client.post(f"/admin/cycles/{world.cycle_id}/open")
    with app.app_context():
        assert db.session.get(Cycle, world.cycle_id).config["feedback"]["thresholds"]["others"] == 5


def test_control_characters_in_free_text_change_nothing_and_never_fail(app, client, auth):
    build_world(app, members=2)
    auth.login("m0")
    page = client.post("/feedback/nominations", data={"badge_no": "12\x0034", "reason": "\x00"})
    assert page.status_code == 200 and n_rows(app, Nomination) == 0
