"""Issue 14 items 10–13 through the web: the share threshold for the multiplier, possible splits on
the coordinator's queue, the 团队协作 indicator where absent claims mean 0 points, fair tie-breaks."""
# ruff: noqa: F811  (the ``world`` fixture is imported from test_claims and named as a test argument)
from datetime import date

import pytest
import sqlalchemy as sa

from app.claims import services
from app.extensions import db
from app.models import CollaborationClaim, Cycle

from ..factories import make_cycle
from .test_claims import as_user, file_claim, status_of, user, world  # noqa: F401

TOKEN_THIRD = [("PS01", "filer", "lead", "60"), ("PS02", "mate2", "assist", "39.99"),
               ("PS03", "mate3", "support", "0.01")]


def approve(app, claim_id, reason=""):
    with app.app_context():
        services.approve_claim(db.session.get(CollaborationClaim, claim_id), user("coord"), {}, reason)
        db.session.commit()


# ---- item 10: a unit counts toward the multiplier only with a meaningful share ----------------------
def test_token_third_unit_does_not_raise_the_multiplier_and_the_pages_say_why(app, client, auth, world):
    claim_id = file_claim(app, world, TOKEN_THIRD, confirm=("lead1", "lead2", "lead3"))
    as_user(auth, "coord")
    # 刑事/重大 = 25 points; PS03 holds 0.01 % < 10 %, so 2 units count: 25 × (1 + 0.25 × 1) = 31.25
    # (every unit counted would give 25 × 1.5 = 37.50).
    queue = client.get("/claims/review").get_data(as_text=True)
    assert "25.00 × 1.25 = <strong>31.25</strong>" in queue
    assert "计入 2/3 个单位" in queue
    assert "一个单位的民警比例合计达到 10% 才计入" in queue
    approve(app, claim_id)
    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "基础分 25.00（刑事 · 重大）× 跨单位系数 1.25 = 31.25 分" in page
    assert "计入单位数 2 − 1" in page
    assert "城西派出所 0.01%（低于门槛，不计入）" in page
    assert "城关派出所 60%（计入）" in page
    # 3125 cents × 60 % = 1875; × 39.99 % = 1249.69 → 1249 + the left-over cent = 1250; × 0.01 % = 0.31 → 0.
    with app.app_context():
        values = services.soft_indicator_values(db.session.get(Cycle, world["cycle"]))["team_points"]["values"]
    assert values == {world["officers"]["filer"]: 18.75, world["officers"]["mate2"]: 12.5,
                      world["officers"]["mate3"]: 0.0}
    award = client.get("/claims/award").get_data(as_text=True)
    # The team is 城关 + 城东; 城西 rode along below the threshold.
    assert "城关派出所 + 城东派出所" in award and "城西派出所 +" not in award and "+ 城西派出所" not in award


def test_admin_sets_the_threshold_and_bad_values_change_nothing(app, client, auth, world):
    with app.app_context():
        draft = make_cycle(name="2027年第一季度", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31))
        db.session.commit()
        draft_id = draft.id
    as_user(auth, "admin")
    page = client.get(f"/claims/rules/{draft_id}").get_data(as_text=True)
    assert 'name="min_unit_share"' in page and 'value="10.00"' in page
    data = {"base_points": "刑事 重大 25", "multiplier_step": "0.25", "multiplier_cap": "2", "officer_cap": ""}
    bad = client.post(f"/claims/rules/{draft_id}", data={**data, "min_unit_share": "150"})
    assert bad.status_code == 200
    with app.app_context():
        assert "points_rules" not in (db.session.get(Cycle, draft_id).config or {})
    ok = client.post(f"/claims/rules/{draft_id}", data={**data, "min_unit_share": "15"})
    assert ok.status_code == 302
    with app.app_context():
        assert services.points_rules(db.session.get(Cycle, draft_id)).min_unit_share == 15.0
    assert "一个单位的民警比例合计达到 15% 才计入" in client.get(f"/claims/rules/{draft_id}").get_data(as_text=True)


# ---- item 11: possible splits on the coordinator's queue ---------------------------------------------
@pytest.mark.parametrize("ref, stem", [
    ("A001-1", "A001"), ("a001 - 2", "A001"), ("A001(3)", "A001"), ("A001（12）", "A001"), ("A001之二", "A001"),
    ("A001B", "A001"), ("A001-1-2", "A001"), ("A3301002026100001", "A3301002026100001"),
    ("JX2026-001", "JX2026-001"),  # a zero-padded serial is a case number, not a part number
])
def test_reference_stems(ref, stem):
    assert services.ref_stem(ref) == stem


