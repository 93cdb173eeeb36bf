"""Guards on the coordinator's queue: duplicate references, possible splits of one case into
several claims, unit pairs that claim together suspiciously often, and verification against the
imported case records."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from flask import current_app
from sqlalchemy import select

from scoring.team import pair_affinity

from ..extensions import db
from ..models import (
    CaseRecord,
    ClaimParticipant,
    CollaborationClaim,
    Cycle,
    Unit,
)
from .filing import normalise_ref
from .states import ACTIVE_STATUSES

DEFAULT_RECIPROCITY = {"min_claims": 3, "ratio": 3.0, "z": 3.0}


def reciprocity_settings(cycle: Cycle) -> dict:
    settings = dict(DEFAULT_RECIPROCITY)
    settings.update(current_app.config.get("CLAIMS_RECIPROCITY", {}))
    settings.update((cycle.config or {}).get("reciprocity", {}))
    return settings


def duplicates_of(claim: CollaborationClaim) -> Sequence[CollaborationClaim]:
    """Other claims of the cycle with the same case reference that still count."""
    return list(db.session.execute(
        select(CollaborationClaim).where(
            CollaborationClaim.cycle_id == claim.cycle_id, CollaborationClaim.case_ref == claim.case_ref,
            CollaborationClaim.id != claim.id, CollaborationClaim.status.in_(ACTIVE_STATUSES),
        ).order_by(CollaborationClaim.id)
    ).scalars().all())


@dataclass
class CycleFlags:
    duplicates: dict[int, list[int]] = field(default_factory=dict)  # claim id → other claim ids
    splits: dict[int, list[int]] = field(default_factory=dict)  # claim id → its possible split partners
    reciprocal_pairs: list[dict] = field(default_factory=list)  # flagged unit pairs
    reciprocal_claims: set[int] = field(default_factory=set)
    verified: dict[int, bool] = field(default_factory=dict)  # empty when no case records exist
    has_case_records: bool = False

    def of(self, claim_id: int) -> list[str]:
        flags = []
        if claim_id in self.duplicates:
            flags.append("duplicate")
        if claim_id in self.splits:
            flags.append("split")
        if claim_id in self.reciprocal_claims:
            flags.append("reciprocal")
        if self.has_case_records and not self.verified.get(claim_id, False):
            flags.append("unverified")
        return flags


def has_case_records() -> bool:
    return db.session.execute(select(CaseRecord.id).limit(1)).first() is not None


def verify_refs(cycle: Cycle, refs: list[str]) -> dict[str, CaseRecord | None]:
    """Case record of each reference when it exists and its date lies in the cycle (else None)."""
    found: dict[str, CaseRecord | None] = {ref: None for ref in refs}
    unique = sorted(set(refs))
    for start in range(0, len(unique), 500):
        for rec in db.session.execute(
            select(CaseRecord).where(CaseRecord.case_ref.in_(unique[start:start + 500]))
        ).scalars():
            if cycle.starts_on <= rec.case_date <= cycle.ends_on:
                found[rec.case_ref] = rec
    return found


# Claims that left the filer's hands (or are approved): a draft cannot be a split yet.
SPLIT_STATUSES = ("submitted", "confirmed", "disputed", "returned", "approved")

# Trailing part numbers: A001-1, A001_2, A001/3, A001.4, A001#5, A001-B, A001(1), A001（2）, A001之一, and a
# letter straight after the number (A001A, A001B).
_PART_SUFFIX = re.compile(r"(?:[-_/.#](?:[1-9]\d?|[A-Z])|[(（][1-9]\d?[)）]|之[一二三四五六七八九十])+$|(?<=\d)[A-Z]$")


def ref_stem(ref: str) -> str:
    """A case reference without its trailing part numbers: 'A001-1' and 'A001(2)' → 'A001'."""
    ref = normalise_ref(ref)
    stem = _PART_SUFFIX.sub("", ref)
    return stem or ref


def refs_alike(a: str, b: str) -> bool:
    """Near-identical references: the same once their part numbers are dropped (A001-1, A001-2, A001B).

    Consecutive case numbers (A…0001, A…0002) are distinct cases and are not alike.
    """
    return ref_stem(a) == ref_stem(b)


def _split_groups(rows) -> dict[int, list[int]]:
    """rows: (claim id, case_ref, case_date, unit id, officer id), one per participant.

    Claims with the same date, the same units and the same officers whose references are alike
    are possible splits of one case: {claim id: [partner ids]}.
    """
    claims: dict[int, dict] = {}
    for claim_id, ref, case_date, unit_id, officer_id in rows:
        c = claims.setdefault(claim_id, {"ref": ref, "date": case_date, "units": set(), "officers": set()})
        c["units"].add(unit_id)
        c["officers"].add(officer_id)
    same_team: dict[tuple, list[int]] = {}
    for claim_id, c in sorted(claims.items()):
        same_team.setdefault((c["date"], frozenset(c["units"]), frozenset(c["officers"])), []).append(claim_id)
    partners: dict[int, list[int]] = {}
    for ids in same_team.values():
        for k, a in enumerate(ids):
            for b in ids[k + 1:]:
                if claims[a]["ref"] != claims[b]["ref"] and refs_alike(claims[a]["ref"], claims[b]["ref"]):
                    partners.setdefault(a, []).append(b)
                    partners.setdefault(b, []).append(a)
    return {claim_id: sorted(ids) for claim_id, ids in partners.items()}


def _split_rows(cycle_id: int, case_date: date | None = None):
    query = (select(CollaborationClaim.id, CollaborationClaim.case_ref, CollaborationClaim.case_date,
                    ClaimParticipant.unit_id, ClaimParticipant.officer_id)
             .join(ClaimParticipant, ClaimParticipant.claim_id == CollaborationClaim.id)
             .where(CollaborationClaim.cycle_id == cycle_id, CollaborationClaim.status.in_(SPLIT_STATUSES)))
    if case_date is not None:
        query = query.where(CollaborationClaim.case_date == case_date)
    return db.session.execute(query).all()


def split_partners(claim: CollaborationClaim) -> Sequence[CollaborationClaim]:
    """Other claims of the cycle that may be parts of the same case as ``claim`` (see _split_groups)."""
    rows = _split_rows(claim.cycle_id, claim.case_date)
    if claim.status not in SPLIT_STATUSES:  # a draft is compared as if it were submitted
        rows += [(claim.id, claim.case_ref, claim.case_date, p.unit_id, p.officer_id) for p in claim.participants]
    ids = _split_groups(rows).get(claim.id, [])
    if not ids:
        return []
    return list(db.session.execute(select(CollaborationClaim).where(CollaborationClaim.id.in_(ids))
                                   .order_by(CollaborationClaim.id)).scalars().all())


def _duplicates(rows) -> dict[int, list[int]]:
    """rows: (claim id, case_ref, status). {claim id: the other claims with its reference}."""
    by_ref: dict[str, list[int]] = {}
    for claim_id, ref, _status in rows:
        by_ref.setdefault(ref, []).append(claim_id)
    return {claim_id: [other for other in ids if other != claim_id]
            for ids in by_ref.values() if len(ids) > 1 for claim_id in ids}


def _reciprocal(cycle: Cycle, flags: CycleFlags) -> None:
    """Unit pairs that claim together far more than their volumes suggest, and the claims they share,
    over the claims that left the filer's hands (into ``flags``)."""
    parts = db.session.execute(
        select(ClaimParticipant.claim_id, ClaimParticipant.unit_id).join(CollaborationClaim)
        .where(CollaborationClaim.cycle_id == cycle.id,
               CollaborationClaim.status.in_(("submitted", "confirmed", "disputed", "approved")))
    ).all()
    if not parts:
        return
    claim_ids = sorted({c for c, _u in parts})
    unit_ids = sorted({u for _c, u in parts})
    ci = {c: i for i, c in enumerate(claim_ids)}
    ui = {u: i for i, u in enumerate(unit_ids)}
    claim_idx = np.array([ci[c] for c, _u in parts])
    unit_idx = np.array([ui[u] for _c, u in parts])
    affinity = pair_affinity(claim_idx, unit_idx, len(unit_ids))
    settings = reciprocity_settings(cycle)
    hit = (affinity.count >= settings["min_claims"]) & (
        (affinity.ratio >= settings["ratio"]) | (affinity.z >= settings["z"]))
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(unit_ids))).scalars()}
    flagged_pairs = set()
    for k in np.flatnonzero(hit):
        a, b = (unit_ids[int(i)] for i in affinity.pairs[k])
        flagged_pairs.add((a, b))
        flags.reciprocal_pairs.append({
            "units": (units[a], units[b]), "count": int(affinity.count[k]),
            "expected": float(affinity.expected[k]), "ratio": float(affinity.ratio[k]),
            "z": float(affinity.z[k]),
        })
    if flagged_pairs:
        units_of: dict[int, set[int]] = {}
        for c, u in parts:
            units_of.setdefault(c, set()).add(u)
        for c, us in units_of.items():
            if any(a in us and b in us for a, b in flagged_pairs):
                flags.reciprocal_claims.add(c)


def cycle_flags(cycle: Cycle) -> CycleFlags:
    """Duplicate references, possible splits, reciprocal unit pairs and verification for every claim
    of a cycle."""
    flags = CycleFlags()
    rows = db.session.execute(
        select(CollaborationClaim.id, CollaborationClaim.case_ref, CollaborationClaim.status)
        .where(CollaborationClaim.cycle_id == cycle.id, CollaborationClaim.status.in_(ACTIVE_STATUSES))
    ).all()
    flags.duplicates = _duplicates(rows)
    flags.splits = _split_groups(_split_rows(cycle.id))
    flags.has_case_records = has_case_records()
    if flags.has_case_records:
        found = verify_refs(cycle, [ref for _id, ref, _s in rows])
        flags.verified = {claim_id: found.get(ref) is not None for claim_id, ref, _s in rows}
    _reciprocal(cycle, flags)
    return flags
