"""Team Contribution Award points: the cycle's points rules, each claim's points with its formula,
the cycle's standing (units, teams, officers) and the 团队协作 soft indicator built from it.

The arithmetic is :func:`scoring.team.score_team`; this module loads rows, builds the arrays and
explains the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from scoring.team import ClaimSet, PointsRules, score_team

from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import (
    ClaimParticipant,
    CollaborationClaim,
    Cycle,
    Unit,
    User,
)

SEVERITY_ORDER = ("一般", "较大", "重大", "特别重大")

# Used for a cycle that opened without rules of its own (written into its config on open).
DEFAULT_POINTS_RULES = PointsRules(
    base_points={
        ("刑事", "一般"): 10, ("刑事", "较大"): 15, ("刑事", "重大"): 25, ("刑事", "特别重大"): 40,
        ("治安", "一般"): 5, ("治安", "较大"): 8, ("治安", "重大"): 12,
        ("电信诈骗", "一般"): 8, ("电信诈骗", "较大"): 12, ("电信诈骗", "重大"): 20,
        ("交通", "一般"): 4, ("交通", "较大"): 6, ("交通", "重大"): 10,
    },
    multiplier_step=0.25,
    multiplier_cap=2.0,
    officer_cap=60.0,
    min_unit_share=10.0,
)


def points_rules(cycle: Cycle) -> PointsRules:
    """The cycle's frozen rules, or the defaults when it has none."""
    data = (cycle.config or {}).get("points_rules")
    if not data:
        return DEFAULT_POINTS_RULES
    return PointsRules.from_dict(data)


def _severity_key(severity: str):
    return (SEVERITY_ORDER.index(severity), "") if severity in SEVERITY_ORDER else (len(SEVERITY_ORDER), severity)


def case_types(rules: PointsRules) -> list[str]:
    return sorted({ct for ct, _sev in rules.base_points})


def severities(rules: PointsRules) -> list[str]:
    return sorted({sev for _ct, sev in rules.base_points}, key=_severity_key)


def rules_as_text(rules: PointsRules) -> str:
    """One line per entry: ``案件类别 严重程度 分值`` (what the admin edits)."""
    rows = sorted(rules.base_points.items(), key=lambda kv: (kv[0][0], _severity_key(kv[0][1])))
    return "\n".join(f"{ct} {sev} {pts:g}" for (ct, sev), pts in rows)


