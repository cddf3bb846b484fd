"""Momentum and oscillators as tau nodes: RSI, MACD, the stochastic oscillator, rate of
change, momentum and log return, equal to TA-Lib's.

Each emits one value per input once warmed up, and nothing before.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from serenity.errors import DataError
from serenity.signal._checks import check_macd_spans, check_period
from serenity.signal.indicators._base import (
    STOCH_FLAT,
    Indicator,
    RollingChannel,
    RunningMean,
    SeededEma,
)
from serenity.tau.core import Network, Signal

__all__ = [
    "MACD",
    "ROC",
    "RSI",
    "LogReturn",
    "MACDValue",
    "Momentum",
    "Stochastic",
    "StochasticValue",
]


@dataclass(slots=True, kw_only=True)
class MACDValue:
    """One MACD reading.

    Attributes
    ----------
    macd
        Fast EMA minus slow EMA.
    signal
        EMA of the MACD line.
    hist
        ``macd - signal``.
    """

    macd: float
    signal: float
    hist: float


@dataclass(slots=True, kw_only=True)
class StochasticValue:
    """One stochastic oscillator reading, in percent.

    Attributes
    ----------
    k
        The slow %K: the fast %K smoothed over ``slowk_period`` bars.
    d
        The slow %D: %K smoothed over ``slowd_period`` bars.
    """

    k: float
    d: float


class RSI(Indicator[float]):
    """Relative strength index with Wilder's smoothing; TA-Lib ``RSI``.

    The average gain and loss are seeded with the means of the first ``period`` changes,
    then smoothed as ``avg = ((period - 1) * avg + change) / period``;
    ``rsi = 100 * gain / (gain + loss)``, and 0 when both are 0. Bit-for-bit TA-Lib's.
    Emits from value ``period + 1`` on (lookback ``period``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    period
        Smoothing period, an int >= 2 (TA-Lib's default is 14).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``period`` is not an int >= 2.
    """

    __slots__ = ("_count", "_gain", "_inv", "_keep", "_loss", "_period", "_prev")

    def __init__(
        self, network: Network, values: Signal[float], period: int, *, name: str | None = None
    ) -> None:
        self._period = check_period(period, "period", 2)
        self._inv = 1.0 / self._period
        self._keep = float(self._period - 1)
        self._count = -1  # the first value only gives the previous value
        self._gain = self._loss = 0.0
        self._prev = 0.0
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the RSI once warmed up."""
        x = self._source._value
        change = x - self._prev
        self._prev = x
        up = change if change > 0.0 else 0.0
        count = self._count
        if count >= self._period:
            keep, inv = self._keep, self._inv
            loss = (self._loss * keep + (up - change)) * inv
            gain = (self._gain * keep + up) * inv
        else:
            self._count = count + 1
            if count < 0:
                return False
            self._gain += up
            self._loss += up - change
            if count + 1 < self._period:
                return False
            loss = self._loss * self._inv
            gain = self._gain * self._inv
        self._gain, self._loss = gain, loss
        total = gain + loss
        self._value = 100.0 * (gain / total) if total > 0.0 else 0.0
        self._valid = True
        return True


class MACD(Indicator[MACDValue]):
    """Moving average convergence/divergence; TA-Lib ``MACD``.

    The MACD line is ``EMA(fast) - EMA(slow)``. As in TA-Lib, both EMAs start on the same
    value: the slow one is seeded with the mean of the first ``slow`` values and the fast one
    with the mean of the last ``fast`` of those. The signal line is the EMA of the MACD line
    over ``signal`` values, seeded likewise (with ``signal == 1`` it is the MACD line). Emits
    from value ``slow + signal - 1`` on (lookback ``slow - 1 + signal - 1``). Equal to TA-Lib
    to about 1e-15 relative to the prices: TA-Lib fuses the EMA step's multiply-add.

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    fast, slow
        EMA spans, ints with ``2 <= fast <= slow`` (default 12 and 26).
    signal
        Signal line span, an int >= 1 (default 9).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When a span is out of range or ``fast > slow`` (TA-Lib would swap them).
    """

    __slots__ = ("_fast", "_seen", "_signal", "_skip", "_slow")

    def __init__(
        self,
        network: Network,
        values: Signal[float],
        fast: int = 12,
        slow: int = 26,
        signal: int = 9,
        *,
        name: str | None = None,
    ) -> None:
        check_macd_spans(fast, slow, signal)
        self._fast = SeededEma(fast)
        self._slow = SeededEma(slow)
        self._signal = SeededEma(signal)
        self._skip = slow - fast
        self._seen = 0
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the MACD once the signal line is seeded."""
        x = self._source._value
        seeded = self._slow.update(x)
        if self._seen >= self._skip:
            self._fast.update(x)
        else:
            self._seen += 1
        if not seeded:
            return False
        macd = self._fast.value - self._slow.value
        signal = self._signal
        if signal.window == 1:
            line = macd
        elif signal.update(macd):
            line = signal.value
        else:
            return False
        self._value = MACDValue(macd=macd, signal=line, hist=macd - line)
        self._valid = True
        return True


class Stochastic(Indicator[StochasticValue]):
    """Slow stochastic oscillator of bars; TA-Lib ``STOCH`` with simple moving averages.

    The fast %K is ``100 * (close - lowest low) / (highest high - lowest low)`` over the last
    ``fastk_period`` bars (0 when the window is flat to within 1e-14 of its extremes, as in
    TA-Lib); %K is its SMA over ``slowk_period`` and %D the SMA of %K over ``slowd_period``.
    Monotonic deques and running sums make it O(1) amortised per bar; bit-for-bit TA-Lib's.
    Emits from bar ``fastk_period + slowk_period + slowd_period - 2`` on.

    Parameters
    ----------
    network
        The network the node joins.
    bars
        A signal of bars with ``high``, ``low`` and ``close``.
    fastk_period, slowk_period, slowd_period
        Ints >= 1 (default 5, 3 and 3, as in TA-Lib).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When a period is not an int >= 1.
    """

    __slots__ = ("_channel", "_d", "_k")

    def __init__(
        self,
        network: Network,
        bars: Signal[Any],
        fastk_period: int = 5,
        slowk_period: int = 3,
        slowd_period: int = 3,
        *,
        name: str | None = None,
    ) -> None:
        self._channel = RollingChannel(check_period(fastk_period, "fastk_period"))
        self._k = RunningMean(check_period(slowk_period, "slowk_period"))
        self._d = RunningMean(check_period(slowd_period, "slowd_period"))
        super().__init__(network, bars, name=name)

    def on_activate(self) -> bool:
        """Take the bar; emit %K and %D once warmed up."""
        bar = self._source._value
        channel = self._channel
        if not channel.update(bar.high, bar.low):
            return False
        highest, lowest = channel.highest, channel.lowest
        spread = highest - lowest
        if abs(spread) <= STOCH_FLAT * (abs(highest) + abs(lowest)):
            fast_k = 0.0
        else:
            fast_k = (bar.close - lowest) / spread * 100.0
        k = self._k.update(fast_k)
        if k is None:
            return False
        d = self._d.update(k)
        if d is None:
            return False
        self._value = StochasticValue(k=k, d=d)
        self._valid = True
        return True


class _Lagged(Indicator[float]):
    """Compare each value with the one ``period`` values earlier."""

    __slots__ = ("_period", "_recent")

    def __init__(
        self, network: Network, values: Signal[float], period: int, *, name: str | None = None
    ) -> None:
        self._period = check_period(period, "period")
        self._recent: deque[float] = deque(maxlen=self._period + 1)
        super().__init__(network, values, name=name)


class ROC(_Lagged):
    """Rate of change in percent, ``100 * (x / x[-period] - 1)``; TA-Lib ``ROC``.

    0 when the earlier value is 0, as in TA-Lib. Bit-for-bit TA-Lib's. Emits from value
    ``period + 1`` on (lookback ``period``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    period
        Lag in values, an int >= 1 (TA-Lib's default is 10).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``period`` is not an int >= 1.
    """

    __slots__ = ()

    def on_activate(self) -> bool:
        """Take the input value; emit the rate of change once warmed up."""
        x = self._source._value
        recent = self._recent
        recent.append(x)
        if len(recent) <= self._period:
            return False
        before = recent[0]
        self._value = ((x / before) - 1.0) * 100.0 if before != 0.0 else 0.0
        self._valid = True
        return True


class Momentum(_Lagged):
    """Momentum, ``x - x[-period]``; TA-Lib ``MOM``.

    Bit-for-bit TA-Lib's. Emits from value ``period + 1`` on (lookback ``period``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    period
        Lag in values, an int >= 1 (TA-Lib's default is 10).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``period`` is not an int >= 1.
    """

    __slots__ = ()

    def on_activate(self) -> bool:
        """Take the input value; emit the momentum once warmed up."""
        x = self._source._value
        recent = self._recent
        recent.append(x)
        if len(recent) <= self._period:
            return False
        self._value = x - recent[0]
        self._valid = True
        return True


class LogReturn(_Lagged):
    """Log return, ``ln(x / x[-period])``; TA-Lib ``LN(ROCR)``.

    Emits from value ``period + 1`` on (lookback ``period``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of positive floats.
    period
        Lag in values, an int >= 1 (default 1).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``period`` is not an int >= 1.
    DataError
        When an input is not positive (the run stops there, naming the node).
    """

    __slots__ = ()

    def __init__(
        self,
        network: Network,
        values: Signal[float],
        period: int = 1,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(network, values, period, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the log return once warmed up."""
        x = self._source._value
        if not x > 0.0:
            raise DataError(f"log return needs positive values, was {x!r}")
        recent = self._recent
        recent.append(x)
        if len(recent) <= self._period:
            return False
        self._value = math.log(x / recent[0])
        self._valid = True
        return True
