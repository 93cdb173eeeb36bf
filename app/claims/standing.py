"""The Team Contribution Award standing as the pages show it (home pages, station dashboards, the
bureau overview, the award page): ``services.team_standing`` scored once per process for as long as
the cycle's approved claims, its points rules and the units' and officers' records stay the same,
instead of on every page view. The score run still scores it afresh (``soft_indicator_values``).
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import replace

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditLog, ClaimParticipant, CollaborationClaim, Cycle, Officer, Unit
from .services import TeamStanding, team_standing

_LOCK = threading.Lock()
_KEEP = 16  # cycles kept per process


def _fingerprint(cycle: Cycle) -> tuple:
    """One row of aggregates that changes whenever anything the standing shows can change."""
    claims = db.session.execute(
        select(func.count(ClaimParticipant.id), func.sum(ClaimParticipant.claim_id),
               func.sum(ClaimParticipant.officer_id), func.sum(ClaimParticipant.unit_id),
               func.sum(func.coalesce(ClaimParticipant.final_bp, ClaimParticipant.proposed_bp)),
               func.sum(CollaborationClaim.version), func.max(CollaborationClaim.decided_at))
        .join(CollaborationClaim, CollaborationClaim.id == ClaimParticipant.claim_id)
        .where(CollaborationClaim.cycle_id == cycle.id, CollaborationClaim.status == "approved")).one()
    # Names and units of people and stations shown: every change to them is audited.
    org = db.session.scalar(select(func.max(AuditLog.id)).where(AuditLog.entity.in_(("unit", "officer"))))
    counts = db.session.execute(select(func.count(Unit.id), func.max(Unit.id))).one()
    rules = hashlib.sha256(json.dumps(cycle.config or {}, sort_keys=True, default=str).encode()).hexdigest()
    return (cycle.id, cycle.created_at, rules, tuple(claims), org, tuple(counts))


def _copy(instance, model):
    return model(**{c.key: getattr(instance, c.key) for c in sa.inspect(model).column_attrs})


def _detached(standing: TeamStanding) -> TeamStanding:
    """The standing with plain copies of its units and officers (each officer with its unit), so
    that it outlives this request's session."""
    db.session.execute(select(Unit)).scalars().all()  # officers' units then come from the identity map
    units: dict[int, Unit] = {}

    def unit(u: Unit) -> Unit:
        if u.id not in units:
            units[u.id] = _copy(u, Unit)
        return units[u.id]

    def officer(o: Officer) -> Officer:
        copy = _copy(o, Officer)
        copy.unit = unit(o.unit)
        return copy

    return replace(
        standing, cycle=None,
        units=[{**row, "unit": unit(row["unit"])} for row in standing.units],
        teams=[{**row, "units": [unit(u) for u in row["units"]]} for row in standing.teams],
        top_officers=[{**row, "officer": officer(row["officer"])} for row in standing.top_officers])


def team_standing_cached(cycle: Cycle) -> TeamStanding:
    """``services.team_standing(cycle)``, scored again only when its inputs changed."""
    key = _fingerprint(cycle)
    cache = current_app.extensions.setdefault("kaoping.team_standing", {})
    found = cache.get(cycle.id)
    if found is None or found[0] != key:
        # One thread of the process scores; the others wait for it rather than each scoring at once.
        with _LOCK:
            found = cache.get(cycle.id)
            if found is None or found[0] != key:
                found = (key, _detached(team_standing(cycle)))
                if len(cache) >= _KEEP and cycle.id not in cache:
                    cache.pop(next(iter(cache)))
                cache[cycle.id] = found
    return replace(found[1], cycle=cycle)
