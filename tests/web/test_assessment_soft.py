"""Soft indicators from (fake) providers merged into a run, with their details and the dual track."""
import pytest
import sqlalchemy as sa

from app.assessment import runs, soft
from app.extensions import db
from app.models import Cycle, ScoreResult

from .assessment_setup import build_world, load, officer_rows, unit_rows


@pytest.fixture
def providers():
    """Only the providers a test registers (the real ones are registered at start-up)."""
    saved = list(soft.SOFT_PROVIDERS)
    soft.SOFT_PROVIDERS[:] = []
    yield soft.SOFT_PROVIDERS
    soft.SOFT_PROVIDERS[:] = saved


def fake_provider(ids):
    o = ids["officers"]
    u = ids["units"]

    def provide(cycle):
        officers = sorted(o.values())
        return {
            "soft_360": {"level": "officer", "values": {oid: 3.0 + 0.25 * k for k, oid in enumerate(officers)},
                         "details": {oid: {"raw": 3.1, "bias_adjusted": 3.05, "shrunk": 3.0, "n": 6,
                                           "raters": {"self": 1, "peer": 4, "supervisor": 2, "subordinate": 0},
                                           "competencies": {"矛盾化解": 2.5, "要素管控": 3.5, "处警办案": 4.0,
                                                            "群众工作": 3.0}} for oid in officers}},
            "teamwork_peer": {"level": "officer", "values": {oid: 4.0 for oid in officers},
                              "details": {oid: {"rater_groups": {"peer": 4}} for oid in officers}},
            "team_points": {"level": "officer", "values": {o["B00"]: 10.0, o["B01"]: 5.0}},
            "team_points_unit": {"level": "unit", "values": {u["PS01"]: 40.0, u["PS02"]: 20.0}},
            "soft_residents": {"level": "unit", "values": {uid: 90.0 for uid in u.values()},
                               "details": {uid: {"raw": 0.93, "shrunk": 0.9, "n": 40} for uid in u.values()}},
        }

    return provide


def test_mapping_of_provider_codes_onto_the_catalogue():
    provided = {
        "soft_360": {"level": "officer", "values": {1: 5.0, 2: 3.0, 3: 1.0}, "details": {}},
        "teamwork_peer": {"level": "officer", "values": {1: 5.0}, "details": {}},
        "team_points": {"level": "officer", "values": {1: 10.0, 2: 5.0}, "details": {}},
        "team_points_unit": {"level": "unit", "values": {10: 8.0, 20: 4.0}, "details": {}},
    }
    out = soft.soft_indicator_values(provided, unit_category={10: 1, 20: 1}, officer_unit={1: 10, 2: 10, 3: 20})
    assert out[("officer", "soft_360")]["values"] == {1: 100.0, 2: 50.0, 3: 0.0}
    assert out[("unit", "soft_360@unit")]["values"] == {10: 75.0, 20: 0.0}
    # officer 1: points 10 → 100 (best of category), peer 5 → 100; officers 2, 3: no peer rating → missing.
    assert out[("officer", "soft_teamwork")]["values"] == {1: 100.0}
    # unit 10: points 8 → 100 and the peer mean of its officers (officer 1: 100) → 100; unit 20: no peer → missing.
    assert out[("unit", "soft_teamwork@unit")]["values"] == {10: 100.0}
    assert ("unit", "soft_residents") not in out  # nobody provided it: missing, never zero


def test_soft_indicators_enter_the_run_with_their_details(app, client, auth, providers):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows() + officer_rows(ids))
        soft.register_provider(fake_provider(ids))
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        assert run.missing["soft_without_provider"] == ["soft_residents_officer"]
        ps01 = db.session.execute(sa.select(ScoreResult).filter_by(run_id=run.id, unit_id=ids["units"]["PS01"])
                                  ).scalar_one()
        by_code = {i["code"]: i for i in ps01.breakdown["indicators"]}
        assert by_code["soft_residents"]["raw"] == 90.0 and by_code["soft_residents"]["details"]["shrunk"] == 0.9
        assert by_code["soft_360@unit"]["details"]["officers"] == 2
        officer = db.session.execute(sa.select(ScoreResult).filter_by(
            run_id=run.id, officer_id=ids["officers"]["B00"])).scalar_one()
        entry = next(i for i in officer.breakdown["indicators"] if i["code"] == "soft_360")
        assert entry["details"]["bias_adjusted"] == 3.05 and entry["soft"]
        run_id, officer_id = run.id, officer.id
    page = client.get(f"/assessment/results/{officer_id}").get_data(as_text=True)
    assert "评价者偏差校正后" in page and "收缩后" in page and "矛盾化解" in page
    plans = client.get(f"/assessment/runs/{run_id}/dual-track").get_data(as_text=True)
    assert "最需提升的能力" in plans and "矛盾化解" in plans and "优先培训名单" in plans
