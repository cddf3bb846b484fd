"""When a strategy rebalances: daily, weekly, monthly, quarterly, yearly or once.

A period's rebalance falls on its first (or last) *session* of the calendar, so a
quarterly rebalance in 2024 on XNYS lands on 2 January (1 January is a holiday), 1 April,
1 July and 1 October. By default the run's first session also rebalances, so a strategy is
invested from the start whatever day the window opens on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Final

from serenity.errors import ConfigError

__all__ = ["Frequency", "RebalanceSchedule"]


@unique
class Frequency(StrEnum):
    """How often a strategy rebalances."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    ONCE = "once"
    """Only on the run's first session (buy and hold)."""


_PERIOD: Final[dict[Frequency, Callable[[dt.date], tuple[int, ...]]]] = {
    Frequency.DAILY: lambda d: (d.toordinal(),),
    Frequency.WEEKLY: lambda d: tuple(d.isocalendar()[:2]),
    Frequency.MONTHLY: lambda d: (d.year, d.month),
    Frequency.QUARTERLY: lambda d: (d.year, (d.month - 1) // 3),
    Frequency.YEARLY: lambda d: (d.year,),
}


@dataclass(frozen=True, slots=True)
class RebalanceSchedule:
    """The sessions a strategy rebalances on.

    Parameters
    ----------
    every
        The period.
    on
        ``first`` or ``last`` session of each period.
    at_start
        Rebalance on the run's first session too.
    """

    every: Frequency = Frequency.MONTHLY
    on: str = "first"
    at_start: bool = True

    def __post_init__(self) -> None:
        if self.on not in ("first", "last"):
            raise ConfigError(f"rebalance `on` must be first or last, was {self.on!r}")

    def dates(self, window: Sequence[dt.date], calendar: Sequence[dt.date]) -> list[dt.date]:
        """Return the rebalance sessions of a run.

        Parameters
        ----------
        window
            The run's sessions, sorted.
        calendar
            Every session of the periods the window touches (at least), sorted, so that a
            period's first or last session is known even outside the window.
        """
        if not window:
            return []
        chosen: set[dt.date] = set()
        if self.at_start or self.every is Frequency.ONCE:
            chosen.add(window[0])
        if self.every is not Frequency.ONCE:
            key = _PERIOD[self.every]
            edges: dict[tuple[int, ...], dt.date] = {}
            for day in calendar:
                period = key(day)
                if self.on == "last" or period not in edges:
                    edges[period] = day
            inside = set(window)
            chosen |= {d for d in edges.values() if d in inside}
        return sorted(chosen)
