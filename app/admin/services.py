"""Administration of units, officers, users and cycles. Services flush; views commit."""
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError

from .. import scope
from ..audit import record
from ..auth.services import check_password_strength
from ..bulk import CHUNK_ROWS, insert_rows, plain_rows
from ..dbutil import flush_or_fail, is_unique_violation
from ..errors import DomainError
from ..extensions import db
from ..models import CYCLE_TRANSITIONS, Cycle, Officer, Unit, User, utcnow
from ..tabular import read_table


def _snapshot(obj, columns) -> dict:
    return {c: (str(v) if v is not None and not isinstance(v, (int, float, bool, str)) else v)
            for c in columns for v in [getattr(obj, c)]}


# ---- units -------------------------------------------------------------------------------------
UNIT_FIELDS = ("code", "name", "kind", "category", "parent_id", "is_active", "population")


def unit_tree() -> list[tuple[Unit, int]]:
    """Every unit with its depth, in tree order (one query, assembled in memory)."""
    units = db.session.execute(db.select(Unit).where(scope.clause(Unit.bureau_id)).order_by(Unit.code)).scalars().all()
    shown = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:  # a bureau admin's tree starts at their bureau
        children.setdefault(unit.parent_id if unit.parent_id in shown else None, []).append(unit)
    out: list[tuple[Unit, int]] = []
    stack = [(u, 0) for u in reversed(children.get(None, []))]
    while stack:
        unit, depth = stack.pop()
        out.append((unit, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(unit.id, [])))
    return out


def _check_parent(unit: Unit | None, parent_id: int | None, kind: str | None) -> None:
    parent = db.session.get(Unit, parent_id) if parent_id is not None else None
    if parent_id is not None and (parent is None or not scope.can_see(parent)):
        raise DomainError(_("上级单位不存在。"), field="parent_id")
    keeps_root = unit is not None and unit.parent_id is None and parent is None and unit.kind == kind
    if not scope.sees_all() and (kind == "bureau" or parent is None) and not keeps_root:
        # a bureau's admin works inside their bureau: new roots (bureaus) are the installation's to make
        raise DomainError(_("只能在本局之下新建或调整单位。"), field="parent_id")
    if parent_id is None or unit is None or unit.id is None:
        return
    node = parent
    while node is not None:
        if node.id == unit.id:
            raise DomainError(_("上级单位不能是本单位或其下级单位。"), field="parent_id")
        node = node.parent


def save_unit(unit: Unit | None, data: dict) -> Unit:
    """Create (unit=None) or update a unit from form data."""
    data = dict(data)
    data["category"] = int(data["category"]) if data.get("category") else None
    data["parent_id"] = data.get("parent_id") or None
    _check_parent(unit, data["parent_id"], data.get("kind"))
    before = _snapshot(unit, UNIT_FIELDS) if unit else None
    if unit is None:
        unit = Unit()
        db.session.add(unit)
    for key in ("code", "name", "kind", "category", "parent_id"):
        setattr(unit, key, data[key])
    if "population" in data:
        unit.population = data["population"] or None
    flush_or_fail(_("单位代码“%(code)s”已存在。", code=data["code"]), field="code")
    record("unit_saved", "unit", unit.id, before=before, after=_snapshot(unit, UNIT_FIELDS))
    return unit


def unit_choices(kinds: tuple[str, ...] | None = None) -> dict[int, str]:
    """Active units as {id: "name (code)"} for select fields."""
    query = db.select(Unit).where(Unit.is_active, scope.clause(Unit.bureau_id)).order_by(Unit.code)
    if kinds:
        query = query.where(Unit.kind.in_(kinds))
    return {u.id: f"{u.name}（{u.code}）" for u in db.session.execute(query).scalars()}


# ---- officers ----------------------------------------------------------------------------------
OFFICER_FIELDS = ("badge_no", "name", "unit_id", "position", "is_leader", "is_active")


def search_officers(q: str, unit_id: int | None = None, include_inactive: bool = False):
    query = db.select(Officer).join(Officer.unit).where(scope.clause(Unit.bureau_id)).order_by(Officer.badge_no)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Officer.name.ilike(like), Officer.badge_no.ilike(like)))
    if unit_id:
        query = query.where(Officer.unit_id == unit_id)
    if not include_inactive:
        query = query.where(Officer.is_active)
    return query


