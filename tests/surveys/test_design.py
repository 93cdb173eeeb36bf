"""The peer design's guarantees, as properties: k per ratee, load k±1, no self, no reciprocity, determinism."""
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.design import OfficerNode, Planned, UnitNode, build_design, design_counts, peer_pairs

pools = st.lists(st.integers(min_value=1, max_value=10_000), min_size=0, max_size=40, unique=True)
ks = st.integers(min_value=0, max_value=12)
seeds = st.one_of(st.integers(), st.text(max_size=8))


@settings(max_examples=300, deadline=None)
@given(members=pools, k=ks, seed=seeds)
def test_every_ratee_gets_k_peers_or_all_others_in_a_small_pool(members, k, seed):
    pairs = peer_pairs(members, k, seed)
    want = min(k, max(len(members) - 1, 0))
    per_ratee = Counter(ratee for _, ratee in pairs)
    assert all(per_ratee[m] == want for m in members)
    assert set(per_ratee) <= set(members)


@settings(max_examples=300, deadline=None)
@given(members=pools, k=ks, seed=seeds)
def test_each_raters_load_stays_within_k_plus_minus_one(members, k, seed):
    pairs = peer_pairs(members, k, seed)
    want = min(k, max(len(members) - 1, 0))
    load = Counter(rater for rater, _ in pairs)
    assert all(abs(load[m] - want) <= 1 for m in members)


@settings(max_examples=300, deadline=None)
@given(members=pools, k=ks, seed=seeds)
def test_nobody_rates_themself_and_no_pair_twice(members, k, seed):
    pairs = peer_pairs(members, k, seed)
    assert all(rater != ratee for rater, ratee in pairs)
    assert len(set(pairs)) == len(pairs)
    assert all(rater in members for rater, _ in pairs)


@settings(max_examples=300, deadline=None)
@given(members=pools, k=ks, seed=seeds)
def test_reciprocal_pairs_are_avoided_where_the_pool_allows(members, k, seed):
    pairs = set(peer_pairs(members, k, seed))
    n = len(members)
    want = min(k, max(n - 1, 0))
    reciprocal = {frozenset(p) for p in pairs if (p[1], p[0]) in pairs}
    if want <= (n - 1) // 2:
        assert reciprocal == set()
    else:  # forced: only as many as the pigeonholes demand (each person has n-1 possible peers)
        assert len(reciprocal) <= n * (2 * want - (n - 1)) / 2 + n / 2


@settings(max_examples=100, deadline=None)
@given(members=pools, k=ks, seed=seeds)
def test_same_seed_same_design_whatever_the_input_order(members, k, seed):
    assert peer_pairs(members, k, seed) == peer_pairs(list(reversed(members)), k, seed)


def test_a_different_seed_gives_a_different_design():
    members = list(range(1, 21))
    designs = {tuple(peer_pairs(members, 5, seed)) for seed in range(5)}
    assert len(designs) > 1


@st.composite
def org_trees(draw):
    units = [UnitNode(1, "bureau"), UnitNode(2, "station", 1), UnitNode(3, "police_type", 1),
             UnitNode(4, "squad", 3), UnitNode(5, "squad", 3)]
    officers = []
    next_id = 1
    for unit in units:
        size = draw(st.integers(min_value=0, max_value=14))
        leaders = draw(st.integers(min_value=0, max_value=min(2, size)))
        for i in range(size):
            officers.append(OfficerNode(next_id, unit.id, i < leaders))
            next_id += 1
    return units, officers


@settings(max_examples=100, deadline=None)
@given(tree=org_trees(), k=st.integers(min_value=1, max_value=6), seed=st.integers())
def test_org_design_relations(tree, k, seed):
    units, officers = tree
    plan = build_design(units, officers, peers=k, seed=seed)
    assert plan == build_design(units, list(reversed(officers)), peers=k, seed=seed)
    by_id = {o.id: o for o in officers}
    assert len(set(plan)) == len(plan)
    selfs = [p for p in plan if p.relation == "self"]
    assert sorted(p.rater for p in selfs) == sorted(by_id)
    for p in plan:
        rater, ratee = by_id[p.rater], by_id[p.ratee]
        if p.relation == "self":
            assert p.rater == p.ratee
        elif p.relation == "peer":
            assert p.rater != p.ratee and rater.unit_id == ratee.unit_id
            assert rater.is_leader == ratee.is_leader
        elif p.relation == "supervisor":
            assert rater.is_leader and Planned(p.ratee, p.rater, "subordinate") in plan
        elif p.relation == "subordinate":
            assert ratee.is_leader
    # every member of a unit with leaders is rated by each leader of the unit
    for o in officers:
        if not o.is_leader:
            leaders = [x.id for x in officers if x.unit_id == o.unit_id and x.is_leader]
            assert all(Planned(leader, o.id, "supervisor") in plan for leader in leaders)


def test_squad_leaders_are_rated_by_the_police_type_units_leaders():
    units = [UnitNode(3, "police_type"), UnitNode(4, "squad", 3)]
    officers = [OfficerNode(1, 3, True), OfficerNode(2, 4, True), OfficerNode(3, 4), OfficerNode(4, 4)]
    plan = set(build_design(units, officers, peers=5, seed=1))
    assert Planned(1, 2, "supervisor") in plan and Planned(2, 1, "subordinate") in plan
    assert Planned(2, 3, "supervisor") in plan and Planned(3, 2, "subordinate") in plan
    assert Planned(3, 4, "peer") in plan and Planned(4, 3, "peer") in plan  # a pool of two
    ratee_counts, rater_counts = design_counts(plan)
    assert ratee_counts[2] == {"self": 1, "supervisor": 1, "subordinate": 2}
    assert rater_counts[1] == {"self": 1, "supervisor": 1}
