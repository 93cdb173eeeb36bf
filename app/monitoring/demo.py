"""Demo monitoring: a year of cases for every station with their stages (a few overdue), this
month's incidents so far, and last month's self-checks in every state (not started, in progress,
submitted, returned, accepted with a gap), with rectification items, one of them overdue."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from ..claims.services import import_case_records
from ..extensions import db
from ..models import Incident, IncidentType, Officer, SelfCheck, Unit, User
from ..trends.services import add_months, upsert_incidents
from . import selfcheck, services

CASE_SCALE = {1: 1.6, 2: 1.0, 3: 0.5}
# month → index: thefts in summer, fraud (刑事) around the Spring Festival
CRIMINAL_SEASON = {1: 1.5, 2: 1.6, 7: 1.4, 8: 1.4}
STATES = ("accepted", "submitted", "returned", "draft", None)


def _cases(rng, stations, officers, today) -> list[dict]:
    rows: list[dict] = []
    first = add_months(today.replace(day=1), -11)
    overdue_left = {s.id: (1 if i % 3 == 0 else 0) + (1 if i % 5 == 0 else 0) for i, s in enumerate(stations)}
    for station in stations:
        badges = officers.get(station.id) or [""]
        for kind, accepted in _case_openings(rng, first, CASE_SCALE.get(station.category, 1.0), today):
            age = (today - accepted).days
            row = {"case_ref": f"DEMO{accepted:%Y%m}{len(rows) + 1:05d}", "case_date": accepted.isoformat(),
                   "case_type": kind, "unit_code": station.code, "is_preventable": rng.random() < 0.8,
                   "officer_badge": rng.choice(badges)}
            overdue = age > 40 and overdue_left[station.id] > 0 and rng.random() < 0.3
            if overdue:
                overdue_left[station.id] -= 1
                row.update(_overdue_progress(rng, kind, accepted, today))
            elif kind == "治安":
                row.update(_public_order_progress(rng, accepted, age))
            else:
                row.update(_criminal_progress(rng, accepted, today))
            rows.append(row)
    return rows


def _case_openings(rng, first: date, scale: float, today: date) -> Iterator[tuple[str, date]]:
    """(case type, acceptance date) of a station's cases over the twelve months from ``first``:
    more criminal cases in their season, none after today."""
    for k in range(12):
        month = add_months(first, k)
        for kind, level in (("刑事", 5.0), ("治安", 9.0)):
            season = CRIMINAL_SEASON.get(month.month, 0.9) if kind == "刑事" else 1.0
            for _ in range(max(0, round(rng.gauss(level * scale * season, 1.5)))):
                accepted = month + timedelta(days=rng.randrange(28))
                if accepted <= today:
                    yield kind, accepted


def _overdue_progress(rng, kind: str, accepted: date, today: date) -> dict[str, str]:
    """Filed the next day and stuck there; a criminal case's deadline passed a few days ago."""
    progress = {"filed_on": (accepted + timedelta(days=1)).isoformat()}
    if kind == "刑事":
        progress["deadline"] = (today - timedelta(days=rng.randint(1, 9))).isoformat()
    return progress


def _public_order_progress(rng, accepted: date, age: int) -> dict[str, str]:
    """A 治安 case: filed after a few days, mostly solved within a few weeks."""
    progress = {}
    if age > 3:
        progress["filed_on"] = (accepted + timedelta(days=1)).isoformat()
    if age > 12 or (age > 5 and rng.random() < 0.6):
        progress["solved_on"] = (accepted + timedelta(days=rng.randint(3, min(age, 25)))).isoformat()
    return progress


def _criminal_progress(rng, accepted: date, today: date) -> dict[str, str]:
    """A 刑事 case: filed within days, most older ones solved and then transferred; one unsolved for
    long has an extended deadline (approved in the case system)."""
    age = (today - accepted).days
    progress = {}
    if age > 4:
        progress["filed_on"] = (accepted + timedelta(days=rng.randint(1, 4))).isoformat()
    if age > 20 and rng.random() < 0.7:
        solved = accepted + timedelta(days=rng.randint(10, min(age, 50)))
        progress["solved_on"] = solved.isoformat()
        if (today - solved).days > 10 and rng.random() < 0.7:
            progress["transferred_on"] = (solved + timedelta(days=rng.randint(5, 10))).isoformat()
    elif age > 50:  # unsolved for long: the extension approved in the case system
        progress["deadline"] = (today + timedelta(days=rng.randint(4, 90))).isoformat()
    return progress


