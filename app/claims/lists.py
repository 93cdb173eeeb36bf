"""Who sees which claims: permissions, the lists (mine, to confirm, the coordinator's queue),
status counts, and the landing-page panels."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    ClaimConfirmation,
    ClaimParticipant,
    CollaborationClaim,
    Cycle,
    User,
)
from ..paging import ListPage
from .filing import pick_cycle
from .guards import CycleFlags, cycle_flags
from .points import points_rules
from .states import REVIEW_STATUSES


def can_view(claim: CollaborationClaim, user: User) -> bool:
    if user.has_role("admin", "coordinator") or claim.filed_by_id == user.id:
        return True
    officer = user.officer
    if officer is None:
        return False
    if any(p.officer_id == officer.id for p in claim.participants):
        return True
    return officer.is_leader and officer.unit_id in claim.unit_ids


def _status_counts(query) -> dict[str, int]:
    sub = query.with_only_columns(CollaborationClaim.id, CollaborationClaim.status).order_by(None).subquery()
    rows = db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all()
    return {status: n for status, n in rows}


def my_claims_query(user: User, cycle: Cycle | None):
    """Claims I filed or take part in."""
    conditions = [CollaborationClaim.filed_by_id == user.id]
    if user.officer_id:
        conditions.append(CollaborationClaim.id.in_(
            select(ClaimParticipant.claim_id).where(ClaimParticipant.officer_id == user.officer_id)))
    query = select(CollaborationClaim).where(or_(*conditions))
    if cycle is not None:
        query = query.where(CollaborationClaim.cycle_id == cycle.id)
    return query.order_by(CollaborationClaim.id.desc())


def to_confirm_query(user: User, cycle: Cycle | None):
    """Claims waiting for my unit's decision (for unit leaders)."""
    officer = user.officer
    if officer is None or not officer.is_leader:
        return None
    decided = select(ClaimConfirmation.claim_id).where(ClaimConfirmation.unit_id == officer.unit_id)
    query = select(CollaborationClaim).where(
        CollaborationClaim.status.in_(("submitted", "disputed")),
        CollaborationClaim.id.in_(select(ClaimParticipant.claim_id).where(ClaimParticipant.unit_id == officer.unit_id)),
        CollaborationClaim.id.not_in(decided),
    )
    if cycle is not None:
        query = query.where(CollaborationClaim.cycle_id == cycle.id)
    return query.order_by(CollaborationClaim.submitted_at, CollaborationClaim.id)


def counts(query) -> dict:
    by_status = _status_counts(query) if query is not None else {}
    return {"total": sum(by_status.values()), "by_status": by_status}


def with_table_rows(query):
    """``query`` with what a claims table shows (participants and their units, confirmations) loaded
    alongside, so a page takes the same few statements however many claims it lists."""
    return query.options(selectinload(CollaborationClaim.participants).joinedload(ClaimParticipant.unit),
                         selectinload(CollaborationClaim.confirmations))


def review_count(cycle: Cycle) -> int:
    """Claims of the cycle waiting on the review queue (its default filter)."""
    return db.session.scalar(select(func.count(CollaborationClaim.id)).where(
        CollaborationClaim.cycle_id == cycle.id, CollaborationClaim.status.in_(REVIEW_STATUSES))) or 0


def review_queue(cycle: Cycle, statuses: tuple[str, ...] = REVIEW_STATUSES, unit_id: int | None = None,
                 flag: str | None = None, flags: CycleFlags | None = None, page: int = 1,
                 per_page: int = 50) -> ListPage:
    """One page of the coordinator's list with filters (state, participating unit, flag).

    The matching ids are ordered in SQL and filtered by flag in memory (flags are worked out over the
    whole cycle); only the page's claims are loaded, with what the table shows. ``items`` holds them.
    """
    query = select(CollaborationClaim.id).where(CollaborationClaim.cycle_id == cycle.id)
    if statuses:
        query = query.where(CollaborationClaim.status.in_(statuses))
    if unit_id:
        query = query.where(CollaborationClaim.id.in_(
            select(ClaimParticipant.claim_id).where(ClaimParticipant.unit_id == unit_id)))
    ids = list(db.session.scalars(query.order_by(CollaborationClaim.submitted_at, CollaborationClaim.id)))
    if flag:
        flags = flags or cycle_flags(cycle)
        ids = [claim_id for claim_id in ids if flag in flags.of(claim_id)]
    listing = ListPage(ids, page, per_page)
    loaded = {claim.id: claim for claim in db.session.execute(with_table_rows(
        select(CollaborationClaim).where(CollaborationClaim.id.in_(listing.ids)))).scalars()}
    listing.items = [loaded[claim_id] for claim_id in listing.ids]
    return listing


def cycle_summary(cycle: Cycle) -> dict:
    """For the admin cycle page: claims by status and whether rules are stored."""
    query = select(CollaborationClaim).where(CollaborationClaim.cycle_id == cycle.id)
    return {"claims": counts(query), "rules": points_rules(cycle),
            "rules_stored": bool((cycle.config or {}).get("points_rules"))}


def home_todo(user: User) -> dict | None:
    """Counts of claims waiting for this user: their drafts/returned, their unit's confirmations, reviews."""
    cycle = pick_cycle(None)
    if cycle is None:
        return None
    data: dict[str, Any] = {"cycle": cycle}
    mine = counts(my_claims_query(user, cycle))
    data["mine"] = mine["total"]
    data["mine_to_fix"] = mine["by_status"].get("draft", 0) + mine["by_status"].get("returned", 0)
    query = to_confirm_query(user, cycle)
    data["to_confirm"] = counts(query)["total"] if query is not None else None
    if user.has_role("coordinator"):
        data["to_review"] = db.session.scalar(
            select(func.count(CollaborationClaim.id)).where(CollaborationClaim.cycle_id == cycle.id,
                                                            CollaborationClaim.status.in_(("confirmed", "disputed"))))
    else:
        data["to_review"] = None
    if not user.officer and data["to_review"] is None:
        return None
    return data


def home_award(user: User) -> dict | None:
    cycle = pick_cycle(None)
    if cycle is None:
        return None
    from .standing import team_standing_cached  # scored once per process while nothing changed

    standing = team_standing_cached(cycle)
    if not standing.units:
        return None
    return {"cycle": cycle, "units": standing.units[:5], "teams": standing.teams[:3]}
