"""Demo data for resident feedback: service types, flag keywords, a few hundred invitations and
answers in the open quarter, window-QR answers, and follow-ups in every state (some overdue)."""
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from surveys.residents import add_working_days, hash_token, new_token

from ..audit import record
from ..extensions import db
from ..models import FlagKeyword, Officer, ResidentInvitation, ResidentResponse, ServiceType, Unit
from . import services

SERVICE_TYPES = [("110 接处警", False), ("窗口办事", False), ("矛盾调解", False), ("案件办理", False),
                 ("交通事故处理", False), ("家庭暴力", True), ("性侵", True)]
KEYWORDS = ["态度差", "推诿", "吃拿卡要", "不作为", "刁难"]
FIRST_DAY, LAST_DAY = date(2026, 10, 1), date(2026, 11, 27)  # answers inside the demo's open quarter
PRAISE = ["民警很耐心，谢谢！", "处理及时，很专业。", "办事效率高。", "服务热情周到。", "", "", "", ""]
COMPLAINTS = ["等了很久没人管。", "民警态度差，说话很冲。", "几个部门互相推诿。", "到现在问题还没解决。",
              "办事要跑好几趟，有点刁难。", ""]


def seed_service_types(rng):
    if db.session.execute(select(ServiceType.id).limit(1)).first() is not None:
        return None
    for name, sensitive in SERVICE_TYPES:
        db.session.add(ServiceType(name=name, is_sensitive=sensitive, is_active=True))
    for word in KEYWORDS:
        db.session.add(FlagKeyword(word=word))
    db.session.flush()
    sensitive = sum(s for _n, s in SERVICE_TYPES)
    return f"{len(SERVICE_TYPES)} service types ({sensitive} sensitive), {len(KEYWORDS)} keywords"


def _level(rng, quality: float) -> int:
    """4 很满意 … 1 不满意; ``quality`` near 0.9 for a good unit."""
    x = rng.random()
    if x < quality * 0.62:
        return 4
    if x < quality:
        return 3
    if x < quality + (1 - quality) * 0.7:
        return 2
    return 1


def _answer(rng, unit_id, level, answered_on, channel="link", invitation=None, service_type_id=None):
    spread = [max(1, min(4, level + rng.choice((-1, 0, 0, 0, 1)))) for _ in range(3)]
    comment = rng.choice(COMPLAINTS) if level <= 2 else rng.choice(PRAISE)
    resolved = "yes" if level >= 3 else rng.choice(("partly", "no", "yes"))
    return ResidentResponse(invitation=invitation, unit_id=unit_id, service_type_id=service_type_id, channel=channel,
                            answered_on=answered_on, overall=level, attitude=spread[0], efficiency=spread[1],
                            fairness=spread[2], resolved=resolved, comment=comment)


def seed_residents(rng):
    if db.session.execute(select(ResidentInvitation.id).limit(1)).first() is not None:
        return None
    types = {t.name: t for t in db.session.execute(select(ServiceType)).scalars()}
    if not types:
        return None
    units, officers = _units_with_officers()
    if not units:
        return None
    quality = {u.id: rng.uniform(0.78, 0.97) if u.code != "PS01" else 0.7 for u in units}  # the demo leader's
    # unit has a few complaints to follow up
    responses = _invitations_and_answers(rng, types, units, officers, quality)
    responses += _window_answers(rng, units, quality)
    db.session.flush()

    opened = [item for response in responses
              if (item := services.open_follow_up_if_needed(response, today=response.answered_on)) is not None]
    handled = _handle_follow_ups(rng, opened)
    db.session.flush()
    answered = db.session.scalar(select(func.count(ResidentResponse.id)))
    return (f"{db.session.scalar(select(func.count(ResidentInvitation.id)))} invitations, {answered} answers "
            f"(24 by window QR), {len(opened)} follow-ups ({handled} checked or fixed)")