def _parse_rules_text(text: str) -> dict[tuple[str, str], float]:
    table: dict[tuple[str, str], float] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        parts = line.replace(",", " ").replace("，", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            raise DomainError(_("第 %(n)d 行应为“案件类别 严重程度 分值”三项。", n=number), field="base_points")
        try:
            points = float(parts[2])
        except ValueError:
            raise DomainError(_("第 %(n)d 行的分值不是数字。", n=number), field="base_points") from None
        if not (0 <= points <= 10_000):
            raise DomainError(_("第 %(n)d 行的分值应在 0 到 10000 之间。", n=number), field="base_points")
        if (parts[0], parts[1]) in table:
            raise DomainError(_("第 %(n)d 行重复了“%(t)s %(s)s”。", n=number, t=parts[0], s=parts[1]),
                              field="base_points")
        if len(parts[0]) > 20 or len(parts[1]) > 20:
            raise DomainError(_("第 %(n)d 行的类别或严重程度过长（最多 20 个字）。", n=number), field="base_points")
        table[(parts[0], parts[1])] = points
    if not table:
        raise DomainError(_("至少需要一条基础分值。"), field="base_points")
    return table


def save_points_rules(cycle: Cycle, data: dict, user: User | None = None) -> PointsRules:
    """Store a cycle's points rules (only while it is a draft). ``data``: base_points text,
    multiplier_step, multiplier_cap, officer_cap (None = no cap), min_unit_share (percent, default 10)."""
    if cycle.is_frozen:
        raise DomainError(_("周期已开启，积分规则已冻结，不能再修改。"))
    table = _parse_rules_text(data.get("base_points", ""))
    try:
        rules = PointsRules(base_points=table, multiplier_step=data["multiplier_step"],
                            multiplier_cap=data["multiplier_cap"], officer_cap=data.get("officer_cap"),
                            min_unit_share=data.get("min_unit_share", DEFAULT_POINTS_RULES.min_unit_share))
    except (TypeError, ValueError) as error:
        raise DomainError(_("积分规则无效：%(e)s", e=str(error))) from error
    before = (cycle.config or {}).get("points_rules")
    cycle.config = {**(cycle.config or {}), "points_rules": rules.to_dict()}
    db.session.flush()
    record("points_rules_saved", "cycle", cycle.id, before={"points_rules": before},
           after={"points_rules": rules.to_dict()}, user_id=user.id if user else None)
    return rules


def freeze_points_rules(cycle: Cycle) -> None:
    """BEFORE_TRANSITION["open"] hook: a cycle opens with explicit rules (the defaults if none)."""
    if not (cycle.config or {}).get("points_rules"):
        cycle.config = {**(cycle.config or {}), "points_rules": DEFAULT_POINTS_RULES.to_dict()}
        db.session.flush()


@dataclass
class TeamStanding:
    """Points of a cycle's approved claims (see scoring.team.score_team); cents = 0.01 point."""

    cycle: Cycle | None  # None in the copy cached beyond a request (claims.standing)
    rules: PointsRules
    units: list[dict] = field(default_factory=list)  # best first: unit, cents, uncapped, rank, claims
    teams: list[dict] = field(default_factory=list)  # best first: units, cents, claims, rank
    officers: dict[int, dict] = field(default_factory=dict)  # officer id → cents, uncapped, capped, claims
    claims: dict[int, dict] = field(default_factory=dict)  # claim id → cents, multiplier, rows {officer: cents}
    skipped: list[int] = field(default_factory=list)  # approved claims whose category has no points
    top_officers: list[dict] = field(default_factory=list)  # best first: officer, cents, uncapped, capped


@dataclass
class ClaimPoints:
    """How one claim's points come about, for the claim page and the review queue (cents = 0.01 point).

    ``units``: [{unit_id, bp (the unit's summed share), counted (reaches the threshold)}];
    ``rows``: {officer id: cents}; ``tie_start``: 1-based place (badge order) whose turn it is
    first when remainders tie. The officer cap is not applied here (it is per officer and cycle).
    """

    claim_id: int
    base_cents: int
    multiplier: float
    cents: int
    units_counted: int
    units: list[dict]
    rows: dict[int, int]
    participants: int
    tie_start: int


def _claim_set(rules: PointsRules, claims: list[CollaborationClaim], rows) -> tuple[ClaimSet, list[int]]:
    """A ClaimSet of ``claims`` and their participant ``rows``; officers are indexed in badge order
    (tied cents take turns in that order) and the claim ids are the claim keys."""
    claim_index = {c.id: i for i, c in enumerate(claims)}
    badge = {r.officer_id: r.officer.badge_no for r in rows}
    officer_ids = sorted(badge, key=lambda o: (badge[o], o))
    unit_ids = sorted({r.unit_id for r in rows})
    oi = {o: i for i, o in enumerate(officer_ids)}
    ui = {u: i for i, u in enumerate(unit_ids)}
    claim_set = ClaimSet(
        case_type=np.array([c.case_type for c in claims]), severity=np.array([c.severity for c in claims]),
        claim=np.array([claim_index[r.claim_id] for r in rows], dtype=np.int64),
        officer=np.array([oi[r.officer_id] for r in rows], dtype=np.int64),
        unit=np.array([ui[r.unit_id] for r in rows], dtype=np.int64),
        share=np.array([(r.final_bp if r.final_bp is not None else r.proposed_bp) / 100 for r in rows]),
        n_officers=len(officer_ids), n_units=len(unit_ids),
        claim_key=np.array([c.id for c in claims], dtype=np.int64),
    )
    return claim_set, officer_ids


def _participants_of(claim_ids: list[int]) -> list[ClaimParticipant]:
    rows: list[ClaimParticipant] = []
    for start in range(0, len(claim_ids), 500):
        rows += db.session.execute(
            select(ClaimParticipant).where(ClaimParticipant.claim_id.in_(claim_ids[start:start + 500]))
            .options(joinedload(ClaimParticipant.officer))
        ).scalars().all()
    rows.sort(key=lambda r: (r.claim_id, r.id))
    return rows


def claim_points(cycle: Cycle, claims: list[CollaborationClaim]) -> dict[int, ClaimPoints]:
    """Points of each claim by the cycle's rules, as if approved with its current shares (the final
    shares once approved, else the proposed ones). A claim's split depends on the claim alone, so
    these are the points the award counts, before the per-officer cap. Claims whose category has
    no points in the rules are left out."""
    rules = points_rules(cycle)
    kept = sorted((c for c in claims if (c.case_type, c.severity) in rules.base_points), key=lambda c: c.id)
    if not kept:
        return {}
    rows = _participants_of([c.id for c in kept])
    claim_set, officer_ids = _claim_set(rules, kept, rows)
    result = score_team(claim_set, replace(rules, officer_cap=None))
    out: dict[int, ClaimPoints] = {}
    unit_bp: dict[int, dict[int, int]] = {}
    for k, r in enumerate(rows):
        i = int(claim_set.claim[k])
        c = kept[i]
        entry = out.get(c.id)
        if entry is None:
            entry = out[c.id] = ClaimPoints(
                claim_id=c.id, base_cents=int(result.claim_base_cents[i]),
                multiplier=float(result.claim_multiplier[i]), cents=int(result.claim_cents[i]),
                units_counted=int(result.claim_units_counted[i]), units=[], rows={}, participants=0, tie_start=0)
        entry.rows[r.officer_id] = int(result.row_cents[k])
        entry.participants += 1
        share = r.final_bp if r.final_bp is not None else r.proposed_bp
        unit_bp.setdefault(c.id, {})
        unit_bp[c.id][r.unit_id] = unit_bp[c.id].get(r.unit_id, 0) + share
    for claim_id, entry in out.items():
        entry.units = [{"unit_id": u, "bp": bp, "counted": bp >= rules.min_unit_share_bp}
                       for u, bp in sorted(unit_bp[claim_id].items(), key=lambda kv: (-kv[1], kv[0]))]
        entry.tie_start = claim_id % entry.participants + 1
    return out


def team_standing(cycle: Cycle) -> TeamStanding:
    rules = points_rules(cycle)
    standing = TeamStanding(cycle=cycle, rules=rules)
    claims = db.session.execute(
        select(CollaborationClaim).where(CollaborationClaim.cycle_id == cycle.id,
                                         CollaborationClaim.status == "approved")
        .order_by(CollaborationClaim.id)
    ).scalars().all()
    kept = []
    for c in claims:
        if (c.case_type, c.severity) in rules.base_points:
            kept.append(c)
        else:
            standing.skipped.append(c.id)
    if not kept:
        return standing
    rows = _participants_of([c.id for c in kept])
    claim_index = {c.id: i for i, c in enumerate(kept)}
    claim_set, officer_ids = _claim_set(rules, kept, rows)
    oi = {o: i for i, o in enumerate(officer_ids)}
    unit_ids = sorted({r.unit_id for r in rows})
    result = score_team(claim_set, rules)
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(unit_ids))).scalars()}
    unit_claims: dict[int, set[int]] = {}
    for k, r in enumerate(rows):
        cid = r.claim_id
        entry = standing.claims.setdefault(cid, {
            "cents": int(result.claim_cents[claim_index[cid]]),
            "multiplier": float(result.claim_multiplier[claim_index[cid]]), "rows": {}})
        entry["rows"][r.officer_id] = int(result.row_cents[k])
        unit_claims.setdefault(r.unit_id, set()).add(cid)
        off = standing.officers.setdefault(r.officer_id, {"claims": []})
        off["claims"].append({"claim_id": cid, "case_ref": kept[claim_index[cid]].case_ref,
                              "points": int(result.row_cents[k]) / 100})
    for o, i in oi.items():
        standing.officers[o].update(cents=int(result.officer_cents[i]),
                                    uncapped=int(result.officer_cents_uncapped[i]),
                                    capped=bool(result.officer_capped[i]))
    for i in result.unit_order:
        uid = unit_ids[int(i)]
        standing.units.append({"unit": units[uid], "cents": int(result.unit_cents[i]),
                               "uncapped": int(result.unit_cents_uncapped[i]), "rank": int(result.unit_rank[i]),
                               "claims": len(unit_claims.get(uid, ()))})
    named = {r.officer_id: r.officer for r in rows}
    for i in np.lexsort((np.arange(len(officer_ids)), -result.officer_cents)):
        oid = officer_ids[int(i)]
        standing.top_officers.append({"officer": named[oid], "cents": int(result.officer_cents[i]),
                                      "uncapped": int(result.officer_cents_uncapped[i]),
                                      "capped": bool(result.officer_capped[i])})
    for t in range(result.team_cents.shape[0]):
        members = [units[unit_ids[int(u)]] for u in result.team_units[t] if u >= 0]
        standing.teams.append({"units": members, "cents": int(result.team_cents[t]),
                               "claims": int(result.team_claims[t]), "rank": int(result.team_rank[t])})
    return standing


