"""Cronbach's alpha of ``score_feedback`` when each rater group has its own questionnaire.

In the app every rater group (self, peer, supervisor, subordinate) answers its own
instrument: the items of a competency are disjoint between groups. Alpha of a block
(competency, group) is over that group's items of the competency, on the forms that answer
all of them (an N/A answer, NaN, leaves a form incomplete).
"""
import warnings

import numpy as np
import pytest

from scoring import RaterGroup, RatingSet, cronbach_alpha, score_feedback

G = len(RaterGroup)
N_RATERS = {RaterGroup.SELF: 1, RaterGroup.PEER: 4, RaterGroup.SUPERVISOR: 1, RaterGroup.SUBORDINATE: 3}


def _own_questionnaires(seed=0, n_people=60, n_comp=3, na_share=0.05, skip_share=0.02):
    """Answers where group g's items of competency c are its own (disjoint from other groups').

    Returns the RatingSet and ``block_items[c][g]``, the item ids of each questionnaire block.
    Item 0 of the first block of (competency 0, PEER) is N/A for every peer.
    """
    rng = np.random.default_rng(seed)
    block_items, item_comp, next_item = [], [], 0
    for c in range(n_comp):
        row = []
        for g in range(G):
            k = 2 + (c + g) % 3  # 2-4 items per block
            row.append(list(range(next_item, next_item + k)))
            item_comp += [c] * k
            next_item += k
        block_items.append(row)
    n_items = next_item
    true = rng.normal(3.2, 0.6, size=(n_people, n_comp))
    item_offset = rng.normal(0, 0.3, size=n_items)
    rater, ratee, item, group, value = [], [], [], [], []
    for p in range(n_people):
        others = rng.permutation(np.delete(np.arange(n_people), p))
        start = 0
        for g in RaterGroup:
            n = N_RATERS[g]
            raters = [p] if g == RaterGroup.SELF else others[start:start + n]
            start += 0 if g == RaterGroup.SELF else n
            for r in raters:
                lenient = rng.normal(0, 0.3)
                for c in range(n_comp):
                    form_level = true[p, c] + lenient + rng.normal(0, 0.3)
                    for i in block_items[c][g]:
                        if rng.random() < skip_share:  # item not answered at all: no row
                            continue
                        v = np.clip(np.round(form_level + item_offset[i] + rng.normal(0, 0.5)), 1, 5)
                        if rng.random() < na_share:
                            v = np.nan
                        rater.append(r)
                        ratee.append(p)
                        item.append(i)
                        group.append(int(g))
                        value.append(v)
    value = np.array(value)
    item = np.array(item)
    group = np.array(group)
    value[(item == block_items[0][RaterGroup.PEER][0]) & (group == RaterGroup.PEER)] = np.nan
    ratings = RatingSet(rater=np.array(rater), ratee=np.array(ratee), item=item, group=group, value=value,
                        n_people=n_people, n_items=n_items, item_competency=np.array(item_comp))
    return ratings, block_items


def _block_table(ratings: RatingSet, c: int, g: int):
    """Forms x items table of block (c, g), items = those the group answered (non-NaN) at least once."""
    comp = ratings.item_competency[ratings.item]
    in_block = (comp == c) & (ratings.group == g)
    items = np.unique(ratings.item[in_block & ~np.isnan(ratings.value)])
    forms, form_idx = np.unique(ratings.rater[in_block] * ratings.n_people + ratings.ratee[in_block],
                                return_inverse=True)
    table = np.full((forms.size, items.size), np.nan)
    table[form_idx, np.searchsorted(items, ratings.item[in_block])] = ratings.value[in_block]
    return items, table


def test_alpha_per_group_questionnaire_matches_direct_computation():
    ratings, block_items = _own_questionnaires()
    rel = score_feedback(ratings).reliability
    C = ratings.n_competencies
    assert rel.alpha.shape == rel.n_forms.shape == (C, G)
    for c in range(C):
        for g in range(G):
            items, table = _block_table(ratings, c, g)
            expected_items = block_items[c][g]
            if (c, g) == (0, RaterGroup.PEER):  # the item every peer marked N/A is not asked
                expected_items = expected_items[1:]
            assert items.tolist() == expected_items
            complete = table[~np.isnan(table).any(axis=1)]
            assert rel.n_forms[c, g] == complete.shape[0] < table.shape[0], (c, g)
            expected = cronbach_alpha(complete)
            if items.size < 2:
                assert np.isnan(expected) and np.isnan(rel.alpha[c, g])
                continue
            assert np.isfinite(rel.alpha[c, g]), (c, g)
            assert rel.alpha[c, g] == pytest.approx(expected, abs=1e-10), (c, g)


def test_alpha_per_group_questionnaire_matches_pingouin():
    pd = pytest.importorskip("pandas")
    pg = pytest.importorskip("pingouin")
    ratings, _ = _own_questionnaires(seed=3)
    rel = score_feedback(ratings).reliability
    checked = 0
    for c in range(ratings.n_competencies):
        for g in range(G):
            items, table = _block_table(ratings, c, g)
            if items.size < 2:
                continue
            complete = table[~np.isnan(table).any(axis=1)]
            with warnings.catch_warnings():  # pingouin's own pandas deprecations are not ours
                warnings.simplefilter("ignore")
                ref = pg.cronbach_alpha(data=pd.DataFrame(complete))[0]
            assert rel.alpha[c, g] == pytest.approx(ref, abs=1e-10), (c, g)
            checked += 1
    assert checked >= 10


def test_na_answer_makes_a_form_incomplete():
    # one competency; peers answer items 0-2, the supervisor items 3-4 (self: item 5)
    peer_values = np.array([[4, 4, 5], [2, 3, 2], [3, 3, 4], [5, 4, 5], [1, 2, 2]], dtype=float)
    rows = []  # (rater, ratee, item, group, value)
    for f, vals in enumerate(peer_values):
        rows += [(1 + f, 0, i, RaterGroup.PEER, v) for i, v in enumerate(vals)]
    rows += [(0, 1, 3, RaterGroup.SUPERVISOR, 4.0), (0, 1, 4, RaterGroup.SUPERVISOR, 5.0)]
    rows += [(0, 0, 5, RaterGroup.SELF, 4.0)]
    rater, ratee, item, group, value = (np.array(x) for x in zip(*rows, strict=True))

    def rel(value):
        return score_feedback(RatingSet(rater=rater, ratee=ratee, item=item, group=group, value=value,
                                        n_people=6, n_items=6)).reliability

    full = rel(value.astype(float))
    assert full.n_forms[0].tolist() == [1, 5, 1, 0]
    assert full.alpha[0, RaterGroup.PEER] == pytest.approx(cronbach_alpha(peer_values), abs=1e-12)
    assert np.isnan(full.alpha[0, [RaterGroup.SELF, RaterGroup.SUPERVISOR, RaterGroup.SUBORDINATE]]).all()

    na = value.astype(float)
    na[(rater == 2) & (item == 1)] = np.nan  # peer form 1 marks item 1 "not applicable"
    with_na = rel(na)
    assert with_na.n_forms[0, RaterGroup.PEER] == 4
    assert with_na.alpha[0, RaterGroup.PEER] == pytest.approx(cronbach_alpha(np.delete(peer_values, 1, axis=0)),
                                                              abs=1e-12)
