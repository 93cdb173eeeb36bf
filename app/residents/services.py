"""Resident satisfaction feedback: invitations, answers, follow-ups, soft indicators.

Services flush; the view commits once (or rolls back). Single use of a link holds under races
through an atomic conditional UPDATE plus the UNIQUE ``resident_response.invitation_id``.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask import has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import Table, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from surveys.residents import (
    CHANNEL_CODES,
    DISSATISFIED,
    add_working_days,
    expires_at,
    flagged_words,
    hash_token,
    is_in_progress,
    new_token,
    normalise_comment,
)

from .. import scope
from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..faults import fault_point
from ..localtime import format_local
from ..models import (
    FlagKeyword,
    FollowUp,
    Officer,
    ResidentInvitation,
    ResidentResponse,
    ServiceType,
    Unit,
    User,
    utcnow,
)
from ..models.residents import invitation_officer, invitation_state
from ..tabular import csv_bytes, read_table, xlsx_workbook
from .settings import local_today, setting


class LinkUnavailable(DomainError):
    """The link cannot take an answer. ``reason`` is 'used' only for a real, spent token;
    unknown, expired and revoked links all say 'invalid' so that nothing is revealed about them."""

    def __init__(self, reason: str):
        super().__init__(_("您已经提交过评价，感谢您的反馈。") if reason == "used"
                         else _("该评价链接无效或已过期。"))
        self.reason = reason


# ---- who sees what -----------------------------------------------------------------------------
def _descendant_ids(root_ids: set[int]) -> set[int]:
    """``root_ids`` and every unit below them (one query; the tree is small)."""
    edges = db.session.execute(select(Unit.id, Unit.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in edges:
        children.setdefault(parent_id, []).append(unit_id)
    seen, stack = set(), list(root_ids)
    while stack:
        unit_id = stack.pop()
        if unit_id in seen:
            continue
        seen.add(unit_id)
        stack.extend(children.get(unit_id, []))
    return seen


def managed_unit_ids(user: User) -> set[int] | None:
    """Units whose follow-ups ``user`` handles: None means all (admins); a leader gets their unit
    and the units below it; everyone else none."""
    if user.has_role("admin"):
        return None
    officer = user.officer
    if officer is None or not (officer.is_leader or user.has_role("supervisor")):
        return set()
    return _descendant_ids({officer.unit_id})


def inviting_unit_ids(user: User) -> set[int] | None:
    """Units a user may invite residents for: None = all (admins), else the user's unit and below."""
    if user.has_role("admin"):
        return None
    if user.officer is None:
        return set()
    return _descendant_ids({user.officer.unit_id})


def unit_choices_for(user: User) -> dict[int, str]:
    allowed = inviting_unit_ids(user)
    query = select(Unit).where(Unit.is_active, scope.clause(Unit.bureau_id, user)).order_by(Unit.code)
    if allowed is not None:
        query = query.where(Unit.id.in_(allowed or {-1}))
    return {u.id: f"{u.name}（{u.code}）" for u in db.session.execute(query).scalars()}


def service_type_choices(include_sensitive: bool = False) -> dict[int, str]:
    query = select(ServiceType).where(ServiceType.is_active).order_by(ServiceType.id)
    if not include_sensitive:
        query = query.where(ServiceType.is_sensitive.is_(False))
    return {t.id: t.name for t in db.session.execute(query).scalars()}


# ---- invitations -------------------------------------------------------------------------------
def link_url(token: str, base_url: str | None = None) -> str:
    """The resident's link: RESIDENT_BASE_URL (or ``base_url``) when set, else this request's host."""
    base = (base_url or setting("RESIDENT_BASE_URL") or "").rstrip("/")
    if base:
        return f"{base}/r/{token}"
    if has_request_context():
        return url_for("public.resident_link", token=token, _external=True)
    return f"http://127.0.0.1:5000/r/{token}"


def window_url(unit_code: str) -> str:
    base = (setting("RESIDENT_BASE_URL") or "").rstrip("/")
    if base:
        return f"{base}/q/{unit_code}"
    return url_for("public.window", code=unit_code, _external=True)


def parse_badges(text: str) -> list[str]:
    return [b for b in re.split(r"[\s,，、;；]+", normalise_comment(text, 500)) if b]


def _officers_for(unit: Unit, badges: list[str], field_name: str = "officers") -> list[Officer]:
    if not badges:
        return []
    allowed = _descendant_ids({unit.id})
    found = db.session.execute(select(Officer).where(Officer.badge_no.in_(badges))).scalars().all()
    by_badge = {o.badge_no: o for o in found}
    wrong = [b for b in badges if b not in by_badge or by_badge[b].unit_id not in allowed
             or not by_badge[b].is_active]
    if wrong:
        raise DomainError(_("警号 %(badges)s 不存在，或不属于所选单位。", badges="、".join(wrong)), field=field_name)
    return [by_badge[b] for b in dict.fromkeys(badges)]


