"""All models, split by domain; import them from here."""
from .assessment import ApiClient, ImportBatch, Indicator, IndicatorValue, ScoreResult, ScoreRun
from .audit import AuditLog
from .auth import ROLES, User, UserRole
from .base import utcnow
from .claims import (
    CASE_STATUSES,
    CLAIM_ROLES,
    CLAIM_STATUSES,
    CaseRecord,
    ClaimConfirmation,
    ClaimEvent,
    ClaimParticipant,
    CollaborationClaim,
)
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
from .jobs import JOB_STATES, Job, JobFile
from .notify import DELIVERY_CHANNELS, DELIVERY_STATUSES, Delivery, Notification, ReminderSchedule
from .notify_channels import RESIDENT_SMS_PURPOSES, NotificationPreference, ResidentContact, ResidentSms
from .org import STATION_CATEGORIES, UNIT_KINDS, Officer, Unit
from .reports import ReliabilityReport
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
from .results import (
    APPROVAL_STATUSES,
    ApprovalDecision,
    AwardNomination,
    CalendarDay,
    CommitteeMember,
    DevelopmentRecord,
    Objection,
    ObjectionEvidence,
    ResultApproval,
    TalkRecord,
)
from .trends import PROPOSAL_STATUSES, Incident, IncidentType, TrendProposal

__all__ = [
    "RESIDENT_SMS_PURPOSES", "NotificationPreference", "ResidentContact", "ResidentSms",
    "ApiClient", "ImportBatch", "Indicator", "IndicatorValue", "ScoreResult", "ScoreRun",
    "AuditLog", "CASE_STATUSES", "CLAIM_ROLES", "CLAIM_STATUSES", "CaseRecord", "ClaimConfirmation",
    "ClaimEvent", "ClaimParticipant", "CollaborationClaim",
    "Cycle", "CYCLE_KINDS", "CYCLE_STATUSES", "CYCLE_TRANSITIONS", "Officer", "ROLES",
    "STATION_CATEGORIES", "UNIT_KINDS", "Unit", "User", "UserRole", "utcnow",
    "FOLLOW_UP_STATUSES", "RESIDENT_CHANNELS", "RESOLVED_CHOICES", "FlagKeyword", "FollowUp",
    "ResidentInvitation", "ResidentResponse", "ServiceType",
    "Answer", "Assignment", "ASSIGNMENT_STATUSES", "Comment", "Instrument", "InstrumentItem", "Nomination",
    "NOMINATION_STATUSES", "RATER_GROUPS", "RELATIONS", "Response", "ReliabilityReport",
    "PROPOSAL_STATUSES", "Incident", "IncidentType", "TrendProposal",
    "JOB_STATES", "Job", "JobFile",
    "APPROVAL_STATUSES", "ApprovalDecision", "AwardNomination", "CommitteeMember", "Objection", "ObjectionEvidence",
    "ResultApproval", "TalkRecord", "DevelopmentRecord", "CalendarDay",
]
from .claims import CASE_STAGES, FINAL_STAGES
from .monitoring import (
    DEFAULT_RESPONSE_MINUTES,
    EVIDENCE_MAX_BYTES,
    SELF_CHECK_STATUSES,
    Connector,
    DerivedIndicator,
    Evidence,
    Rectification,
    ResponseTarget,
    SelfCheck,
    SelfCheckItem,
)

__all__ += ["CASE_STAGES", "FINAL_STAGES", "DEFAULT_RESPONSE_MINUTES", "ResponseTarget", "EVIDENCE_MAX_BYTES",
            "SELF_CHECK_STATUSES", "Connector", "DerivedIndicator", "Evidence", "Rectification", "SelfCheck",
            "SelfCheckItem"]
__all__ += ["DELIVERY_CHANNELS", "DELIVERY_STATUSES", "Delivery", "Notification", "ReminderSchedule"]
