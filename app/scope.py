"""Which bureaus a user may see and change: the one gate every admin and coordinator view goes through.

A province runs several bureaus on one installation. A bureau's admins and coordinators
(``User.bureau_id``) see and change only their bureau; an installation admin (no bureau) and the
province role see every bureau, the province role without changing anything. Objects of a bureau the
user may not see are answered 404, as if they did not exist, so an id in a URL, a form or an API call
reveals nothing about another bureau.

Units, officers and accounts of no bureau (an installation that never made one) are the installation's:
only users who see every bureau see them. Cycles of no bureau (installation-wide, as every cycle was
before bureaus were separated; the single-bureau default) and the shared indicator catalogue are
everybody's. With more than one bureau a new cycle must name its bureau.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, g, has_request_context, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from .extensions import db

T = TypeVar("T")

PROVINCE = "province"
# Roles whose account's bureau (or none: the whole installation) is chosen, not taken from its officer.
OFFICE_ROLES = ("admin", "coordinator", PROVINCE)
# Requests that change nothing of the assessment's data: the province role may still make these.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# ... and these, which change only the account itself.
_PROVINCE_MAY_POST = frozenset({"auth.login", "auth.logout", "auth.change_password", "main.set_language",
                                "notify.read_all", "notify_channels.settings"})


class ReadOnly(Forbidden):
    """A change refused because the account only reads (the province role)."""

    @property
    def message(self) -> str:
        return _("省厅账号只能查看各局数据，不能修改。")


class InstallationOnly(Forbidden):
    """A change to a setting every bureau shares, refused to a bureau's admin."""

    @property
    def message(self) -> str:
        return _("这是各局共用的设置，只有全系统管理员可以修改。")


def installation_settings(view):
    """For views of settings every bureau shares (questionnaires, API clients, service types, connectors,
    the reminder schedule): a bureau's admin may read them, only someone who sees every bureau changes them."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method not in _SAFE_METHODS and not sees_all():
            raise InstallationOnly()
        return view(*args, **kwargs)

    return wrapped


def _user(user):
    if user is not None:
        return user
    if has_request_context() and current_user.is_authenticated:
        return current_user
    return None


# The account a background job works for (see acting_as); outside requests and jobs: nobody.
_acting: ContextVar[Any] = ContextVar("kaoping_scope_acting", default=None)


@contextmanager
def acting_as(user_id: int | None) -> Iterator[None]:
    """Scope what runs inside to the bureaus of the account ``user_id`` (a job started by a bureau's
    admin imports into their bureau only, in a worker as in the request)."""
    from .models import User

    token = _acting.set(db.session.get(User, user_id) if user_id else None)
    try:
        yield
    finally:
        _acting.reset(token)


def bureau_ids(user=None) -> frozenset[int] | None:
    """The bureaus ``user`` (default: the logged-in user, or the account a job works for) may see;
    None = every bureau.

    Outside a request and a job (the CLI) nothing is restricted."""
    if user is None and has_request_context() and current_user.is_authenticated:
        cached = g.get("_bureau_ids", False)  # asked many times per request, about the same user
        if cached is False:
            cached = g._bureau_ids = _bureau_ids(current_user)
        return cached
    if user is None and _acting.get() is not None:
        return _bureau_ids(_acting.get())
    user = _user(user)
    if user is None:
        return None
    return _bureau_ids(user)


def _bureau_ids(user) -> frozenset[int] | None:
    if user.has_role(PROVINCE):
        return None
    if user.bureau_id is not None:
        return frozenset({user.bureau_id})
    if user.has_role("admin"):
        return None  # an installation admin
    officer = user.officer
    if officer is not None and officer.unit is not None and officer.unit.bureau_id is not None:
        return frozenset({officer.unit.bureau_id})
    return None


def sees_all(user=None) -> bool:
    return bureau_ids(user) is None


def is_read_only(user=None) -> bool:
    user = _user(user)
    return bool(user is not None and user.has_role(PROVINCE))


def clause(column, user=None, shared: bool = False) -> sa.ColumnElement[bool]:
    """A WHERE clause keeping rows whose bureau ``column`` the user may see; with ``shared``, rows of
    no bureau too (installation-wide cycles, the shared catalogue)."""
    ids = bureau_ids(user)
    if ids is None:
        return sa.true()
    if shared:
        return sa.or_(column.in_(sorted(ids)), column.is_(None))
    return column.in_(sorted(ids))


def cycle_clause(user=None) -> sa.ColumnElement[bool]:
    """Cycles the user may see: their bureau's and the installation-wide ones."""
    from .models import Cycle

    return clause(Cycle.bureau_id, user, shared=True)


def unit_clause(unit_id_column, user=None) -> sa.ColumnElement[bool]:
    """Rows whose unit (``unit_id_column``, e.g. ``Officer.unit_id``) lies in a bureau the user may see."""
    ids = bureau_ids(user)
    if ids is None:
        return sa.true()
    from .models import Unit

    return unit_id_column.in_(sa.select(Unit.id).where(Unit.bureau_id.in_(sorted(ids))))