def _incidents_so_far(rng, stations, today) -> list[dict]:
    """This month's incidents up to now, so the live page has a day and a month to show."""
    types = list(db.session.execute(sa.select(IncidentType.id)).scalars())
    if not types:
        return []
    now = datetime.now(UTC).replace(tzinfo=None)
    start = datetime.combine(today.replace(day=1), datetime.min.time()) - timedelta(hours=8)
    span = max(int((now - start).total_seconds() // 60), 1)
    rows = []
    for station in stations:
        slow = 1.4 if station.category == 3 else 1.0
        for n in range(int(rng.gauss(1.6, 0.3) * max(1, (now - start).days + 1) * CASE_SCALE[station.category])):
            received = start + timedelta(minutes=rng.randrange(span))
            arrived = received + timedelta(minutes=max(2, int(rng.gauss(11, 5) * slow)))
            rows.append({"external_id": f"LIVE{station.code}{today:%Y%m}{n:04d}", "unit_id": station.id,
                         "incident_type_id": rng.choice(types), "received_at": received,
                         "dispatched_at": received + timedelta(minutes=2),
                         "arrived_at": arrived if arrived < now else None, "outcome": "",
                         "is_preventable": True})
    return rows


def _self_checks(rng, stations, today) -> dict[str, int]:
    month = add_months(today.replace(day=1), -1)
    office = db.session.execute(sa.select(User).filter_by(username="admin")).scalar_one_or_none()
    leaders = dict(db.session.execute(
        sa.select(Officer.unit_id, User).join(User, User.officer_id == Officer.id).where(Officer.is_leader)).all())
    made: dict[str, int] = {}
    for i, station in enumerate(stations):
        state, leader = STATES[i % len(STATES)], leaders.get(station.id)
        if state is None or leader is None or office is None:
            continue
        check = selfcheck.open_self_check(station, month, leader)
        entries: dict[int, tuple[float | None, str]] = {item.id: (float(rng.randint(70, 98)), "")
                                                        for item in check.items}
        selfcheck.save_items(check, entries, "本月各项工作总体平稳，接处警时效仍需提高。")
        for item in check.items:
            if item.light == "red":
                due = month + timedelta(days=40 if i % 2 else 25)  # half of them already overdue
                owner = leader.officer.name if leader.officer else ""
                selfcheck.add_rectification(check, item, f"针对“{item.name}”制定整改措施", owner, due)
        if state in ("submitted", "returned", "accepted"):
            selfcheck.submit(check, leader)
        if state == "returned":
            selfcheck.return_check(check, "整改措施过于笼统，请写明具体时限和责任人。", office)
        if state == "accepted":
            verified: dict[int, float | None] = {
                item.id: None if item.self_score is None else item.self_score - (20 if n == 0 else 0)
                for n, item in enumerate(check.items)}
            selfcheck.accept(check, verified, office)
        made[state] = made.get(state, 0) + 1
    return made


def seed_monitoring(rng):
    if db.session.execute(sa.select(SelfCheck.id).limit(1)).first():
        return None
    today = services.today()
    stations = list(db.session.execute(sa.select(Unit).where(Unit.kind == "station", Unit.is_active)
                                       .order_by(Unit.code)).scalars())
    officers: dict[int, list[str]] = {}
    for unit_id, badge in db.session.execute(sa.select(Officer.unit_id, Officer.badge_no).where(Officer.is_active)):
        officers.setdefault(unit_id, []).append(badge)
    report = import_case_records(_cases(rng, stations, officers, today), source="demo")
    if not report.ok:
        raise RuntimeError(f"demo cases refused: {report.errors[:3]}")
    have = db.session.execute(sa.select(Incident.id).where(Incident.external_id.like("LIVE%")).limit(1)).first()
    created = 0 if have else upsert_incidents(_incidents_so_far(rng, stations, today))[0]
    made = _self_checks(rng, stations, today)
    return (f"{report.created} cases, {created} incidents this month, last month's self-checks "
            + ", ".join(f"{k} {v}" for k, v in sorted(made.items())))
