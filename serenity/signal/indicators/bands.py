"""Price channels as tau nodes: Bollinger bands (TA-Lib ``BBANDS``) and Donchian channels.

Both emit a :class:`Bands` value per input once warmed up, and nothing before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from serenity.signal._checks import check_number, check_period
from serenity.signal.indicators._base import (
    Indicator,
    RollingChannel,
    RollingVariance,
    RunningMean,
)
from serenity.tau.core import Network, Signal

__all__ = ["Bands", "BollingerBands", "ComputeBollingerBands", "Donchian"]


@dataclass(slots=True, kw_only=True)
class Bands:
    """A channel: an upper, a middle and a lower line.

    Attributes
    ----------
    upper, middle, lower
        The three lines; for Bollinger bands the middle is the simple moving average.
    """

    upper: float
    middle: float
    lower: float

    @property
    def sma(self) -> float:
        """The middle line; upstream Serenity's name for it."""
        return self.middle


class BollingerBands(Indicator[Bands]):
    """Bollinger bands: the SMA of the last ``window`` values, plus and minus ``num_std``
    population standard deviations; TA-Lib ``BBANDS`` with a simple moving average and
    ``nbdevup == nbdevdn == num_std``.

    The mean is TA-Lib's running sum and the deviation TA-Lib's cancellation-free rolling
    variance (re-anchored sums, O(1) amortised), so the bands are bit-for-bit TA-Lib's.
    Emits from the ``window``-th value on (lookback ``window - 1``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats.
    window
        Values in the window, an int >= 2.
    num_std
        Width of each band in standard deviations, a finite number (default 2).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 2 or ``num_std`` is not a finite number.
    """

    __slots__ = ("_mean", "_num_std", "_variance")

    def __init__(
        self,
        network: Network,
        values: Signal[float],
        window: int,
        num_std: float = 2.0,
        *,
        name: str | None = None,
    ) -> None:
        n = check_period(window, "window", 2)
        self._num_std = check_number(num_std, "num_std")
        self._mean = RunningMean(n)
        self._variance = RollingVariance(n)
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input value; emit the bands once ``window`` values arrived."""
        x = self._source._value
        variance = self._variance.update(x)
        middle = self._mean.update(x)
        if middle is None or variance is None:
            return False
        width = (math.sqrt(variance) if variance != 0.0 else 0.0) * self._num_std
        self._value = Bands(upper=middle + width, middle=middle, lower=middle - width)
        self._valid = True
        return True


class ComputeBollingerBands(BollingerBands):
    """Bollinger bands under upstream Serenity's name; the same node as
    :class:`BollingerBands`, whose values also answer ``.sma``.

    Parameters
    ----------
    network
        The network the node joins.
    prices
        A signal of floats.
    window
        Values in the window, an int >= 2.
    num_std
        Width of each band in standard deviations.
    name
        A label for error messages.
    """

    __slots__ = ()

    def __init__(
        self,
        network: Network,
        prices: Signal[float],
        window: int,
        num_std: float,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(network, prices, window, num_std, name=name)


class Donchian(Indicator[Bands]):
    """Donchian channel: the highest high and lowest low of the last ``window`` inputs, and
    their midpoint.

    The input is a signal of floats (the channel of those values) or of bars with ``high``
    and ``low`` (such as :class:`~serenity.signal.bars.OHLC`). Monotonic deques make it O(1)
    amortised per value. Emits from the ``window``-th input on (lookback ``window - 1``).

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of floats or of bars.
    window
        Inputs in the window, an int >= 1.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``window`` is not an int >= 1.
    """

    __slots__ = ("_channel",)

    def __init__(
        self, network: Network, values: Signal[Any], window: int, *, name: str | None = None
    ) -> None:
        self._channel = RollingChannel(check_period(window, "window"))
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the input; emit the channel once ``window`` inputs arrived."""
        v = self._source._value
        channel = self._channel
        if isinstance(v, int | float):
            is_warm = channel.update(v, v)
        else:
            is_warm = channel.update(v.high, v.low)
        if not is_warm:
            return False
        upper, lower = channel.highest, channel.lowest
        self._value = Bands(upper=upper, middle=(upper + lower) / 2.0, lower=lower)
        self._valid = True
        return True