def soft_indicator_values(cycle: Cycle) -> dict:
    """The 团队协作 soft indicator for the main assessment, from the cycle's approved claims.

    Returns ``{"team_points": {"level": "officer", "values": {officer_id: points}, "details":
    {officer_id: {"claims": [{claim_id, case_ref, points}], "uncapped": points, "capped": bool}}},
    "team_points_unit": {"level": "unit", "values": {unit_id: points}, "details": {unit_id: {"claims": n,
    "uncapped": points, "rank": r}}}}``. Points are floats with two decimals; officers and units
    without approved claims are absent (the caller decides whether that means 0).
    """
    standing = team_standing(cycle)
    officer_values, officer_details = {}, {}
    for officer_id, off in standing.officers.items():
        officer_values[officer_id] = off["cents"] / 100
        officer_details[officer_id] = {"claims": off["claims"], "uncapped": off["uncapped"] / 100,
                                       "capped": off["capped"]}
    unit_values, unit_details = {}, {}
    for row in standing.units:
        unit_values[row["unit"].id] = row["cents"] / 100
        unit_details[row["unit"].id] = {"claims": row["claims"], "uncapped": row["uncapped"] / 100,
                                        "rank": row["rank"]}
    return {
        "team_points": {"level": "officer", "values": officer_values, "details": officer_details},
        "team_points_unit": {"level": "unit", "values": unit_values, "details": unit_details},
    }


