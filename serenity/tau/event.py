"""Event operators: side effects, callbacks and timers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from serenity.errors import InvalidValueError
from serenity.tau._time import NS_PER_S, Duration, Instant, to_duration_ns, to_instant_ns
from serenity.tau.core import Event, Network, Signal
from serenity.tau.scheduler import NetworkScheduler, TimerHandle

__all__ = ["Alarm", "Do", "Lambda", "RepeatingTimer"]


class Do(Event):
    """Call ``fn()`` every time ``event`` activates; propagate."""

    __slots__ = ("_fn",)

    def __init__(
        self, network: Network, event: Event, fn: Callable[[], object], *, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        self._fn = fn
        network.connect(event, self)

    def on_activate(self) -> bool:
        """Run the side effect."""
        self._fn()
        return True


class Lambda(Event):
    """Call ``fn(*values)`` with the parameters' current values whenever one activates.

    Propagation stops when ``fn`` returns ``False`` and goes on otherwise (including None).
    """

    __slots__ = ("_fn", "parameters")

    def __init__(
        self,
        network: Network,
        parameters: Sequence[Event],
        fn: Callable[..., object],
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self._fn = fn
        self.parameters = tuple(parameters)
        network.attach(self)
        for p in self.parameters:
            network.connect(p, self)

    def on_activate(self) -> bool:
        """Call the function; stop propagation when it returns False."""
        params = self.parameters
        fn = self._fn
        # Unrolled for the usual one or two inputs: no list is built per call.
        if len(params) == 1:
            return fn(getattr(params[0], "_value", None)) is not False
        if len(params) == 2:
            a, b = params
            return fn(getattr(a, "_value", None), getattr(b, "_value", None)) is not False
        return fn(*[getattr(p, "_value", None) for p in params]) is not False


class RepeatingTimer(Signal[int]):
    """Activate every ``interval``; the value is the firing time in ns.

    The first firing is at ``start`` (default: one interval after the scheduler's current
    time). Only one timer is pending at any time; :meth:`cancel` stops it.
    """

    __slots__ = ("_handle", "_interval", "_scheduler")

    def __init__(
        self,
        scheduler: NetworkScheduler,
        interval: Duration,
        *,
        start: Instant | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self._scheduler = scheduler
        self._interval = to_duration_ns(interval)
        scheduler.network.attach(self)
        first = scheduler.get_time() + self._interval if start is None else to_instant_ns(start)
        self._handle: TimerHandle | None = scheduler.schedule_at(lambda: self._tick(first), first)

    def _tick(self, t: int) -> None:
        nxt = t + self._interval
        self._handle = self._scheduler.schedule_at(lambda: self._tick(nxt), nxt)
        self._update(t)
        self._scheduler.network.activate(self)

    def cancel(self) -> None:
        """Stop the timer."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class Alarm(Signal[int]):
    """Activate every day at a wall-clock time in a time zone, daylight saving included.

    The value is the firing time in ns (UTC). A local time that does not exist on a
    spring-forward day fires at the same offset past the gap (``fold=0`` rules).

    Parameters
    ----------
    scheduler
        Supplies time and timers.
    at
        The local time of day, a :class:`datetime.time` or ``"HH:MM[:SS]"``.
    tz
        An IANA zone name such as ``"America/New_York"`` (default UTC) or a tzinfo.
    """

    __slots__ = ("_at", "_handle", "_scheduler", "_tz")

    def __init__(
        self,
        scheduler: NetworkScheduler,
        at: dt.time | str,
        tz: str | dt.tzinfo = "UTC",
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self._scheduler = scheduler
        self._at = _parse_time_of_day(at)
        self._tz = _zone(tz)
        scheduler.network.attach(self)
        self._handle: TimerHandle | None = None
        self._arm(scheduler.get_time())

    def next_after(self, t: int) -> int:
        """Return the first firing time strictly after ``t`` (ns, UTC)."""
        local = dt.datetime.fromtimestamp(t // NS_PER_S, tz=self._tz)
        day = local.date()
        for _ in range(3):
            candidate = dt.datetime.combine(day, self._at, tzinfo=self._tz)
            ns = to_instant_ns(candidate.astimezone(dt.UTC))
            if ns > t:
                return ns
            day += dt.timedelta(days=1)
        raise AssertionError("unreachable: an alarm fires at least once in three days")

    def _arm(self, after: int) -> None:
        t = self.next_after(after)
        self._handle = self._scheduler.schedule_at(lambda: self._ring(t), t)

    def _ring(self, t: int) -> None:
        self._arm(t)
        self._update(t)
        self._scheduler.network.activate(self)

    def cancel(self) -> None:
        """Stop the alarm."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _parse_time_of_day(at: dt.time | str) -> dt.time:
    if isinstance(at, dt.time):
        if at.tzinfo is not None:
            raise InvalidValueError(f"alarm time {at} must not carry a tzinfo; pass tz= instead")
        return at
    try:
        return dt.time.fromisoformat(str(at))
    except ValueError:
        raise InvalidValueError(f"alarm time must be 'HH:MM[:SS]', was {at!r}") from None


def _zone(tz: Any) -> dt.tzinfo:
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValueError(
            f"unknown time zone {tz!r}; use an IANA name such as 'UTC'"
        ) from None
