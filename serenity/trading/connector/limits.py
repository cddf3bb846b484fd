"""Venue rate limits declared as data, and the limiter that keeps requests inside them.

A venue's quotas are :class:`RateLimit` values (``RateLimit("weight", 6000, 60)``: 6000
units of request weight a minute); each request states its cost per quota (``{"weight": 1,
"orders": 1}``). :class:`RateLimiter` makes a request wait until every quota it draws on
has room. Without ``burst`` a quota is a sliding window (no window of ``interval_s`` ever
holds more than ``limit``, so the venue's fixed windows are never exceeded either); with
``burst`` it is a token bucket refilled at ``limit / interval_s`` holding at most ``burst``.

The limiter also follows what the venue says: :meth:`RateLimiter.observe` takes the usage
a venue reports (Binance's ``X-MBX-USED-WEIGHT-1M`` header) and :meth:`RateLimiter.pause`
holds every request after a 429's ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from serenity.errors import ConfigError

__all__ = ["RateLimit", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One venue quota: at most ``limit`` units of ``kind`` per ``interval_s`` seconds.

    Attributes
    ----------
    kind
        The quota's name, as requests' costs name it (``weight``, ``orders``, ``requests``).
    limit
        Units allowed per interval.
    interval_s
        The interval, in seconds.
    burst
        For a token bucket, the most units that may go at once; None for a sliding window.

    Raises
    ------
    ConfigError
        For a limit, interval or burst that is not > 0.
    """

    kind: str
    limit: int
    interval_s: float
    burst: int | None = None

    def __post_init__(self) -> None:
        if not self.limit > 0 or not self.interval_s > 0:
            raise ConfigError(
                f"rate limit {self.kind!r} needs limit > 0 and interval_s > 0, was "
                f"{self.limit!r} per {self.interval_s!r} s"
            )
        if self.burst is not None and not self.burst > 0:
            raise ConfigError(f"rate limit {self.kind!r}: burst must be > 0, was {self.burst!r}")


class _Window:
    """A sliding window: the (time, cost) of what was spent in the last interval."""

    __slots__ = ("limit", "log", "spent", "span")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit.limit
        self.span = limit.interval_s
        self.log: deque[tuple[float, int]] = deque()
        self.spent = 0

    def _expire(self, now: float) -> None:
        while self.log and self.log[0][0] <= now - self.span:
            self.spent -= self.log.popleft()[1]

    def delay(self, cost: int, now: float) -> float:
        self._expire(now)
        if self.spent + cost <= self.limit:
            return 0.0
        needed = self.spent + cost - self.limit
        for t, spent in self.log:
            needed -= spent
            if needed <= 0:
                return t + self.span - now
        return self.span  # a cost above the limit: wait a whole window, then send it alone

    def take(self, cost: int, now: float) -> None:
        self.log.append((now, cost))
        self.spent += cost

    def observe(self, used: int, now: float) -> None:
        self._expire(now)
        if used > self.spent:  # the venue counted more (other clients on the IP): catch up
            self.take(used - self.spent, now)


class _Bucket:
    """A token bucket: ``burst`` tokens, refilled at ``limit / interval_s`` a second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, limit: RateLimit, now: float) -> None:
        assert limit.burst is not None
        self.capacity = float(limit.burst)
        self.rate = limit.limit / limit.interval_s
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self, cost: int, now: float) -> float:
        self._refill(now)
        want = min(float(cost), self.capacity)
        return 0.0 if self.tokens >= want else (want - self.tokens) / self.rate

    def take(self, cost: int, now: float) -> None:
        self._refill(now)
        self.tokens -= cost

    def observe(self, used: int, now: float) -> None:
        self._refill(now)
        self.tokens = min(self.tokens, self.capacity - used)


class RateLimiter:
    """Keep requests within a venue's quotas (see the module docstring).

    Parameters
    ----------
    limits
        The venue's quotas.
    clock
        Monotonic seconds (``time.monotonic`` by default; tests pass their own).

    Attributes
    ----------
    waited_s
        Total time requests waited for room, in seconds.
    """

    def __init__(
        self, limits: Iterable[RateLimit], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        now = clock()
        self.limits = {limit.kind: limit for limit in limits}
        self._quotas: dict[str, _Window | _Bucket] = {
            kind: _Window(limit) if limit.burst is None else _Bucket(limit, now)
            for kind, limit in self.limits.items()
        }
        self._paused_until = 0.0
        self._lock: asyncio.Lock | None = None
        self.waited_s = 0.0

    def delay(self, cost: Mapping[str, int]) -> float:
        """Return how long a request costing ``cost`` must wait now, in seconds."""
        now = self.clock()
        wait = max(0.0, self._paused_until - now)
        for kind, units in cost.items():
            quota = self._quotas.get(kind)
            if quota is not None and units > 0:
                wait = max(wait, quota.delay(units, now))
        return wait

    def take(self, cost: Mapping[str, int]) -> None:
        """Spend ``cost`` now (after :meth:`delay` returned 0)."""
        now = self.clock()
        for kind, units in cost.items():
            quota = self._quotas.get(kind)
            if quota is not None and units > 0:
                quota.take(units, now)

    async def acquire(self, cost: Mapping[str, int]) -> float:
        """Wait until ``cost`` fits every quota, spend it, and return the seconds waited.

        Requests are served in arrival order, so a heavy request is not starved.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        waited = 0.0
        async with self._lock:
            while (wait := self.delay(cost)) > 0:
                await asyncio.sleep(wait)
                waited += wait
            self.take(cost)
        self.waited_s += waited
        return waited

    def observe(self, kind: str, used: int) -> None:
        """Take the venue's count of ``kind`` used in its current window into account."""
        quota = self._quotas.get(kind)
        if quota is not None and used >= 0:
            quota.observe(int(used), self.clock())

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` (a 429's ``Retry-After``)."""
        self._paused_until = max(self._paused_until, self.clock() + max(0.0, seconds))