def save_officer(officer: Officer | None, data: dict) -> Officer:
    before = _snapshot(officer, OFFICER_FIELDS) if officer else None
    unit = db.session.get(Unit, data["unit_id"])
    if unit is None or not scope.can_see(unit):
        raise DomainError(_("单位不存在。"), field="unit_id")
    if officer is None:
        officer = Officer()
        db.session.add(officer)
    for key in ("badge_no", "name", "unit_id", "position", "is_leader"):
        setattr(officer, key, data[key] if data[key] is not None else "")
    _account_follows(officer, unit)
    flush_or_fail(_("警号“%(badge)s”已存在。", badge=data["badge_no"]), field="badge_no")
    record("officer_saved", "officer", officer.id, before=before, after=_snapshot(officer, OFFICER_FIELDS))
    return officer


def set_officer_active(officer: Officer, active: bool) -> None:
    """Officers are deactivated, never deleted: their ratings and results stay attributable."""
    before = _snapshot(officer, OFFICER_FIELDS)
    officer.is_active = active
    if officer.user is not None and not active:
        officer.user.is_active_account = False
    record("officer_activated" if active else "officer_deactivated", "officer", officer.id,
           before=before, after=_snapshot(officer, OFFICER_FIELDS))
    db.session.flush()


# ---- users -------------------------------------------------------------------------------------
def user_clause():
    """Accounts the current user may see: of their bureau (its own, or its officer's unit's)."""
    if scope.sees_all():
        return sa.true()
    from ..models import UserRole

    office = sa.select(UserRole.user_id).where(UserRole.role.in_(scope.OFFICE_ROLES))
    return sa.or_(scope.clause(User.bureau_id),
                  sa.and_(User.bureau_id.is_(None), User.id.not_in(office), scope.unit_clause(Officer.unit_id)))


def search_users(q: str):
    query = db.select(User).outerjoin(User.officer).where(user_clause()).order_by(User.username)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(User.username.ilike(like), Officer.name.ilike(like), Officer.badge_no.ilike(like)))
    return query


def save_user(user: User | None, data: dict) -> User:
    officer = None
    if data.get("badge_no"):
        officer = db.session.execute(
            db.select(Officer).filter_by(badge_no=data["badge_no"].strip())
        ).scalar_one_or_none()
        if officer is None or not scope.can_see(officer):
            raise DomainError(_("找不到警号为“%(badge)s”的民警。", badge=data["badge_no"]), field="badge_no")
    roles = set(data["roles"])
    if roles & {"officer", "supervisor"} and officer is None:
        raise DomainError(_("民警和所队领导账号必须关联一名民警。"), field="badge_no")
    before = {"username": user.username, "roles": sorted(user.roles), "officer_id": user.officer_id} if user else None
    if data.get("password"):  # checked before the new row exists (no autoflush of a half-made user)
        words = [data["username"]] + ([officer.name, officer.badge_no, officer.unit.name, officer.unit.code]
                                      if officer is not None else [])
        check_password_strength(data["password"], words)
    if user is None:
        if not data.get("password"):
            raise DomainError(_("新账号需要设置初始密码。"), field="password")
        user = User(username=data["username"])
        db.session.add(user)
    user.username = data["username"]
    user.officer = officer
    if data.get("password"):
        user.set_password(data["password"])
        user.must_change_password = True  # the admin knows it: the user chooses their own at first login
    user.roles = roles
    user.bureau_id = _account_bureau(roles, officer, data.get("bureau_id"))
    flush_or_fail(_("用户名已存在，或该民警已有账号。"), field="username")
    record("user_saved", "user", user.id, before=before,
           after={"username": user.username, "roles": sorted(user.roles), "officer_id": user.officer_id})
    if "mobile" in data or "email" in data:
        from ..notify.preferences import set_contact

        set_contact(user, data.get("mobile") or "", data.get("email") or "")
    return user


