"""Incident trends: records in (all or nothing, re-sends update), the seasonal proposal for a draft
cycle, accepting it into the cycle's weights, and who may see what."""
import random
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Cycle, Incident, IncidentType, TrendProposal, Unit
from app.trends import services

from ..factories import make_cycle, make_unit

FRAUD_SEASON = {1: 2.0, 2: 1.9}  # the Spring Festival peak, as the demo's report describes it


def _seed_incidents(months=36, last=date(2026, 11, 1), seed=1):
    """Three years for one station: fraud peaking in January-February, thefts flat."""
    rng = random.Random(seed)
    services.seed_incident_types()
    station = db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one_or_none() or make_unit("PS01")
    types = {t.code: t.id for t in db.session.execute(sa.select(IncidentType)).scalars()}
    first = services.add_months(last, -(months - 1))
    rows, serial = [], 0
    for k in range(months):
        month = services.add_months(first, k)
        for code, level in (("fraud", 20.0), ("theft", 25.0)):
            mean = level * (FRAUD_SEASON.get(month.month, 0.85) if code == "fraud" else 1.0)
            for _ in range(int(rng.gauss(mean, mean ** 0.5))):
                serial += 1
                at = datetime(month.year, month.month, 3) + timedelta(hours=rng.randrange(24 * 20))
                rows.append({"external_id": f"T{serial:06d}", "unit_id": station.id, "incident_type_id": types[code],
                             "received_at": at, "month": month, "is_preventable": True})
    db.session.execute(sa.insert(Incident), rows)
    db.session.commit()
    return station


def _draft_q1():
    return make_cycle(name="2027年第一季度", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31), status="draft")


@pytest.fixture
def trend_world(app):
    with app.app_context():
        station = _seed_incidents()
        cycle = _draft_q1()
        db.session.commit()
        return {"station_id": station.id, "cycle_id": cycle.id}


def test_the_proposal_names_the_fraud_peak_and_nothing_for_a_flat_type(app, trend_world, monkeypatch):
    with app.app_context():
        cycle = db.session.get(Cycle, trend_world["cycle_id"])
        items = services.propose(cycle, date(2026, 12, 2))
        db.session.commit()
        assert [p.indicator_code for p in items] == ["fraud_prevention"]   # theft is flat: no item
        item = items[0]
        assert item.incident_type.code == "fraud"
        # January-February at about 2.0 / mean(…) ≈ 2.1× the monthly average, capped at 2.0.
        assert 1.7 <= item.proposed_multiplier <= 2.0
        assert "1月–2月" in item.reason and "去年同期" in item.reason
        assert item.evidence["peak"][:2] == [False, True] or item.evidence["peak"][1:3] == [True, True]


def test_accepting_an_edited_multiplier_sets_the_cycle_weight_once(app, client, auth, trend_world):
    auth.as_role("admin")
    cycle_id = trend_world["cycle_id"]
    page = client.get(f"/trends/?cycle={cycle_id}").get_data(as_text=True)
    assert "按最新警情生成建议" in page
    assert client.post(f"/trends/cycles/{cycle_id}/propose").status_code == 302
    with app.app_context():
        proposal = db.session.execute(sa.select(TrendProposal)).scalar_one()
        pid = proposal.id
    page = client.get(f"/trends/?cycle={cycle_id}").get_data(as_text=True)
    assert "<svg" in page and "电信网络诈骗" in page and "80% 区间上限" in page
    response = client.post(f"/trends/proposals/{pid}", data={f"p{pid}-multiplier": "1.4", f"p{pid}-accept": "采纳"},
                           follow_redirects=True)
    assert "已采纳" in response.get_data(as_text=True)
    with app.app_context():
        cycle = db.session.get(Cycle, cycle_id)
        assert cycle.config["assessment"]["seasonal"] == {"fraud_prevention": 1.4}
    # A second click (or a second admin) changes nothing.
    again = client.post(f"/trends/proposals/{pid}", data={f"p{pid}-multiplier": "1.9", f"p{pid}-accept": "采纳"},
                        follow_redirects=True)
    assert "已经处理过" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Cycle, cycle_id).config["assessment"]["seasonal"] == {"fraud_prevention": 1.4}
    # The cycle page says where the weight came from.
    cycle_page = client.get(f"/admin/cycles/{cycle_id}").get_data(as_text=True)
    assert "来自警情趋势建议" in cycle_page and "× 1.4" in cycle_page
    # Withdrawing the decision removes the weight again.
    client.post(f"/trends/proposals/{pid}/reopen")
    with app.app_context():
        assert db.session.get(Cycle, cycle_id).config["assessment"]["seasonal"] == {}
        assert db.session.get(TrendProposal, pid).status == "proposed"


