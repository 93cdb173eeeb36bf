"""What every view that changes data does with a service call."""
from flask import flash

from .errors import DomainError
from .extensions import db


def show_error(error: DomainError, form=None) -> None:
    """Roll back and show the message next to its form field, or as a flash when it has none."""
    db.session.rollback()
    target = getattr(form, error.field, None) if form is not None and error.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = list(target.errors) + [error.message]
    else:
        flash(error.message, "danger")


def run_service(action, *args, form=None, success=None, **kwargs):
    """Run ``action(*args, **kwargs)`` and commit once, flashing ``success`` (a string, or a
    function of the result); on a DomainError roll back and show its message instead.

    Returns the action's result (True when it returns None), or None when it was refused.
    """
    try:
        result = action(*args, **kwargs)
    except DomainError as error:
        show_error(error, form)
        return None
    db.session.commit()
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return True if result is None else result