def _account_bureau(roles: set[str], officer: Officer | None, chosen: int | None) -> int | None:
    """An account's bureau: an officer's follows their unit; the province role has none; an admin or
    coordinator gets the bureau chosen (a bureau admin: always their own)."""
    if "province" in roles:
        if not scope.sees_all():
            raise DomainError(_("只有全系统管理员可以设置省厅账号。"), field="roles")
        return None
    own = officer.unit.bureau_id if officer is not None else None
    if not roles & {"admin", "coordinator"}:
        return own
    bureau = scope.bureau_for_new(chosen=_chosen_bureau(chosen))  # none chosen: installation-wide
    if own is not None and bureau is not None and bureau != own:
        raise DomainError(_("账号所属的局须与所关联民警的单位一致。"), field="bureau_id")
    return bureau


def sync_account_bureaus() -> None:
    """Officers' own accounts take their unit's bureau again (one statement, after a roster import moved
    officers); admins', coordinators' and the province's accounts keep theirs."""
    from ..models import UserRole

    bureau = (sa.select(Unit.bureau_id).join(Officer, Officer.unit_id == Unit.id)
              .where(Officer.id == User.officer_id).scalar_subquery())
    office = sa.select(UserRole.user_id).where(UserRole.role.in_(scope.OFFICE_ROLES))
    db.session.execute(sa.update(User).where(User.officer_id.is_not(None), User.id.not_in(office))
                       .values(bureau_id=bureau).execution_options(synchronize_session=False))


def _account_follows(officer: Officer, unit: Unit) -> None:
    """An officer's own account (not an admin's or coordinator's) belongs to their unit's bureau."""
    user = officer.user
    if user is not None and not user.has_role(*scope.OFFICE_ROLES):
        user.bureau_id = unit.bureau_id


def set_user_active(user: User, active: bool, acting: User) -> None:
    if user.id == acting.id and not active:
        raise DomainError(_("不能停用自己的账号。"))
    user.is_active_account = active
    user.end_sessions()
    record("user_activated" if active else "user_deactivated", "user", user.id)
    db.session.flush()


# ---- cycles ------------------------------------------------------------------------------------
CYCLE_FIELDS = ("name", "kind", "starts_on", "ends_on", "deadline_on", "status")


def save_cycle(cycle: Cycle | None, data: dict) -> Cycle:
    if cycle is not None and cycle.is_frozen:
        raise DomainError(_("周期已开启，设置已冻结，不能再修改。"))
    before = _snapshot(cycle, CYCLE_FIELDS) if cycle else None
    if cycle is None:
        cycle = Cycle(config={}, bureau_id=_cycle_bureau(data.get("bureau_id")))
        db.session.add(cycle)
    for key in ("name", "kind", "starts_on", "ends_on", "deadline_on"):
        setattr(cycle, key, data[key])
    flush_or_fail(_("本局同类型、同开始日期的周期已存在。"), field="starts_on")
    record("cycle_saved", "cycle", cycle.id, before=before, after=_snapshot(cycle, CYCLE_FIELDS))
    return cycle


def _cycle_bureau(chosen: int | None) -> int | None:
    """A new cycle's bureau: the user's own; for an installation admin the one chosen, or the only
    bureau when there is just one (the single-bureau default)."""
    chosen = _chosen_bureau(chosen)
    if chosen is None and scope.sees_all():
        only = db.session.execute(db.select(Unit.id).where(Unit.kind == "bureau").limit(2)).scalars().all()
        if len(only) > 1:
            raise DomainError(_("请选择周期所属的局：各局的周期、排名和奖金分开计算。"), field="bureau_id")
        chosen = only[0] if only else None
    return scope.bureau_for_new(chosen=chosen)


def _chosen_bureau(chosen: int | None) -> int | None:
    """The bureau picked in a form (0 or None: none), refused unless it is a bureau the user sees."""
    if not chosen:
        return None
    bureau = db.session.get(Unit, chosen)
    if bureau is None or bureau.kind != "bureau" or not scope.can_see(bureau):
        raise DomainError(_("单位不存在。"), field="bureau_id")
    return chosen


