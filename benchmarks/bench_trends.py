"""Incident-trend model against synthetic series with known seasonality and trend.

Prints, per history length: the forecast's mean absolute error against the seasonal-naive
forecast (same month last year) and against the true mean; how often the 80 % prediction interval
held the observed count; peaks found on seasonal series (recall) and on flat ones (false alarms);
and the time to analyse a bureau's records (60 stations x 30 types x 5 years, plus the bureau).

    python benchmarks/bench_trends.py [--series 3000] [--seed 7]
    python benchmarks/bench_trends.py --database postgresql://postgres@127.0.0.1:5432/kaoping_bench_trends

With --database, it also builds a bureau's five years of incident records (60 stations, 30 types,
about 540,000 records) in that (emptied) database and times the pages' work: the bureau analysis
and one station's analysis shrunk toward the bureau's seasons.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.trends import IncidentSeries, TrendConfig, forecast_focus  # noqa: E402

HORIZON = 3


def make_series(rng, n, n_months, seasonal=True):
    """(counts (n, n_months + HORIZON), true means, true index (n, 12)), January first."""
    months = np.arange(n_months + HORIZON) % 12
    index = np.ones((n, 12))
    if seasonal:
        peak = rng.integers(0, 12, n)
        amplitude = rng.uniform(0.2, 0.8, n)
        width = rng.uniform(1.0, 2.5, n)
        distance = np.abs((np.arange(12)[None, :] - peak[:, None] + 6) % 12 - 6)
        index = 1 + amplitude[:, None] * np.exp(-(distance / width[:, None]) ** 2)
        index /= index.mean(axis=1, keepdims=True)
    level = np.exp(rng.uniform(np.log(3), np.log(120), n))
    growth = rng.uniform(0.85, 1.2, n)
    t = np.arange(n_months + HORIZON) / 12.0
    mean = level[:, None] * index[:, months] * growth[:, None] ** t[None, :]
    size = rng.uniform(8, 60, n)[:, None]          # negative-binomial overdispersion
    counts = rng.poisson(rng.gamma(size, mean / size))
    return counts.astype(float), mean, index


def evaluate(rng, n, n_months, config):
    counts, mean, index = make_series(rng, n, n_months)
    history, future = counts[:, :n_months], counts[:, n_months:]
    fc = forecast_focus(IncidentSeries(history, 1), HORIZON, config)
    naive = history[:, n_months - 12:n_months - 12 + HORIZON]
    mae = np.abs(fc.expected - future).mean()
    mae_naive = np.abs(naive - future).mean()
    mae_true = np.abs(fc.expected - mean[:, n_months:]).mean()
    mae_naive_true = np.abs(naive - mean[:, n_months:]).mean()
    covered = ((future >= fc.low) & (future <= fc.high)).mean()
    true_peak = index[:, (n_months + np.arange(HORIZON)) % 12] >= config.peak_ratio + 0.1
    recall = fc.peak[true_peak].mean() if true_peak.any() else float("nan")
    false_peak = fc.peak[index[:, (n_months + np.arange(HORIZON)) % 12] < 1.0].mean()
    flat, _, _ = make_series(rng, n, n_months, seasonal=False)
    flat_fc = forecast_focus(IncidentSeries(flat[:, :n_months], 1), HORIZON, config)
    every_month = IncidentSeries(flat[:, :n_months], 1)
    flat_all = forecast_focus(every_month, 12, config).peak  # the next 12 months: every calendar month
    flat_any = flat_all | flat_fc.peak[:, :1]
    return {
        "mae": mae, "mae_naive": mae_naive, "ratio": mae / mae_naive,
        "ratio_true": mae_true / mae_naive_true, "coverage": covered, "recall": recall,
        "false": false_peak, "flat": flat_any.any(axis=1).mean(),
    }


def bench_database(url: str, rng) -> None:
    from datetime import date, datetime, timedelta

    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.models import Incident, IncidentType, Unit
    from app.trends import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        bureau = Unit(code="BJ", name="bureau", kind="bureau")
        db.session.add(bureau)
        stations = [Unit(code=f"PS{i:02d}", name=f"station {i}", kind="station", category=1 + i % 3, parent=bureau)
                    for i in range(60)]
        db.session.add_all(stations)
        db.session.add_all([IncidentType(code=f"t{k}", name=f"type {k}", indicators=[]) for k in range(30)])
        db.session.flush()
        type_ids = [t.id for t in db.session.execute(sa.select(IncidentType).order_by(IncidentType.id)).scalars()]
        counts, _, _ = make_series(rng, 60 * 30, 60 - HORIZON)
        counts = np.minimum(counts / 4.0, 40).round().astype(int)   # about 5 a month per station and type
        first = date(2021, 12, 1)
        start = time.perf_counter()
        rows, serial = [], 0
        for s_index, station in enumerate(stations):
            for k, type_id in enumerate(type_ids):
                for month_index, n in enumerate(counts[s_index * 30 + k]):
                    month = services.add_months(first, month_index)
                    at = datetime(month.year, month.month, 2)
                    for _ in range(int(n)):
                        serial += 1
                        rows.append({"external_id": f"E{serial}", "unit_id": station.id, "incident_type_id": type_id,
                                     "received_at": at + timedelta(minutes=serial % 40000), "month": month,
                                     "is_preventable": True})
        for chunk in range(0, len(rows), 20000):
            db.session.execute(sa.insert(Incident), rows[chunk:chunk + 20000])
        db.session.commit()
        built = time.perf_counter() - start
        today = services.add_months(first, 60)
        start = time.perf_counter()
        whole = services.analyse(today)
        bureau_s = time.perf_counter() - start
        start = time.perf_counter()
        services.analyse(today, unit_id=stations[7].id, prior=whole)
        station_s = time.perf_counter() - start
        print(f"\nDatabase ({db.engine.dialect.name}): {len(rows):,} incident records written in {built:.1f} s;"
              f" bureau analysis {bureau_s:.2f} s; one station's page (bureau + station) {bureau_s + station_s:.2f} s")
        db.session.remove()
        db.drop_all()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", help="also time the analysis on records in this database (it is emptied)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    config = TrendConfig()
    print(f"{args.series} synthetic series per row; {HORIZON}-month forecasts; 80 % intervals\n")
    print("| history | MAE model | MAE seasonal-naive | model / naive (observed) | model / naive (true mean)"
          " | 80 % interval held | peaks found | peaks on low months | flat series with any peak |")
    print("|---|---|---|---|---|---|---|---|---|")
    for years in (2, 3, 4, 5):
        r = evaluate(rng, args.series, 12 * years, config)
        print(f"| {years} years | {r['mae']:.2f} | {r['mae_naive']:.2f} | {r['ratio']:.2f} | {r['ratio_true']:.2f}"
              f" | {r['coverage']:.3f} | {r['recall']:.2f} | {r['false']:.3f} | {r['flat']:.3f} |")

    counts, _, _ = make_series(rng, 60 * 30, 60)
    start = time.perf_counter()
    bureau = forecast_focus(IncidentSeries(counts.reshape(60, 30, -1).sum(axis=0)[:, :60], 1), HORIZON, config)
    prior = np.tile(bureau.seasonal_index, (60, 1))
    forecast_focus(IncidentSeries(counts[:, :60], 1), HORIZON, config, prior_index=prior)
    elapsed = time.perf_counter() - start
    print(f"\nA bureau's 5 years (60 stations x 30 types, and the bureau's 30 totals): {elapsed:.2f} s")
    if args.database:
        bench_database(args.database, rng)


if __name__ == "__main__":
    main()