def create_invitation(*, service_type: ServiceType | None, unit: Unit | None, badges: list[str], reference: str,
                      created_by: User | None, source: str = "staff", days: int | None = None,
                      now: datetime | None = None) -> tuple[ResidentInvitation, str]:
    """A new single-use invitation and its token (the token is returned once and never stored)."""
    if service_type is None or not service_type.is_active:
        raise DomainError(_("请选择有效的业务类型。"), field="service_type_id")
    if service_type.is_sensitive:
        raise DomainError(_("“%(name)s”属于敏感业务，不向群众发送评价邀请。", name=service_type.name),
                          field="service_type_id")
    if unit is None or not unit.is_active:
        raise DomainError(_("请选择有效的单位。"), field="unit_id")
    officers = _officers_for(unit, badges)
    now = now or utcnow()
    token = new_token()
    invitation = ResidentInvitation(
        token_hash=hash_token(token), service_type=service_type, unit=unit,
        reference=normalise_comment(reference, 64), source=source, created_by=created_by, created_at=now,
        expires_at=expires_at(now, days or int(setting("RESIDENT_LINK_DAYS"))), officers=officers,
    )
    db.session.add(invitation)
    flush_or_fail(_("生成链接失败，请重试。"))
    record("resident_invitation_created", "resident_invitation", invitation.id,
           after={"unit": unit.code, "service_type": service_type.name, "reference": invitation.reference,
                  "officers": [o.badge_no for o in officers], "expires_at": str(invitation.expires_at)},
           user_id=created_by.id if created_by else None)
    return invitation, token


def can_manage_invitation(user: User, invitation: ResidentInvitation) -> bool:
    if user.has_role("admin") or invitation.created_by_id == user.id:
        return True
    managed = managed_unit_ids(user)
    return managed is None or invitation.unit_id in managed