@dataclass(frozen=True)
class CloseConsequences:
    """What is still undone in an open cycle, shown before anyone closes it."""

    days_left: int  # days until the rating deadline (negative once it has passed)
    ratings_total: int  # 360 ratings asked for, declined ones left out
    ratings_outstanding: int  # not yet submitted (pending or draft)
    claims_in_review: int  # submitted, confirmed or disputed: waiting for units or the coordinator
    claims_with_filers: int  # drafts and returned claims: waiting for whoever files them

    @property
    def ratings_outstanding_pct(self) -> float:
        return 100.0 * self.ratings_outstanding / self.ratings_total if self.ratings_total else 0.0

    @property
    def anything_left(self) -> bool:
        return bool(self.ratings_outstanding or self.claims_in_review or self.claims_with_filers
                    or self.days_left > 0)


def close_consequences(cycle: Cycle) -> CloseConsequences:
    """Counts of what closing ``cycle`` now would leave undone (two grouped queries)."""
    from sqlalchemy import func, select

    from ..localtime import local_today
    from ..models import Assignment, CollaborationClaim

    ratings = dict(db.session.execute(
        select(Assignment.status, func.count()).where(Assignment.cycle_id == cycle.id).group_by(Assignment.status)
    ).all())
    claims = dict(db.session.execute(
        select(CollaborationClaim.status, func.count()).where(CollaborationClaim.cycle_id == cycle.id)
        .group_by(CollaborationClaim.status)
    ).all())
    return CloseConsequences(
        days_left=(cycle.effective_deadline - local_today()).days,
        ratings_total=sum(n for status, n in ratings.items() if status != "declined"),
        ratings_outstanding=ratings.get("pending", 0) + ratings.get("draft", 0),
        claims_in_review=sum(claims.get(s, 0) for s in ("submitted", "confirmed", "disputed")),
        claims_with_filers=claims.get("draft", 0) + claims.get("returned", 0),
    )


# Hooks run just before a cycle moves to a status (e.g. freezing the rating design on "open").
# Features append callables taking (cycle); they raise DomainError to refuse the move.
BEFORE_TRANSITION: dict[str, list] = {"open": [], "closed": [], "published": []}
# Hooks run once a cycle has moved (e.g. telling officers their ratings are open), in the same transaction.
AFTER_TRANSITION: dict[str, list] = {"open": [], "closed": [], "published": []}


def transition_cycle(cycle: Cycle, target: str) -> None:
    """Move a cycle one step along draft → open → closed → published.

    The conditional UPDATE makes the move atomic: of two racing requests only one changes the row.
    """
    if CYCLE_TRANSITIONS.get(cycle.status) != target:
        raise DomainError(_("周期当前状态不允许此操作。"))
    for hook in BEFORE_TRANSITION.get(target, []):
        hook(cycle)
    stamp = {"open": "opened_at", "closed": "closed_at", "published": "published_at"}[target]
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]  # an UPDATE's result
        update(Cycle).where(Cycle.id == cycle.id, Cycle.status == cycle.status)
        .values(status=target, **{stamp: utcnow()})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(_("周期状态已被其他人修改，请刷新后重试。"))
    before = cycle.status
    db.session.refresh(cycle)
    record(f"cycle_{target}", "cycle", cycle.id, before={"status": before}, after={"status": target})
    for hook in AFTER_TRANSITION.get(target, []):
        hook(cycle)
    db.session.flush()


# ---- roster import -----------------------------------------------------------------------------
ROSTER_COLUMNS = ("警号", "姓名", "单位代码", "职务", "是否领导")
YES = {"是", "y", "yes", "1", "true", "领导"}
NO = {"", "否", "n", "no", "0", "false"}


@dataclass
class ImportReport:
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, message)
    created: int = 0
    updated: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _roster_problems(values: dict[str, str], units: dict, seen: dict[str, int]) -> list[str]:
    """Everything wrong with one roster row; ``seen`` maps badges to the row that first had them."""
    badge, name, code = values.get("警号", ""), values.get("姓名", ""), values.get("单位代码", "")
    problems = []
    if not badge:
        problems.append(_("缺少警号"))
    elif len(badge) > 20:
        problems.append(_("警号过长（最多 20 个字符）"))
    elif badge in seen:
        problems.append(_("警号 %(badge)s 与第 %(row)d 行重复", badge=badge, row=seen[badge]))
    if not name:
        problems.append(_("缺少姓名"))
    elif len(name) > 50:
        problems.append(_("姓名过长"))
    if code not in units:
        problems.append(_("未知的单位代码“%(code)s”", code=code) if code else _("缺少单位代码"))
    if values.get("是否领导", "").lower() not in YES | NO:
        problems.append(_("“是否领导”应填“是”或“否”"))
    if len(values.get("职务", "")) > 50:
        problems.append(_("职务过长"))
    return problems


