"""Moving averages as tau nodes: SMA, EMA, WMA, DEMA and TEMA, equal to TA-Lib's.

Each takes a signal of floats and emits one float per input value once warmed up; before
that it emits nothing. Work per value is O(1).
"""

from __future__ import annotations

from collections import deque

from serenity.signal._checks import check_period
from serenity.signal.indicators._base import Indicator, SeededEma
from serenity.tau.core import Network, Signal

__all__ = ["DEMA", "EMA", "SMA", "TEMA", "WMA"]

_WMA_RESEED_EVERY = 8  # windows between rebuilds of the WMA sums (TA-Lib wma.c)


class SMA(Indicator[float]):
    """Simple moving average of the last ``window`` values; TA-Lib ``SMA``.

    A running sum, added to before and trimmed after each mean in TA-Lib's order, so the
    output is bit-for-bit TA-Lib's. Emits from the ``window``-th value on (lookback
    ``window - 1``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        Values averaged, an int >= 1.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 1.
    """

    __slots__ = ("_recent", "_total", "_warmup", "_window")

    def __init__(
        self, network: Network, values: Signal[float], window: int, *, name: str | None = None
    ) -> None:
        self._window = check_period(window, "window")
        self._recent: deque[float] = deque(maxlen=self._window)
        self._total = 0.0
        self._warmup = self._window - 1
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the mean once ``window`` values arrived."""
        # RunningMean.update, inlined: the call would cost more than the step itself.
        x = self._source._value
        recent = self._recent
        recent.append(x)
        total = self._total + x
        if self._warmup:
            self._warmup -= 1
            self._total = total
            return False
        self._total = total - recent[0]
        self._value = total / self._window
        self._valid = True
        return True


class EMA(Indicator[float]):
    """Exponential moving average; TA-Lib ``EMA`` (default compatibility).

    Seeded with the simple mean of the first ``window`` values, then
    ``ema += (x - ema) * k`` with ``k = 2 / (window + 1)``. A window of 1 copies the input.
    Emits from the ``window``-th value on (lookback ``window - 1``). Equal to TA-Lib to about
    1e-16 relative: TA-Lib fuses the step's multiply-add.

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        The span, an int >= 1.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 1.
    """

    __slots__ = ("_count", "_k", "_seeded", "_total", "_window")

    def __init__(
        self, network: Network, values: Signal[float], window: int, *, name: str | None = None
    ) -> None:
        self._window = check_period(window, "window")
        self._k = 2.0 / (self._window + 1)
        self._count = 0
        self._total = 0.0
        self._seeded = False
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the EMA once seeded."""
        # SeededEma.update, inlined: the call would cost more than the step itself.
        x = self._source._value
        if self._seeded:
            p = self._value
            self._value = ((x - p) * self._k) + p
            return True
        if self._window == 1:
            self._value = x
            self._valid = True
            return True
        self._total += x
        self._count += 1
        if self._count < self._window:
            return False
        self._value = self._total / self._window
        self._valid = self._seeded = True
        return True


class WMA(Indicator[float]):
    """Linearly weighted moving average (weights 1 to ``window``, newest heaviest); TA-Lib
    ``WMA``.

    TA-Lib's two running sums (the weighted sum and the plain sum that shifts the weights),
    rebuilt from the window every ``8 * window`` values so rounding cannot drift; bit-for-bit
    TA-Lib's. A window of 1 copies the input. Emits from the ``window``-th value on
    (lookback ``window - 1``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        Values averaged, an int >= 1.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 1.
    """

    __slots__ = ("_bars", "_divider", "_recent", "_sub", "_sum", "_window")

    def __init__(
        self, network: Network, values: Signal[float], window: int, *, name: str | None = None
    ) -> None:
        self._window = check_period(window, "window")
        self._divider = float(self._window) * (self._window + 1) / 2.0
        self._recent: deque[float] = deque(maxlen=self._window)
        self._sum = 0.0
        self._sub = 0.0
        self._bars = _WMA_RESEED_EVERY * self._window
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the weighted mean once ``window`` values arrived."""
        x = self._source._value
        n = self._window
        if n == 1:
            self._value = x
            self._valid = True
            return True
        recent = self._recent
        size = len(recent)
        if size < n - 1:
            recent.append(x)
            self._sub += x
            self._sum += x * (size + 1)
            return False
        trailing = recent[0] if size == n else 0.0
        recent.append(x)
        self._sub += x
        self._sub -= trailing
        self._sum += x * n
        self._bars -= 1
        if self._bars <= 0:
            self._rebuild()
        self._value = self._sum / self._divider
        self._valid = True
        self._sum -= self._sub
        return True

    def _rebuild(self) -> None:
        self._bars = _WMA_RESEED_EVERY * self._window
        total = weighted = 0.0
        for weight, v in enumerate(self._recent, start=1):
            total += v
            weighted += v * weight
        self._sub, self._sum = total, weighted


class DEMA(Indicator[float]):
    """Double exponential moving average ``2 * EMA - EMA(EMA)``; TA-Lib ``DEMA``.

    Both EMAs are seeded as in :class:`EMA`; the inner one from the first ``window`` values
    of the outer. A window of 1 copies the input. Emits from value ``2 * window - 1`` on
    (lookback ``2 * (window - 1)``). Equal to TA-Lib to about 1e-15 relative.

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        The span of both EMAs, an int >= 1.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 1.
    """

    __slots__ = ("_ema1", "_ema2")

    def __init__(
        self, network: Network, values: Signal[float], window: int, *, name: str | None = None
    ) -> None:
        n = check_period(window, "window")
        self._ema1 = SeededEma(n)
        self._ema2 = SeededEma(n)
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the DEMA once both EMAs are seeded."""
        x = self._source._value
        ema1 = self._ema1
        if ema1.window == 1:
            self._value = x
            self._valid = True
            return True
        if not ema1.update(x):
            return False
        e1 = ema1.value
        if not self._ema2.update(e1):
            return False
        self._value = (2.0 * e1) - self._ema2.value
        self._valid = True
        return True


class TEMA(Indicator[float]):
    """Triple exponential moving average ``3 * EMA1 - 3 * EMA2 + EMA3``; TA-Lib ``TEMA``.

    ``EMA2`` is the EMA of ``EMA1`` and ``EMA3`` of ``EMA2``, each seeded as in :class:`EMA`
    from the first ``window`` values of the one before. A window of 1 copies the input.
    Emits from value ``3 * window - 2`` on (lookback ``3 * (window - 1)``). Equal to TA-Lib
    to about 1e-15 relative.

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        The span of the three EMAs, an int >= 1.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 1.
    """

    __slots__ = ("_ema1", "_ema2", "_ema3")

    def __init__(
        self, network: Network, values: Signal[float], window: int, *, name: str | None = None
    ) -> None:
        n = check_period(window, "window")
        self._ema1 = SeededEma(n)
        self._ema2 = SeededEma(n)
        self._ema3 = SeededEma(n)
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the TEMA once the three EMAs are seeded."""
        x = self._source._value
        ema1 = self._ema1
        if ema1.window == 1:
            self._value = x
            self._valid = True
            return True
        if not ema1.update(x):
            return False
        e1 = ema1.value
        if not self._ema2.update(e1):
            return False
        e2 = self._ema2.value
        if not self._ema3.update(e2):
            return False
        self._value = self._ema3.value + ((3.0 * e1) - (3.0 * e2))
        self._valid = True
        return True
