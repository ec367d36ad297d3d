"""Rate limits judge the last `window` seconds, wherever the clock's window boundaries fall."""
import pytest

from app.db import unit_of_work
from app.errors import RateLimited
from app.ratelimit import attempt, enforce

WINDOW = 60
BOUNDARY = 1_800_000_000 // WINDOW * WINDOW  # a window start


def _attempt(engine, key, at, limit=1):
    with unit_of_work(engine) as session:
        return attempt(session, key, limit=limit, window=WINDOW, now=at)


def test_a_second_attempt_just_after_a_window_boundary_is_still_refused(engine):
    # one a minute: an attempt a second before the boundary and one a second after are two within a minute
    assert _attempt(engine, "sign:net", BOUNDARY - 1).allowed
    second = _attempt(engine, "sign:net", BOUNDARY + 1)
    assert not second.allowed
    assert 1 <= second.retry_after <= WINDOW
    # told when to come back, the same network gets in then (the refused attempt did not count)
    assert _attempt(engine, "sign:net", BOUNDARY + 1 + second.retry_after).allowed


def test_the_limit_frees_up_as_the_previous_window_slides_out(engine):
    assert _attempt(engine, "sign:net", BOUNDARY + 5).allowed  # 5 s into a window
    # 50 s later the earlier attempt still lies within the last minute
    assert not _attempt(engine, "sign:net", BOUNDARY + WINDOW + 5 - 10).allowed
    # well over a minute after both, the key may act again
    assert _attempt(engine, "sign:net", BOUNDARY + 3 * WINDOW).allowed


def test_limits_count_per_key_and_allow_up_to_the_limit(engine):
    for i in range(3):
        assert _attempt(engine, "login:a", BOUNDARY + i, limit=3).allowed
    assert not _attempt(engine, "login:a", BOUNDARY + 4, limit=3).allowed
    assert _attempt(engine, "login:b", BOUNDARY + 4, limit=3).allowed


def test_a_refusal_says_when_to_come_back_and_that_time_is_honest(engine):
    for i in range(2):
        assert _attempt(engine, "comment:x", BOUNDARY + 10 + i, limit=2).allowed
    with pytest.raises(RateLimited) as refused, unit_of_work(engine) as session:
        enforce(session, "comment:x", limit=2, window=WINDOW, message="Too many", now=BOUNDARY + 20)
    wait = refused.value.retry_after
    assert 1 <= wait <= 2 * WINDOW
    # coming back when told is allowed
    assert _attempt(engine, "comment:x", BOUNDARY + 20 + wait, limit=2).allowed


@pytest.mark.parametrize("limit", [1, 2, 5])
@pytest.mark.parametrize("offset", [0, 17, 59])
def test_retry_after_is_the_first_second_an_attempt_is_allowed(engine, limit, offset):
    key = f"k:{limit}:{offset}"
    start = BOUNDARY + offset
    for i in range(limit):
        assert _attempt(engine, key, start, limit=limit).allowed
    refused = _attempt(engine, key, start, limit=limit)
    assert not refused.allowed
    # one second earlier is still refused (read without counting: a fresh key replays the same history)
    early = f"{key}:early"
    for _ in range(limit + 1):
        _attempt(engine, early, start, limit=limit)
    assert not _attempt(engine, early, start + refused.retry_after - 1, limit=limit).allowed
    assert _attempt(engine, key, start + refused.retry_after, limit=limit).allowed
