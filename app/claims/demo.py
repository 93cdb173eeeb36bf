"""Demo claims for `flask seed-demo`: a few dozen claims in every state of the open cycle, a duplicate
pair, a unit pair that claims together suspiciously often, one case split into two claims, a claim
with a token third unit, and case records for most references.

Everything goes through the services (as the officers, leaders and the coordinator would), so the
timelines and the audit log look like real use. Deterministic for a given ``rng``.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import cast

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


class _Demo:
    """The open cycle's people and the claims filed so far; its methods file claims as the demo users."""

    def __init__(self, rng, cycle: Cycle, units: dict[str, Unit], members: dict[int, list[Officer]],
                 leaders: dict[int, User], coordinator: User):
        self.rng, self.cycle, self.units, self.members = rng, cycle, units, members
        self.leaders, self.coordinator = leaders, coordinator
        self.combos = sorted(services.points_rules(cycle).base_points)
        self.codes = [c for c in units if units[c].id in leaders and members.get(units[c].id)]
        self.days = (min(cycle.ends_on, date(2026, 11, 28)) - cycle.starts_on).days
        self.pair_counts: dict[frozenset, int] = {}
        self.serial = iter(range(1, 1000))
        self.made: list[tuple[CollaborationClaim, str]] = []

    def pick_units(self, k: int, first: str | None = None) -> list[str]:
        while True:
            chosen = ([first] if first else []) + self.rng.sample([c for c in self.codes if c != first],
                                                                  k - (1 if first else 0))
            pairs = [frozenset((a, b)) for i, a in enumerate(chosen) for b in chosen[i + 1:]]
            # keep ordinary pairs rare so that only the planted pair looks reciprocal
            if frozenset(RECIPROCAL) in pairs or any(self.pair_counts.get(p, 0) >= 2 for p in pairs):
                continue
            for p in pairs:
                self.pair_counts[p] = self.pair_counts.get(p, 0) + 1
            return chosen

    def _people(self, codes_: list[str]) -> list[tuple[Unit, Officer]]:
        people = []
        for code in codes_:
            pool = self.members[self.units[code].id]
            for officer in self.rng.sample(pool, min(len(pool), self.rng.choice((1, 1, 2)))):
                people.append((self.units[code], officer))
        return people

    def file(self, codes_: list[str], outcome: str, ref: str | None = None, filer: User | None = None,
             people: list[tuple[Unit, Officer]] | None = None, shares: list | None = None,
             case_date: date | None = None, kind: tuple[str, str] | None = None) -> CollaborationClaim:
        rng = self.rng
        lead = self.units[codes_[0]]
        if people is None:
            people = self._people(codes_)
        if filer is not None and filer.officer is not None and filer.officer.unit_id == lead.id:
            if all(o.id != filer.officer_id for _u, o in people):
                people[0] = (lead, filer.officer)
        filer = filer or people[0][1].user
        shares = shares or _split(rng, len(people))
        case_date = case_date or self.cycle.starts_on + timedelta(days=rng.randrange(self.days))
        case_type, severity = kind or rng.choice(self.combos)
        ref = ref or f"A{case_date:%Y%m%d}{next(self.serial):04d}"
        claim = services.save_claim(None, {
            "case_ref": ref, "case_type": case_type, "severity": severity, "case_date": case_date,
            "summary": rng.choice(SUMMARIES), "lead_unit_id": lead.id,
            "participants": [{"unit_id": u.id, "officer_id": o.id, "role": "lead" if i == 0 else
                              rng.choice(("assist", "assist", "support")), "share": str(s)}
                             for i, ((u, o), s) in enumerate(zip(people, shares, strict=True))],
        }, cast(User, filer), self.cycle)  # every demo officer has a login
        self.advance(claim, outcome, filer)
        self.made.append((claim, outcome))
        return claim

    def confirm_all(self, claim, skip_last=False):
        unit_ids = claim.unit_ids[:-1] if skip_last else claim.unit_ids
        for unit_id in unit_ids:
            services.decide_for_unit(claim, unit_id, self.leaders[unit_id], "confirmed")

    def advance(self, claim, outcome, filer):
        if outcome == "draft":
            return
        services.submit_claim(claim, filer)
        if outcome == "submitted":
            return
        if outcome in ("partly", "disputed"):
            self.confirm_all(claim, skip_last=True)
            if outcome == "disputed":
                services.decide_for_unit(claim, claim.unit_ids[-1], self.leaders[claim.unit_ids[-1]], "disputed",
                                         "我单位在该案中承担了主要的抓捕工作，比例偏低。")
            return
        self.confirm_all(claim)
        if outcome == "returned":
            services.return_claim(claim, self.coordinator, "请补充参与抓捕的支援民警，并说明各自分工。")
        elif outcome == "rejected":
            services.reject_claim(claim, self.coordinator, "经核实，该案由单一单位独立办结，不属于跨单位协作。")
        elif outcome == "approved":
            self.approve(claim)

    def approve(self, claim):
        final, reason = None, ""
        if self.rng.random() < 0.3 and len(claim.participants) >= 2:
            a, b = claim.participants[0], claim.participants[1]
            if a.proposed_bp > 1000:
                final = {a.id: services.format_bp(a.proposed_bp - 1000),
                         b.id: services.format_bp(b.proposed_bp + 1000)}
                reason = "根据各单位确认意见，适当调整主办与协办比例。"
        services.approve_claim(claim, self.coordinator, final, reason, unverified_acknowledged=True)

    def file_split(self):
        """One case filed as two claims (A…-1, A…-2) by the same officers on the same day: 疑似拆分.
        A pair of units that has not claimed together yet, so the split does not look reciprocal too."""
        codes, rng = self.codes, self.rng
        fresh = [(a, b) for i, a in enumerate(codes) for b in codes[i + 1:]
                 if not self.pair_counts.get(frozenset((a, b))) and frozenset((a, b)) != frozenset(RECIPROCAL)]
        if not fresh:
            return
        a, b = fresh[rng.randrange(len(fresh))]
        self.pair_counts[frozenset((a, b))] = 2
        team = [(self.units[a], self.members[self.units[a].id][0]), (self.units[b], self.members[self.units[b].id][0])]
        split_date = self.cycle.starts_on + timedelta(days=rng.randrange(self.days))
        base = f"A{split_date:%Y%m%d}{next(self.serial):04d}"
        kind = ("刑事", "较大") if ("刑事", "较大") in self.combos else self.combos[0]
        for part in (1, 2):
            self.file([a, b], "confirmed", ref=f"{base}-{part}", people=list(team), shares=[60, 40],
                      case_date=split_date, kind=kind)

    def case_records(self):
        """Case records for most references; a few missing and one dated outside the cycle → 未核实."""
        rows = []
        for i, (claim, _outcome) in enumerate(self.made):
            if i % 9 == 4:
                continue
            case_date = claim.case_date if i % 17 != 6 else self.cycle.starts_on - timedelta(days=20)
            if any(r["case_ref"] == claim.case_ref for r in rows):
                continue
            rows.append({"case_ref": claim.case_ref, "case_date": case_date.isoformat(),
                         "case_type": claim.case_type, "unit_code": db.session.get(Unit, claim.lead_unit_id).code,
                         "is_preventable": self.rng.random() < 0.8,
                         "status": self.rng.choice(("在办", "已结", "已结"))})
        return services.import_case_records(rows, source="demo")