def bureau_of(obj: Any) -> int | None:
    """The bureau an object belongs to (through its cycle, unit or officer where it has no own)."""
    from .models import Cycle, Officer, Unit, User

    if isinstance(obj, (Unit, Cycle)):
        return obj.bureau_id
    if isinstance(obj, Officer):
        return obj.unit.bureau_id if obj.unit is not None else None
    if isinstance(obj, User):
        if obj.bureau_id is not None:
            return obj.bureau_id
        if obj.has_role(*OFFICE_ROLES):
            return None  # an installation-wide admin or coordinator, whatever unit their officer is in
        return bureau_of(obj.officer) if obj.officer is not None else None
    if hasattr(obj, "bureau_id"):
        return obj.bureau_id
    for attr in ("cycle", "run", "unit", "lead_unit", "officer", "ratee", "objection", "approval"):
        related = getattr(obj, attr, None)
        bureau = bureau_of(related) if related is not None else None
        if bureau is not None:
            return bureau
    cycle = _cycle_of(obj)
    return cycle.bureau_id if cycle is not None else None


def _cycle_of(obj: Any):
    from .models import Cycle

    if getattr(obj, "cycle_id", None) is not None:
        return db.session.get(Cycle, obj.cycle_id)
    run = getattr(obj, "run", None)
    return run.cycle if run is not None else None


def can_see(obj: Any, user=None) -> bool:
    ids = bureau_ids(user)
    if ids is None:
        return True
    bureau = bureau_of(obj)
    if bureau is None:
        # Installation-wide cycles (and what hangs off them) and the shared catalogue are every
        # bureau's; a unit, officer or account of no bureau is the installation's alone.
        return _is_shared(obj)
    return bureau in ids


def _is_shared(obj: Any) -> bool:
    from .models import Cycle, Indicator

    return isinstance(obj, (Cycle, Indicator)) or _cycle_of(obj) is not None


def check(obj: T, user=None) -> T:
    """``obj`` if the user may see it, else 404 (never 403: another bureau's ids reveal nothing)."""
    if obj is None or not can_see(obj, user):
        abort(404)
    return obj


def get_or_404(model: type[T], ident: Any, user=None) -> T:
    """``db.get_or_404`` that also answers 404 for an object of a bureau the user may not see."""
    return check(db.get_or_404(model, ident), user)


def bureau_for_new(user=None, chosen: int | None = None) -> int | None:
    """The bureau a new cycle, account or indicator gets: the user's own, whatever was chosen; for
    someone who sees every bureau, the one chosen (None = the installation's / the shared catalogue)."""
    ids = bureau_ids(user)
    if ids is None:
        return chosen or None
    return chosen if chosen in ids else min(ids)


def bureaus(user=None) -> list:
    """The bureau units the user may see, by code."""
    from .models import Unit

    return list(db.session.execute(
        sa.select(Unit).where(Unit.kind == "bureau", clause(Unit.bureau_id, user)).order_by(Unit.code)).scalars())


def bureau_field(form, field: str = "bureau_id", current: int | None = None) -> None:
    """Offer ``form``'s bureau select to someone who sees every bureau (with "—" for none); remove it
    for everyone else, whose new objects always get their own bureau."""
    if not sees_all():
        delattr(form, field)
        return
    from .formutil import select_choices

    select = getattr(form, field)
    select.choices = select_choices({0: "—", **{b.id: f"{b.name}（{b.code}）" for b in bureaus()}})
    if select.data is None:
        select.data = current or 0


def same_bureau(column, bureau_id: int | None) -> sa.ColumnElement[bool]:
    """``column`` names the same bureau as ``bureau_id`` (both none: installation-wide)."""
    return column.is_(None) if bureau_id is None else column == bureau_id


def cycle_unit_clause(cycle, column=None) -> sa.ColumnElement[bool]:
    """Units (``column``: a unit's bureau column, default ``Unit.bureau_id``) a cycle's work takes:
    those of its bureau, or every unit for an installation-wide cycle."""
    if column is None:
        from .models import Unit

        column = Unit.bureau_id
    if cycle is None or cycle.bureau_id is None:
        return sa.true()
    return column == cycle.bureau_id


def cycle_officer_clause(cycle, unit_id_column=None) -> sa.ColumnElement[bool]:
    """Officers (``unit_id_column``, default ``Officer.unit_id``) a cycle's work takes: those of units
    of its bureau (a subquery, never a list of ids)."""
    from .models import Officer, Unit

    if unit_id_column is None:
        unit_id_column = Officer.unit_id
    if cycle is None or cycle.bureau_id is None:
        return sa.true()
    return unit_id_column.in_(sa.select(Unit.id).where(Unit.bureau_id == cycle.bureau_id))


def province_reads(roles) -> bool:
    """The province role opens, read-only, every page an admin or coordinator of a bureau may open."""
    return (request.method in _SAFE_METHODS and is_read_only()
            and bool({"admin", "coordinator"}.intersection(roles)))


def register(app) -> None:
    """The province role reads everything and changes nothing: every other request method is refused."""

    @app.before_request
    def refuse_province_changes():
        if request.method in _SAFE_METHODS or request.endpoint in _PROVINCE_MAY_POST:
            return None
        if is_read_only():
            raise ReadOnly()
        return None
