"""Anonymity gates: thresholds per group, the half-the-items rule, subtraction, shuffled comments."""
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.anonymity import (
    DEFAULT_THRESHOLDS,
    NON_SELF,
    OTHERS,
    RATEE,
    Viewer,
    counts_for_competency,
    gated_means,
    pooled_visible,
    shuffled_comments,
    thresholds,
    visible_groups,
)


def test_defaults_show_peers_from_three_and_the_supervisor_from_one():
    shown = visible_groups({"self": 1, "supervisor": 1, "peer": 3})
    assert shown == {"self": True, "supervisor": True, "peer": True, "subordinate": False, "collaborator": False,
                     OTHERS: True}
    assert visible_groups({"peer": 2})["peer"] is False


def test_a_group_recoverable_by_subtraction_hides_others():
    # others (5) minus peers (3) minus supervisor (1) would leave the one subordinate
    shown = visible_groups({"supervisor": 1, "peer": 3, "subordinate": 1})
    assert shown["subordinate"] is False and shown[OTHERS] is False
    assert shown["peer"] is True and shown["supervisor"] is True


def test_hidden_groups_large_enough_together_keep_others():
    shown = visible_groups({"supervisor": 1, "peer": 2, "subordinate": 1, "collaborator": 2},
                           {**DEFAULT_THRESHOLDS, "peer": 3, "subordinate": 3, "collaborator": 3})
    # peer 2 + subordinate 1 + collaborator 2 = 5 hidden raters: their pooled mean reveals nobody
    assert shown[OTHERS] is True


@given(st.dictionaries(st.sampled_from(["self", *NON_SELF]), st.integers(0, 8)))
def test_no_shown_figure_rests_on_too_few_raters(counts):
    shown = visible_groups(counts)
    for group, ok in shown.items():
        n = sum(counts.get(g, 0) for g in NON_SELF) if group == OTHERS else counts.get(group, 0)
        if ok:
            assert n >= DEFAULT_THRESHOLDS[group]
    if shown[OTHERS]:  # subtraction never isolates a hidden group below its own threshold
        hidden = [g for g in NON_SELF if counts.get(g, 0) and not shown[g]]
        if hidden:
            assert sum(counts[g] for g in hidden) >= max(DEFAULT_THRESHOLDS[g] for g in hidden)


def test_a_rater_counts_for_a_competency_with_half_its_items():
    assert counts_for_competency(2, 3) and not counts_for_competency(1, 3)
    assert counts_for_competency(1, 2) and not counts_for_competency(0, 2)


def test_gated_means_hide_the_mean_itself():
    cells = gated_means({"self": [4.0], "peer": [3.0, 4.0], "supervisor": [5.0]})
    assert cells["peer"].mean is None and not cells["peer"].shown
    assert cells["supervisor"].mean == 5.0 and cells["self"].mean == 4.0
    assert cells[OTHERS].mean is None  # 3 others < 4


def test_thresholds_come_from_the_cycle_config_when_valid():
    limits = thresholds({"feedback": {"thresholds": {"peer": 5, "subordinate": 0, "x": 3, "self": True}}})
    assert limits["peer"] == 5 and limits["subordinate"] == 3 and limits["self"] == 1


def test_comments_are_shuffled_deterministically_and_blank_ones_dropped():
    comments = [f"意见{i}" for i in range(10)] + ["  "]
    once = shuffled_comments(comments, 7)
    assert once == shuffled_comments(list(reversed(comments)), 7)
    assert sorted(once) == sorted(comments[:10]) and len(once) == 10


# ---- the viewer: raters other than the viewer, and what one viewer's figures recover together -------


