"""Small factories for rows; call them inside an app context and commit yourself."""
import itertools
from datetime import date

from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Cycle, Officer, Unit, User

PASSWORD = "password123"
# A cheap hash keeps the suite fast; production hashes use werkzeug's default (scrypt).
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_badge = itertools.count(900001)


def make_unit(code="PS01", name=None, kind="station", category=1, parent=None) -> Unit:
    unit = Unit(code=code, name=name or f"{code}派出所", kind=kind,
                category=category if kind == "station" else None, parent=parent)
    db.session.add(unit)
    db.session.flush()
    return unit



def make_officer(unit, name="测试民警", badge_no=None, is_leader=False, position="") -> Officer:
    officer = Officer(badge_no=badge_no or str(next(_badge)), name=name, unit=unit, is_leader=is_leader,
                      position=position)
    db.session.add(officer)
    db.session.flush()
    return officer


def make_user(username, roles=("officer",), officer=None, password=None, bureau=None) -> User:
    """``bureau``: the bureau unit an admin or coordinator works for (None: the whole installation)."""
    user = User(username=username,
                password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000") if password else _HASH,
                officer=officer, bureau_id=bureau.id if bureau is not None else None)
    user.roles = set(roles)
    db.session.add(user)
    db.session.flush()
    return user


def make_cycle(name="2026年第四季度", kind="quarter", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31),
               status="draft", bureau=None, **extra) -> Cycle:
    """``bureau``: the bureau unit whose units the cycle assesses (None: installation-wide, every unit)."""
    cycle = Cycle(name=name, kind=kind, starts_on=starts_on, ends_on=ends_on, status=status, config={},
                  bureau_id=bureau.id if bureau is not None else None, **extra)
    db.session.add(cycle)
    db.session.flush()
    return cycle
