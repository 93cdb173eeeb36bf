"""Small helpers for WTForms."""
from wtforms import SelectChoice


def select_choices(mapping) -> list[SelectChoice]:
    """{value: label} → the SelectChoice list that WTForms 3.3+ expects (tuples are deprecated)."""
    return [SelectChoice(value=value, label=label) for value, label in dict(mapping).items()]
