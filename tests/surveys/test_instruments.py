"""The default questionnaires and the JSON round trip."""
import json

import pytest

from surveys.forms import FormItem, parse_value, rating_form_class
from surveys.instruments import (
    COMPETENCIES,
    RATER_GROUPS,
    InstrumentFormatError,
    default_instrument,
    default_instruments,
    from_json,
    to_json,
)


def test_default_set_has_six_competencies_with_two_to_four_items_for_every_group():
    names = [c.name for c in COMPETENCIES]
    assert names == ["矛盾化解", "要素管控", "处警办案", "群众工作", "纪律作风", "团队协作"]
    for spec in default_instruments():
        for comp in spec.competencies:
            assert 2 <= len(spec.items_of(comp.code)) <= 4
        assert all(len(item.scale_labels) == 5 for item in spec.items)
    assert default_instrument("self").items[0].text.startswith("我")
    assert default_instrument("subordinate").items[0].text.startswith("该领导")
    assert {s.rater_group for s in default_instruments()} == set(RATER_GROUPS)


def test_json_round_trip():
    spec = default_instrument("peer")
    assert from_json(to_json(spec)) == spec


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d.update(rater_group="boss"), "rater_group"),
    (lambda d: d["items"][0].update(scale_labels=["a", "b"]), "scale_labels"),
    (lambda d: d["items"][0].update(competency="nope"), "competency"),
    (lambda d: d.update(items=[]), "items"),
    (lambda d: d.update(code="bad code!"), "code"),
])
def test_bad_json_is_refused_with_the_place(mutate, where):
    data = json.loads(to_json(default_instrument("peer")))
    mutate(data)
    with pytest.raises(InstrumentFormatError, match=where):
        from_json(json.dumps(data))
    with pytest.raises(InstrumentFormatError):
        from_json(b"{not json")


def test_form_class_and_value_parsing():
    items = [FormItem(7, "teamwork", "x", ["a", "b", "c", "d", "e"], True)]
    form_class = rating_form_class(items, ["teamwork"], na_label="无法评价")
    form = form_class()
    assert [c.value for c in form.item_7.iter_choices()] == ["1", "2", "3", "4", "5", "na"]
    assert hasattr(form, "comment_teamwork")
    assert parse_value("3") == (True, 3) and parse_value("na") == (True, None) and parse_value("") == (False, None)
    for bad in ("0", "6", "3.5", "x"):
        with pytest.raises(ValueError):
            parse_value(bad)
