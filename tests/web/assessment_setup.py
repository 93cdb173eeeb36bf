"""Rows for the main-assessment tests: four stations in two categories, two officers each, the
seed catalogue and an open quarterly cycle."""
import csv
import io
from datetime import date

import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment.catalogue import SEED_INDICATORS
from app.assessment.datapool import import_indicator_values
from app.assessment.services import seed_catalogue
from app.extensions import db
from app.models import Cycle, IndicatorValue, Unit

from ..factories import make_cycle, make_officer, make_unit

STATIONS = (("PS01", 1), ("PS02", 1), ("PS03", 3), ("PS04", 3))
HARD_UNIT = [code for code, _n, _d, level, _w, extra in SEED_INDICATORS
             if level == "unit" and not extra.get("is_soft") and extra.get("is_active", True)]
HARD_OFFICER = [code for code, _n, _d, level, _w, extra in SEED_INDICATORS
                if level == "officer" and not extra.get("is_soft")]


def build_world(kind="quarter", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31), name="2026年第四季度",
                open_it=True, stations=True) -> dict:
    """Call inside an app context; commits."""
    ids = {"units": {}, "officers": {}}
    if stations:
        existing = {u.code: u for u in db.session.execute(sa.select(Unit)).scalars()}
        bureau = existing.get("BJ")  # auth.as_role(unit_code="BJ") made it a station
        if bureau is None:
            bureau = make_unit("BJ", "示范县公安局", kind="bureau")
        bureau.kind, bureau.category = "bureau", None
        for i, (code, category) in enumerate(STATIONS):
            unit = existing.get(code) or make_unit(code, category=category, parent=bureau)
            unit.parent = bureau
            ids["units"][code] = unit.id
            for j in range(2):
                officer = make_officer(unit, name=f"民警{code}{j}", badge_no=f"B{i}{j}")
                ids["officers"][officer.badge_no] = officer.id
        seed_catalogue()
    cycle = make_cycle(name=name, kind=kind, starts_on=starts_on, ends_on=ends_on)
    if open_it:
        transition_cycle(cycle, "open")
    ids["cycle"] = cycle.id
    db.session.commit()
    return ids


def unit_rows(strength=None, skip=(), codes=None) -> list[dict]:
    """Unit-level hard values for every station; ``strength`` {code: 0–1} (PS04 weakest by default)."""
    strength = strength or {"PS01": 0.9, "PS02": 0.6, "PS03": 0.8, "PS04": 0.1}
    rows = []
    for code, _cat in STATIONS:
        s = strength[code]
        for ind in codes or HARD_UNIT:
            if (code, ind) in skip:
                continue
            if ind == "criminal_cases":
                rows.append({"unit_code": code, "indicator": ind, "value": round(20 * (1.2 - s)), "nonpreventable": 3})
            else:
                rows.append({"unit_code": code, "indicator": ind, "value": round(80 + 19 * s, 1)})
    return rows


def officer_rows(ids, base=90.0) -> list[dict]:
    rows = []
    for k, badge in enumerate(sorted(ids["officers"])):
        for ind in HARD_OFFICER:
            rows.append({"badge_no": badge, "indicator": ind, "value": base - 3 * k})
    return rows


def load(ids, rows):
    """Import rows into the world's cycle (inside an app context; commits)."""
    cycle = db.session.get(Cycle, ids["cycle"])
    report = import_indicator_values(cycle, list(enumerate(rows, start=2)), "upload", "test.csv")
    assert report.ok, report.errors
    db.session.commit()
    return report


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["单位代码", "警号", "指标代码", "数值", "不可防数"])
    for r in rows:
        writer.writerow([r.get("unit_code", ""), r.get("badge_no", ""), r["indicator"], r["value"],
                         r.get("nonpreventable", "")])
    return out.getvalue().encode("utf-8")


def value_count(app, **filters) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(IndicatorValue).filter_by(**filters))