def test_a_multiplier_out_of_range_is_refused_and_changes_nothing(app, client, auth, trend_world):
    auth.as_role("admin")
    cycle_id = trend_world["cycle_id"]
    client.post(f"/trends/cycles/{cycle_id}/propose")
    with app.app_context():
        pid = db.session.execute(sa.select(TrendProposal.id)).scalar_one()
    page = client.post(f"/trends/proposals/{pid}", data={f"p{pid}-multiplier": "9", f"p{pid}-accept": "采纳"},
                       follow_redirects=True).get_data(as_text=True)
    assert "0.5" in page and "3" in page
    with app.app_context():
        assert db.session.get(TrendProposal, pid).status == "proposed"
        assert not (db.session.get(Cycle, cycle_id).config or {}).get("assessment", {}).get("seasonal")


def test_an_open_cycle_gets_no_proposal(app, trend_world):
    with app.app_context():
        cycle = db.session.get(Cycle, trend_world["cycle_id"])
        cycle.status = "open"
        db.session.commit()
        with pytest.raises(services.DomainError):
            services.propose(cycle, date(2026, 12, 2))


def test_who_may_see_trends(app, client, auth, trend_world):
    auth.as_role("officer", username="plain")
    assert client.get("/trends/").status_code == 403
    assert client.get(f"/trends/units/{trend_world['station_id']}").status_code == 403
    auth.logout()
    auth.as_role("supervisor", username="chief", unit_code="PS01")
    dashboard = client.get(f"/reports/units/{trend_world['station_id']}").get_data(as_text=True)
    assert f"/trends/units/{trend_world['station_id']}" in dashboard
    page = client.get(f"/trends/units/{trend_world['station_id']}")
    assert page.status_code == 200 and "电信网络诈骗" in page.get_data(as_text=True)
    with app.app_context():
        other = make_unit("PS02")
        db.session.commit()
        other_id = other.id
    assert client.get(f"/trends/units/{other_id}").status_code == 403
    assert client.get("/trends/").status_code == 403


def test_monthly_counts_per_type_and_month(app, trend_world):
    with app.app_context():
        analysis = services.analyse(date(2026, 12, 2))
        assert analysis.months[0] == date(2023, 12, 1) and analysis.months[-1] == date(2026, 11, 1)
        total = db.session.execute(sa.select(sa.func.count()).select_from(Incident)).scalar_one()
        assert analysis.counts.sum() == total
        row = {r["type"].code: r for r in analysis.rows()}
        assert 1 in row["fraud"]["peak_months"] and row["theft"]["peak_months"] == []


CSV_HEAD = "警情编号,单位代码,警情类别,接警时间,到场时间,可防性\n"


def test_importing_incidents_is_all_or_nothing_and_a_resend_updates(app):
    with app.app_context():
        make_unit("PS01")
        services.seed_incident_types()
        db.session.commit()
        good = (CSV_HEAD + "JQ1,PS01,fraud,2026-11-03 08:15,2026-11-03 08:30,是\n"
                "JQ2,PS01,盗窃,2026-11-30 23:30,,否\n").encode()
        report = services.import_incidents("a.csv", good)
        db.session.commit()
        assert report.ok and (report.created, report.updated) == (2, 0)
        late = db.session.execute(sa.select(Incident).filter_by(external_id="JQ2")).scalar_one()
        # 23:30 on 30 November in Beijing is 15:30 UTC, still November.
        assert late.received_at == datetime(2026, 11, 30, 15, 30) and late.month == date(2026, 11, 1)
        assert late.is_preventable is False

        resend = (CSV_HEAD + "JQ2,PS01,盗窃,2026-12-01 00:30,,否\n").encode()
        report = services.import_incidents("b.csv", resend)
        db.session.commit()
        assert (report.created, report.updated) == (0, 1)
        assert db.session.execute(sa.select(sa.func.count()).select_from(Incident)).scalar_one() == 2
        moved = db.session.execute(sa.select(Incident.month).filter_by(external_id="JQ2")).scalar_one()
        assert moved == date(2026, 12, 1)

        bad = (CSV_HEAD + "JQ3,PS01,fraud,2026-11-03 08:15,,是\n"
               "JQ4,PS99,fraud,yesterday,2026-11-01 08:00,也许\n").encode()
        report = services.import_incidents("c.csv", bad)
        db.session.rollback()
        assert not report.ok and report.errors[0][0] == 3
        message = report.errors[0][1]
        assert "PS99" in message and "yesterday" in message and "可防性" in message
        assert db.session.execute(sa.select(sa.func.count()).select_from(Incident)).scalar_one() == 2


def test_the_cli_imports_incidents(app, tmp_path):
    with app.app_context():
        make_unit("PS01")
        db.session.commit()
    path = tmp_path / "incidents.csv"
    path.write_text(CSV_HEAD + "JQ9,PS01,fraud,2026-10-03 08:15,,是\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-incidents", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
