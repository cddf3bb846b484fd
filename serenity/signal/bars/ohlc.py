"""The ``OHLC`` bar, the ``TradeLike`` protocol bars are built from, and upstream's
``ComputeOHLC``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from serenity.errors import InvalidValueError
from serenity.tau.core import Network, Signal
from serenity.tau.signal import Function

__all__ = ["OHLC", "ComputeOHLC", "TradeLike"]


class TradeLike(Protocol):
    """What the bar builders read from a trade.

    ``serenity.marketdata.Trade`` has these attributes (and more, such as ``side``); any
    object with them will do.
    """

    @property
    def ts(self) -> int:
        """Venue timestamp, int ns since the epoch, UTC."""
        ...

    @property
    def price(self) -> float:
        """Trade price."""
        ...

    @property
    def qty(self) -> float:
        """Traded quantity, > 0."""
        ...


@dataclass(slots=True, kw_only=True)
class OHLC:
    """One bar: open, high, low and close prices with volume, VWAP and trade count.

    A per-bar value: slotted, not frozen, and immutable by convention.

    Attributes
    ----------
    open, high, low, close
        First, highest, lowest and last trade price of the bar.
    volume
        Sum of the traded quantities.
    vwap
        Volume-weighted average price, ``sum(price * qty) / volume``; the close when the
        volume is zero (an empty bar filled by :class:`TimeBars`).
    trade_count
        Trades in the bar; a trade split between bars counts once in each.
    start, end
        Int ns since the epoch, UTC. For time bars the interval ``[start, end)`` between two
        boundaries; for tick, volume and dollar bars the ``ts`` of the first and last trade.

    Raises
    ------
    InvalidValueError
        When the prices are out of order (``low <= open, close <= high`` fails, NaN
        included), the volume is negative or ``end`` is before ``start``.
    """

    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float
    trade_count: int
    start: int
    end: int

    def __post_init__(self) -> None:
        low, high = self.low, self.high
        if not (low <= self.open <= high and low <= self.close <= high):
            raise InvalidValueError(
                f"OHLC prices out of order: open={self.open!r} high={high!r} low={low!r} "
                f"close={self.close!r}; need low <= open, close <= high"
            )
        if not self.volume >= 0:
            raise InvalidValueError(f"OHLC volume must be >= 0, was {self.volume!r}")
        if self.end < self.start:
            raise InvalidValueError(
                f"OHLC end must not be before start, was start={self.start} end={self.end}"
            )

    @property
    def open_px(self) -> float:
        """The open; upstream Serenity's name for it."""
        return self.open

    @property
    def high_px(self) -> float:
        """The high; upstream Serenity's name for it."""
        return self.high

    @property
    def low_px(self) -> float:
        """The low; upstream Serenity's name for it."""
        return self.low

    @property
    def close_px(self) -> float:
        """The close; upstream Serenity's name for it."""
        return self.close


class ComputeOHLC(Function[OHLC]):
    """Emit one bar per non-empty list of trades, such as each bucket of ``BufferWithTime``.

    Kept for upstream Serenity users: ``ComputeOHLC(network, BufferWithTime(scheduler,
    trades, interval))``. :class:`TimeBars` does the same in one node and can fill empty
    intervals. ``start`` and ``end`` are the ``ts`` of the first and last trade of the list.

    Parameters
    ----------
    network
        The network the node joins.
    buffered_trades
        A signal of lists of :class:`TradeLike` values; empty lists emit nothing.
    name
        A label for error messages.
    """

    __slots__ = ("_source",)

    def __init__(
        self,
        network: Network,
        buffered_trades: Signal[Sequence[Any]],
        *,
        name: str | None = None,
    ) -> None:
        self._source = buffered_trades
        super().__init__(network, [buffered_trades], name=name)

    def _call(self) -> bool:
        trades = self._source._value
        if not trades:
            return False
        first = trades[0]
        high = low = first.price
        volume = notional = 0.0
        for trade in trades:
            price, qty = trade.price, trade.qty
            if price > high:
                high = price
            elif price < low:
                low = price
            volume += qty
            notional += price * qty
        last = trades[-1]
        self._update(
            OHLC(
                open=first.price,
                high=high,
                low=low,
                close=last.price,
                volume=volume,
                vwap=notional / volume if volume > 0 else last.price,
                trade_count=len(trades),
                start=first.ts,
                end=last.ts,
            )
        )
        return True
