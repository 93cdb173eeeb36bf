"""All models, split by domain; import them from here."""
from .audit import AuditLog
from .auth import ROLES, User, UserRole
from .base import utcnow
from .cycle import CYCLE_KINDS, CYCLE_STATUSES, CYCLE_TRANSITIONS, Cycle
from .org import STATION_CATEGORIES, UNIT_KINDS, Officer, Unit
from .residents import (
    FOLLOW_UP_STATUSES,
    RESIDENT_CHANNELS,
    RESOLVED_CHOICES,
    FlagKeyword,
    FollowUp,
    ResidentInvitation,
    ResidentResponse,
    ServiceType,
)

__all__ = [
    "AuditLog", "Cycle", "CYCLE_KINDS", "CYCLE_STATUSES", "CYCLE_TRANSITIONS", "Officer", "ROLES",
    "STATION_CATEGORIES", "UNIT_KINDS", "Unit", "User", "UserRole", "utcnow",
    "FOLLOW_UP_STATUSES", "RESIDENT_CHANNELS", "RESOLVED_CHOICES", "FlagKeyword", "FollowUp",
    "ResidentInvitation", "ResidentResponse", "ServiceType",
]
