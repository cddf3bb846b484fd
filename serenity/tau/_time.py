"""Conversions of instants and durations to integer nanoseconds, refusing naive datetimes."""

from __future__ import annotations

import datetime as dt
import numbers
from typing import Final

from serenity.errors import InvalidValueError

__all__ = ["NS_PER_S", "Duration", "Instant", "format_ns", "to_duration_ns", "to_instant_ns"]

NS_PER_S: Final = 1_000_000_000
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Instant = dt.datetime | int
Duration = dt.timedelta | int


def to_instant_ns(value: Instant, *, what: str = "time") -> int:
    """Return ``value`` as integer nanoseconds since the Unix epoch, UTC.

    Parameters
    ----------
    value
        A timezone-aware :class:`datetime.datetime` or an integer count of nanoseconds.
    what
        How the caller names the argument, for the error message.

    Raises
    ------
    InvalidValueError
        For a naive datetime, a float, a bool or anything else.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValueError(
                f"{what} must be timezone-aware (UTC), was naive datetime {value.isoformat()}; "
                "use datetime(..., tzinfo=timezone.utc)"
            )
        delta = value - _EPOCH
        nanos = getattr(value, "nanosecond", 0)  # pandas.Timestamp carries nanoseconds
        return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000 + nanos
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise InvalidValueError(
        f"{what} must be an aware datetime or int nanoseconds since the epoch, was {value!r}"
    )


def to_duration_ns(value: Duration, *, what: str = "interval", positive: bool = True) -> int:
    """Return ``value`` as an integer count of nanoseconds.

    Parameters
    ----------
    value
        A :class:`datetime.timedelta` or an integer count of nanoseconds.
    what
        How the caller names the argument, for the error message.
    positive
        Require a duration strictly greater than zero.

    Raises
    ------
    InvalidValueError
        For a non-positive duration (when ``positive``), a float, a bool or anything else.
    """
    if isinstance(value, dt.timedelta):
        ns = (value.days * 86_400 + value.seconds) * NS_PER_S + value.microseconds * 1000
        ns += getattr(value, "nanoseconds", 0)  # pandas.Timedelta carries nanoseconds
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        ns = int(value)
    else:
        raise InvalidValueError(f"{what} must be a timedelta or int nanoseconds, was {value!r}")
    if positive and ns <= 0:
        raise InvalidValueError(f"{what} must be > 0, was {value!r}")
    return ns


def format_ns(t: int) -> str:
    """Return ``t`` (ns since the epoch) as an ISO-8601 UTC string with nanoseconds."""
    seconds, nanos = divmod(t, NS_PER_S)
    stamp = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"