def _recoverable(counts: dict, viewer: Viewer) -> set[tuple[str, int]]:
    """Raters (group, index) whose own answer follows from the figures ``viewer`` may see: each shown
    group or "others" figure is a known sum (counts are public in the design); the viewer's own
    answers are known too. A rater is recoverable when their unit vector lies in the row space."""
    import numpy as np

    people = [(g, i) for g in NON_SELF for i in range(counts.get(g, 0))]
    if not people:
        return set()
    index = {p: k for k, p in enumerate(people)}
    rows = []
    for g in viewer.rated_as:  # the viewer's own answer: the first rater of that group
        if counts.get(g, 0):
            row = np.zeros(len(people))
            row[index[(g, 0)]] = 1
            rows.append(row)
    shown = visible_groups(counts, None, viewer)
    for group in (*NON_SELF, OTHERS):
        if not shown[group]:
            continue
        row = np.zeros(len(people))
        for (g, _i), k in index.items():
            if group == OTHERS or g == group:
                row[k] = 1
        rows.append(row)
    # pooled figures shown elsewhere (a result breakdown): the 360 score and the peers' teamwork mean
    for pool in (NON_SELF, ("peer", "collaborator")):
        if pooled_visible(counts, pool, None, viewer):
            row = np.zeros(len(people))
            for (g, _i), k in index.items():
                if g in pool:
                    row[k] = 1
            rows.append(row)
    if not rows:
        return set()
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    out = set()
    for p, k in index.items():
        if p[0] in viewer.rated_as and p[1] == 0:
            continue  # the viewer's own
        unit = np.zeros(len(people))
        unit[k] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            out.add(p)
    return out


viewers = st.one_of(
    st.just(RATEE),
    st.builds(lambda groups, admin: Viewer(rated_as=frozenset(groups), sees_details=admin),
              st.sets(st.sampled_from(NON_SELF), max_size=2), st.booleans()),
)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(NON_SELF), st.integers(0, 6)), viewers)
def test_no_viewer_recovers_one_raters_answers_from_what_they_see(counts, viewer):
    leaked = _recoverable(counts, viewer)
    # the one designed exception: the ratee sees their single attributed supervisor
    allowed = {("supervisor", 0)} if viewer.is_ratee and counts.get("supervisor") == 1 else set()
    assert leaked <= allowed, (counts, viewer, leaked)


def test_two_supervisors_never_see_each_other():
    counts = {"self": 1, "supervisor": 2, "peer": 3}
    leader = Viewer(rated_as=frozenset({"supervisor"}))
    shown = visible_groups(counts, None, leader)
    assert shown["supervisor"] is False and shown[OTHERS] is False  # 5 others − 3 peers − own = the other
    assert shown["peer"] is True
    assert visible_groups(counts, None, RATEE)["supervisor"] is True  # the ratee sees their leaders' mean
    assert visible_groups(counts, None, Viewer())["supervisor"] is True  # two raters, an admin rated neither


def test_a_single_supervisor_is_shown_to_the_ratee_only():
    counts = {"supervisor": 1, "peer": 3}
    assert visible_groups(counts, None, RATEE)["supervisor"] is True
    assert visible_groups(counts, None, Viewer())["supervisor"] is False
    assert visible_groups(counts, None, Viewer(rated_as=frozenset({"supervisor"})))["supervisor"] is False


def test_a_peer_viewer_does_not_count_towards_the_peer_threshold():
    counts = {"supervisor": 1, "peer": 3}
    assert visible_groups(counts, None, RATEE)["peer"] is True
    assert visible_groups(counts, None, Viewer(rated_as=frozenset({"peer"})))["peer"] is False


def test_pooled_figures_need_the_others_threshold_without_the_viewer():
    pool = NON_SELF
    assert pooled_visible({"peer": 3, "supervisor": 1}, pool, None, RATEE)
    assert not pooled_visible({"peer": 3, "supervisor": 1}, pool, None, Viewer(rated_as=frozenset({"supervisor"})))
    assert not pooled_visible({"peer": 1}, ("peer",), None, RATEE)  # one peer's teamwork mean
    # three peers shown in the report and one collaborator: their pooled mean would give the collaborator
    assert not pooled_visible({"peer": 3, "collaborator": 1}, ("peer", "collaborator"), None, RATEE)
    assert pooled_visible({"peer": 2, "collaborator": 2}, ("peer", "collaborator"), None, RATEE)
    assert pooled_visible({"peer": 3}, ("peer",), None, Viewer())
    assert not pooled_visible({"peer": 3}, ("peer",), None, Viewer(rated_as=frozenset({"peer"})))
