"""Soft indicators (柔性指标): values this platform computes itself, fed into the assessment.

Feature packages register providers in :data:`SOFT_PROVIDERS`. A provider takes a cycle and
returns ``{code: {"level": "unit"|"officer", "values": {subject_id: float},
"details": {subject_id: dict}}}`` (subject ids are unit ids or officer ids). Codes understood here:

================================  ======== =====================================================
provider code                      level    value
================================  ======== =====================================================
``soft_360``                       officer  bias-adjusted 360 overall score on the 1–5 scale
``teamwork_peer``                  officer  mean peer rating of the teamwork items, 1–5
``soft_residents``                 unit     resident satisfaction rate × 100 (0–100)
``soft_residents_officer``         officer  resident satisfaction rate × 100 (0–100)
``team_points``                    officer  Team Contribution Award points (>= 0)
``team_points_unit``               unit     Team Contribution Award points (>= 0)
================================  ======== =====================================================

Details are shown on the breakdown page as they come, after the 360 anonymity gate
(``feedback.services.gated_breakdown``: a 360-based figure from too few raters other than the viewer is
hidden, and rater counts, careless and collusion flags are for admins only); these keys are shown as the steps of the
soft indicator's own arithmetic when present: ``raw`` (before adjustment), ``bias_adjusted``
(after the rater-bias correction), ``shrunk`` (after shrinkage towards the group mean), ``n``
(raters or answers). ``soft_360`` details may carry ``competencies``: {name: score 1–5}, which the
dual track uses to name an officer's weakest competencies.

How provider codes map onto the catalogue (:func:`soft_indicator_values`):

* ``soft_residents`` ← ``soft_residents`` (units); ``soft_residents_officer`` likewise (officers).
* ``soft_360`` (officers) = (score − 1) × 25, the 1–5 scale mapped onto 0–100; for units
  (``soft_360@unit``) the mean of the unit's officers.
* ``soft_teamwork`` (officers) = mean of the parts present of: team points normalised within the
  station category (the category's highest = 100, everyone 0 → 0) and ``teamwork_peer`` mapped
  (score − 1) × 25. For units (``soft_teamwork@unit``): ``team_points_unit`` normalised within
  the category, and the mean of the unit's officers' mapped ``teamwork_peer``, averaged.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

SOFT_PROVIDERS: list[Callable] = []


def register_provider(provider: Callable) -> None:
    """Add a provider once (create_app may run several times in one process)."""
    if provider not in SOFT_PROVIDERS:
        SOFT_PROVIDERS.append(provider)


def collect(cycle) -> dict[str, dict]:
    """Run every provider; later providers win on the same code."""
    out: dict[str, dict] = {}
    for provider in SOFT_PROVIDERS:
        for code, block in (provider(cycle) or {}).items():
            out[code] = {"level": block.get("level", "unit"),
                         "values": {int(k): float(v) for k, v in (block.get("values") or {}).items()
                                    if v is not None},
                         "details": {int(k): v for k, v in (block.get("details") or {}).items()}}
    return out


def _scale_1_5(v: float) -> float:
    return max(0.0, min(100.0, (v - 1.0) * 25.0))


def _normalise_within(values: dict[int, float], category: dict[int, int]) -> dict[int, float]:
    """Points → 0–100, the highest of the category = 100 (a category all at 0 → 0)."""
    best: dict[int, float] = defaultdict(float)
    for sid, v in values.items():
        if sid in category:
            best[category[sid]] = max(best[category[sid]], v)
    return {sid: (100.0 * v / best[category[sid]] if best[category[sid]] > 0 else 0.0)
            for sid, v in values.items() if sid in category}


def _mean_by_unit(values: dict[int, float], officer_unit: dict[int, int]) -> dict[int, tuple[float, int]]:
    sums: dict[int, list[float]] = defaultdict(list)
    for oid, v in values.items():
        if oid in officer_unit:
            sums[officer_unit[oid]].append(v)
    return {uid: (sum(vs) / len(vs), len(vs)) for uid, vs in sums.items()}


def soft_indicator_values(provided: dict[str, dict], unit_category: dict[int, int],
                          officer_unit: dict[int, int]) -> dict[tuple[str, str], dict]:
    """Map the providers' codes onto catalogue spec codes.

    unit_category : station id → category; officer_unit : officer id → station id (officers
    outside stations are not scored). Returns {(level, spec code): {"values": {id: 0–100},
    "details": {id: dict}}}; a code nobody provided is absent (reported missing, never zero).
    """
    officer_category = {oid: unit_category[uid] for oid, uid in officer_unit.items() if uid in unit_category}
    out: dict[tuple[str, str], dict] = {}

    def block(code):
        return provided.get(code) or {"values": {}, "details": {}}

    for code, level in (("soft_residents", "unit"), ("soft_residents_officer", "officer")):
        if code in provided:
            b = block(code)
            out[(level, code)] = {"values": {k: max(0.0, min(100.0, v)) for k, v in b["values"].items()},
                                  "details": b["details"]}

    if "soft_360" in provided:
        b = block("soft_360")
        officers = {oid: _scale_1_5(v) for oid, v in b["values"].items() if oid in officer_unit}
        out[("officer", "soft_360")] = {
            "values": officers,
            "details": {oid: {**b["details"].get(oid, {}), "score_1_5": b["values"][oid]} for oid in officers}}
        means = _mean_by_unit(officers, officer_unit)
        out[("unit", "soft_360@unit")] = {"values": {u: m for u, (m, _n) in means.items()},
                                          "details": {u: {"officers": n, "rule": "mean"} for u, (_m, n) in
                                                      means.items()}}

    if "team_points" in provided or "teamwork_peer" in provided:
        points = _normalise_within(block("team_points")["values"], officer_category)
        peer_raw = block("teamwork_peer")["values"]
        peer_details = block("teamwork_peer")["details"]
        peer = {oid: _scale_1_5(v) for oid, v in peer_raw.items() if oid in officer_unit}
        values, details = {}, {}
        for oid in sorted(set(points) | set(peer)):
            parts = [p for p in (points.get(oid), peer.get(oid)) if p is not None]
            values[oid] = sum(parts) / len(parts)
            details[oid] = {"team_points": block("team_points")["values"].get(oid),
                            "team_points_normalised": points.get(oid),
                            "teamwork_peer": peer_raw.get(oid), "teamwork_peer_scaled": peer.get(oid),
                            # for the anonymity gate of whoever views the result (feedback.gated_breakdown)
                            "teamwork_peer_raters": (peer_details.get(oid) or {}).get("rater_groups")}
        out[("officer", "soft_teamwork")] = {"values": values, "details": details}

        unit_points_raw = block("team_points_unit")["values"]
        unit_points = _normalise_within(unit_points_raw, unit_category)
        unit_peer = _mean_by_unit(peer, officer_unit)
        uvalues, udetails = {}, {}
        for uid in sorted(set(unit_points) | set(unit_peer)):
            parts = [p for p in (unit_points.get(uid), unit_peer.get(uid, (None, 0))[0]) if p is not None]
            uvalues[uid] = sum(parts) / len(parts)
            udetails[uid] = {"team_points": unit_points_raw.get(uid), "team_points_normalised": unit_points.get(uid),
                             "teamwork_peer_scaled": unit_peer.get(uid, (None, 0))[0],
                             "teamwork_officers": unit_peer.get(uid, (None, 0))[1]}
        out[("unit", "soft_teamwork@unit")] = {"values": uvalues, "details": udetails}
    return out
