"""What each kind of notification says, in the reader's language, and where it may go.

A message names no rater and no resident and carries no login token: ``params`` holds only what the
recipient may already see on the page ``link`` points to (a cycle's name, a count, a claim's case
number, a date). The text is rendered when it is shown or sent, so each reader gets their language.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    """One kind of message: its text (a %-format over ``params``), who it is for, its channels."""

    text: object  # a lazy string with %(name)s placeholders
    audience: object  # a lazy string, shown on the preferences page
    channels: tuple[str, ...] = ("sms", "email")  # outside the app, besides the bell
    # Turns stored params into the shown ones in the reader's language (e.g. a job kind into its label).
    prepare: Callable[[dict], dict] | None = None


def _job_label(params: dict) -> dict:
    from ..jobs.registry import LABELS

    return {**params, "label": str(LABELS.get(params.get("job", ""), params.get("job", "")))}


def _self_check_due(params: dict) -> dict:
    """Messages stored before self-checks had a due day carry none: it follows from the month."""
    if "due" in params:
        return params
    from datetime import date

    from ..monitoring.selfcheck import due_on

    year, month = (int(p) for p in str(params.get("month", "")).split("-"))
    return {**params, "due": due_on(date(year, month, 1)).isoformat()}


KINDS: dict[str, Kind] = {
    "cycle_opened": Kind(_l("评价周期「%(cycle)s」已开启，您有 %(count)s 份评价待填写，截止 %(deadline)s。"),
                         _l("民警")),
    "ratings_due": Kind(_l("距「%(cycle)s」截止还有 %(days)s 天，您还有 %(count)s 份评价未提交。"), _l("民警")),
    "nomination_approved": Kind(_l("您在「%(cycle)s」提交的跨单位评价人提名已获批准。"), _l("民警")),
    "nomination_rejected": Kind(_l("您在「%(cycle)s」提交的跨单位评价人提名未获批准。"), _l("民警")),
    "result_notice": Kind(_l("「%(cycle)s」的考评结果已进入公示，公示至 %(ends)s；如有异议，请在公示期内申诉。"),
                          _l("民警")),
    "result_final": Kind(_l("「%(cycle)s」的考评结果已确定为最终结果。"), _l("民警")),
    "claim_to_confirm": Kind(_l("协作申报 %(case)s 等待本单位确认。"), _l("所队领导")),
    "claim_to_review": Kind(_l("协作申报 %(case)s 等待审核。"), _l("协作协调员")),
    "follow_up_opened": Kind(_l("%(unit)s 收到一条需要回访核查的群众评价，请于 %(due)s 前办结。"), _l("所队领导")),
    "follow_up_due_soon": Kind(_l("%(unit)s 的一条群众回访整改项将于 %(due)s 到期，请尽快办结。"), _l("所队领导")),
    "self_check_due": Kind(_l("%(unit)s %(month)s 的月自查尚未提交，请于 %(due)s 前完成。"), _l("所队领导"),
                           prepare=_self_check_due),
    "self_check_overdue": Kind(_l("%(unit)s %(month)s 的月自查已过提交期限（%(due)s），尚未提交，请尽快完成。"),
                               _l("所队领导")),
    "self_check_returned": Kind(_l("%(unit)s %(month)s 的月自查被退回，请修改后重新提交。"), _l("所队领导")),
    "rectification_overdue": Kind(_l("%(unit)s 的整改项「%(what)s」已于 %(due)s 到期，尚未完成。"), _l("所队领导")),
    "objection_filed": Kind(_l("「%(cycle)s」收到一条新的申诉，请在 %(due)s 前答复。"), _l("考评办")),
    "objection_accepted": Kind(_l("您对「%(cycle)s」结果提出的申诉已答复：予以采纳。"), _l("所队领导")),
    "objection_rejected": Kind(_l("您对「%(cycle)s」结果提出的申诉已答复：不予采纳。"), _l("所队领导")),
    "job_succeeded": Kind(_l("您提交的后台任务「%(label)s」已完成。"), _l("提交任务的人"), ("email",), _job_label),
    "job_failed": Kind(_l("您提交的后台任务「%(label)s」失败，没有保存任何结果。"), _l("提交任务的人"), ("email",),
                       _job_label),
    "connector_failing": Kind(_l("数据接口「%(name)s」拉取失败，请检查接口设置。"), _l("考评办"), ("email",)),
}


def render(kind: str, params: dict) -> str:
    """The message of one notification in the current locale (use flask_babel.force_locale to pick one)."""
    entry = KINDS.get(kind)
    if entry is None:  # a kind removed since the row was written: say something true rather than fail
        return gettext("您有一条新通知。")
    template = str(entry.text)
    try:
        return template % (entry.prepare(params) if entry.prepare else params)
    except (KeyError, TypeError, ValueError):
        return gettext("您有一条新通知。")
