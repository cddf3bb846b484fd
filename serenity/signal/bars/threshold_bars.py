"""Activity bars: a bar every N trades, every V of quantity or every D of notional, with a
trade that crosses the threshold split between bars."""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, Final

import numpy as np

from serenity.errors import InvalidValueError
from serenity.signal._checks import check_period
from serenity.signal.bars._builder import _TRADE_COLUMNS, BarBuilder
from serenity.tau.batch import Batch, FloatArray, accumulate
from serenity.tau.core import Network, Signal

__all__ = ["DollarBars", "TickBars", "VolumeBars"]

_THRESHOLD_TOLERANCE: Final = 1e-9


class _ThresholdBars(BarBuilder):
    """Close a bar when a measure of its trades (count, quantity or notional) reaches a
    threshold; the bar spans its first to its last trade."""

    __slots__ = ("_filled", "_threshold", "_tolerance")

    def __init__(
        self,
        network: Network,
        trades: Signal[Any],
        threshold: float,
        *,
        what: str,
        name: str | None = None,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise InvalidValueError(f"{what} must be a number > 0, was {threshold!r}")
        if not (threshold > 0 and math.isfinite(threshold)):
            raise InvalidValueError(f"{what} must be a finite number > 0, was {threshold!r}")
        self._threshold = float(threshold)
        self._tolerance = self._threshold * _THRESHOLD_TOLERANCE
        self._filled = 0.0
        super().__init__(network, trades, name=name)

    @abstractmethod
    def _measure(self, price: float, qty: float) -> float:
        """Return what a trade adds towards the threshold."""

    @abstractmethod
    def _qty_for(self, price: float, measure: float) -> float:
        """Return the quantity that adds ``measure`` towards the threshold."""

    def _on_trade(self, trade: Any) -> None:
        price, qty, ts = trade.price, trade.qty, trade.ts
        threshold, tolerance = self._threshold, self._tolerance
        while True:
            size = self._measure(price, qty)
            room = threshold - self._filled
            if size < room - tolerance:  # the bar stays open
                self._add(price, qty, ts)
                self._filled += size
                return
            if size <= room + tolerance:  # reaches the threshold: the whole rest closes it
                self._add(price, qty, ts)
                self._complete()
                return
            piece = self._qty_for(price, room)  # the part that fills the bar exactly
            self._add(price, piece, ts)
            self._complete()
            qty -= piece

    def _complete(self) -> None:
        self._finish(self._open_bar.first_ts, self._open_bar.last_ts)
        self._filled = 0.0

    def _sizes(self, batch: Batch, lo: int, hi: int) -> FloatArray:
        qty: FloatArray = batch["qty"][lo:hi]
        return qty

    def batch_scan(self, batch: Batch, lo: int, hi: int) -> int:
        """Return the first trade in ``[lo, hi)`` that reaches the threshold, or ``hi``."""
        if not batch.has(*_TRADE_COLUMNS):
            return lo
        sizes = self._sizes(batch, lo, hi)
        filled = np.empty(len(sizes) + 1)
        filled[0] = self._filled
        filled[1:] = sizes
        np.add.accumulate(filled, out=filled)
        # The per-event test, row by row: the bar stays open while size < room - tolerance.
        stays = sizes < (self._threshold - filled[:-1]) - self._tolerance
        return lo + int(np.argmin(stays)) if not stays.all() else hi

    def batch_absorb(self, batch: Batch, lo: int, hi: int) -> None:
        """Take trades ``[lo, hi)`` into the open bar (none of them reaches the threshold)."""
        self._filled = accumulate(self._filled, self._sizes(batch, lo, hi))
        self._absorb(batch, lo, hi)


class TickBars(BarBuilder):
    """Emit a bar every ``count`` trades.

    A bar spans its first to its last trade (``start`` and ``end`` are their ``ts``). The
    trades of an unfinished bar are not emitted; :meth:`partial_bar` shows them.

    Parameters
    ----------
    network
        The network the node joins.
    trades
        A signal of :class:`TradeLike` values.
    count
        Trades per bar, an int >= 1.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``count`` is not an int >= 1.
    """

    __slots__ = ("_every",)

    def __init__(
        self, network: Network, trades: Signal[Any], count: int, *, name: str | None = None
    ) -> None:
        self._every = check_period(count, "count")
        super().__init__(network, trades, name=name)

    def _on_trade(self, trade: Any) -> None:
        self._add(trade.price, trade.qty, trade.ts)
        if self._open_bar.count >= self._every:
            self._finish(self._open_bar.first_ts, self._open_bar.last_ts)

    def batch_scan(self, batch: Batch, lo: int, hi: int) -> int:
        """Return the trade in ``[lo, hi)`` that completes the bar, or ``hi``."""
        if not batch.has(*_TRADE_COLUMNS):
            return lo
        return min(hi, lo + self._every - self._open_bar.count - 1)


class VolumeBars(_ThresholdBars):
    """Emit a bar each time the traded quantity reaches ``volume``.

    A trade that crosses the threshold is split: the quantity that brings the bar to exactly
    ``volume`` goes into it, and the rest, at the same price and ``ts``, opens the next bar
    (and closes it too, and more, when it is ``volume`` or larger). A piece counts as one
    trade in its bar. A bar within one part in 10^9 of the threshold counts as full, so
    rounding never leaves a sliver of a trade for the next bar. A bar spans its first to its
    last trade. The trades of an unfinished bar are not emitted; :meth:`partial_bar` shows
    them.

    Parameters
    ----------
    network
        The network the node joins.
    trades
        A signal of :class:`TradeLike` values.
    volume
        Quantity per bar, a finite number > 0.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``volume`` is not a finite number > 0.
    """

    __slots__ = ()

    def __init__(
        self, network: Network, trades: Signal[Any], volume: float, *, name: str | None = None
    ) -> None:
        super().__init__(network, trades, volume, what="volume", name=name)

    def _measure(self, price: float, qty: float) -> float:
        return qty

    def _qty_for(self, price: float, measure: float) -> float:
        return measure


class DollarBars(_ThresholdBars):
    """Emit a bar each time the traded notional (``price * qty``) reaches ``notional``.

    A trade that crosses the threshold is split: the quantity whose notional brings the bar
    to exactly ``notional`` (``room / price``) goes into it, and the rest, at the same price
    and ``ts``, opens the next bar (and closes it too, and more, when its notional is
    ``notional`` or larger). A piece counts as one trade in its bar. A bar within one part in
    10^9 of the threshold counts as full. A bar spans its first to its last trade. The trades
    of an unfinished bar are not emitted; :meth:`partial_bar` shows them.

    Parameters
    ----------
    network
        The network the node joins.
    trades
        A signal of :class:`TradeLike` values.
    notional
        Notional per bar, in the quote currency, a finite number > 0.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``notional`` is not a finite number > 0.
    """

    __slots__ = ()

    def __init__(
        self, network: Network, trades: Signal[Any], notional: float, *, name: str | None = None
    ) -> None:
        super().__init__(network, trades, notional, what="notional", name=name)

    def _measure(self, price: float, qty: float) -> float:
        return price * qty

    def _sizes(self, batch: Batch, lo: int, hi: int) -> FloatArray:
        sizes: FloatArray = batch["price"][lo:hi] * batch["qty"][lo:hi]
        return sizes

    def _qty_for(self, price: float, measure: float) -> float:
        return measure / price
