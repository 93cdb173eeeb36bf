"""Resident tokens, comment flags and working days (pure Python, no app)."""
from datetime import date, datetime

import pytest

from surveys.residents import (
    add_working_days,
    expires_at,
    flagged_words,
    hash_token,
    is_in_progress,
    new_token,
    normalise_comment,
    working_days_between,
)


def test_tokens_are_long_random_and_hash_to_sha256():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    token = tokens.pop()
    assert len(token) >= 32  # 24 random bytes = 192 bits
    digest = hash_token(token)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == hash_token(token) and token not in digest
    with pytest.raises(ValueError):
        new_token(8)


@pytest.mark.parametrize("junk", ["", "short", "a" * 500, "密码" * 20, "abc/def" * 8, "x" * 31 + "\x00",
                                  None, 12345, "../../etc/passwd" * 3])
def test_anything_else_is_not_a_token(junk):
    assert hash_token(junk) is None


def test_expiry_and_comment_cleaning():
    assert expires_at(datetime(2026, 11, 1, 8), 7) == datetime(2026, 11, 8, 8)
    with pytest.raises(ValueError):
        expires_at(datetime(2026, 11, 1), 0)
    assert normalise_comment("  好\x00的\x07  ", 10) == "好的"
    assert normalise_comment("很" * 30, 5) == "很" * 5
    assert normalise_comment(None, 5) == ""


def test_flagged_words_ignore_case_and_spaces():
    assert flagged_words("民警态度 差，还推诿", ["态度差", "推诿", "吃拿卡要"]) == ["态度差", "推诿"]
    assert flagged_words("", ["态度差"]) == []
    assert flagged_words("Rude officer", ["rude"]) == ["rude"]


def test_working_days_skip_weekends():
    friday = date(2026, 11, 27)
    assert add_working_days(friday, 1) == date(2026, 11, 30)  # Monday
    assert add_working_days(friday, 5) == date(2026, 12, 4)  # next Friday
    assert add_working_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # Saturday → Monday
    assert add_working_days(friday, 0) == friday
    assert working_days_between(friday, date(2026, 12, 4)) == 5
    assert working_days_between(friday, date(2026, 11, 29)) == 0
    assert working_days_between(date(2026, 11, 2), date(2026, 11, 30)) == 20


def test_unfinished_cases_are_in_progress():
    assert not is_in_progress("")
    assert not is_in_progress("已办结")
    assert is_in_progress("办理中")
    assert is_in_progress("侦查中")
    assert is_in_progress("待定")  # unknown status: do not ask the resident yet
