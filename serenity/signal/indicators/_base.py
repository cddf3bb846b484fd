"""Machinery shared by the streaming indicators: the node base and the O(1) kernels
(running mean, seeded EMA, rolling variance, rolling channel).

The kernels repeat TA-Lib 0.8's arithmetic in its order of operations, so that most
indicators are bit-for-bit TA-Lib's. TA-Lib computes its EMA-style steps with a fused
multiply-add, which CPython 3.11 lacks; those steps are computed unfused here, one rounding
apart (about 1e-16 relative per step, not growing).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final, TypeVar

from serenity.tau.core import Network, Signal
from serenity.tau.signal import Function

T = TypeVar("T")

_RESEED_EVERY: Final = 32  # windows between re-anchorings of the variance sums (TA-Lib var.c)

STOCH_FLAT: Final = 1e-14  # TA-Lib's relative dead-zone for a flat stochastic window (stoch.c)


class Indicator(Function[T]):
    """A node over one input signal; subclasses override ``on_activate`` (the hot path)."""

    __slots__ = ("_source",)

    def __init__(self, network: Network, values: Signal[Any], *, name: str | None = None):
        self._source = values
        super().__init__(network, [values], name=name)

    def _call(self) -> bool:
        return self.on_activate()


class RunningMean:
    """TA-Lib's SMA: a running sum, added to before and trimmed after each mean."""

    __slots__ = ("recent", "total", "warmup", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.recent: deque[float] = deque(maxlen=window)
        self.total = 0.0
        self.warmup = window - 1

    def update(self, x: float) -> float | None:
        """Take ``x``; return the mean of the last ``window`` values, None until warm."""
        self.recent.append(x)
        total = self.total + x
        if self.warmup:
            self.warmup -= 1
            self.total = total
            return None
        self.total = total - self.recent[0]
        return total / self.window


class SeededEma:
    """TA-Lib's EMA: seeded with the mean of the first ``window`` values, then
    ``ema += (x - ema) * k`` with ``k = 2 / (window + 1)``."""

    __slots__ = ("count", "k", "total", "value", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.k = 2.0 / (window + 1)
        self.count = 0
        self.total = 0.0
        self.value = 0.0

    def update(self, x: float) -> bool:
        """Take ``x``; return True when :attr:`value` holds an EMA."""
        if self.count >= self.window:
            p = self.value
            self.value = ((x - p) * self.k) + p
            return True
        self.total += x
        self.count += 1
        if self.count == self.window:
            self.value = self.total / self.window
            return True
        return False


class RollingVariance:
    """TA-Lib's cancellation-free rolling population variance (var.c).

    Running sums of ``x - shift`` and its square, with ``shift`` re-anchored to the window
    mean (an O(window) rebuild) when the sums lose digits (the variance falls below
    ``rebase_ratio`` of the mean squared deviation from the shift), when a large value
    leaves the window, or every 32 windows. The rebuilds are rare, so the cost is O(1) per
    value amortised. TA-Lib's ratio, 1e-6, bounds the cancellation loss to about 1e-10
    relative; a larger ratio rebuilds sooner and loses less. :attr:`deviation` is the
    latest value minus the window mean, computed from the shifted sums.
    """

    __slots__ = (
        "bars",
        "deviation",
        "inv",
        "rebase_ratio",
        "recent",
        "shift",
        "sum1",
        "sum2",
        "warmup",
        "window",
    )

    def __init__(self, window: int, *, rebase_ratio: float = 0.000001) -> None:
        self.window = window
        self.rebase_ratio = rebase_ratio
        self.inv = 1.0 / window
        self.recent: deque[float] = deque(maxlen=window)
        self.shift = 0.0
        self.sum1 = 0.0
        self.sum2 = 0.0
        self.deviation = 0.0
        self.warmup = window - 1
        self.bars = _RESEED_EVERY * window

    def update(self, x: float) -> float | None:
        """Take ``x``; return the variance of the last ``window`` values, None until warm."""
        recent = self.recent
        if not recent:
            self.shift = x
        recent.append(x)
        dx = x - self.shift
        sum1 = self.sum1 + dx
        sum2 = self.sum2 + dx * dx
        if self.warmup:
            self.warmup -= 1
            self.sum1, self.sum2 = sum1, sum2
            return None
        inv = self.inv
        mean = sum1 * inv
        variance = sum2 * inv - mean * mean
        t = recent[0] - self.shift
        sum1 -= t
        t = t * t
        sum2 -= t
        self.bars -= 1
        if variance < self.rebase_ratio * (sum2 * inv) or t > 1000000.0 * sum2 or self.bars <= 0:
            return self._reseed()
        self.sum1, self.sum2 = sum1, sum2
        self.deviation = dx - mean
        return variance

    def _reseed(self) -> float:
        self.bars = _RESEED_EVERY * self.window
        recent, inv = self.recent, self.inv
        total = 0.0
        for v in recent:
            total += v
        shift = total * inv
        sum1 = sum2 = 0.0
        for v in recent:
            t = v - shift
            sum1 += t
            sum2 += t * t
        mean = sum1 * inv
        variance = sum2 * inv - mean * mean
        if variance < 0.000000000001 * (sum2 * inv):
            variance = 0.0
        self.deviation = (recent[-1] - shift) - mean
        t = recent[0] - shift
        self.sum1 = sum1 - t
        self.sum2 = sum2 - t * t
        self.shift = shift
        return variance


class RollingChannel:
    """The highest high and the lowest low of the last ``window`` inputs: two monotonic
    deques, O(1) amortised per input."""

    __slots__ = ("count", "highest", "highs", "lowest", "lows", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.highs: deque[tuple[int, float]] = deque()
        self.lows: deque[tuple[int, float]] = deque()
        self.count = 0
        self.highest = self.lowest = 0.0

    def update(self, high: float, low: float) -> bool:
        """Take one input's ``high`` and ``low``; return True once ``window`` inputs arrived.

        :attr:`highest` and :attr:`lowest` then hold the channel (before that, the channel
        of the inputs so far).
        """
        i = self.count
        self.count = i + 1
        oldest = i - self.window
        highs = self.highs
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((i, high))
        if highs[0][0] <= oldest:
            highs.popleft()
        self.highest = highs[0][1]
        lows = self.lows
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((i, low))
        if lows[0][0] <= oldest:
            lows.popleft()
        self.lowest = lows[0][1]
        return oldest >= -1  # i >= window - 1: this input fills the window
