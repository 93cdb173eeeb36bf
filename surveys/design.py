"""Who rates whom: the peer design and the assignments that follow from the org tree.

Pure functions over plain data; the same seed always gives the same design.

Peer design within one pool of n people (k' = min(k, n - 1) peers per ratee): people are put in a
random circular order, and ratee at position i is rated by the people at positions i + d (mod n)
for d in a random set D of k' distinct offsets in 1..n-1. Every ratee then has exactly k' peers
and every rater rates exactly k' people (a circulant design), nobody rates themself (d ≠ 0), and a
pair rates each other only if both d and n - d are in D — avoided by taking at most one offset of
each pair {d, n - d}, which is possible whenever k' <= (n - 1) // 2.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

DEFAULT_PEERS = 5


@dataclass(frozen=True)
class UnitNode:
    id: int
    kind: str  # bureau | station | police_type | squad
    parent_id: int | None = None


@dataclass(frozen=True)
class OfficerNode:
    id: int
    unit_id: int
    is_leader: bool = False


@dataclass(frozen=True, order=True)
class Planned:
    rater: int
    ratee: int
    relation: str  # self | peer | supervisor | subordinate


def _offsets(n: int, k: int, rng: random.Random) -> list[int]:
    """k distinct offsets in 1..n-1, taking both d and n-d only when k forces it."""
    pairs = [(d, n - d) for d in range(1, (n - 1) // 2 + 1)]
    rng.shuffle(pairs)
    chosen = []
    for a, b in pairs:
        chosen.append(a if rng.random() < 0.5 else b)
    rest = [b if a in chosen else a for a, b in pairs]
    if n % 2 == 0:
        rest.insert(0, n // 2)  # its own mirror: one reciprocal pair per position, still the cheapest
    offsets = chosen[:k]
    offsets += rest[: k - len(offsets)]
    return offsets


def peer_pairs(members: Sequence[int], k: int, seed: object) -> list[tuple[int, int]]:
    """(rater, ratee) peer pairs within one pool; see the module docstring for the guarantees."""
    people = sorted(set(members))
    n = len(people)
    k = max(0, min(int(k), n - 1))
    if k == 0:
        return []
    rng = random.Random(f"peers:{seed}:{n}:{people[0]}")
    rng.shuffle(people)
    pairs = []
    for d in _offsets(n, k, rng):
        for i, ratee in enumerate(people):
            pairs.append((people[(i + d) % n], ratee))
    return sorted(pairs)


def _both_ways(leaders: Iterable[int], members: Iterable[int]) -> Iterator[Planned]:
    """Each leader rates each member (supervisor) and is rated back (subordinate)."""
    members = list(members)
    for leader in leaders:
        for member in members:
            yield Planned(leader, member, "supervisor")
            yield Planned(member, leader, "subordinate")


def _squad_heads(unit: UnitNode | None, unit_by_id: dict[int, UnitNode],
                 by_unit: dict[int, list[OfficerNode]]) -> list[int]:
    """The leaders of the police-type unit a squad belongs to (none for any other unit)."""
    if unit is None or unit.kind != "squad" or unit.parent_id is None:
        return []
    parent = unit_by_id.get(unit.parent_id)
    if parent is None or parent.kind != "police_type":
        return []
    return [o.id for o in by_unit.get(parent.id, []) if o.is_leader]


def build_design(units: Iterable[UnitNode], officers: Iterable[OfficerNode], peers: int = DEFAULT_PEERS,
                 seed: object = 0) -> list[Planned]:
    """Every assignment of a cycle from the org tree.

    - everyone rates themself;
    - a unit's leaders rate its members (supervisor) and the members rate their leaders (subordinate);
    - a police-type unit's own leaders also rate the leaders of its squads, who rate them back;
    - peers: members (non-leaders) of a unit among themselves, and a unit's leaders among themselves,
      by ``peer_pairs`` with ``peers`` per ratee (fewer in a small pool); pools are seeded separately so
      a change in one unit leaves the others' designs alone.
    """
    unit_by_id = {u.id: u for u in units}
    officers = sorted(officers, key=lambda o: o.id)
    by_unit: dict[int, list[OfficerNode]] = {}
    for officer in officers:
        by_unit.setdefault(officer.unit_id, []).append(officer)
    plan: set[Planned] = {Planned(o.id, o.id, "self") for o in officers}
    for unit_id, staff in sorted(by_unit.items()):
        leaders = [o.id for o in staff if o.is_leader]
        members = [o.id for o in staff if not o.is_leader]
        plan.update(_both_ways(leaders, members))
        plan.update(_both_ways(_squad_heads(unit_by_id.get(unit_id), unit_by_id, by_unit), leaders))
        for pool_name, pool in (("members", members), ("leaders", leaders)):
            for rater, ratee in peer_pairs(pool, peers, f"{seed}:{unit_id}:{pool_name}"):
                plan.add(Planned(rater, ratee, "peer"))
    return sorted(plan, key=lambda p: (p.rater, p.ratee, p.relation))  # key: dataclass ordering is slow


def design_counts(plan: Iterable[Planned]) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """Per ratee and per rater: {officer id: {relation: count}} for the design preview."""
    as_ratee: dict[int, dict[str, int]] = {}
    as_rater: dict[int, dict[str, int]] = {}
    for p in plan:
        row = as_ratee.setdefault(p.ratee, {})
        row[p.relation] = row.get(p.relation, 0) + 1
        row = as_rater.setdefault(p.rater, {})
        row[p.relation] = row.get(p.relation, 0) + 1
    return as_ratee, as_rater