def _units_with_officers() -> tuple[list[Unit], dict[int, list[Officer]]]:
    """Active stations and squads that have active officers (by code), and their officers (by badge)."""
    units = db.session.execute(
        select(Unit).where(Unit.kind.in_(("station", "squad")), Unit.is_active).order_by(Unit.code)
    ).scalars().all()
    officers: dict[int, list[Officer]] = {}
    for officer in db.session.execute(select(Officer).where(Officer.is_active).order_by(Officer.badge_no)).scalars():
        officers.setdefault(officer.unit_id, []).append(officer)
    return [u for u in units if officers.get(u.id)], officers


def _service_for(rng, types: dict[str, ServiceType], unit: Unit) -> ServiceType:
    """Traffic police handle accidents, squads cases, stations one of their four kinds of service."""
    if unit.code.startswith("JJ"):
        return types["交通事故处理"]
    if unit.kind == "squad":
        return types["案件办理"]
    return rng.choice([types[n] for n in ("110 接处警", "窗口办事", "矛盾调解", "案件办理")])


def _invitations_and_answers(rng, types: dict[str, ServiceType], units: list[Unit],
                             officers: dict[int, list[Officer]], quality: dict[int, float]) -> list[ResidentResponse]:
    """320 invitations over the quarter: most answered within three days, a few revoked, the rest open."""
    span = (LAST_DAY - FIRST_DAY).days
    responses = []
    for i in range(320):
        unit = rng.choice(units)
        service = _service_for(rng, types, unit)
        served = rng.sample(officers[unit.id], k=min(len(officers[unit.id]), rng.choice((1, 1, 2))))
        contact = FIRST_DAY + timedelta(days=rng.randrange(span))
        created = datetime.combine(contact, time(1 + rng.randrange(10), rng.randrange(60)))
        # Demo tokens are random like real ones: nobody holds them, so no demo link can be answered.
        invitation = ResidentInvitation(
            token_hash=hash_token(new_token()), service_type=service, unit=unit, reference=f"DEMO-{i + 1:04d}",
            source="batch" if i % 3 else "staff", created_at=created, expires_at=created + timedelta(days=7),
            officers=served)
        db.session.add(invitation)
        roll = rng.random()
        if roll < 0.86:
            answered_on = min(contact + timedelta(days=rng.randrange(3)), LAST_DAY)
            invitation.used_at = datetime.combine(answered_on, time())  # day precision, as in real use
            response = _answer(rng, unit.id, _level(rng, quality[unit.id]), answered_on, invitation=invitation,
                               service_type_id=service.id)
            response.may_contact = i % 5 < 2  # two in five residents agree to be contacted
            db.session.add(response)
            responses.append(response)
        elif roll < 0.90:
            invitation.revoked_at = created + timedelta(hours=2)
    return responses


def _window_answers(rng, units: list[Unit], quality: dict[int, float]) -> list[ResidentResponse]:
    """24 answers by the window QR code of the first four stations (slightly less satisfied)."""
    span = (LAST_DAY - FIRST_DAY).days
    window_units = [u for u in units if u.kind == "station"][:4]
    responses = []
    for _ in range(24):
        unit = rng.choice(window_units)
        response = _answer(rng, unit.id, _level(rng, quality[unit.id] - 0.05),
                           FIRST_DAY + timedelta(days=rng.randrange(span)), channel="window")
        db.session.add(response)
        responses.append(response)
    return responses


def _handle_follow_ups(rng, opened: list) -> int:
    """Older items are mostly handled; a few are left overdue so that the queue shows both."""
    handled = 0
    for item in opened:
        age = (LAST_DAY - item.opened_on).days
        roll = rng.random()
        if age < 8 or roll < 0.3:
            continue
        checked_at = datetime.combine(add_working_days(item.opened_on, 1), time(3))
        before = {"status": item.status}
        note = ("已电话回访当事群众，核实情况属实。" if item.response.may_contact
                else "群众未同意联系；已对照当周该类业务的办理情况核查，问题属实。")
        item.status, item.check_note, item.checked_at = "checked", note, checked_at
        if roll < 0.75:
            item.status, item.fix_note = "fixed", "已约谈相关民警并向群众反馈处理结果，群众表示认可。"
            item.fixed_at = checked_at + timedelta(days=2)
        record("follow_up_" + item.status, "resident_follow_up", item.id, before=before, after={"status": item.status})
        handled += 1
    return handled