def test_split_claims_are_flagged_and_approval_needs_a_reason(app, client, auth, world):
    confirm = ("lead1", "lead2")
    parts = [file_claim(app, world, case_ref=f"A001-{k}", severity="一般", confirm=confirm) for k in (1, 2, 3)]
    other_ref = file_claim(app, world, case_ref="B777", severity="一般", confirm=confirm)
    other_people = file_claim(app, world, [("PS01", "mate1", "lead", "60"), ("PS02", "mate2", "assist", "40")],
                              case_ref="A001-4", severity="一般", confirm=confirm, filer="mate1")
    with app.app_context():
        flags = services.cycle_flags(db.session.get(Cycle, world["cycle"]))
    assert flags.splits == {parts[0]: [parts[1], parts[2]], parts[1]: [parts[0], parts[2]],
                            parts[2]: [parts[0], parts[1]]}
    as_user(auth, "coord")
    queue = client.get("/claims/review?flag=split").get_data(as_text=True)
    assert "符合条件：3 条" in queue
    assert all(f"A001-{k}" in queue for k in (1, 2, 3)) and "B777" not in queue and "A001-4" not in queue
    assert "疑似拆分" in queue and "如 A001-1 与 A001-2" in queue
    page = client.get(f"/claims/{parts[0]}").get_data(as_text=True)
    assert "疑似拆分申报" in page and f"#{parts[1]} A001-2" in page and f"#{parts[2]} A001-3" in page
    assert "疑似拆分申报" not in client.get(f"/claims/{other_ref}").get_data(as_text=True)
    assert "疑似拆分申报" not in client.get(f"/claims/{other_people}").get_data(as_text=True)
    refused = client.post(f"/claims/{parts[0]}/approve", data={}, follow_redirects=True).get_data(as_text=True)
    assert "可能是同一案件拆分申报" in refused
    assert status_of(app, parts[0]) == "confirmed"
    client.post(f"/claims/{parts[0]}/approve", data={"reason": "经核实为三起独立案件"})
    assert status_of(app, parts[0]) == "approved"
    # Returning the others for merging takes them off the pending queue; the approved one stays flagged.
    for claim_id in parts[1:]:
        client.post(f"/claims/{claim_id}/reject", data={"reason": "与 A001-1 为同一案件"})
    with app.app_context():
        flags = services.cycle_flags(db.session.get(Cycle, world["cycle"]))
    assert flags.splits == {}  # rejected claims no longer count


def test_drafts_are_not_flagged_but_their_page_warns_the_filer(app, client, auth, world):
    first = file_claim(app, world, case_ref="C9-1")
    draft = file_claim(app, world, case_ref="C9-2", submit=False)
    with app.app_context():
        assert services.cycle_flags(db.session.get(Cycle, world["cycle"])).splits == {}
        assert [c.id for c in services.split_partners(db.session.get(CollaborationClaim, draft))] == [first]


# ---- item 12: 团队协作, absent claims mean 0 points ----------------------------------------------------
PROVIDED = {
    # officers 1, 2, 3 in station 10 and 4 in station 30 (category 1); officer 5 in station 20 (category 2).
    "teamwork_peer": {"values": {1: 4.6, 2: 4.6, 3: 3.0, 5: 5.0}},
    "team_points": {"values": {2: 2.5, 3: 10.0, 4: 5.0}},
    "team_points_unit": {"values": {10: 12.5, 30: 5.0}},
}
UNIT_CATEGORY = {10: 1, 30: 1, 20: 2}
OFFICER_UNIT = {1: 10, 2: 10, 3: 10, 4: 30, 5: 20}


def test_collaboration_never_costs():
    out = services.teamwork_indicator(PROVIDED, UNIT_CATEGORY, OFFICER_UNIT)
    officers = out[("officer", "soft_teamwork")]
    # Peer 4.6 → (4.6 − 1) × 25 = 90. Category 1's best has 10 points.
    # Officer 1, no claims: (90 + 0) / 2 = 45. Officer 2, one small claim of 2.5 points: (90 + 25) / 2 = 57.5
    # (the old rule scored officer 1 on the peer rating alone: 90 > 57.5). Officer 3: (50 + 100) / 2 = 75.
    # Officer 4 has points but no peer rating: missing. Officer 5: category 2 has no points: (100 + 0) / 2 = 50.
    assert officers["values"] == pytest.approx({1: 45.0, 2: 57.5, 3: 75.0, 5: 50.0})
    assert officers["details"][1]["team_points"] == 0.0 and officers["details"][1]["team_points_normalised"] == 0.0
    units = out[("unit", "soft_teamwork@unit")]
    # Station 10: 12.5 points = the best of category 1 → 100; peers (90 + 90 + 50) / 3 = 76.67 → 88.33.
    # Station 20: no points → 0; peer 100 → 50. Station 30: no peer rating → missing.
    assert units["values"].keys() == {10, 20}
    assert units["values"][10] == pytest.approx((100 + 230 / 3) / 2)
    assert units["values"][20] == 50.0


