"""Volatility as tau nodes: rolling standard deviation and z-score over floats, and the
average true range (absolute and normalised) over bars.

Each emits one float per input once warmed up, and nothing before.
"""

from __future__ import annotations

import math
from typing import Any

from serenity.signal._checks import check_number, check_period
from serenity.signal.indicators._base import Indicator, RollingVariance
from serenity.tau.core import Network, Signal

__all__ = ["ATR", "NATR", "Stddev", "ZScore"]

_ZSCORE_REBASE = 0.001  # re-anchor when cancellation could cost 1e3 ulps, not TA-Lib's 1e6


class Stddev(Indicator[float]):
    """Population standard deviation of the last ``window`` values, times ``num_std``;
    TA-Lib ``STDDEV``.

    TA-Lib's cancellation-free rolling variance: running sums of deviations from a shift
    that is re-anchored to the window mean (an O(window) rebuild) when the sums lose digits,
    when a large value leaves the window, or every 32 windows; O(1) amortised and
    bit-for-bit TA-Lib's. Emits from the ``window``-th value on (lookback ``window - 1``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        Values in the window, an int >= 2.
    num_std
        A factor applied to the deviation, a finite number (default 1).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 2 or ``num_std`` is not a finite number.
    """

    __slots__ = ("_num_std", "_variance")

    def __init__(
        self,
        network: Network,
        values: Signal[float],
        window: int,
        num_std: float = 1.0,
        *,
        name: str | None = None,
    ) -> None:
        self._variance = RollingVariance(check_period(window, "window", 2))
        self._num_std = check_number(num_std, "num_std")
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the deviation once ``window`` values arrived."""
        variance = self._variance.update(self._source._value)
        if variance is None:
            return False
        if self._num_std != 1.0:
            self._value = math.sqrt(variance) * self._num_std
        else:
            self._value = math.sqrt(variance)
        self._valid = True
        return True


class ZScore(Indicator[float]):
    """How many population standard deviations the value lies from the mean of the last
    ``window`` values (itself included): ``(x - mean) / std``.

    Both the distance from the mean and the deviation come from :class:`Stddev`'s shifted
    sums, re-anchored whenever cancellation could cost more than about 1e-12 relative, so
    the score stays accurate when the spread is tiny next to the price level. A window of
    identical values has no spread and gives 0. Emits from the ``window``-th value on
    (lookback ``window - 1``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        Values in the window, an int >= 2.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 2.
    """

    __slots__ = ("_last", "_run", "_variance", "_window")

    def __init__(
        self, network: Network, values: Signal[float], window: int, *, name: str | None = None
    ) -> None:
        self._window = check_period(window, "window", 2)
        self._variance = RollingVariance(self._window, rebase_ratio=_ZSCORE_REBASE)
        self._last = math.nan
        self._run = 0  # how many of the latest values are equal
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit its z-score once ``window`` values arrived."""
        x = self._source._value
        self._run = self._run + 1 if x == self._last else 1
        self._last = x
        kernel = self._variance
        variance = kernel.update(x)
        if variance is None:
            return False
        std = math.sqrt(variance)
        self._value = kernel.deviation / std if std > 0.0 and self._run < self._window else 0.0
        self._valid = True
        return True


class _AverageTrueRange(Indicator[float]):
    """Wilder's average of the true range over bars, as TA-Lib computes it."""

    __slots__ = ("_alpha", "_atr", "_beta", "_count", "_period", "_prev_close", "_total")

    def __init__(
        self, network: Network, bars: Signal[Any], period: int, *, name: str | None = None
    ) -> None:
        self._period = check_period(period, "period")
        self._beta = float(self._period - 1) / float(self._period)
        self._alpha = 1.0 - self._beta
        self._prev_close = math.nan
        self._count = -1  # the first bar only gives the previous close
        self._total = 0.0
        self._atr = 0.0
        super().__init__(network, bars, name=name)

    def _average(self, bar: Any) -> bool:
        high, low, prev_close = bar.high, bar.low, self._prev_close
        self._prev_close = bar.close
        count = self._count
        if count < 0:
            self._count = 0
            return False
        true_range = high - low
        gap = abs(prev_close - high)
        if gap > true_range:
            true_range = gap
        gap = abs(prev_close - low)
        if gap > true_range:
            true_range = gap
        if count >= self._period:
            self._atr = self._beta * self._atr + self._alpha * true_range
            return True
        self._total += true_range
        self._count = count + 1
        if self._count < self._period:
            return False
        self._atr = self._total / self._period
        return True


class ATR(_AverageTrueRange):
    """Average true range of bars; TA-Lib ``ATR``.

    The true range of a bar is the largest of ``high - low``, ``|prev_close - high|`` and
    ``|prev_close - low|``; the first bar only supplies a previous close. The ATR is seeded
    with the mean of the first ``period`` true ranges, then smoothed by Wilder's rule
    ``atr = ((period - 1) * atr + tr) / period``. Emits from bar ``period + 1`` on (lookback
    ``period``). Equal to TA-Lib to about 1e-15 relative: TA-Lib fuses the step's
    multiply-add.

    Parameters
    ----------
    network
        The network the node joins.
    bars
        A signal of bars with ``high``, ``low`` and ``close``, such as
        :class:`~serenity.signal.bars.OHLC`.
    period
        Smoothing period, an int >= 1 (TA-Lib's default is 14).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``period`` is not an int >= 1.
    """

    __slots__ = ()

    def on_activate(self) -> bool:
        """Take the bar; emit the ATR once warmed up."""
        if not self._average(self._source._value):
            return False
        self._value = self._atr
        self._valid = True
        return True


class NATR(_AverageTrueRange):
    """Normalised average true range, ``100 * ATR / close``; TA-Lib ``NATR``.

    As :class:`ATR`, divided by the bar's close (0 when the close is 0). As in TA-Lib, a
    period of 1 gives the raw true range, not normalised. Emits from bar ``period + 1`` on
    (lookback ``period``).

    Parameters
    ----------
    network
        The network the node joins.
    bars
        A signal of bars with ``high``, ``low`` and ``close``.
    period
        Smoothing period, an int >= 1 (TA-Lib's default is 14).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``period`` is not an int >= 1.
    """

    __slots__ = ()

    def on_activate(self) -> bool:
        """Take the bar; emit the NATR once warmed up."""
        bar = self._source._value
        if not self._average(bar):
            return False
        if self._period <= 1:
            self._value = self._atr
        else:
            close = bar.close
            self._value = (self._atr / close) * 100.0 if close != 0.0 else 0.0
        self._valid = True
        return True
