"""Demo organisation: one county bureau, 12 stations in three categories, 4 police-type units,
about 300 officers with accounts, and one open quarterly cycle."""
from datetime import date

from faker import Faker
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import Cycle, Officer, Unit, User

BUREAU = ("BJ", "示范县公安局")
STATIONS = [  # code, name, category, size
    ("PS01", "城关派出所", 1, 24), ("PS02", "城东派出所", 1, 22), ("PS03", "城西派出所", 1, 21),
    ("PS04", "开发区派出所", 1, 20), ("PS05", "城南派出所", 2, 17), ("PS06", "城北派出所", 2, 16),
    ("PS07", "高铁站派出所", 2, 15), ("PS08", "河口派出所", 2, 15), ("PS09", "青山派出所", 3, 11),
    ("PS10", "白沙派出所", 3, 10), ("PS11", "龙泉派出所", 3, 10), ("PS12", "石桥派出所", 3, 9),
]
POLICE_TYPES = [  # code, name, squads (code suffix, name, size)
    ("XZ", "刑侦大队", [("1", "刑侦一中队", 11), ("2", "刑侦二中队", 10)]),
    ("ZA", "治安大队", [("1", "治安管理中队", 9), ("2", "特行管理中队", 8)]),
    ("JJ", "交警大队", [("1", "城区交警中队", 12), ("2", "国道交警中队", 10)]),
    ("XT", "巡特警大队", [("1", "巡逻一中队", 10), ("2", "特勤中队", 9)]),
]
STATION_POSITIONS = ["社区民警", "社区民警", "案件办理民警", "值班民警", "户籍民警", "警务辅助管理"]
DEMO_ACCOUNTS = {"leader": ("PS01", True), "officer": ("PS01", False), "coordinator": ("BJ", False)}


def seed_org(rng):
    if db.session.execute(db.select(Unit).filter_by(code=BUREAU[0])).scalar_one_or_none():
        return None
    fake = Faker("zh_CN")
    fake.seed_instance(rng.randrange(1 << 30))
    badge = iter(range(10001, 20000))

    def staff(unit, size, leader_titles, positions):
        for i in range(size):
            is_leader = i < len(leader_titles)
            position = leader_titles[i] if is_leader else rng.choice(positions)
            db.session.add(Officer(badge_no=f"{next(badge):06d}", name=fake.name(), unit=unit,
                                   position=position, is_leader=is_leader))

    bureau = Unit(code=BUREAU[0], name=BUREAU[1], kind="bureau")
    db.session.add(bureau)
    staff(bureau, 8, ["局长", "政委"], ["考评办民警", "政工科民警", "法制科民警", "指挥中心民警"])
    for code, name, category, size in STATIONS:
        station = Unit(code=code, name=name, kind="station", category=category, parent=bureau,
                       population=size * 2_600)  # residents of the station's area
        staff(station, size, ["所长", "教导员"], STATION_POSITIONS)
    for code, name, squads in POLICE_TYPES:
        unit = Unit(code=code, name=name, kind="police_type", parent=bureau)
        staff(unit, 2, ["大队长", "教导员"], [])
        for suffix, squad_name, size in squads:
            squad = Unit(code=f"{code}-{suffix}", name=squad_name, kind="squad", parent=unit)
            staff(squad, size, ["中队长"], [f"{name[:2]}民警"])
    db.session.flush()
    return f"{db.session.query(Unit).count()} units, {db.session.query(Officer).count()} officers"


def seed_users(rng):
    if db.session.execute(db.select(User).filter_by(username="admin")).scalar_one_or_none():
        return None
    from . import DEMO_PASSWORD

    # One hash for every demo account: hashing 300 passwords one by one takes a minute.
    password_hash = generate_password_hash(DEMO_PASSWORD)
    officers = db.session.execute(db.select(Officer).join(Officer.unit).order_by(Officer.badge_no)).scalars().all()
    named: dict[int, str] = {}
    for username, (unit_code, leader) in DEMO_ACCOUNTS.items():
        pick = next(o for o in officers if o.unit.code == unit_code and o.is_leader == leader and o.id not in named)
        named[pick.id] = username
    admin_officer = next(o for o in officers
                         if o.unit.code == BUREAU[0] and not o.is_leader and o.id not in named)
    named[admin_officer.id] = "admin"
    for officer in officers:
        username = named.get(officer.id, officer.badge_no)
        roles = {"officer"}
        if officer.is_leader:
            roles.add("supervisor")
        if username == "admin":
            roles.add("admin")
        if username == "coordinator":
            roles.add("coordinator")
        user = User(username=username, password_hash=password_hash, officer=officer)
        user.roles = roles
        db.session.add(user)
    db.session.flush()
    return f"{len(officers)} accounts (password {DEMO_PASSWORD})"


def seed_cycle(rng):
    starts = date(2026, 10, 1)
    if db.session.execute(db.select(Cycle).filter_by(kind="quarter", starts_on=starts)).scalar_one_or_none():
        return None
    from ..admin.services import transition_cycle

    cycle = Cycle(name="2026年第四季度考评", kind="quarter", starts_on=starts, ends_on=date(2026, 12, 31),
                  deadline_on=date(2026, 12, 20), config={})
    db.session.add(cycle)
    db.session.flush()
    transition_cycle(cycle, "open")
    return f"cycle {cycle.name} ({cycle.status})"
