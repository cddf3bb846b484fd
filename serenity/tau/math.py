"""Streaming statistics over a signal of numbers, O(1) per value."""

from __future__ import annotations

import math

from serenity.errors import InvalidValueError
from serenity.tau.core import Network, Signal
from serenity.tau.signal import Function

__all__ = ["ExponentialMovingAverage", "Max", "Mean", "Min", "RunningSum", "Stddev", "Variance"]


class _Unary(Function[float]):
    __slots__ = ("_source",)

    def __init__(self, network: Network, values: Signal[float], *, name: str | None = None):
        self._source = values
        super().__init__(network, [values], name=name)


class RunningSum(_Unary):
    """Emit the sum of every value so far."""

    __slots__ = ("_sum",)

    def __init__(self, network: Network, values: Signal[float], *, name: str | None = None):
        self._sum = 0.0
        super().__init__(network, values, name=name)

    def _call(self) -> bool:
        self._sum += self._source._value
        self._update(self._sum)
        return True


class Mean(_Unary):
    """Emit the arithmetic mean of every value so far."""

    __slots__ = ("_mean", "_n")

    def __init__(self, network: Network, values: Signal[float], *, name: str | None = None):
        self._n = 0
        self._mean = 0.0
        super().__init__(network, values, name=name)

    def _call(self) -> bool:
        self._n += 1
        self._mean += (self._source._value - self._mean) / self._n
        self._update(self._mean)
        return True


class Min(_Unary):
    """Emit the smallest value so far (starting from +inf)."""

    __slots__ = ()

    def __init__(self, network: Network, values: Signal[float], *, name: str | None = None):
        super().__init__(network, values, name=name)
        self._value = math.inf

    def _call(self) -> bool:
        x = self._source._value
        if x < self._value or not self._valid:
            self._value = min(x, self._value)
        self._valid = True
        return True


class Max(_Unary):
    """Emit the largest value so far (starting from -inf)."""

    __slots__ = ()

    def __init__(self, network: Network, values: Signal[float], *, name: str | None = None):
        super().__init__(network, values, name=name)
        self._value = -math.inf

    def _call(self) -> bool:
        x = self._source._value
        if x > self._value or not self._valid:
            self._value = max(x, self._value)
        self._valid = True
        return True


class Variance(_Unary):
    """Emit the variance of every value so far, by Welford's algorithm.

    Parameters
    ----------
    ddof
        Delta degrees of freedom: 0 (default) for the population variance, 1 for the sample
        variance. Nothing is emitted until more than ``ddof`` values arrived.
    """

    __slots__ = ("_ddof", "_m2", "_mean", "_n")

    def __init__(
        self, network: Network, values: Signal[float], *, ddof: int = 0, name: str | None = None
    ):
        if isinstance(ddof, bool) or not isinstance(ddof, int) or ddof < 0:
            raise InvalidValueError(f"ddof must be an int >= 0, was {ddof!r}")
        self._ddof = ddof
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0
        super().__init__(network, values, name=name)

    def _variance(self) -> float | None:
        x = self._source._value
        self._n += 1
        delta = x - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (x - self._mean)
        if self._n <= self._ddof:
            return None
        return self._m2 / (self._n - self._ddof)

    def _call(self) -> bool:
        var = self._variance()
        if var is None:
            return False
        self._update(var)
        return True


class Stddev(Variance):
    """Emit the standard deviation of every value so far (Welford; ``ddof`` as in Variance)."""

    __slots__ = ()

    def _call(self) -> bool:
        var = self._variance()
        if var is None:
            return False
        self._update(math.sqrt(var))
        return True


class ExponentialMovingAverage(_Unary):
    """Emit the EMA with ``alpha = 2 / (span + 1)``, seeded with the first value.

    Equal to pandas' ``Series.ewm(span=span, adjust=False).mean()``.
    """

    __slots__ = ("_alpha", "_span")

    def __init__(
        self, network: Network, values: Signal[float], span: float, *, name: str | None = None
    ):
        if isinstance(span, bool) or not isinstance(span, int | float) or not span >= 1:
            raise InvalidValueError(f"span must be a number >= 1, was {span!r}")
        self._span = span
        self._alpha = 2.0 / (span + 1.0)
        super().__init__(network, values, name=name)

    def _call(self) -> bool:
        x = self._source._value
        if self._valid:
            self._value += self._alpha * (x - self._value)
        else:
            self._value = float(x)
            self._valid = True
        return True
