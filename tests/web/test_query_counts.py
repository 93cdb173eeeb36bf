"""The number of queries a page makes does not grow with the organisation: every main page is
counted at two sizes (the larger with twice the stations, twice the officers per station and twice
the claims) and must make exactly as many."""
from datetime import date

import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs
from app.assessment.datapool import import_indicator_values
from app.assessment.services import seed_catalogue
from app.extensions import db
from app.feedback.services import write_design
from app.models import ClaimParticipant, CollaborationClaim, Cycle

from ..conftest import _empty_all_tables
from ..factories import make_cycle, make_officer, make_unit, make_user
from .assessment_setup import HARD_UNIT


def build_org(stations: int, per_station: int) -> dict:
    """A bureau with ``stations`` stations of ``per_station`` officers (the first one leads), a
    360 design, unit indicator values, a computed run and one approved joint claim per pair of
    neighbouring stations. Users: admin, the first station's leader and one of its officers."""
    bureau = make_unit("BJ", "示范县公安局", kind="bureau")
    units, officers = [], []
    for s in range(stations):
        unit = make_unit(f"PS{s:02d}", category=1 if s % 2 == 0 else 3, parent=bureau)
        units.append(unit)
        for k in range(per_station):
            officers.append(make_officer(unit, name=f"民警{s}-{k}", badge_no=f"B{s:02d}{k:02d}", is_leader=k == 0))
    admin = make_user("admin", roles={"admin"}, officer=make_officer(bureau, name="管理员", badge_no="A0001"))
    make_user("leader", roles={"supervisor", "officer"}, officer=officers[0])
    make_user("officer", roles={"officer"}, officer=officers[1])
    seed_catalogue()
    cycle = make_cycle()
    write_design(cycle, seed=7, peers=2)
    transition_cycle(cycle, "open")
    rows = [{"unit_code": u.code, "indicator": ind, "value": 60 + (7 * i + 3 * j) % 39,
             **({"nonpreventable": 2} if ind == "criminal_cases" else {})}
            for i, u in enumerate(units) for j, ind in enumerate(HARD_UNIT)]
    report = import_indicator_values(cycle, list(enumerate(rows, start=2)), "upload", "values.csv")
    assert report.ok, report.errors
    for s in range(stations - 1):
        claim = CollaborationClaim(cycle_id=cycle.id, case_ref=f"A{s:04d}", case_type="刑事", severity="一般",
                                   case_date=date(2026, 10, 5), lead_unit_id=units[s].id, status="approved",
                                   filed_by_id=admin.id)
        db.session.add(claim)
        db.session.flush()
        for role, unit, bp in (("lead", units[s], 6000), ("assist", units[s + 1], 4000)):
            officer = officers[s * per_station + 1] if unit is units[s] else officers[(s + 1) * per_station + 1]
            db.session.add(ClaimParticipant(claim_id=claim.id, unit_id=unit.id, officer_id=officer.id, role=role,
                                            proposed_bp=bp, final_bp=bp))
    run = runs.compute_run(cycle)
    db.session.commit()
    return {"cycle": cycle.id, "run": run.id, "unit": units[0].id, "officer": officers[1].id}


PAGES = [
    ("admin", "/"), ("leader", "/"), ("officer", "/"),
    ("admin", "/reports/units/{unit}"), ("leader", "/reports/units/{unit}"),
    ("admin", "/reports/officers/{officer}?cycle={cycle}"), ("officer", "/reports/officers/{officer}"),
    ("admin", "/reports/bureau"),
    ("admin", "/assessment/runs/{run}"),
    ("admin", "/assessment/runs/{run}/dual-track"), ("admin", "/assessment/runs/{run}/dual-track?level=unit"),
    ("admin", "/admin/feedback/cycles/{cycle}/tracking"), ("leader", "/feedback/tracking"),
    ("admin", "/admin/feedback/cycles/{cycle}/design"),
    ("admin", "/claims/"), ("admin", "/claims/review?status=approved"), ("admin", "/claims/award"),
    ("officer", "/feedback/"),
]


def count_queries(app, client, ids) -> dict:
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    counts = {}
    for user in ("admin", "leader", "officer"):
        client.post("/logout")
        assert client.post("/login", data={"username": user, "password": "password123"}).status_code == 302
        for who, page in PAGES:
            if who != user:
                continue
            url = page.format(**ids)
            assert client.get(url).status_code == 200, url  # warm: caches filled, as on a busy server
            with app.app_context():
                engine = db.engine
            sa.event.listen(engine, "before_cursor_execute", seen)
            try:
                statements.clear()
                response = client.get(url)
            finally:
                sa.event.remove(engine, "before_cursor_execute", seen)
            assert response.status_code == 200, url
            counts[(who, page)] = len(statements)
    return counts


def test_page_queries_do_not_grow_with_the_organisation(app, client):
    with app.app_context():
        small_ids = build_org(stations=3, per_station=4)
    small = count_queries(app, client, small_ids)
    client.post("/logout")
    with app.app_context():
        db.session.remove()
        _empty_all_tables()
        large_ids = build_org(stations=6, per_station=8)
    large = count_queries(app, client, large_ids)
    grown = {page: (small[page], large[page]) for page in small if large[page] != small[page]}
    assert grown == {}, grown


def test_the_award_standing_is_scored_once_until_claims_or_names_change(app, ctx, monkeypatch):
    from app.admin.services import save_unit
    from app.claims import standing as cached
    from app.models import Unit

    ids = build_org(stations=3, per_station=2)
    cycle = db.session.get(Cycle, ids["cycle"])
    calls = []
    real = cached.team_standing
    monkeypatch.setattr(cached, "team_standing", lambda c: calls.append(c.id) or real(c))
    first = cached.team_standing_cached(cycle)
    db.session.commit()  # a new request: the first one's rows are gone from the session
    db.session.remove()
    cycle = db.session.get(Cycle, ids["cycle"])
    again = cached.team_standing_cached(cycle)
    assert len(calls) == 1 and again.cycle is cycle
    # Two approved claims of 10 points (刑事 一般) × 1.25 (two units), each split 60/40:
    # PS00 7.5, PS01 5 + 7.5, PS02 5.
    assert [(row["unit"].code, row["cents"]) for row in again.units] == [("PS01", 1250), ("PS00", 750),
                                                                          ("PS02", 500)]
    assert again.top_officers[0]["officer"].unit.code in {"PS00", "PS01", "PS02"}
    ps01 = db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one()
    save_unit(ps01, {"code": "PS01", "name": "城东派出所", "kind": "station", "category": 3,
                     "parent_id": ps01.parent_id})
    db.session.commit()
    renamed = cached.team_standing_cached(cycle)
    assert len(calls) == 2 and renamed.units[0]["unit"].name == "城东派出所"
    assert first.units[0]["unit"].name == "PS01派出所"  # an earlier page's copy is left as it was