def _people_by_unit() -> tuple[dict[int, list[Officer]], dict[int, User]]:
    """Active officers with a login: members by unit (badge order) and each unit's first leader."""
    members: dict[int, list[Officer]] = {}
    leaders: dict[int, User] = {}
    for officer in db.session.execute(select(Officer).where(Officer.is_active).order_by(Officer.badge_no)).scalars():
        if officer.user is None:
            continue
        if officer.is_leader:
            leaders.setdefault(officer.unit_id, officer.user)
        else:
            members.setdefault(officer.unit_id, []).append(officer)
    return members, leaders


def _start(rng) -> _Demo | None:
    """The demo's context, or None when there is nothing to do (no open cycle, claims already there, too
    few units, no coordinator)."""
    cycle = db.session.execute(
        select(Cycle).filter_by(status="open").order_by(Cycle.starts_on.desc())).scalars().first()
    if cycle is None:
        return None
    if db.session.execute(select(CollaborationClaim.id).filter_by(cycle_id=cycle.id).limit(1)).first():
        return None
    units = {u.code: u for u in db.session.execute(
        select(Unit).where(Unit.kind.in_(("station", "squad")), Unit.is_active).order_by(Unit.code)).scalars()}
    if len(units) < 4:
        return None
    members, leaders = _people_by_unit()
    coordinator = db.session.execute(select(User).filter_by(username="coordinator")).scalar_one_or_none()
    if coordinator is None:
        return None
    return _Demo(rng, cycle, units, members, leaders, coordinator)


def seed_claims(rng):
    demo = _start(rng)
    if demo is None:
        return None
    demo_officer = db.session.execute(select(User).filter_by(username="officer")).scalar_one_or_none()
    # The demo "officer" (PS01) files a few, so that logging in as officer / leader shows something.
    ps01_first = ["submitted", "partly", "draft", "approved"]
    for outcome in ps01_first:
        k = 2 if rng.random() < 0.75 else 3
        demo.file(demo.pick_units(k, "PS01" if "PS01" in demo.codes else None), outcome, filer=demo_officer)
    rest = list(PLAN)
    for outcome in ps01_first:
        rest.remove(outcome)
    for outcome in rest:
        demo.file(demo.pick_units(2 if rng.random() < 0.75 else 3), outcome)
    if all(code in demo.codes for code in RECIPROCAL):
        for outcome in RECIPROCAL_PLAN:
            demo.file(list(RECIPROCAL), outcome)
    # Two claims for the same case from different sides: the coordinator must merge one.
    first = demo.file(demo.pick_units(2), "confirmed")
    demo.file(demo.pick_units(2), "confirmed", ref=first.case_ref)
    demo.file_split()
    # A token third unit with 1 %: below the 10 % threshold, it does not raise the multiplier.
    trio = demo.pick_units(3)
    demo.file(trio, "approved", people=[(demo.units[c], demo.members[demo.units[c].id][0]) for c in trio],
              shares=[60, 39, 1])
    report = demo.case_records()
    db.session.flush()
    by_state: dict[str, int] = {}
    for claim, _o in demo.made:
        db.session.refresh(claim)
        by_state[claim.status] = by_state.get(claim.status, 0) + 1
    states = ", ".join(f"{k} {v}" for k, v in sorted(by_state.items()))
    return f"{len(demo.made)} claims ({states}); {report.created} case records"
