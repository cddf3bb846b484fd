"""Rate limits as data: sliding windows, token buckets, venue usage and 429 pauses."""

from __future__ import annotations

import pytest

from serenity.errors import ConfigError
from serenity.trading.connector import RateLimit, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_sliding_window_never_holds_more_than_its_limit() -> None:
    clock = Clock()
    limiter = RateLimiter([RateLimit("orders", 3, 10.0)], clock=clock)
    for _ in range(3):
        assert limiter.delay({"orders": 1}) == 0
        limiter.take({"orders": 1})
        clock.t += 1
    assert limiter.delay({"orders": 1}) == pytest.approx(7.0)  # the first leaves at t+10
    clock.t += 7
    assert limiter.delay({"orders": 1}) == 0
    assert limiter.delay({"weight": 50}) == 0  # quotas not declared cost nothing


def test_a_token_bucket_allows_its_burst_then_its_rate() -> None:
    clock = Clock()
    limiter = RateLimiter([RateLimit("requests", 10, 1.0, burst=5)], clock=clock)
    for _ in range(5):
        limiter.take({"requests": 1})
    assert limiter.delay({"requests": 1}) == pytest.approx(0.1)
    clock.t += 0.25
    assert limiter.delay({"requests": 2}) == 0


def test_the_venues_count_and_its_retry_after_are_followed() -> None:
    clock = Clock()
    limiter = RateLimiter([RateLimit("weight", 100, 60.0)], clock=clock)
    limiter.observe("weight", 95)  # other clients on the same IP used most of it
    assert limiter.delay({"weight": 10}) == pytest.approx(60.0)
    limiter.pause(3)
    assert limiter.delay({"weight": 1}) == pytest.approx(3.0)


async def test_acquire_waits_for_room() -> None:
    limiter = RateLimiter([RateLimit("orders", 2, 0.2)])
    for _ in range(3):
        await limiter.acquire({"orders": 1})
    assert limiter.waited_s > 0


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="rate limit 'weight' needs limit > 0"):
        RateLimit("weight", 0, 60)
