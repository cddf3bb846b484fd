from __future__ import annotations

import random

import pytest

from serenity.errors import ConfigError
from serenity.marketdata.fh import Backoff


def test_delays_grow_to_the_cap_within_the_jitter_band() -> None:
    backoff = Backoff(initial_s=0.5, max_s=8.0, factor=2.0, jitter=0.5, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [min(8.0, 0.5 * 2**n) for n in range(10)]
    assert all(c * 0.5 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert backoff.attempts == 10
    backoff.reset()
    assert 0.25 <= backoff.next_delay() <= 0.5


def test_jitter_spreads_clients_apart() -> None:
    delays = {Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)}
    assert len(delays) == 20


def test_no_jitter_is_deterministic_and_many_attempts_do_not_overflow() -> None:
    backoff = Backoff(initial_s=1.0, max_s=4.0, factor=10.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(3)] == [1.0, 4.0, 4.0]
    for _ in range(2_000):
        backoff.next_delay()
    assert backoff.next_delay() == 4.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": 0}, {"max_s": 0.1}, {"factor": 0.5}, {"jitter": 1.5}, {"jitter": -0.1}],
)
def test_bad_settings_are_config_errors(kwargs) -> None:
    with pytest.raises(ConfigError):
        Backoff(**kwargs)