ROSTER_REQUIRED = ("警号", "姓名", "单位代码")


def import_roster(filename: str, raw: bytes) -> ImportReport:
    """Create or update officers from a roster file: all rows or none, with a row-by-row report."""
    return import_roster_rows(filename, read_table(filename, raw, required=ROSTER_REQUIRED))


def import_roster_rows(filename: str, rows: Iterable) -> ImportReport:
    """``import_roster`` on the rows (tabular.Row) of a file, e.g. streamed by an import job: each
    row is kept only as its parsed values, and officers are read and written as plain rows (a
    province's roster holds some 50,000 of them: an ORM object each cost more than the import).
    Only units of the importer's bureau may be named; other bureaus' badges are refused."""
    report = ImportReport()
    units: dict[str, int] = dict(plain_rows(sa.select(Unit.code, Unit.id).where(scope.clause(Unit.bureau_id))))
    existing = {badge: (officer_id, tuple(current)) for badge, officer_id, *current in plain_rows(
        sa.select(Officer.badge_no, Officer.id, Officer.name, Officer.unit_id, Officer.position,
                  Officer.is_leader, Officer.is_active))}
    # badges of other bureaus' officers are refused, never moved into this bureau (one query, not per row)
    foreign = set() if scope.sees_all() else {badge for (badge,) in plain_rows(
        sa.select(Officer.badge_no).where(sa.not_(scope.unit_clause(Officer.unit_id))))}
    seen: dict[str, int] = {}
    parsed = []
    for row in rows:
        report.rows += 1
        v = row.values
        problems = _roster_problems(v, units, seen)
        if v.get("警号", "") in foreign:
            problems.append(_("警号 %(badge)s 属于其他局的民警", badge=v.get("警号", "")))
        badge = v.get("警号", "")
        if badge and badge not in seen:
            seen[badge] = row.number
        if problems:
            report.errors.append((row.number, "；".join(problems)))
        else:
            parsed.append((badge, v.get("姓名", ""), units[v.get("单位代码", "")], v.get("职务", ""),
                           v.get("是否领导", "").lower() in YES))
    if report.errors or not report.rows:
        if not report.rows:
            report.errors.append((1, _("文件中没有数据行。")))
        return report
    _store_roster(parsed, existing, report)
    sync_account_bureaus()
    record("roster_imported", "officer", "*", after={"created": report.created, "updated": report.updated,
                                                       "file": filename})
    return report


def _store_roster(parsed: list[tuple], existing: dict[str, tuple[int, tuple]], report: ImportReport) -> None:
    """Insert the new officers (COPY on PostgreSQL) and update the known ones whose row changed
    (every known officer in the file counts as updated, and is active again)."""
    table = cast(sa.Table, Officer.__table__)
    now = utcnow()
    changed = []
    for badge, name, unit_id, position, is_leader in parsed:
        known = existing.get(badge)
        if known is not None:
            report.updated += 1
            if known[1] != (name, unit_id, position, is_leader, True):
                changed.append({"officer": known[0], "name": name, "unit": unit_id, "position": position,
                                "leader": is_leader})
    change = table.update().where(table.c.id == sa.bindparam("officer")).values(
        name=sa.bindparam("name"), unit_id=sa.bindparam("unit"), position=sa.bindparam("position"),
        is_leader=sa.bindparam("leader"), is_active=True)
    try:
        for start in range(0, len(changed), CHUNK_ROWS):
            db.session.execute(change, changed[start:start + CHUNK_ROWS])
        report.created = insert_rows(table, ("badge_no", "name", "unit_id", "position", "is_leader", "is_active",
                                             "created_at"),
                                     ((badge, name, unit_id, position, is_leader, True, now)
                                      for badge, name, unit_id, position, is_leader in parsed if badge not in existing))
    except IntegrityError as error:  # someone imported the same new badge at the same time
        db.session.rollback()
        if is_unique_violation(error):
            raise DomainError(_("导入时发现重复的警号（可能有人同时导入），请重试。"), field="file") from error
        raise
