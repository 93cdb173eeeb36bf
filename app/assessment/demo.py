"""Demo data of the main assessment (a step of `flask seed-demo`).

Adds the indicator catalogue; imports app/demo/data/indicator-values-demo.csv (every station's
unit-level values and the station officers' officer-level values) into the open demo cycle; and
builds three past annual cycles, 2023, 2024 and 2025年度考评 (2025 with a seasonal weight on
anti-fraud work and a bonus pool), each closed with a stored run. 2023 is published (final);
2024 and 2025 are left computed, for the results step (app/results/demo.py) to take through the
committee and the public notice (公示): 2024 to final, 2025 into its notice. 石桥派出所 (PS12) is
last in category 3 every year, so that the 约谈 flag arises once 2024 is final.

The past years show the assessment rules at work:

* a re-classification: in 2024 only 城关派出所 (PS01) was 一类 — a station alone in its category,
  graded against the bureau-wide quota and scored against its category's targets — and PS02–PS04
  were 二类; they became 一类 for 2025. Each year's result keeps that year's category, and the
  约谈 flag compares each year within it;
* a withheld indicator: in 2025 白沙派出所 (PS10) supplied no 风险隐患排查整改率; it counts as 0, and
  the run goes to the committee with an audited reason (WITHHELD_NOTE);
* counts compared like with like: the demo counts 刑事案件发案数 per 10,000 residents of each
  station's area (target 2.5, floor 7), which the catalogue offers as an option.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from ..extensions import db
from ..models import Cycle, Officer, Unit

DATA_FILE = Path(__file__).resolve().parent.parent / "demo" / "data" / "indicator-values-demo.csv"
PAST_YEARS = ((2023, "2023年度考评"), (2024, "2024年度考评"), (2025, "2025年度考评"))
PUBLISHED_YEARS = (2023,)  # final here; the results step takes 2024 and 2025 further
WEAKEST = "PS12"  # last in its category (三类) in every past year
CATEGORIES_2024 = {"PS02": 2, "PS03": 2, "PS04": 2}  # re-classified to 一类 for 2025: PS01 alone before
WITHHELD_2025 = ("PS10", "risk_rectification")
WITHHELD_NOTE = ("白沙派出所的风险隐患排查整改率因基础管控平台迁移未能导出；提请考评委员会审定，"
                 "该项按 0 分计。")

# indicator → (base, spread by strength) for rates and points; capped at 100
UNIT_PROFILES = {
    "case_compliance": (88, 10), "bodycam_usage": (90, 9), "case_venue_usage": (86, 12),
    "fraud_prevention": (80, 15), "key_person_control": (92, 7),
    "risk_rectification": (85, 13), "callback_satisfaction": (88, 10), "window_efficiency": (90, 9),
    "dispute_mediation": (80, 15), "discipline": (85, 14), "training_rate": (85, 14), "housekeeping": (80, 19),
}
OFFICER_PROFILES = {"officer_case_compliance": (85, 14), "officer_control_tasks": (80, 19),
                    "officer_training": (70, 30)}


def _value(rng, base, spread, strength) -> float:
    return round(min(100.0, base + spread * strength + rng.uniform(-1.0, 1.0)), 1)


def _strengths(rng, stations) -> dict[str, float]:
    return {s.code: (0.0 if s.code == WEAKEST else round(rng.uniform(0.35, 1.0), 3)) for s in stations}


def unit_rows(rng, stations, strength) -> list[dict]:
    rows = []
    for station in stations:
        s = strength[station.code]
        for code, (base, spread) in UNIT_PROFILES.items():
            rows.append({"unit_code": station.code, "indicator": code, "value": _value(rng, base, spread, s)})
        size = {1: 30, 2: 20, 3: 12}[station.category]
        rows.append({"unit_code": station.code, "indicator": "criminal_cases",
                     "value": round(size * (1.3 - s) + rng.randint(0, 3)), "nonpreventable": rng.randint(1, 6)})
    return rows


def officer_rows(rng, officers, strength) -> list[dict]:
    rows = []
    for officer in officers:
        s = 0.5 * strength[officer.unit.code] + 0.5 * rng.random()
        for code, (base, spread) in OFFICER_PROFILES.items():
            rows.append({"badge_no": officer.badge_no, "indicator": code, "value": _value(rng, base, spread, s)})
    return rows


def _stations():
    return db.session.execute(db.select(Unit).where(Unit.kind == "station").order_by(Unit.code)).scalars().all()


def write_demo_file(rng, path: Path = DATA_FILE) -> int:
    """(Re)write the demo indicator file from the demo organisation; returns the row count.
    Run once in a `flask shell` after `seed-demo` if the demo organisation changes."""
    stations = _stations()
    strength = _strengths(rng, stations)
    officers = db.session.execute(
        db.select(Officer).join(Officer.unit).where(Unit.kind == "station").order_by(Officer.badge_no)
    ).scalars().all()
    rows = unit_rows(rng, stations, strength) + officer_rows(rng, officers, strength)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["单位代码", "警号", "指标代码", "数值", "不可防数"])
    for r in rows:
        writer.writerow([r.get("unit_code", ""), r.get("badge_no", ""), r["indicator"], r["value"],
                         r.get("nonpreventable", "")])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")
    return len(rows)


def _station_officers():
    return db.session.execute(
        db.select(Officer).join(Officer.unit).where(Unit.kind == "station", Officer.is_active)
        .order_by(Officer.badge_no)).scalars().all()


def seed_assessment(rng):
    """The demo step: idempotent (nothing happens once 2023年度考评 exists)."""
    from ..admin.services import transition_cycle
    from .datapool import import_indicator_file, import_indicator_values
    from .runs import compute_run, publish_run
    from .services import cycle_config, cycle_options, save_settings, seed_catalogue

    if db.session.execute(db.select(Cycle).filter_by(name=PAST_YEARS[0][1])).scalar_one_or_none():
        return None
    added = seed_catalogue()
    _per_capita_cases()
    stations = _stations()
    officers = _station_officers()
    summary = [f"{added} indicators"]

    today = {s.code: s.category for s in stations}
    for year, name in PAST_YEARS:
        cycle = Cycle(name=name, kind="year", starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                      deadline_on=date(year, 12, 20), config={})
        db.session.add(cycle)
        db.session.flush()
        if year == 2025:
            _demo_settings(cycle, cycle_config(cycle), cycle_options(cycle), save_settings)
        _classify(stations, CATEGORIES_2024 if year < 2025 else {}, today)
        transition_cycle(cycle, "open")
        strength = _strengths(rng, stations)
        rows = unit_rows(rng, stations, strength)
        if year == 2025:
            rows = [r for r in rows if (r["unit_code"], r["indicator"]) != WITHHELD_2025]
        rows += officer_rows(rng, officers, strength)  # officers' grades feed the promotion view
        report = import_indicator_values(cycle, list(enumerate(rows, start=2)), "upload", f"demo-{year}.csv")
        assert report.ok, report.errors
        transition_cycle(cycle, "closed")
        run = compute_run(cycle, reason="")
        if year in PUBLISHED_YEARS:
            publish_run(run)
            summary.append(f"{name} published (run v{run.version})")
        else:
            summary.append(f"{name} computed (run v{run.version})")
    _classify(stations, {}, today)

    current = db.session.execute(
        db.select(Cycle).filter_by(status="open").order_by(Cycle.starts_on.desc())).scalars().first()
    if current is not None and DATA_FILE.exists():
        report = import_indicator_file(current, DATA_FILE.name, DATA_FILE.read_bytes())
        assert report.ok, report.errors[:5]
        summary.append(f"{report.stored} indicator values in {current.name}")
    return "; ".join(summary)


def _per_capita_cases() -> None:
    """刑事案件发案数 per 10,000 residents: one target for every category, since the counts now
    compare like with like."""
    from .services import indicator_map, save_indicator

    ind = indicator_map().get("criminal_cases")
    if ind is None or ind.per_capita:
        return
    save_indicator(ind, {"level": ind.level, "method": "target", "direction": ind.direction, "dimension": ind.dimension,
                         "code": ind.code, "per_capita": True, "target": 2.5, "floor": 7.0,
                         "category_targets": None, "category_floors": None, "unit_of_measure": "件/万人",
                         "max_value": 100000.0, "min_value": 0.0})


def _classify(stations, changes: dict[str, int], today: dict[str, int]) -> None:
    """Give the stations a year's categories (today's, changed by ``changes``), audited."""
    from ..audit import record

    for station in stations:
        category = changes.get(station.code, today[station.code])
        if station.category != category:
            record("unit_reclassified", "unit", station.id, before={"category": station.category},
                   after={"category": category}, note="演示数据：类别调整")
            station.category = category
    db.session.flush()


def _demo_settings(cycle, config, options, save_settings) -> None:
    """2025: the seasonal example (anti-fraud × 1.5) and a bonus pool of 120 000 yuan for stations."""
    save_settings(cycle, {
        "dimension_weights": dict(config.dimension_weights),
        "indicator_weights": {s.code: s.weight for s in config.indicators},
        "difficulty": dict(config.difficulty),
        "nonpreventable_weight": options["nonpreventable_weight"],
        "seasonal": {"fraud_prevention": 1.5},
        "missing": config.missing, "min_coverage": config.min_coverage,
        "grades": {"mode": config.grades.mode, "shares": config.grades.shares, "caps": config.grades.caps,
                   "thresholds": config.grades.thresholds, "within_category": config.grades.within_category,
                   "on": config.grades.on},
        "bonus": {"floor": 60.0, "on": "adjusted", "pool_cents": 12_000_000, "basis": "unit"},
        "bonus_level": "unit", "dual_track": options["dual_track"], "rollup": options["rollup"],
    })
