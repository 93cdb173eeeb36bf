"""A province's volume on PostgreSQL: more resident answers about officers than one statement may
carry parameters (65,535), and the score run and the individual report still work, with no
statement's parameter list growing with the data."""
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.assessment import runs
from app.extensions import db
from app.models import Cycle, Officer, ScoreRun, ServiceType

from .assessment_setup import build_world, load, unit_rows

N_ANSWERS = 66_560  # > 65,535; 8,320 per officer of the 8 in build_world


@pytest.fixture
def postgresql_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the 65,535-parameter limit is PostgreSQL's")


def _bulk_answers(officer_ids, unit_of):
    """N_ANSWERS answered links, round robin over the officers; per officer the levels cycle
    不满意, 很满意, 很满意, 很满意 (raw satisfaction exactly 75 %). Written with COPY."""
    service = ServiceType(name="户籍办理")
    db.session.add(service)
    db.session.flush()
    created = datetime(2026, 10, 2, 8, 0)
    driver = db.session.connection().connection.driver_connection
    base = 1_000_000
    with driver.cursor() as cursor:
        with cursor.copy("COPY resident_invitation (id, token_hash, service_type_id, unit_id, source, created_at,"
                         " expires_at, used_at) FROM STDIN") as copy:
            for i in range(N_ANSWERS):
                officer = officer_ids[i % len(officer_ids)]
                copy.write_row((base + i, f"{i:064x}", service.id, unit_of[officer], "batch", created,
                                created + timedelta(days=30), created + timedelta(days=1)))
        with cursor.copy("COPY resident_invitation_officer (invitation_id, officer_id) FROM STDIN") as copy:
            for i in range(N_ANSWERS):
                copy.write_row((base + i, officer_ids[i % len(officer_ids)]))
        with cursor.copy("COPY resident_response (invitation_id, unit_id, service_type_id, channel, answered_on,"
                         " overall, attitude, efficiency, fairness, resolved, comment) FROM STDIN") as copy:
            for i in range(N_ANSWERS):
                officer = officer_ids[i % len(officer_ids)]
                level = 1 if (i // len(officer_ids)) % 4 == 0 else 4
                day = date(2026, 10, 3) + timedelta(days=i % 80)
                copy.write_row((base + i, unit_of[officer], service.id, "link", day, level, level, level, level,
                                "yes", ""))
    db.session.commit()


class ParameterWatch:
    """The largest number of bound parameters any one statement carried."""

    def __init__(self, engine):
        self.engine, self.largest = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        rows = parameters if executemany else [parameters]
        for row in rows or ():
            self.largest = max(self.largest, len(row or ()))


def test_score_run_and_report_over_65535_answered_links(app, ctx, postgresql_only):
    from app.reports.services import officer_residents
    from app.residents.services import soft_indicator_values

    ids = build_world()
    load(ids, unit_rows())
    officers = db.session.execute(sa.select(Officer.id, Officer.unit_id).order_by(Officer.id)).all()
    officer_ids = [o.id for o in officers]
    assert len(officer_ids) == 8
    _bulk_answers(officer_ids, {o.id: o.unit_id for o in officers})
    cycle = db.session.get(Cycle, ids["cycle"])

    with ParameterWatch(db.engine) as watch:
        values = soft_indicator_values(cycle)
        assert watch.largest < 100
    per_officer = values["soft_residents_officer"]["details"]
    assert sorted(per_officer) == sorted(officer_ids)
    assert {d["n"] for d in per_officer.values()} == {N_ANSWERS // 8}
    assert {d["raw_rate"] for d in per_officer.values()} == {0.75}
    assert {d["n"] for d in values["soft_residents"]["details"].values()} == {N_ANSWERS // 4}  # 2 officers a station

    with ParameterWatch(db.engine) as watch:
        shown = officer_residents(db.session.get(Officer, officer_ids[0]), cycle)
        run = runs.compute_run(cycle)
        db.session.commit()
        assert watch.largest < 5000  # results are stored in batches, never one list of every id
    assert shown["n"] == N_ANSWERS // 8 and shown["raw_rate"] == 75.0
    assert db.session.get(ScoreRun, run.id).status == "done"


def _answer(officer, level, number):
    """One answered link about ``officer`` (through the ORM, on any database)."""
    from app.models import ResidentInvitation, ResidentResponse

    service = db.session.execute(sa.select(ServiceType)).scalars().first()
    if service is None:
        service = ServiceType(name="户籍办理")
        db.session.add(service)
    created = datetime(2026, 10, 2, 8, 0)
    invitation = ResidentInvitation(token_hash=f"{number:064x}", service_type=service, unit_id=officer.unit_id,
                                    created_at=created, expires_at=created + timedelta(days=30),
                                    used_at=created, officers=[officer])
    db.session.add(invitation)
    db.session.flush()
    db.session.add(ResidentResponse(invitation_id=invitation.id, unit_id=officer.unit_id, service_type_id=service.id,
                                    channel="link", answered_on=date(2026, 10, 5), overall=level, attitude=level,
                                    efficiency=level, fairness=level, resolved="yes"))
    db.session.commit()


def _officer_with_counted_scoring(monkeypatch):
    """An officer with three resident answers (4, 4, 1), their cycle, and the list of cycle ids each
    scoring of the cycle's resident answers appends to."""
    from app.residents import services as residents

    ids = build_world()
    officer = db.session.execute(sa.select(Officer).order_by(Officer.id)).scalars().first()
    for number, level in enumerate((4, 4, 1)):
        _answer(officer, level, number)
    calls: list[int] = []
    real = residents.soft_indicator_values
    monkeypatch.setattr(residents, "soft_indicator_values", lambda c: calls.append(c.id) or real(c))
    return officer, db.session.get(Cycle, ids["cycle"]), calls


def test_the_individual_report_scores_the_cycle_once_until_an_answer_comes(app, ctx, monkeypatch):
    from app.reports import services as reports

    officer, cycle, calls = _officer_with_counted_scoring(monkeypatch)
    first = reports.officer_residents(officer, cycle)
    again = reports.officer_residents(officer, cycle)
    assert first == again and first["n"] == 3 and first["raw_rate"] == round(100 * 2 / 3, 1)
    assert calls == [cycle.id]  # scored once for both reports
    _answer(officer, 4, 3)
    after = reports.officer_residents(officer, cycle)
    assert after["n"] == 4 and after["raw_rate"] == 75.0 and calls == [cycle.id, cycle.id]


def test_the_residents_scores_are_scored_again_when_an_officer_moves(app, ctx, monkeypatch):
    """The check whether the cached figures are still current reads no answers (a province's
    station dashboard paid 250 ms for an aggregate over every answer of the cycle), yet an audited
    transfer of an officer, which changes the group their rate is shrunk towards, is noticed."""
    from app.admin.services import save_officer
    from app.models import Unit
    from app.reports import services as reports

    officer, cycle, calls = _officer_with_counted_scoring(monkeypatch)
    reports.officer_residents(officer, cycle)
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    reports.officer_residents(officer, cycle)
    sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert calls == [cycle.id]
    reading_answers = [s for s in statements if "resident_response" in s]
    # one largest id (an index's last entry), not an aggregate over the cycle's answers
    assert reading_answers and all("answered_on" not in s and "sum(" not in s and "count(" not in s
                                   for s in reading_answers)
    other = db.session.execute(sa.select(Unit).where(Unit.kind == "station", Unit.id != officer.unit_id)
                               ).scalars().first()
    save_officer(officer, {"badge_no": officer.badge_no, "name": officer.name, "unit_id": other.id,
                           "position": officer.position, "is_leader": officer.is_leader})
    db.session.commit()
    reports.officer_residents(officer, cycle)
    assert calls == [cycle.id, cycle.id]
