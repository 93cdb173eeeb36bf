"""What each kind of notification says, in the reader's language, and where it may go.

A message names no rater and no resident and carries no login token: ``params`` holds only what the
recipient may already see on the page ``link`` points to (a cycle's name, a count, a claim's case
number, a date). The text is rendered when it is shown or sent, so each reader gets their language.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    """One kind of message: its text (a %-format over ``params``), who it is for, its channels."""

    text: object  # a lazy string with %(name)s placeholders
    audience: object  # a lazy string, shown on the preferences page
    channels: tuple[str, ...] = ("sms", "email")  # outside the app, besides the bell


KINDS: dict[str, Kind] = {
    "cycle_opened": Kind(_l("评价周期「%(cycle)s」已开启，您有 %(count)s 份评价待填写，截止 %(deadline)s。"),
                         _l("民警")),
    "ratings_due": Kind(_l("距「%(cycle)s」截止还有 %(days)s 天，您还有 %(count)s 份评价未提交。"), _l("民警")),
}


def render(kind: str, params: dict) -> str:
    """The message of one notification in the current locale (use flask_babel.force_locale to pick one)."""
    entry = KINDS.get(kind)
    if entry is None:  # a kind removed since the row was written: say something true rather than fail
        return gettext("您有一条新通知。")
    template = str(entry.text)
    try:
        return template % params
    except (KeyError, TypeError, ValueError):
        return gettext("您有一条新通知。")
