"""Trading sessions from ``exchange-calendars``: opens, closes, holidays and half days.

``XNYS`` (alias ``NYSE``) and the other exchange codes of ``exchange_calendars`` give real
sessions, so a rebalance or a close lands on a trading day, holidays are skipped and half
days close early. ``24/7`` is the crypto calendar: every UTC day is a session from
midnight to midnight.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from serenity.errors import ConfigError

__all__ = ["ALWAYS_OPEN", "Session", "TradingCalendar"]

ALWAYS_OPEN: Final = "24/7"
"""The calendar of markets that never close (crypto): each UTC day is a session."""
_NS_PER_DAY: Final = 86_400 * 10**9
_PAD: Final = dt.timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session.

    Attributes
    ----------
    date
        The session's date (the exchange's local date).
    open_ns, close_ns
        When it opens and closes, int ns since the epoch, UTC.
    half_day
        Whether it closes early (e.g. the day before Independence Day on XNYS).
    """

    date: dt.date
    open_ns: int
    close_ns: int
    half_day: bool = False

    @property
    def stamp_ns(self) -> int:
        """Return the time of the session's close rows: the close, or one nanosecond before
        it when the close falls on the next UTC day (midnight, as on ``24/7``), so every row
        of a session stays on its UTC day."""
        midnight = (
            int(pd.Timestamp(self.date).tz_localize("UTC").value) + _NS_PER_DAY
        )  # the end of the session's date, UTC
        return min(self.close_ns, midnight - 1)


class TradingCalendar:
    """The sessions of one exchange calendar.

    Parameters
    ----------
    name
        An ``exchange_calendars`` code (``XNYS``, ``XLON``, ``24/7``, ...).

    Raises
    ------
    ConfigError
        For an unknown calendar, naming the closest ones.
    """

    def __init__(self, name: str = "XNYS") -> None:
        import exchange_calendars as xcals

        self.name = str(name)
        names = set(xcals.get_calendar_names(include_aliases=True))
        if self.name not in names:
            close = difflib.get_close_matches(self.name.upper(), sorted(names), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"unknown exchange calendar {self.name!r}{hint} (exchange_calendars codes "
                "such as XNYS, XLON, 24/7)"
            )

    def __repr__(self) -> str:
        return f"TradingCalendar({self.name!r})"

    @property
    def is_always_open(self) -> bool:
        """Return True for a calendar whose sessions are whole UTC days (``24/7``)."""
        return self.name == ALWAYS_OPEN

    @property
    def days_per_year(self) -> float:
        """Return the sessions in a year used to annualise statistics: 365 or 252."""
        return 365.0 if self.is_always_open else 252.0

    def sessions(self, first: dt.date, last: dt.date) -> list[Session]:
        """Return the sessions dated ``first`` to ``last``, both included."""
        if last < first:
            return []
        schedule = _schedule(self.name, first.year, last.year)
        rows = schedule.loc[pd.Timestamp(first) : pd.Timestamp(last)]
        early = set(_early_closes(self.name, first.year, last.year))
        opens = rows["open"].to_numpy(dtype="datetime64[ns]").astype("int64")
        closes = rows["close"].to_numpy(dtype="datetime64[ns]").astype("int64")
        return [
            Session(day.date(), int(o), int(c), day.date() in early)
            for day, o, c in zip(rows.index, opens, closes, strict=True)
        ]

    def sessions_between(self, start_ns: int, end_ns: int) -> list[Session]:
        """Return the sessions that open at or after ``start_ns`` and close by ``end_ns``."""
        first = _utc_day(start_ns) - dt.timedelta(days=1)
        last = _utc_day(end_ns)
        return [
            s for s in self.sessions(first, last) if s.open_ns >= start_ns and s.close_ns <= end_ns
        ]

    def is_session(self, day: dt.date) -> bool:
        """Return whether ``day`` is a trading session."""
        return bool(self.sessions(day, day))

    def next_session(self, day: dt.date) -> dt.date | None:
        """Return ``day`` when it is a session, else the next session (None past the
        calendar's data, about a year ahead)."""
        found = self.sessions(day, day + dt.timedelta(days=14))
        return found[0].date if found else None

    def period_sessions(self, days: Sequence[dt.date]) -> list[dt.date]:
        """Return every session from the start of ``days[0]``'s year to the end of
        ``days[-1]``'s (for schedules that need a whole period around a window)."""
        if not days:
            return []
        first = dt.date(days[0].year, 1, 1)
        last = dt.date(days[-1].year, 12, 31)
        return [s.date for s in self.sessions(first, last)]


def _utc_day(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns // 10**9, tz=dt.UTC).date()


@contextmanager
def _quiet() -> Iterator[None]:
    """Hide a deprecation that exchange_calendars trips over on pandas 3.1 (not ours to fix)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        yield


@functools.lru_cache(maxsize=32)
def _calendar(name: str, first_year: int, last_year: int) -> Any:
    import exchange_calendars as xcals

    start = pd.Timestamp(dt.date(first_year, 1, 1) - _PAD)
    end = pd.Timestamp(dt.date(last_year, 12, 31) + _PAD)
    try:
        with _quiet():
            return xcals.get_calendar(name, start=start, end=end)
    except Exception as exc:  # the library's own errors for dates outside its data
        raise ConfigError(
            f"exchange calendar {name!r} has no sessions for {first_year}-{last_year}: {exc}"
        ) from exc


def _schedule(name: str, first_year: int, last_year: int) -> pd.DataFrame:
    with _quiet():
        schedule: pd.DataFrame = _calendar(name, first_year, last_year).schedule
    return schedule


def _early_closes(name: str, first_year: int, last_year: int) -> list[dt.date]:
    with _quiet():
        early = _calendar(name, first_year, last_year).early_closes
    return [pd.Timestamp(d).date() for d in early]
