"""Demo incidents: three years of records for every station with the seasons a county sees
(fraud around the Spring Festival, thefts and fights in summer, fire hazards in winter), a draft
2027 first-quarter cycle, and the proposal the trends make for it."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Cycle, Incident, IncidentType, Unit
from . import services

FIRST, LAST = date(2023, 12, 1), date(2026, 11, 1)
CATEGORY_SCALE = {1: 1.5, 2: 1.0, 3: 0.55}
# type code → (monthly level at a category-2 station, growth per year, season: month → index)
PROFILES = {
    "fraud": (6.0, 1.15, {1: 1.9, 2: 1.8, 12: 1.3}),
    "theft": (8.0, 0.97, {6: 1.3, 7: 1.6, 8: 1.6, 9: 1.2}),
    "burglary": (2.5, 1.0, {1: 1.4, 2: 1.5, 12: 1.2}),
    "dispute": (10.0, 1.0, {2: 1.2, 10: 1.15}),
    "fight": (3.0, 1.0, {6: 1.4, 7: 1.6, 8: 1.5}),
    "traffic": (4.0, 1.0, {}),
    "fire": (1.5, 1.0, {12: 1.7, 1: 1.9, 2: 1.6}),
    "help": (12.0, 1.03, {}),
}
OUTCOMES = ["已处置", "已调解", "已立案", "已移交", "无效警情"]


def _index(season: dict[int, float], month: int) -> float:
    base = sum(season.get(m, 1.0) for m in range(1, 13)) / 12
    return season.get(month, 1.0) / base


def _poisson(rng, mean: float) -> int:
    """Knuth's method (the demo's means are small)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def seed_trends(rng):
    if db.session.execute(sa.select(Incident.id).limit(1)).first():
        return None
    services.seed_incident_types()
    types = {t.code: t for t in db.session.execute(sa.select(IncidentType)).scalars()}
    stations = list(db.session.execute(sa.select(Unit).where(Unit.kind == "station").order_by(Unit.code)).scalars())
    rows, serial = [], 0
    n_months = services.months_between(FIRST, LAST)
    for station in stations:
        scale = CATEGORY_SCALE.get(station.category or 2, 1.0)
        for code, (level, growth, season) in PROFILES.items():
            for k in range(n_months):
                month = services.add_months(FIRST, k)
                # Overdispersed like real records: a gamma-distributed monthly rate.
                mean = scale * level * _index(season, month.month) * growth ** (k / 12) * rng.gammavariate(12, 1 / 12)
                for _ in range(_poisson(rng, mean)):
                    serial += 1
                    local = datetime(month.year, month.month, 1) + timedelta(
                        days=rng.randrange(28), minutes=rng.randrange(24 * 60))
                    received = local - timedelta(hours=8)  # stored in UTC
                    dispatched = received + timedelta(minutes=rng.randint(1, 6))
                    arrived = dispatched + timedelta(minutes=max(3, int(rng.gauss(14, 6) * (1.4 if scale < 1 else 1))))
                    rows.append({
                        "external_id": f"JQ{serial:08d}", "unit_id": station.id, "incident_type_id": types[code].id,
                        "received_at": received, "month": month, "dispatched_at": dispatched, "arrived_at": arrived,
                        "closed_at": arrived + timedelta(minutes=rng.randint(10, 240)),
                        "outcome": rng.choice(OUTCOMES), "is_preventable": code not in ("traffic", "help"),
                    })
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(Incident), rows[start:start + 5000])
    cycle = db.session.execute(
        sa.select(Cycle).filter_by(kind="quarter", starts_on=date(2027, 1, 1))).scalar_one_or_none()
    if cycle is None:
        cycle = Cycle(name="2027年第一季度考评", kind="quarter", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31),
                      deadline_on=date(2027, 3, 20), config={})
        db.session.add(cycle)
        db.session.flush()
    proposed = services.propose(cycle, date(2026, 12, 2)) if cycle.status == "draft" else []
    return f"{len(rows)} incidents in {len(stations)} stations, {len(proposed)} seasonal proposals for {cycle.name}"
