"""All models, split by domain; import them from here."""
from .audit import AuditLog
from .auth import ROLES, User, UserRole
from .base import utcnow
from .cycle import CYCLE_KINDS, CYCLE_STATUSES, CYCLE_TRANSITIONS, Cycle
from .feedback import (
    ASSIGNMENT_STATUSES,
    NOMINATION_STATUSES,
    RATER_GROUPS,
    RELATIONS,
    Answer,
    Assignment,
    Comment,
    Instrument,
    InstrumentItem,
    Nomination,
    Response,
)
from .org import STATION_CATEGORIES, UNIT_KINDS, Officer, Unit

__all__ = [
    "AuditLog", "Cycle", "CYCLE_KINDS", "CYCLE_STATUSES", "CYCLE_TRANSITIONS", "Officer", "ROLES",
    "STATION_CATEGORIES", "UNIT_KINDS", "Unit", "User", "UserRole", "utcnow",
    # feedback
    "Answer", "Assignment", "ASSIGNMENT_STATUSES", "Comment", "Instrument", "InstrumentItem", "Nomination",
    "NOMINATION_STATUSES", "RATER_GROUPS", "RELATIONS", "Response",
]
