"""Volume indicators as tau nodes: on-balance volume (TA-Lib ``OBV``) and the session VWAP."""

from __future__ import annotations

import datetime as dt
from typing import Any

from serenity.signal._sessions import Sessions
from serenity.signal.bars import OHLC
from serenity.signal.indicators._base import Indicator
from serenity.tau.core import Network, Signal

__all__ = ["OBV", "VWAP"]


class OBV(Indicator[float]):
    """On-balance volume of bars; TA-Lib ``OBV``.

    Starts at the first bar's volume; each later bar adds its volume when its close is above
    the previous close, subtracts it when below, and leaves the total alone when equal.
    Bit-for-bit TA-Lib's. Emits from the first bar on (lookback 0).

    Parameters
    ----------
    network
        The network the node joins.
    bars
        A signal of bars with ``close`` and ``volume``, such as
        :class:`~serenity.signal.bars.OHLC`.
    name
        A label for error messages.
    """

    __slots__ = ("_prev_close", "_started")

    def __init__(self, network: Network, bars: Signal[Any], *, name: str | None = None) -> None:
        self._prev_close = 0.0
        self._started = False
        super().__init__(network, bars, name=name)

    def on_activate(self) -> bool:
        """Take the bar; emit the running on-balance volume."""
        bar = self._source._value
        close = bar.close
        if not self._started:
            self._started = True
            self._value = bar.volume
        elif close > self._prev_close:
            self._value += bar.volume
        elif close < self._prev_close:
            self._value -= bar.volume
        self._prev_close = close
        self._valid = True
        return True


class VWAP(Indicator[float]):
    """Volume-weighted average price since the start of the session.

    From bars (:class:`~serenity.signal.bars.OHLC`) each bar weighs its own ``vwap`` by its
    ``volume``, which gives the exact VWAP of the trades; from trades (anything with ``ts``,
    ``price`` and ``qty``) each trade weighs its price by its quantity. The sums reset when
    a bar's ``start`` (a trade's ``ts``) enters a new session: by default each UTC day, or
    from ``session_start`` wall-clock time in ``tz`` to the same time the next day. Emits on
    every input once the session has traded a positive volume, and nothing before.

    Parameters
    ----------
    network
        The network the node joins.
    values
        A signal of bars or trades.
    session_start
        Local time of day the session starts, a :class:`datetime.time` or ``"HH:MM[:SS]"``
        in whole seconds (default midnight).
    tz
        An IANA zone name such as ``"America/New_York"`` or a tzinfo (default UTC).
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        For a malformed ``session_start`` or an unknown zone.
    """

    __slots__ = ("_key", "_notional", "_session", "_volume")

    def __init__(
        self,
        network: Network,
        values: Signal[Any],
        *,
        session_start: dt.time | str = "00:00",
        tz: str | dt.tzinfo = "UTC",
        name: str | None = None,
    ) -> None:
        self._key = Sessions(session_start, tz).key
        self._session: int | None = None
        self._notional = 0.0
        self._volume = 0.0
        super().__init__(network, values, name=name)

    def on_activate(self) -> bool:
        """Take the bar or trade; emit the session VWAP once the session has volume."""
        v = self._source._value
        if isinstance(v, OHLC):
            t, price, qty = v.start, v.vwap, v.volume
        else:
            t, price, qty = v.ts, v.price, v.qty
        session = self._key(t)
        if session != self._session:
            self._session = session
            self._notional = self._volume = 0.0
        self._notional += price * qty
        self._volume += qty
        if not self._volume > 0.0:
            return False
        self._value = self._notional / self._volume
        self._valid = True
        return True