def revoke_invitation(invitation: ResidentInvitation, user: User) -> None:
    """Revoke a link within its validity, answered or not (staff never learn which: an answer given
    before stands, one after is refused). Atomic: a resident submitting at the same moment wins or
    loses cleanly."""
    now = utcnow()
    result = cast(CursorResult[Any], db.session.execute(  # an UPDATE's result
        update(ResidentInvitation)
        .where(ResidentInvitation.id == invitation.id, ResidentInvitation.revoked_at.is_(None),
               ResidentInvitation.expires_at > now)
        .values(revoked_at=now, revoked_by_id=user.id)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise DomainError(_("该链接已撤销或已过期，不能再撤销。"))
    db.session.refresh(invitation)
    record("resident_invitation_revoked", "resident_invitation", invitation.id,
           before={"revoked_at": None}, after={"revoked_at": str(now)})


def invitations_query(user: User, state: str = ""):
    """Invitations ``user`` may open: their own, and for leaders their units' (admins: all)."""
    query = select(ResidentInvitation).where(scope.unit_clause(ResidentInvitation.unit_id, user))\
        .order_by(ResidentInvitation.id.desc())
    managed = managed_unit_ids(user)
    if managed is not None:
        query = query.where(or_(ResidentInvitation.created_by_id == user.id,
                                ResidentInvitation.unit_id.in_(managed or {-1})))
    now = utcnow()  # the states staff see (ResidentInvitation.staff_state): never "answered"
    if state == "revoked":
        query = query.where(ResidentInvitation.revoked_at.is_not(None))
    elif state == "open":
        query = query.where(ResidentInvitation.revoked_at.is_(None), ResidentInvitation.expires_at > now)
    elif state == "ended":
        query = query.where(ResidentInvitation.revoked_at.is_(None), ResidentInvitation.expires_at <= now)
    return query


# ---- the public form ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenLink:
    """What the resident's page shows about a pending link (no ORM objects: one query, plain values)."""

    invitation_id: int
    unit_name: str
    service_name: str
    officer_names: tuple[str, ...]


def open_invitation(token: str, connection) -> OpenLink:
    """The invitation a resident may answer now, or LinkUnavailable. Reading never spends a link.

    One round trip: the invitation, its unit and service names and the officers served come back
    from one SELECT (one row per officer). ``connection`` is a dbutil.lean_connection.
    """
    token_hash = hash_token(token)
    if token_hash is None:
        raise LinkUnavailable("invalid")
    rows = connection.execute(_OPEN_LINK, {"token_hash": token_hash}).fetchall()
    if not rows:
        raise LinkUnavailable("invalid")
    invitation_id, used_at, revoked_at, expires_at_, unit_name, service_name, _officer = rows[0]
    state = invitation_state(used_at, revoked_at, expires_at_, utcnow())
    if state != "pending":
        raise LinkUnavailable("used" if state == "used" else "invalid")
    return OpenLink(invitation_id, unit_name, service_name,
                    tuple(row[-1] for row in rows if row[-1] is not None))


def link_state(token: str, connection) -> str:
    """'used' for a real spent token, else 'invalid' or 'pending' (read-only; after a lost race)."""
    try:
        open_invitation(token, connection)
    except LinkUnavailable as error:
        return error.reason
    return "pending"


def _answer_values(answers: dict, may_contact: bool) -> dict:
    return {
        "overall": int(answers["overall"]), "attitude": int(answers["attitude"]),
        "efficiency": int(answers["efficiency"]), "fairness": int(answers["fairness"]),
        "resolved": answers["resolved"],
        "comment": normalise_comment(answers.get("comment"), int(setting("RESIDENT_COMMENT_MAX"))),
        "may_contact": may_contact,
    }


def submit_link_response(token: str, answers: dict, connection, today: date | None = None) -> int:
    """Spend the link and store the answer on ``connection`` (a dbutil.lean_connection in a
    transaction, which the caller owns); the answer's id. Raises LinkUnavailable.

    The UPDATE claims the link only while it is unused, unrevoked and unexpired (of many racing
    submits exactly one sees a row change) and returns what the answer needs; the INSERT stores the
    answer; the UNIQUE invitation_id backs the UPDATE up. On PostgreSQL both are one statement (the
    UPDATE a CTE feeding the INSERT): one round trip to the database instead of two on the busiest
    write of the site. A follow-up adds one more INSERT, and a comment one SELECT of the keywords.
    """
    token_hash = hash_token(token)
    if token_hash is None:
        raise LinkUnavailable("invalid")
    now = utcnow()
    claim = {"b_token_hash": token_hash, "b_now": now,
             # The link remembers only the day it was used: with the time, it would date the answer.
             "b_used_on": now.replace(hour=0, minute=0, second=0, microsecond=0)}
    values = dict(channel="link", answered_on=today or local_today(),
                  **_answer_values(answers, answers.get("may_contact") is True))
    try:
        if connection.dialect.name == "postgresql":
            stored = connection.execute(_CLAIM_AND_ANSWER, {**claim, **values}).fetchone()
        else:
            claimed = connection.execute(_CLAIM_LINK, claim).fetchone()
            stored = claimed and connection.execute(_INSERT_ANSWER, dict(
                zip(("invitation_id", "unit_id", "service_type_id"), claimed, strict=True), **values)).fetchone()
    except IntegrityError as error:  # a racing submit won (the UNIQUE invitation_id)
        raise LinkUnavailable("used") from error
    if stored is None:
        raise LinkUnavailable(link_state(token, connection))
    response_id, unit_id = stored
    dissatisfied, words = _follow_up_reason(values["overall"], values["comment"], connection)
    if dissatisfied or words:
        connection.execute(_INSERT_FOLLOW_UP, _follow_up_row(response_id, unit_id, dissatisfied, words,
                                                             values["answered_on"], values["may_contact"]))
    fault_point("resident_submit")  # tests only (KAOPING_FAULT_INJECT): a worker dies before COMMIT
    return response_id


# The resident's statements, built once with bound parameters on the tables (Core, no ORM
# entities): per request SQLAlchemy only finds the compiled form instead of building and keying a
# new statement, which cost more CPU than the rest of the submit together.
_invitations, _units, _types, _officers, _responses = (
    cast(Table, ResidentInvitation.__table__), cast(Table, Unit.__table__), cast(Table, ServiceType.__table__),
    cast(Table, Officer.__table__), cast(Table, ResidentResponse.__table__))
_OPEN_LINK = (
    select(_invitations.c.id, _invitations.c.used_at, _invitations.c.revoked_at, _invitations.c.expires_at,
           _units.c.name.label("unit_name"), _types.c.name.label("service_name"),
           _officers.c.name.label("officer_name"))
    .join(_units, _units.c.id == _invitations.c.unit_id)
    .join(_types, _types.c.id == _invitations.c.service_type_id)
    .outerjoin(invitation_officer, invitation_officer.c.invitation_id == _invitations.c.id)
    .outerjoin(_officers, _officers.c.id == invitation_officer.c.officer_id)
    .where(_invitations.c.token_hash == bindparam("token_hash"))
    .order_by(_officers.c.badge_no)
)
_CLAIM_LINK = (
    update(_invitations)
    .where(_invitations.c.token_hash == bindparam("b_token_hash"), _invitations.c.used_at.is_(None),
           _invitations.c.revoked_at.is_(None), _invitations.c.expires_at > bindparam("b_now"))
    .values(used_at=bindparam("b_used_on"))
    .returning(_invitations.c.id, _invitations.c.unit_id, _invitations.c.service_type_id)
)
_ANSWER_COLUMNS = ("channel", "answered_on", "overall", "attitude", "efficiency", "fairness", "resolved", "comment",
                   "may_contact")
_INSERT_ANSWER = (insert(_responses)
                  .values({name: bindparam(name) for name in ("invitation_id", "unit_id", "service_type_id",
                                                              *_ANSWER_COLUMNS)})
                  .returning(_responses.c.id, _responses.c.unit_id))
_FOLLOW_UP_COLUMNS = ("response_id", "unit_id", "is_dissatisfied", "flagged_words", "status", "opened_on", "due_on",
                      "check_note", "fix_note")
_INSERT_FOLLOW_UP = insert(cast(Table, FollowUp.__table__)).values(
    {name: bindparam(name) for name in _FOLLOW_UP_COLUMNS})
_ACTIVE_KEYWORDS = select(FlagKeyword.__table__.c.word).order_by(FlagKeyword.__table__.c.id)
_claimed = _CLAIM_LINK.cte("claimed")
_CLAIM_AND_ANSWER = (
    insert(_responses)
    .from_select(["invitation_id", "unit_id", "service_type_id", *_ANSWER_COLUMNS],
                 select(_claimed.c.id, _claimed.c.unit_id, _claimed.c.service_type_id,
                        *(bindparam(name, type_=_responses.c[name].type) for name in _ANSWER_COLUMNS)))
    .returning(_responses.c.id, _responses.c.unit_id)
)


def window_unit(code: str) -> Unit | None:
    """The active unit behind a window QR code, or None for anything else."""
    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", code):
        return None
    return db.session.execute(select(Unit).filter_by(code=code, is_active=True)).scalar_one_or_none()


def submit_window_response(unit: Unit, answers: dict, today: date | None = None) -> ResidentResponse:
    """A window-QR answer: multi-use, no invitation, channel 'window' (weighted lower by scoring).
    It names no business and nobody to contact: never a consent to be contacted."""
    response = ResidentResponse(unit_id=unit.id, channel="window", answered_on=today or local_today(),
                                **_answer_values(answers, False))
    db.session.add(response)
    flush_or_fail(_("提交失败，请重试。"))
    open_follow_up_if_needed(response)
    return response


# ---- follow-ups --------------------------------------------------------------------------------
def active_keywords(connection=None) -> list[str]:
    """The flag keywords, read through ``connection`` (a dbutil.lean_connection) or the session."""
    return [row[0] for row in (connection or db.session).execute(_ACTIVE_KEYWORDS).fetchall()]


def _follow_up_reason(overall: int, comment: str, connection=None) -> tuple[bool, list[str]]:
    """(dissatisfied, flagged words); the keyword list is read only when there is a comment."""
    words = flagged_words(comment, active_keywords(connection)) if comment else []
    return overall == DISSATISFIED, words


def week_of(day: date) -> tuple[date, date]:
    """(Monday, Sunday) of the week holding ``day``: how staff see the date of an answer whose
    resident did not agree to be contacted."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def week_label(day: date) -> str:
    monday, sunday = week_of(day)
    return _("%(start)s 至 %(end)s 当周", start=monday.isoformat(), end=sunday.isoformat())


def _follow_up_row(response_id: int, unit_id: int, dissatisfied: bool, words: list[str], answered: date,
                   may_contact: bool) -> dict:
    """The follow-up item of an answer. Without the resident's consent it is dated by its week (it
    opens on the Monday and its working days count from the Sunday), so that neither its opening
    day nor its deadline gives away the day of the answer; with consent, by the day itself."""
    # No audit row for it: its timestamp would date the resident's answer to the second. The item's
    # opened_on starts its history; the leaders' steps are audited.
    opened, counted_from = (answered, answered) if may_contact else week_of(answered)
    return dict(response_id=response_id, unit_id=unit_id, is_dissatisfied=dissatisfied,
                flagged_words="、".join(words)[:200], status="open", opened_on=opened,
                due_on=add_working_days(counted_from, int(setting("RESIDENT_FOLLOW_UP_DAYS"))),
                check_note="", fix_note="")


def open_follow_up_if_needed(response: ResidentResponse, today: date | None = None) -> FollowUp | None:
    """A 不满意 answer, or a comment with a flagged keyword, opens an item in the unit's queue."""
    dissatisfied, words = _follow_up_reason(response.overall, response.comment)
    if not dissatisfied and not words:
        return None
    item = FollowUp(**_follow_up_row(response.id, response.unit_id, dissatisfied, words,
                                     today or response.answered_on, response.may_contact))
    db.session.add(item)
    db.session.flush()
    return item


def follow_ups_query(user: User, status: str = "", unit_id: int | None = None, overdue_only: bool = False,
                     today: date | None = None):
    query = (select(FollowUp).order_by(FollowUp.status != "open", FollowUp.due_on, FollowUp.id)
             .options(selectinload(FollowUp.unit), selectinload(FollowUp.response).selectinload(
                 ResidentResponse.invitation))).where(scope.unit_clause(FollowUp.unit_id, user))
    managed = managed_unit_ids(user)
    if managed is not None:
        query = query.where(FollowUp.unit_id.in_(managed or {-1}))
    if status in ("open", "checked", "fixed"):
        query = query.where(FollowUp.status == status)
    elif status == "unfinished":
        query = query.where(FollowUp.status != "fixed")
    if unit_id:
        query = query.where(FollowUp.unit_id == unit_id)
    if overdue_only:
        query = query.where(FollowUp.status != "fixed", FollowUp.due_on < (today or local_today()))
    return query


def can_handle_follow_up(user: User, item: FollowUp) -> bool:
    managed = managed_unit_ids(user)
    return managed is None or item.unit_id in managed


def _follow_up_snapshot(item: FollowUp) -> dict:
    return {"status": item.status, "check_note": item.check_note, "fix_note": item.fix_note}


def _clean_note(note: str, field_name: str) -> str:
    text = normalise_comment(note, 2000)
    if not text:
        raise DomainError(_("请填写说明。"), field=field_name)
    return text


def check_follow_up(item: FollowUp, note: str, user: User) -> None:
    """Record the check (核查): open → checked."""
    _move_follow_up(item, "open", "checked", "follow_up_checked",
                    check_note=_clean_note(note, "note"), checked_at=utcnow(), checked_by_id=user.id)


def fix_follow_up(item: FollowUp, note: str, user: User) -> None:
    """Record the fix (整改): checked → fixed. A check must come first."""
    text = _clean_note(note, "note")
    if item.status == "open":
        raise DomainError(_("请先记录核查情况，再记录整改。"), field="note")
    _move_follow_up(item, "checked", "fixed", "follow_up_fixed", fix_note=text, fixed_at=utcnow(),
                    fixed_by_id=user.id)


def _move_follow_up(item: FollowUp, from_status: str, to_status: str, action: str, **values) -> None:
    """Move ``item`` on only while it is still ``from_status`` (one conditional UPDATE, so two
    leaders cannot both move it), and audit the step."""
    before = _follow_up_snapshot(item)
    result = cast(CursorResult[Any], db.session.execute(  # an UPDATE's result
        update(FollowUp).where(FollowUp.id == item.id, FollowUp.status == from_status)
        .values(status=to_status, **values)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise DomainError(_("该事项已被他人处理，请刷新后查看。"))
    db.session.refresh(item)
    record(action, "resident_follow_up", item.id, before=before, after=_follow_up_snapshot(item))


def follow_up_counts(user: User, today: date | None = None) -> dict:
    today = today or local_today()
    managed = managed_unit_ids(user)
    query = select(FollowUp.status, func.count(FollowUp.id),
                   func.sum(case((FollowUp.due_on < today, 1), else_=0))).group_by(FollowUp.status)\
        .where(scope.unit_clause(FollowUp.unit_id, user))
    if managed is not None:
        query = query.where(FollowUp.unit_id.in_(managed or {-1}))
    counts = {"open": 0, "checked": 0, "fixed": 0, "overdue": 0}
    for status, n, late in db.session.execute(query):
        counts[status] = n
        if status != "fixed":
            counts["overdue"] += int(late or 0)
    return counts


def home_panel(user: User) -> dict | None:
    """Landing-page figures for leaders and admins: answers, follow-up counts, overdue items."""
    if not (user.has_role("admin") or user.has_role("supervisor")):
        return None
    today = local_today()
    counts = follow_up_counts(user, today)
    overdue = db.session.execute(follow_ups_query(user, overdue_only=True, today=today).limit(5)).scalars().all()
    managed = managed_unit_ids(user)
    answers = select(func.count(ResidentResponse.id), func.sum(case((ResidentResponse.overall >= 3, 1), else_=0)))
    answers = answers.where(ResidentResponse.answered_on >= date(today.year, today.month, 1))
    if managed is not None:
        answers = answers.where(ResidentResponse.unit_id.in_(managed or {-1}))
    n, satisfied = db.session.execute(answers).one()
    return {"counts": counts, "overdue": overdue, "today": today, "month_answers": n or 0,
            "month_satisfied": int(satisfied or 0)}


# ---- admin lists -------------------------------------------------------------------------------
def save_service_type(service_type: ServiceType | None, data: dict) -> ServiceType:
    before = None
    if service_type is not None:
        before = {"name": service_type.name, "is_sensitive": service_type.is_sensitive,
                  "is_active": service_type.is_active}
    else:
        service_type = ServiceType()
        db.session.add(service_type)
    service_type.name = normalise_comment(data["name"], 50)
    if not service_type.name:
        raise DomainError(_("请填写名称。"), field="name")
    service_type.is_sensitive = bool(data.get("is_sensitive"))
    service_type.is_active = bool(data.get("is_active", True))
    flush_or_fail(_("业务类型“%(name)s”已存在。", name=service_type.name), field="name")
    record("service_type_saved", "service_type", service_type.id, before=before,
           after={"name": service_type.name, "is_sensitive": service_type.is_sensitive,
                  "is_active": service_type.is_active})
    return service_type


def add_keyword(word: str) -> FlagKeyword:
    # Control characters go too: PostgreSQL refuses NUL, and nobody types one on purpose.
    word = re.sub(r"\s+", "", normalise_comment(word, 30))
    if not word:
        raise DomainError(_("请填写关键词。"), field="word")
    keyword = FlagKeyword(word=word)
    db.session.add(keyword)
    flush_or_fail(_("关键词“%(word)s”已在列表中。", word=word), field="word")
    record("flag_keyword_added", "resident_flag_keyword", keyword.id, after={"word": word})
    return keyword


def delete_keyword(keyword: FlagKeyword) -> None:
    record("flag_keyword_deleted", "resident_flag_keyword", keyword.id, before={"word": keyword.word})
    db.session.delete(keyword)
    db.session.flush()


# ---- batch invitations -------------------------------------------------------------------------
BATCH_REQUIRED = ("业务编号", "业务类型", "单位代码", "手机号")
BATCH_OPTIONAL = ("民警警号", "办理状态")
_PHONE = re.compile(r"1[3-9]\d{9}")


def _phone(raw: str) -> str | None:
    digits = re.sub(r"[\s\-()（）]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if _PHONE.fullmatch(digits) else None


@dataclass
class BatchRow:
    number: int
    reference: str
    phone: str
    service_type: ServiceType
    unit: Unit
    badges: list[str]


@dataclass
class BatchPlan:
    rows: list[BatchRow] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (row number, reference, reason)

    @property
    def reasons(self) -> list[tuple[str, int]]:
        return Counter(reason for _n, _r, reason in self.skipped).most_common()

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.skipped)


def plan_batch(filename: str, raw: bytes) -> BatchPlan:
    """Check an uploaded service-record table; sensitive types and unfinished cases are skipped.

    Reads only; nothing is stored. Phone numbers stay in the plan (for the SMS file) and are never saved.
    """
    table = [type(row)(row.number, {k: normalise_comment(v, 200) for k, v in row.values.items()})
             for row in read_table(filename, raw, required=BATCH_REQUIRED)]
    known = _batch_lookups({row.values.get("业务编号", "").strip() for row in table} - {""})
    plan, seen = BatchPlan(), set[str]()
    for row in table:
        planned = _batch_row(row.number, row.values, known, seen)
        if isinstance(planned, BatchRow):
            plan.rows.append(planned)
            seen.add(planned.reference)
        else:
            plan.skipped.append((row.number, row.values.get("业务编号", "").strip()[:64], planned))
    return plan


@dataclass
class _BatchLookups:
    """What a batch's rows are checked against, each loaded once."""
    types: dict[str, ServiceType]
    units: dict[str, Unit]
    officers: dict[str, Officer]
    invited: set[str]  # references already invited (not revoked)
    subtrees: dict[int, set[int]] = field(default_factory=dict)  # unit id → its unit and those below

    def allowed_units(self, unit: Unit) -> set[int]:
        return self.subtrees.setdefault(unit.id, _descendant_ids({unit.id}))


def _batch_lookups(references: set[str]) -> _BatchLookups:
    invited: set[str] = set()
    if references:
        invited = set(db.session.execute(
            select(ResidentInvitation.reference).where(ResidentInvitation.reference.in_(references),
                                                       ResidentInvitation.revoked_at.is_(None))
        ).scalars())
    return _BatchLookups(
        types={t.name: t for t in db.session.execute(select(ServiceType)).scalars()},
        units={u.code: u for u in db.session.execute(
            select(Unit).where(Unit.is_active, scope.clause(Unit.bureau_id))).scalars()},
        officers={o.badge_no: o for o in db.session.execute(
            select(Officer).where(Officer.is_active, scope.unit_clause(Officer.unit_id))).scalars()},
        invited=invited)


def _batch_row(number: int, v: dict, known: _BatchLookups, seen: set[str]) -> BatchRow | str:
    """The invitation one row plans, or why the row is skipped (the first reason that applies)."""
    reference = v.get("业务编号", "").strip()[:64]
    service_type = known.types.get(v.get("业务类型", "").strip())
    unit = known.units.get(v.get("单位代码", "").strip())
    phone = _phone(v.get("手机号", ""))
    reason = batch_skip_reason(service_type, v.get("办理状态", ""), reference, unit, phone)
    if reason is not None:
        return reason
    assert service_type is not None and unit is not None and phone is not None
    if reference in seen:
        return _("文件中业务编号重复")
    if reference in known.invited:
        return _("该业务已发出过邀请")
    badges = parse_badges(v.get("民警警号", ""))
    allowed = known.allowed_units(unit)
    if any(b not in known.officers or known.officers[b].unit_id not in allowed for b in badges):
        return _("民警警号不存在或不属于该单位")
    return BatchRow(number, reference, phone, service_type, unit, badges)


def batch_skip_reason(service_type: ServiceType | None, status: str, reference: str, unit: Unit | None,
                      phone: str | None) -> str | None:
    """Why a row alone is not invited: a sensitive service type or a case still in progress come
    first (never invited, whatever else is wrong), then missing or unknown values."""
    if service_type is not None and service_type.is_sensitive:
        return _("敏感业务类型，不邀请")
    if is_in_progress(status):
        return _("案件仍在办理中")
    if not reference:
        return _("缺少业务编号")
    if service_type is None or not service_type.is_active:
        return _("业务类型未登记或已停用")
    if unit is None:
        return _("单位代码不存在")
    if phone is None:
        return _("手机号无效")
    return None


def create_batch(plan: BatchPlan, created_by: User | None, base_url: str | None = None) -> list[list[str]]:
    """Invite every planned row; returns [reference, phone, link, expires] rows for the SMS gateway."""
    out = []
    for row in plan.rows:
        invitation, token = create_invitation(service_type=row.service_type, unit=row.unit, badges=row.badges,
                                              reference=row.reference, created_by=created_by, source="batch")
        out.append([row.reference, row.phone, link_url(token, base_url),
                    format_local(invitation.expires_at)])
    return out


def create_batch_by_sms(plan: BatchPlan, created_by: User | None) -> int:
    """Invite every planned row and queue its SMS (and one reminder) through the bureau's gateway
    instead of producing a file: the token is sealed until sent (app.residents.sms). How many."""
    from .sms import queue_invitation_sms, start_sending

    first = None
    for row in plan.rows:
        invitation, token = create_invitation(service_type=row.service_type, unit=row.unit, badges=row.badges,
                                              reference=row.reference, created_by=created_by, source="batch")
        queue_invitation_sms(invitation, token, row.phone)
        first = invitation.id if first is None else first
    if first is not None:
        db.session.flush()
        start_sending(first)
    return len(plan.rows)


def batch_file(links: list[list[str]], plan: BatchPlan, fmt: str = "xlsx") -> tuple[bytes, str, str]:
    """(content, mimetype, filename): links for the SMS gateway; the xlsx adds a sheet of skipped rows."""
    header = [_("业务编号"), _("手机号"), _("评价链接"), _("有效期至")]
    if fmt == "csv":
        return csv_bytes(header, links), "text/csv", "resident-links.csv"
    skipped_header = [_("行号"), _("业务编号"), _("跳过原因")]
    content = xlsx_workbook([("links", header, links), ("skipped", skipped_header, [list(s) for s in plan.skipped])])
    return content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "resident-links.xlsx"


# ---- soft indicators for the main assessment --------------------------------------------------
def soft_indicator_values(cycle) -> dict:
    """Resident satisfaction of units and officers for answers dated inside ``cycle``.

    Returns ``{"soft_residents": {"level": "unit", "values": {unit_id: rate × 100}, "details": {...}},
    "soft_residents_officer": {"level": "officer", ...}}``. Rates are shrunk toward the subject's
    prior group (stations: their category; other units: their kind; officers: their unit) by
    ``scoring.score_residents``; window-QR answers weigh less there. Only subjects with answers appear,
    and officers only from RESIDENT_OFFICER_MIN_ANSWERS answers (the gate every reader goes through).
    A 基本满意 answer counts as the cycle's setting says (assessment option ``basic_satisfied_credit``:
    0.5 = half satisfied, the default, or 1 = satisfied).
    """
    import numpy as np

    from scoring.residents import ResidentConfig, ResidentSet, score_residents

    from ..bulk import integer_arrays

    credit = float(((cycle.config or {}).get("assessment_options") or {}).get("basic_satisfied_credit", 0.5))
    config = ResidentConfig(credit=(0.0, credit, 1.0, 1.0))

    inside = and_(ResidentResponse.answered_on >= cycle.starts_on, ResidentResponse.answered_on <= cycle.ends_on)
    result = {"soft_residents": {"level": "unit", "values": {}, "details": {}},
              "soft_residents_officer": {"level": "officer", "values": {}, "details": {}}}
    answer_ids, unit_ids, levels, channels, invitation_ids = _answers_inside(inside)
    if not len(answer_ids):
        return result

    # Units, shrunk toward their category (stations) or their kind (other units).
    subjects, subject_index = np.unique(unit_ids, return_inverse=True)
    # The units answered about, by a subquery (never a list of ids: no statement's parameters grow with the data).
    answered_units = select(ResidentResponse.unit_id).where(inside).distinct()
    units = {u.id: u for u in db.session.execute(select(Unit).where(Unit.id.in_(answered_units))).scalars()}
    group_keys = [f"station-{units[i].category}" if units[i].kind == "station" else units[i].kind
                  for i in subjects.tolist()]
    _keys, groups = np.unique(np.array(group_keys), return_inverse=True)
    result["soft_residents"] = _scored("unit", subjects, subject_index, levels, channels, groups,
                                       ResidentSet, score_residents, config)

    # Officers served, through their invitations (window answers name no officer), joined to the same
    # answers (an IN list of every answered link would exceed PostgreSQL's 65,535 parameters in a province).
    invitation, officer_ids, officer_units = integer_arrays(
        select(invitation_officer.c.invitation_id, invitation_officer.c.officer_id, Officer.unit_id)
        .join(Officer, Officer.id == invitation_officer.c.officer_id)
        .join(ResidentResponse, ResidentResponse.invitation_id == invitation_officer.c.invitation_id)
        .where(inside))
    if len(invitation):
        by_invitation = np.argsort(invitation_ids, kind="stable")  # answer rows of the links, by invitation id
        rows = by_invitation[np.searchsorted(invitation_ids, invitation, sorter=by_invitation)]
        order = np.lexsort((officer_ids, rows))  # by answer, then officer: the same order every time
        rows, officer_ids, officer_units = rows[order], officer_ids[order], officer_units[order]
        subjects, subject_index = np.unique(officer_ids, return_inverse=True)
        first = np.zeros(len(subjects), dtype=np.int64)
        first[subject_index[::-1]] = np.arange(len(officer_ids))[::-1]
        _keys, groups = np.unique(officer_units[first], return_inverse=True)
        scored = _scored("officer", subjects, subject_index, levels[rows], channels[rows], groups,
                         ResidentSet, score_residents, config)
        result["soft_residents_officer"] = _officers_with_enough_answers(scored)
    return result


def _answers_inside(inside) -> tuple:
    """The resident answers matching ``inside`` by id, as arrays (n,): id, unit id, overall level,
    channel code and invitation id (0 for a window answer)."""
    import numpy as np

    from ..bulk import integer_arrays

    channel = case({name: code for name, code in CHANNEL_CODES.items()}, value=ResidentResponse.channel)
    answers = integer_arrays(select(ResidentResponse.id, ResidentResponse.unit_id, ResidentResponse.overall, channel,
                                    func.coalesce(ResidentResponse.invitation_id, 0)).where(inside))
    return tuple(answers[:, np.argsort(answers[0], kind="stable")])


def _officers_with_enough_answers(scored: dict) -> dict:
    """Only officers with at least RESIDENT_OFFICER_MIN_ANSWERS answers keep a figure: from fewer,
    a reader who knows whom they served could tell what one resident said. The others are left out
    (missing, never zero); their answers still shaped their unit's prior above."""
    minimum = int(setting("RESIDENT_OFFICER_MIN_ANSWERS"))
    kept = [subject for subject, details in scored["details"].items() if details["n"] >= minimum]
    return {"level": scored["level"], "values": {s: scored["values"][s] for s in kept},
            "details": {s: scored["details"][s] for s in kept}}


def _scored(level, subjects, subject_index, levels, channels, groups, ResidentSet, score_residents,
            config) -> dict:
    import numpy as np

    scores = score_residents(ResidentSet(subject=subject_index, level=levels, channel=channels,
                                         n_subjects=len(subjects), prior_group=groups), config)
    n_window = np.bincount(subject_index, weights=channels == 1, minlength=len(subjects)).astype(int)
    # whole columns as Python numbers at once (a province has 50,000 officers), then one dict each
    rate, raw_rate, low, high, prior_rate = (np.asarray(column, dtype=np.float64).tolist() for column in (
        scores.rate, scores.raw_rate, scores.low, scores.high, scores.prior_rate))
    counts, windows = np.asarray(scores.n).astype(np.int64).tolist(), n_window.tolist()
    credit = config.credit[1]
    values, details = {}, {}
    for i, subject in enumerate(subjects.tolist()):
        values[subject] = round(rate[i] * 100, 2)
        raw = raw_rate[i]
        details[subject] = {
            "raw_rate": None if math.isnan(raw) else round(raw, 4), "n": counts[i],
            "n_window": windows[i], "rate": round(rate[i], 4),
            "low": round(low[i], 4), "high": round(high[i], 4),
            "prior_rate": round(prior_rate[i], 4),
            "basic_satisfied_credit": credit,
        }
    return {"level": level, "values": values, "details": details}


def cycle_summary(cycle) -> dict:
    """Answers dated inside ``cycle``: counts by channel, satisfied (满意 or better) and follow-ups."""
    inside = and_(ResidentResponse.answered_on >= cycle.starts_on, ResidentResponse.answered_on <= cycle.ends_on)
    rows = db.session.execute(
        select(ResidentResponse.channel, func.count(ResidentResponse.id),
               func.sum(case((ResidentResponse.overall >= 3, 1), else_=0)))
        .where(inside).group_by(ResidentResponse.channel)
    ).all()
    by_channel = {channel: (n, int(satisfied or 0)) for channel, n, satisfied in rows}
    follow_ups = db.session.scalar(
        select(func.count(FollowUp.id)).join(FollowUp.response).where(inside))
    total = sum(n for n, _s in by_channel.values())
    return {"total": total, "link": by_channel.get("link", (0, 0))[0], "window": by_channel.get("window", (0, 0))[0],
            "satisfied": sum(s for _n, s in by_channel.values()), "follow_ups": follow_ups or 0}


def responses_query(user: User):
    managed = managed_unit_ids(user)
    query = (select(ResidentResponse).order_by(ResidentResponse.answered_on.desc(), ResidentResponse.id.desc())
             .options(selectinload(ResidentResponse.unit), selectinload(ResidentResponse.service_type))
             .where(scope.unit_clause(ResidentResponse.unit_id, user)))
    if managed is not None:
        query = query.where(ResidentResponse.unit_id.in_(managed or {-1}))
    return query

