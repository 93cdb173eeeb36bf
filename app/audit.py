"""Write audit rows for changes to assessment data."""
from flask import has_request_context
from flask_login import current_user

from .extensions import db
from .models import AuditLog


def record(action: str, entity: str, entity_id, before=None, after=None, note: str = "",
           user_id: int | None = None) -> AuditLog:
    """Add an audit row to the session (the caller commits with the change itself)."""
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    row = AuditLog(user_id=user_id, action=action, entity=entity, entity_id=str(entity_id),
                   before=before, after=after, note=note)
    db.session.add(row)
    return row