def _to_0_100(score_1_5: float) -> float:
    return max(0.0, min(100.0, (score_1_5 - 1.0) * 25.0))


def _normalised_within(points: dict[int, float], category: dict[int, int]) -> dict[int, float]:
    """Points of everyone in ``category`` (absent = 0) → 0–100, the category's highest = 100
    (a category where nobody has points: everyone 0)."""
    best: dict[int, float] = {}
    for sid, cat in category.items():
        best[cat] = max(best.get(cat, 0.0), points.get(sid, 0.0))
    return {sid: (100.0 * points.get(sid, 0.0) / best[cat] if best[cat] > 0 else 0.0)
            for sid, cat in category.items()}


def teamwork_indicator(provided: dict[str, dict], unit_category: dict[int, int],
                       officer_unit: dict[int, int]) -> dict[tuple[str, str], dict]:
    """The 团队协作 soft indicator (officers and units) from team points and the peers' teamwork rating.

    ``团队协作 = (积分分 + 同事评价分) / 2``, where 积分分 = 100 × points / the highest points in the
    station category, and 同事评价分 = (mean peer rating on the teamwork items − 1) × 25. An officer
    (unit) without approved claims has **0 points**, never "not applicable": otherwise one who never
    collaborated would be scored on the peer rating alone and joining one small cross-unit case
    would lower the score (90 → 57.5). So more points never lower anyone's own score. In a cycle
    with peer ratings, an officer without one has the indicator missing (the assessment's rule for
    a soft indicator without enough answers applies), whatever the points: points alone would
    again let a small case cost. In a cycle without any peer rating, the indicator is the points
    part for everyone (absent = 0). In a cycle where nobody has points (no approved claims, or no
    claims feature) it is the peer part alone, the same rule for everyone; with neither, it is
    missing (never a column of zeros).

    ``provided``: the soft providers' blocks (``team_points``, ``team_points_unit``,
    ``teamwork_peer``); unit_category: station id → category; officer_unit: officer id → station.
    Returns {("officer", "soft_teamwork"): {"values", "details"}, ("unit", "soft_teamwork@unit"): ...}.
    """
    def values(code):
        return (provided.get(code) or {}).get("values") or {}

    officer_category = {o: unit_category[u] for o, u in officer_unit.items() if u in unit_category}
    peer_raw = values("teamwork_peer")
    peer = _TeamworkPart(scaled={o: _to_0_100(v) for o, v in peer_raw.items() if o in officer_category},
                         raw=peer_raw, details=(provided.get("teamwork_peer") or {}).get("details") or {})
    points_raw, unit_points_raw = values("team_points"), values("team_points_unit")
    points = _TeamworkPart(scaled=_normalised_within(points_raw, officer_category), raw=points_raw)
    unit_points = _TeamworkPart(scaled=_normalised_within(unit_points_raw, unit_category), raw=unit_points_raw)
    officer_values, officer_details = _officer_teamwork(peer, points, officer_category)
    unit_values, unit_details = _unit_teamwork(peer, unit_points, officer_unit, unit_category)
    return {("officer", "soft_teamwork"): {"values": officer_values, "details": officer_details},
            ("unit", "soft_teamwork@unit"): {"values": unit_values, "details": unit_details}}