def test_more_points_never_lower_ones_own_score():
    before = services.teamwork_indicator(PROVIDED, UNIT_CATEGORY, OFFICER_UNIT)[("officer", "soft_teamwork")]
    more = {**PROVIDED, "team_points": {"values": {**PROVIDED["team_points"]["values"], 1: 2.5}}}
    after = services.teamwork_indicator(more, UNIT_CATEGORY, OFFICER_UNIT)[("officer", "soft_teamwork")]
    assert after["values"][1] == pytest.approx(57.5) and before["values"][1] == pytest.approx(45.0)


def test_without_peer_ratings_the_points_alone_count_and_without_points_the_peers_alone():
    points_only = {k: v for k, v in PROVIDED.items() if k != "teamwork_peer"}
    out = services.teamwork_indicator(points_only, UNIT_CATEGORY, OFFICER_UNIT)[("officer", "soft_teamwork")]
    assert out["values"] == {1: 0.0, 2: 25.0, 3: 100.0, 4: 50.0, 5: 0.0}
    peers_only = {"teamwork_peer": PROVIDED["teamwork_peer"]}
    out = services.teamwork_indicator(peers_only, UNIT_CATEGORY, OFFICER_UNIT)[("officer", "soft_teamwork")]
    assert out["values"] == pytest.approx({1: 90.0, 2: 90.0, 3: 50.0, 5: 100.0})


def test_a_cycle_without_points_or_without_anything_is_not_a_column_of_zeros():
    no_claims = {"teamwork_peer": PROVIDED["teamwork_peer"], "team_points": {"values": {}},
                 "team_points_unit": {"values": {}}}
    out = services.teamwork_indicator(no_claims, UNIT_CATEGORY, OFFICER_UNIT)
    # Nobody has points: the peer part alone, the same rule for everyone.
    assert out[("officer", "soft_teamwork")]["values"] == pytest.approx({1: 90.0, 2: 90.0, 3: 50.0, 5: 100.0})
    assert out[("unit", "soft_teamwork@unit")]["values"] == pytest.approx({10: 230 / 3, 20: 100.0})
    nothing = {"teamwork_peer": {"values": {}}, "team_points": {"values": {}}, "team_points_unit": {"values": {}}}
    out = services.teamwork_indicator(nothing, UNIT_CATEGORY, OFFICER_UNIT)
    assert out[("officer", "soft_teamwork")]["values"] == {} and out[("unit", "soft_teamwork@unit")]["values"] == {}


def test_award_page_explains_the_teamwork_indicator(app, client, auth, world):
    as_user(auth, "filer")
    page = client.get("/claims/award").get_data(as_text=True)
    assert "没有已批准申报的按 0 分计" in page


# ---- item 13: tied cents take turns ----------------------------------------------------------------
def test_tied_cent_goes_by_turn_and_the_page_names_the_turn(app, client, auth, world):
    # 治安/一般 = 5 points × 1.25 = 6.25, split 50/50 = 3.125 each: one gets 3.13, the other 3.12.
    even = [("PS01", "filer", "lead", "50"), ("PS02", "mate2", "assist", "50")]
    ids = [file_claim(app, world, even, case_ref=f"E{k}0", case_type="治安", severity="一般",
                      confirm=("lead1", "lead2")) for k in range(2)]
    for claim_id in ids:
        approve(app, claim_id)
    with app.app_context():
        standing = services.team_standing(db.session.get(Cycle, world["cycle"]))
    filer, mate2 = world["officers"]["filer"], world["officers"]["mate2"]  # badge order: filer B0001, mate2 B0003
    for claim_id in ids:
        # Claim #c, 2 people: the turn starts at place (c mod 2) + 1 in badge order.
        first = filer if claim_id % 2 == 0 else mate2
        rows = standing.claims[claim_id]["rows"]
        assert rows[first] == 313 and rows[filer if first == mate2 else mate2] == 312
    # Over two consecutive claims each got the extra cent once.
    assert standing.officers[filer]["cents"] == standing.officers[mate2]["cents"] == 625
    as_user(auth, "filer")
    page = client.get(f"/claims/{ids[0]}").get_data(as_text=True)
    assert f"本申报（#{ids[0]}，2 人）从第 {ids[0] % 2 + 1} 位开始" in page


# ---- the queue's cost does not grow with it ----------------------------------------------------------
def _statements(app, client, path):
    seen = []

    def count(*_args):
        seen.append(1)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_queue_and_lists_take_the_same_statements_for_three_or_nine_claims(app, client, auth, world):
    three_units = [("PS01", "filer", "lead", "50"), ("PS02", "mate2", "assist", "30"),
                   ("PS03", "mate3", "support", "20")]

    def measure():
        as_user(auth, "coord")
        queue = _statements(app, client, "/claims/review")
        as_user(auth, "filer")
        return queue, _statements(app, client, "/claims/")

    for k in range(3):
        file_claim(app, world, three_units, case_ref=f"Q{k}X", confirm=("lead1", "lead2"))
    small = measure()
    for k in range(3, 9):
        file_claim(app, world, three_units, case_ref=f"Q{k}X", confirm=("lead1", "lead2"))
    assert measure() == small
