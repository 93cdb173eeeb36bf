"""Anonymity gates: thresholds per group, the half-the-items rule, subtraction, shuffled comments."""
from hypothesis import given
from hypothesis import strategies as st

from surveys.anonymity import (
    DEFAULT_THRESHOLDS,
    NON_SELF,
    OTHERS,
    counts_for_competency,
    gated_means,
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