@dataclass(frozen=True)
class _TeamworkPart:
    """One half of the teamwork indicator: the provider's raw figures by id and their 0–100 scale."""
    scaled: dict[int, float]
    raw: dict[int, float]
    details: dict[int, dict] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return bool(self.raw)


def _officer_teamwork(peer: _TeamworkPart, points: _TeamworkPart, officer_category: dict[int, int]
                      ) -> tuple[dict[int, float], dict[int, dict[str, Any]]]:
    """Officers' 团队协作: the mean of the peer part (officers with a peer rating only, when the cycle
    has any) and the points part (absent = 0, when anyone has points)."""
    with_peer, with_points = bool(peer.scaled), points.present
    officer_values: dict[int, float] = {}
    officer_details: dict[int, dict[str, Any]] = {}
    for oid in sorted(peer.scaled if with_peer else (officer_category if with_points else ())):
        parts = ([peer.scaled[oid]] if with_peer else []) + ([points.scaled[oid]] if with_points else [])
        officer_values[oid] = sum(parts) / len(parts)
        officer_details[oid] = {"rule": "points_absent_zero"}
        if with_peer:
            officer_details[oid].update(
                teamwork_peer=peer.raw[oid], teamwork_peer_scaled=peer.scaled[oid],
                # for the anonymity gate of whoever views the result (feedback.gated_breakdown)
                teamwork_peer_raters=(peer.details.get(oid) or {}).get("rater_groups"))
        if with_points:
            officer_details[oid].update(team_points=float(points.raw.get(oid, 0.0)),
                                        team_points_normalised=points.scaled[oid])
    return officer_values, officer_details


def _unit_teamwork(peer: _TeamworkPart, unit_points: _TeamworkPart, officer_unit: dict[int, int],
                   unit_category: dict[int, int]) -> tuple[dict[int, float], dict[int, dict[str, Any]]]:
    """Units' 团队协作: the mean of the unit's points part and its officers' mean peer part (units
    with rated officers only, when the cycle has peer ratings)."""
    with_peer, with_unit_points = bool(peer.scaled), unit_points.present
    unit_peer: dict[int, list[float]] = {}
    for oid, v in peer.scaled.items():
        unit_peer.setdefault(officer_unit[oid], []).append(v)
    unit_values: dict[int, float] = {}
    unit_details: dict[int, dict[str, Any]] = {}
    for uid in sorted(unit_peer if with_peer else (unit_category if with_unit_points else ())):
        unit_details[uid] = {"rule": "points_absent_zero"}
        parts = [unit_points.scaled[uid]] if with_unit_points else []
        if with_peer:
            peer_mean = sum(unit_peer[uid]) / len(unit_peer[uid])
            parts.append(peer_mean)
            unit_details[uid].update(teamwork_peer_scaled=peer_mean, officers=len(unit_peer[uid]),
                                     teamwork_officers=len(unit_peer[uid]))
        unit_values[uid] = sum(parts) / len(parts)
        if with_unit_points:
            unit_details[uid].update(team_points=float(unit_points.raw.get(uid, 0.0)),
                                     team_points_normalised=unit_points.scaled[uid])
    return unit_values, unit_details
