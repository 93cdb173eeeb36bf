"""Resident-link tokens, the satisfaction scale, comment flags and working-day arithmetic.

Pure Python: no Flask, no SQLAlchemy. The web layer stores only ``hash_token(token)``.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from scoring.common import Channel

TOKEN_BYTES = 24  # 192 bits; token_urlsafe gives 32 characters
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,128}")

# The callback scale (回访): stored as 4 … 1; credit for scoring lives in scoring.residents.
LEVELS = {4: "很满意", 3: "满意", 2: "基本满意", 1: "不满意"}
DISSATISFIED = 1
RESOLVED = {"yes": "已解决", "partly": "部分解决", "no": "未解决"}
CHANNEL_CODES = {"link": int(Channel.LINK), "window": int(Channel.WINDOW)}  # stored channel → scoring.Channel


def new_token(nbytes: int = TOKEN_BYTES) -> str:
    """A fresh URL-safe token with at least 128 bits of randomness."""
    if nbytes < 16:
        raise ValueError("a resident token needs at least 16 random bytes (128 bits)")
    return secrets.token_urlsafe(nbytes)


def hash_token(token: object) -> str | None:
    """SHA-256 hex of a well-formed token; None for anything that cannot be one of ours.

    Anything a browser may send (very long strings, unicode, slashes, NUL) maps to None, so the
    caller can answer with one friendly page without touching the database.
    """
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def expires_at(now: datetime, days: int) -> datetime:
    if days < 1:
        raise ValueError("a link must stay valid for at least one day")
    return now + timedelta(days=days)


def normalise_comment(text: str | None, max_length: int) -> str:
    """Trim, drop control characters (PostgreSQL refuses NUL), cut to ``max_length``."""
    if not text:
        return ""
    kept = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    return kept.strip()[:max_length]


def flagged_words(comment: str, keywords: Iterable[str]) -> list[str]:
    """The keywords found in ``comment`` (case-insensitive, ignoring spaces), in keyword order."""
    if not comment:
        return []
    haystack = re.sub(r"\s+", "", comment).casefold()
    found = []
    for word in keywords:
        needle = re.sub(r"\s+", "", word or "").casefold()
        if needle and needle in haystack and word not in found:
            found.append(word)
    return found


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days (Monday–Friday) after ``start``."""
    if days < 0:
        raise ValueError("days must be non-negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days (Monday–Friday) after ``start`` up to and including ``end``; 0 if end <= start."""
    if end <= start:
        return 0
    total = (end - start).days
    weeks, rest = divmod(total, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=offset)).weekday() < 5:
            count += 1
    return count


FINISHED_STATUSES = frozenset({"已办结", "办结", "已结案", "结案", "已完成", "完成", "已处理", "处理完毕", "已调解",
                               "调解成功", "closed", "done", "finished"})


def is_in_progress(status: str | None) -> bool:
    """Whether a data-pool case status says the matter is not finished.

    Conservative on purpose: any status other than a known "finished" word counts as in progress,
    so a resident is never asked about a case that is still being worked on. No status: finished.
    """
    text = (status or "").strip()
    return bool(text) and text.lower() not in FINISHED_STATUSES
