"""A clock over a scheduler's time: virtual in backtests, wall-clock when live."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from serenity.tau._time import NS_PER_S

__all__ = ["Clock"]


class Clock:
    """Read a scheduler's current time as nanoseconds or as an aware datetime.

    Parameters
    ----------
    time_source
        A callable returning the current time in ns since the epoch, UTC; schedulers pass
        their own ``get_time``.
    """

    __slots__ = ("_time_source",)

    def __init__(self, time_source: Callable[[], int]) -> None:
        self._time_source = time_source

    def get_time_ns(self) -> int:
        """Return the current time in ns since the Unix epoch, UTC."""
        return self._time_source()

    def get_time(self, tz: dt.tzinfo | str | None = None) -> dt.datetime:
        """Return the current time as an aware datetime, in UTC unless ``tz`` is given.

        Parameters
        ----------
        tz
            A tzinfo or an IANA zone name such as ``"America/New_York"``.
        """
        t = self._time_source()
        seconds, nanos = divmod(t, NS_PER_S)
        utc = dt.datetime.fromtimestamp(seconds, tz=dt.UTC) + dt.timedelta(
            microseconds=nanos // 1000
        )
        if tz is None:
            return utc
        return utc.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)

    def now(self) -> dt.datetime:
        """Return the current time as an aware UTC datetime."""
        return self.get_time()
