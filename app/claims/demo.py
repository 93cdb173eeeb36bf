"""Demo claims for `flask seed-demo`: a few dozen claims in every state of the open cycle, a duplicate
pair, a unit pair that claims together suspiciously often, and case records for most references.

Everything goes through the services (as the officers, leaders and the coordinator would), so the
timelines and the audit log look like real use. Deterministic for a given ``rng``.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import CollaborationClaim, Cycle, Officer, Unit, User
from . import services

# How many claims end in each state (plus the duplicate pair and the reciprocal pair below).
PLAN = (["draft"] * 4 + ["submitted"] * 4 + ["partly"] * 4 + ["disputed"] * 3 + ["confirmed"] * 4
        + ["returned"] * 3 + ["rejected"] * 3 + ["approved"] * 10)
RECIPROCAL = ("PS03", "XZ-1")
RECIPROCAL_PLAN = ["approved"] * 4 + ["confirmed"] * 2 + ["submitted"] * 2
SUMMARIES = ["联合抓获盗窃嫌疑人", "协同侦破电信诈骗案", "跨辖区追捕在逃人员", "联合处置聚众斗殴警情",
             "协助调取监控锁定嫌疑车辆", "联合开展涉赌窝点清查", "协同查处交通肇事逃逸", "联合破获入室盗窃系列案"]


def _split(rng, n: int) -> list[int]:
    """n whole percentages adding up to 100, the first (the lead) the largest."""
    cuts = sorted(rng.sample(range(5, 96, 5), n - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    parts.sort(reverse=True)
    return parts


def seed_claims(rng):
    cycle = db.session.execute(
        select(Cycle).filter_by(status="open").order_by(Cycle.starts_on.desc())).scalars().first()
    if cycle is None:
        return None
    if db.session.execute(select(CollaborationClaim.id).filter_by(cycle_id=cycle.id).limit(1)).first():
        return None
    rules = services.points_rules(cycle)
    combos = sorted(rules.base_points)
    units = {u.code: u for u in db.session.execute(
        select(Unit).where(Unit.kind.in_(("station", "squad")), Unit.is_active).order_by(Unit.code)).scalars()}
    if len(units) < 4:
        return None
    members: dict[int, list[Officer]] = {}
    leaders: dict[int, User] = {}
    for officer in db.session.execute(select(Officer).where(Officer.is_active).order_by(Officer.badge_no)).scalars():
        if officer.user is None:
            continue
        if officer.is_leader:
            leaders.setdefault(officer.unit_id, officer.user)
        else:
            members.setdefault(officer.unit_id, []).append(officer)
    coordinator = db.session.execute(select(User).filter_by(username="coordinator")).scalar_one_or_none()
    demo_officer = db.session.execute(select(User).filter_by(username="officer")).scalar_one_or_none()
    if coordinator is None:
        return None
    codes = [c for c in units if units[c].id in leaders and members.get(units[c].id)]
    days = (min(cycle.ends_on, date(2026, 11, 28)) - cycle.starts_on).days

    pair_counts: dict[frozenset, int] = {}

    def pick_units(k: int, first: str | None = None) -> list[str]:
        while True:
            chosen = ([first] if first else []) + rng.sample([c for c in codes if c != first], k - (1 if first else 0))
            pairs = [frozenset((a, b)) for i, a in enumerate(chosen) for b in chosen[i + 1:]]
            # keep ordinary pairs rare so that only the planted pair looks reciprocal
            if frozenset(RECIPROCAL) in pairs or any(pair_counts.get(p, 0) >= 2 for p in pairs):
                continue
            for p in pairs:
                pair_counts[p] = pair_counts.get(p, 0) + 1
            return chosen

    serial = iter(range(1, 1000))
    made: list[tuple[CollaborationClaim, str]] = []

    def file(codes_: list[str], outcome: str, ref: str | None = None, filer: User | None = None):
        lead = units[codes_[0]]
        people: list[tuple[Unit, Officer]] = []
        for code in codes_:
            pool = members[units[code].id]
            for officer in rng.sample(pool, min(len(pool), rng.choice((1, 1, 2)))):
                people.append((units[code], officer))
        if filer is not None and filer.officer is not None and filer.officer.unit_id == lead.id:
            if all(o.id != filer.officer_id for _u, o in people):
                people[0] = (lead, filer.officer)
        filer = filer or people[0][1].user
        shares = _split(rng, len(people))
        case_date = cycle.starts_on + timedelta(days=rng.randrange(days))
        case_type, severity = rng.choice(combos)
        ref = ref or f"A{case_date:%Y%m%d}{next(serial):04d}"
        claim = services.save_claim(None, {
            "case_ref": ref, "case_type": case_type, "severity": severity, "case_date": case_date,
            "summary": rng.choice(SUMMARIES), "lead_unit_id": lead.id,
            "participants": [{"unit_id": u.id, "officer_id": o.id, "role": "lead" if i == 0 else
                              rng.choice(("assist", "assist", "support")), "share": str(s)}
                             for i, ((u, o), s) in enumerate(zip(people, shares, strict=True))],
        }, filer, cycle)
        advance(claim, outcome, filer)
        made.append((claim, outcome))
        return claim

    def confirm_all(claim, skip_last=False):
        unit_ids = claim.unit_ids[:-1] if skip_last else claim.unit_ids
        for unit_id in unit_ids:
            services.decide_for_unit(claim, unit_id, leaders[unit_id], "confirmed")

    def advance(claim, outcome, filer):
        if outcome == "draft":
            return
        services.submit_claim(claim, filer)
        if outcome == "submitted":
            return
        if outcome == "partly":
            confirm_all(claim, skip_last=True)
            return
        if outcome == "disputed":
            confirm_all(claim, skip_last=True)
            services.decide_for_unit(claim, claim.unit_ids[-1], leaders[claim.unit_ids[-1]], "disputed",
                                     "我单位在该案中承担了主要的抓捕工作，比例偏低。")
            return
        confirm_all(claim)
        if outcome == "confirmed":
            return
        if outcome == "returned":
            services.return_claim(claim, coordinator, "请补充参与抓捕的支援民警，并说明各自分工。")
        elif outcome == "rejected":
            services.reject_claim(claim, coordinator, "经核实，该案由单一单位独立办结，不属于跨单位协作。")
        elif outcome == "approved":
            final, reason = None, ""
            if rng.random() < 0.3 and len(claim.participants) >= 2:
                a, b = claim.participants[0], claim.participants[1]
                if a.proposed_bp > 1000:
                    final = {a.id: services.format_bp(a.proposed_bp - 1000),
                             b.id: services.format_bp(b.proposed_bp + 1000)}
                    reason = "根据各单位确认意见，适当调整主办与协办比例。"
            services.approve_claim(claim, coordinator, final, reason, unverified_acknowledged=True)

    # The demo "officer" (PS01) files a few, so that logging in as officer / leader shows something.
    ps01_first = ["submitted", "partly", "draft", "approved"]
    for outcome in ps01_first:
        k = 2 if rng.random() < 0.75 else 3
        file(pick_units(k, "PS01" if "PS01" in codes else None), outcome, filer=demo_officer)
    rest = list(PLAN)
    for outcome in ps01_first:
        rest.remove(outcome)
    for outcome in rest:
        file(pick_units(2 if rng.random() < 0.75 else 3), outcome)
    if all(code in codes for code in RECIPROCAL):
        for outcome in RECIPROCAL_PLAN:
            file(list(RECIPROCAL), outcome)
    # Two claims for the same case from different sides: the coordinator must merge one.
    first = file(pick_units(2), "confirmed")
    file(pick_units(2), "confirmed", ref=first.case_ref)

    # Case records for most references; a few missing and one dated outside the cycle → 未核实.
    rows = []
    for i, (claim, _outcome) in enumerate(made):
        if i % 9 == 4:
            continue
        case_date = claim.case_date if i % 17 != 6 else cycle.starts_on - timedelta(days=20)
        if any(r["case_ref"] == claim.case_ref for r in rows):
            continue
        rows.append({"case_ref": claim.case_ref, "case_date": case_date.isoformat(), "case_type": claim.case_type,
                     "unit_code": db.session.get(Unit, claim.lead_unit_id).code,
                     "is_preventable": rng.random() < 0.8, "status": rng.choice(("在办", "已结", "已结"))})
    report = services.import_case_records(rows, source="demo")
    db.session.flush()
    by_state: dict[str, int] = {}
    for claim, _o in made:
        db.session.refresh(claim)
        by_state[claim.status] = by_state.get(claim.status, 0) + 1
    states = ", ".join(f"{k} {v}" for k, v in sorted(by_state.items()))
    return f"{len(made)} claims ({states}); {report.created} case records"
