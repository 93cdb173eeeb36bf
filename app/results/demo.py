"""Demo data of the results path (a step of `flask seed-demo`, after the assessment step).

Through the real services, as the office and the committee would:

* the committee of the annual cycles: the bureau's two leaders (局长 and 政委), who approve both
  annual results (the quarterly cycles have none: the office publishes them in one step);
* 2024年度考评: submitted, approved, on notice in January 2025 and final; 石桥派出所 (PS12), last of
  三类 in 2023 and 2024, is talked to (约谈, with an open follow-up), the award nominations are
  confirmed, the dual-track records created, and the promotion view has two final years to read;
* 2025年度考评 (the newest annual cycle): submitted with the withheld-indicator note, approved so
  that its notice (公示) is running today, one objection open (城关派出所's leader, about a hard
  indicator, with a PDF) and one answered (an officer's objection to their grade, rejected with a
  reply).
"""
from __future__ import annotations

from datetime import date, timedelta

from ..extensions import db
from ..models import Cycle, Officer, ResultApproval, Unit, User

FINAL_YEAR, NOTICE_YEAR = "2024年度考评", "2025年度考评"
APPROVED_2024 = date(2025, 1, 10)  # notice 13–17 Jan 2025, final on 20 Jan
FINAL_ON_2024 = date(2025, 1, 20)
TALK_ON = date(2025, 2, 18)
FOLLOW_UP_ON = date(2026, 12, 18)
# A small valid PDF, as the leader's evidence (台账 extract).
EVIDENCE_PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                b"trailer << /Root 1 0 R >>\n%%EOF\n")


def _cycle(name: str) -> Cycle | None:
    return db.session.execute(db.select(Cycle).filter_by(name=name)).scalar_one_or_none()


def _user(**where) -> User:
    return db.session.execute(db.select(User).filter_by(**where)).scalar_one()


def _committee(cycles: list[Cycle]) -> list[User]:
    """The bureau's leaders (局长, 政委) as the approvers of the annual cycles' results. The
    quarterly cycles keep no committee, so the office still publishes them in one step."""
    from .services import add_committee_member

    leaders = db.session.execute(
        db.select(User).join(Officer, User.officer_id == Officer.id).join(Unit, Officer.unit_id == Unit.id)
        .where(Unit.kind == "bureau", Officer.is_leader).order_by(Officer.badge_no).limit(2)).scalars().all()
    for cycle in cycles:
        for user in leaders:
            add_committee_member(user, cycle)
    return list(leaders)


def approved_on_for_live_notice(today: date) -> date:
    """An approval day whose notice (from the next working day) has begun by ``today``: the
    working day before the working day before today."""
    from .calendar import is_workday

    day = today
    for _step in range(2):
        day -= timedelta(days=1)
        while not is_workday(day):
            day -= timedelta(days=1)
    return day


def _approve(run, note: str, approvers: list[User], office: User, today: date) -> ResultApproval:
    from .services import decide, submit_run

    approval = submit_run(run, user_id=office.id, note=note)
    for user in approvers:
        decide(approval, user, "approve", today=today)
    return approval


def _final_year(cycle: Cycle, approvers: list[User], office: User) -> str:
    from ..assessment.runs import consecutive_last_flags, latest_run
    from .aftermath import confirm_awards, create_development_records, record_talk
    from .services import finalize

    approval = _approve(latest_run(cycle, statuses=("done",)), "", approvers, office, APPROVED_2024)
    run = finalize(approval, user_id=office.id, today=FINAL_ON_2024)
    chief = approvers[0].officer
    talks = 0
    for flag in consecutive_last_flags():
        if flag["cycles"][-1].id != cycle.id:
            continue
        record_talk(flag["unit"], cycle, held_on=TALK_ON, held_by=f"{chief.name if chief else ''}（局长）",
                    with_whom=flag["heads"][-1] or "所长", user_id=office.id,
                    notes="连续两年在同类别中排名末位。所长说明了警力不足和辖区人口外流的情况，"
                          "约定上半年补齐矛盾纠纷调解和培训短板。",
                    follow_up_on=FOLLOW_UP_ON)
        talks += 1
    awards = confirm_awards(cycle, user_id=office.id)
    records = create_development_records(cycle, user_id=office.id)
    return (f"{cycle.name} final (run v{run.version}), {talks} talk(s), {awards} award nominations, "
            f"{records} training/improvement records")


def _notice_year(cycle: Cycle, approvers: list[User], office: User) -> str:
    from ..assessment.demo import WITHHELD_NOTE
    from ..assessment.runs import latest_run
    from .calendar import bureau_today
    from .objections import file_objection, led_station, reject_objection

    run = latest_run(cycle, statuses=("done",))
    approval = _approve(run, WITHHELD_NOTE, approvers, office, approved_on_for_live_notice(bureau_today()))
    leader, officer = _user(username="leader"), _user(username="officer")
    file_objection(approval, leader, unit=led_station(leader), item_kind="indicator", item_code="callback_satisfaction",
                   reason="群众回访满意度少计了第四季度补充回访的 46 条记录（见回访台账摘录）。",
                   files=[("回访台账摘录.pdf", EVIDENCE_PDF)])
    answered = file_objection(approval, officer, officer=officer.officer, item_kind="grade",
                              reason="本人全年无投诉，培训全部参加，认为等次偏低。")
    reject_objection(answered, office, "经复核，您的各项指标数据与业务系统一致，等次按全局比例评定，维持原等次。")
    return (f"{cycle.name} on notice {approval.notice_starts_on}–{approval.notice_ends_on}, "
            f"1 open and 1 answered objection")


def seed_results(rng):
    """The demo step: idempotent (nothing happens once 2024年度考评 has been submitted)."""
    final_cycle, notice_cycle = _cycle(FINAL_YEAR), _cycle(NOTICE_YEAR)
    if final_cycle is None or notice_cycle is None:
        return None  # no assessment demo to follow
    if db.session.scalar(db.select(ResultApproval.id).where(ResultApproval.cycle_id == final_cycle.id).limit(1)):
        return None
    approvers = _committee([final_cycle, notice_cycle])
    office = _user(username="admin")
    summary = [f"committee {', '.join(u.username for u in approvers)}",
               _final_year(final_cycle, approvers, office),
               _notice_year(notice_cycle, approvers, office)]
    return "; ".join(summary)

