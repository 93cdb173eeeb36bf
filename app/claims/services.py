"""Collaboration claims, by noun. This module only gathers them, so that views, the API and other
features keep one import (``from app.claims import services``); a rule lives where its name says:

- :mod:`.states`: a claim's states and labels, and the one atomic way it moves between them.
- :mod:`.filing`: the cycle a claim goes into, the case and participant checks, save and submit.
- :mod:`.review`: the units' confirmations and the coordinator's approve / return / reject / merge.
- :mod:`.guards`: duplicate references, possible splits, reciprocal unit pairs, verification.
- :mod:`.points`: the points rules, each claim's points and formula, the standing, 团队协作.
- :mod:`.cases`: case records, imported to verify claims against.
- :mod:`.lists`: who sees which claims, the lists and counts, the landing-page panels.

Services flush; the view commits once (or rolls back).
"""
from .cases import (  # noqa: F401
    CASE_COLUMNS,
    CASE_KEYS,
    CASE_STATUS_WORDS,
    NO,
    YES,
    CaseImportReport,
    case_record_summary,
    import_case_records,
    import_case_records_file,
    parse_date,
)
from .filing import (  # noqa: F401
    ParticipantInput,
    cycles,
    format_bp,
    normalise_ref,
    open_cycle,
    parse_share,
    pick_cycle,
    save_claim,
    submit_claim,
)
from .guards import (  # noqa: F401
    DEFAULT_RECIPROCITY,
    SPLIT_STATUSES,
    CycleFlags,
    cycle_flags,
    duplicates_of,
    has_case_records,
    reciprocity_settings,
    ref_stem,
    refs_alike,
    split_partners,
    verify_refs,
)
from .lists import (  # noqa: F401
    can_view,
    counts,
    cycle_summary,
    home_award,
    home_todo,
    my_claims_query,
    review_count,
    review_queue,
    to_confirm_query,
    with_table_rows,
)
from .points import (  # noqa: F401
    DEFAULT_POINTS_RULES,
    SEVERITY_ORDER,
    ClaimPoints,
    TeamStanding,
    case_types,
    claim_points,
    freeze_points_rules,
    points_rules,
    rules_as_text,
    save_points_rules,
    severities,
    soft_indicator_values,
    team_standing,
    teamwork_indicator,
)
from .review import (  # noqa: F401
    approve_claim,
    decide_for_unit,
    leader_units,
    merge_claim,
    pending_units,
    reject_claim,
    return_claim,
    review_conflict,
)
from .states import (  # noqa: F401
    ACTION_LABELS,
    ACTIVE_STATUSES,
    CASE_STATUS_LABELS,
    FLAG_LABELS,
    REVIEW_STATUSES,
    ROLE_LABELS,
    STATUS_COLOURS,
    STATUS_LABELS,
    busy,
    claim_event,
    claim_snapshot,
    lock_claim,
    move_claim,
    refuse_moved,
)
