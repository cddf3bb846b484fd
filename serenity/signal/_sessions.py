"""Daily trading sessions: number the session a time falls in, one at a time or in bulk."""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from serenity.errors import InvalidValueError

NS_PER_S: Final = 1_000_000_000
NS_PER_DAY: Final = 86_400 * NS_PER_S
EPOCH_DAY: Final = dt.date(1970, 1, 1).toordinal()


class Sessions:
    """Daily sessions from ``session_start`` wall-clock time in ``tz`` to the same time the
    next day.

    A session's number is the proleptic ordinal of the day it starts on, so it grows by one
    per session. Wall-clock arithmetic makes daylight-saving days 23 or 25 hours long.

    Parameters
    ----------
    session_start
        Local time of day, a :class:`datetime.time` or ``"HH:MM[:SS]"``, whole seconds.
    tz
        An IANA zone name such as ``"America/New_York"`` or a tzinfo.

    Raises
    ------
    InvalidValueError
        For a malformed time, one with a fraction of a second or its own tzinfo, or an
        unknown zone.
    """

    __slots__ = ("_offset", "_offset_ns", "_utc", "_zone")

    def __init__(self, session_start: dt.time | str = "00:00", tz: str | dt.tzinfo = "UTC"):
        start = _time_of_day(session_start)
        seconds = start.hour * 3600 + start.minute * 60 + start.second
        self._offset = dt.timedelta(seconds=seconds)
        self._offset_ns = seconds * NS_PER_S
        self._zone = _zone(tz)
        self._utc = self._zone is dt.UTC or getattr(self._zone, "key", None) in (
            "UTC",
            "Etc/UTC",
        )

    def key(self, t: int) -> int:
        """Return the number of the session holding ``t`` (int ns since the epoch, UTC)."""
        if self._utc:
            return (t - self._offset_ns) // NS_PER_DAY + EPOCH_DAY
        wall = dt.datetime.fromtimestamp(t // NS_PER_S, self._zone).replace(tzinfo=None)
        return (wall - self._offset).toordinal()

    def keys(self, ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Return the session number of each time in ``ts`` (int ns since the epoch, UTC)."""
        if self._utc:
            return (ts - self._offset_ns) // NS_PER_DAY + EPOCH_DAY
        seconds = (ts // NS_PER_S) * NS_PER_S
        local = pd.to_datetime(seconds, unit="ns", utc=True).tz_convert(self._zone)
        wall = local.tz_localize(None) - pd.Timedelta(self._offset)
        days = wall.normalize().asi8 // NS_PER_DAY
        return np.asarray(days, dtype=np.int64) + EPOCH_DAY


def _time_of_day(value: dt.time | str) -> dt.time:
    if isinstance(value, dt.time):
        parsed = value
        if parsed.tzinfo is not None:
            raise InvalidValueError(
                f"session_start {value} must not carry a tzinfo; pass tz= instead"
            )
    else:
        try:
            parsed = dt.time.fromisoformat(str(value))
        except ValueError:
            raise InvalidValueError(
                f"session_start must be 'HH:MM[:SS]' or a datetime.time, was {value!r}"
            ) from None
    if parsed.microsecond:
        raise InvalidValueError(f"session_start must be whole seconds, was {value!r}")
    return parsed


def _zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValueError(
            f"unknown time zone {tz!r}; use an IANA name such as 'UTC'"
        ) from None
