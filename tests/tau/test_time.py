"""Instant and duration conversions refuse naive datetimes and odd types."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from serenity.errors import InvalidValueError
from serenity.tau import Clock, format_ns, to_duration_ns, to_instant_ns


def test_aware_datetime_and_int_convert_to_ns() -> None:
    t = dt.datetime(2024, 3, 10, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert to_instant_ns(t) == 1_710_072_000_123_456_000
    ny = t.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert to_instant_ns(ny) == to_instant_ns(t)
    assert to_instant_ns(42) == 42
    assert to_instant_ns(pd.Timestamp("2024-03-10 12:00:00.000000001", tz="UTC")) == (
        1_710_072_000_000_000_001
    )


@pytest.mark.parametrize("bad", [dt.datetime(2024, 1, 1), 1.5, True, "2024-01-01", None])
def test_bad_instants_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValueError):
        to_instant_ns(bad)  # type: ignore[arg-type]


def test_naive_datetime_error_says_what_to_do() -> None:
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        to_instant_ns(dt.datetime(2024, 1, 1), what="start")


def test_durations() -> None:
    assert to_duration_ns(dt.timedelta(minutes=5)) == 300 * 10**9
    assert to_duration_ns(pd.Timedelta(1, "ns")) == 1
    with pytest.raises(InvalidValueError, match="must be > 0"):
        to_duration_ns(0)
    with pytest.raises(InvalidValueError):
        to_duration_ns(2.5)  # type: ignore[arg-type]


def test_clock_returns_aware_datetimes_in_utc_or_a_zone() -> None:
    clock = Clock(lambda: 1_710_072_000 * 10**9)
    assert clock.get_time() == dt.datetime(2024, 3, 10, 12, tzinfo=dt.UTC)
    assert clock.get_time("America/New_York").hour == 8  # EDT began that morning
    assert clock.get_time_ns() == 1_710_072_000 * 10**9
    assert format_ns(1_710_072_000 * 10**9 + 5) == "2024-03-10T12:00:00.000000005Z"
