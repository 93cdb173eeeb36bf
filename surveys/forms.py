"""Build a WTForms form class from an instrument.

Fields: ``item_<item id>`` radio buttons "1".."5" (and "na" where allowed), ``comment_<competency>``
text areas. Choices are not validated here: the rating service is the authority on which items and
values are acceptable (and says so clearly); the form renders and carries the answers.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wtforms import Form, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length

NA = "na"
MAX_COMMENT = 1000


@dataclass(frozen=True)
class FormItem:
    id: int
    competency: str
    text: str
    scale_labels: Sequence[str]
    allow_na: bool


def item_field_name(item_id: int) -> str:
    return f"item_{item_id}"


def comment_field_name(competency: str) -> str:
    return f"comment_{competency}"


def rating_form_class(items: Sequence[FormItem], comment_competencies: Sequence[str], base: type[Form] = Form,
                      na_label: str = "N/A", comment_label: str = "Comment",
                      comment_too_long: str | None = None) -> type[Form]:
    """A subclass of ``base`` (e.g. FlaskForm) with one field per item and per comment box."""
    attrs: dict[str, object] = {}
    for item in items:
        choices = [SelectChoice(value=str(point), label=f"{point} {label}")
                   for point, label in zip(range(1, 6), item.scale_labels, strict=True)]
        if item.allow_na:
            choices.append(SelectChoice(value=NA, label=na_label))
        attrs[item_field_name(item.id)] = RadioField(item.text, choices=choices, validate_choice=False,
                                                     default=None)
    for code in comment_competencies:
        attrs[comment_field_name(code)] = TextAreaField(
            comment_label, validators=[Length(max=MAX_COMMENT, message=comment_too_long)]
        )
    return type("RatingForm", (base,), attrs)


def parse_value(raw: str | None) -> tuple[bool, int | None]:
    """(answered, value) from a posted value: "1".."5" → value, "na" → N/A, "" → unanswered.

    Raises ValueError for anything else (a tampered value).
    """
    if raw is None or raw == "":
        return False, None
    if raw == NA:
        return True, None
    if raw in {"1", "2", "3", "4", "5"}:
        return True, int(raw)
    raise ValueError(raw)
