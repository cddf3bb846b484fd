"""The base of the bar builders: accumulate trades, emit finished bars one per cycle."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import deque
from typing import Any

import numpy as np

from serenity.signal.bars.ohlc import OHLC
from serenity.tau.batch import Batch, accumulate
from serenity.tau.core import NATIVE, Network, Signal, compiled_module
from serenity.tau.signal import Function

_TRADE_COLUMNS = ("ts", "price", "qty")


class OpenBar:
    """The bar in progress: prices, sums, count and times; ``end`` and ``closed_until`` are
    the time bars' bounds (the open bar's closing boundary, the end of the last bar out).

    The pure-Python form; with the compiled core, ``serenity.signal.bars._native.OpenBar``
    has the same fields and also runs the time bars' common case in C.
    """

    __slots__ = (
        "close",
        "closed_until",
        "count",
        "end",
        "first_ts",
        "high",
        "last_ts",
        "low",
        "notional",
        "open",
        "pending",
        "trades",
        "volume",
    )

    def __init__(self, trades: Signal[Any], pending: deque[OHLC]) -> None:
        self.open = self.high = self.low = self.close = math.nan
        self.volume = self.notional = 0.0
        self.count = self.first_ts = self.last_ts = self.end = 0
        self.closed_until = -(2**63)
        self.pending = pending
        self.trades = trades


# The compiled open bar, when the compiled core runs (it builds on serenity.tau._native).
_native = compiled_module("serenity.signal.bars._native") if NATIVE else None


def has_fast_paths() -> bool:
    """Return True when open bars are the compiled ones, which a node may run as its fast
    path (``node._fast``)."""
    return _native is not None


def new_open_bar(trades: Signal[Any], pending: deque[OHLC]) -> OpenBar:
    """Return an open bar: the compiled one when it was built, else :class:`OpenBar`."""
    if _native is not None:
        return _native.OpenBar(trades, pending)  # type: ignore[no-any-return]  # same fields
    return OpenBar(trades, pending)


class BarBuilder(Function[OHLC]):
    """Accumulate trades into the bar in progress and emit finished bars one per cycle."""

    __slots__ = ("_open_bar", "_pending", "_requested", "_scratch", "_trades")

    def __init__(self, network: Network, trades: Signal[Any], *, name: str | None = None) -> None:
        self._trades = trades
        self._pending: deque[OHLC] = deque()
        self._requested = 0  # cycles requested for bars still pending
        self._open_bar = new_open_bar(trades, self._pending)
        self._scratch = np.empty(0)
        super().__init__(network, [trades], name=name)

    def partial_bar(self) -> OHLC | None:
        """Return the bar in progress as it stands (not emitted), or None when it is empty."""
        ob = self._open_bar
        if not ob.count:
            return None
        return self._bar(ob.first_ts, ob.last_ts)

    def _add(self, price: float, qty: float, ts: int) -> None:
        ob = self._open_bar
        if ob.count:
            if price > ob.high:
                ob.high = price
            elif price < ob.low:
                ob.low = price
        else:
            ob.open = ob.high = ob.low = price
            ob.first_ts = ts
        ob.close = price
        ob.last_ts = ts
        ob.volume += qty
        ob.notional += price * qty
        ob.count += 1

    def _bar(self, start: int, end: int) -> OHLC:
        ob = self._open_bar
        volume = ob.volume
        return OHLC(
            open=ob.open,
            high=ob.high,
            low=ob.low,
            close=ob.close,
            volume=volume,
            vwap=ob.notional / volume if volume > 0 else ob.close,
            trade_count=ob.count,
            start=start,
            end=end,
        )

    def _finish(self, start: int, end: int) -> OHLC:
        bar = self._bar(start, end)
        self._pending.append(bar)
        ob = self._open_bar
        ob.volume = ob.notional = 0.0
        ob.count = 0
        return bar

    def _absorb(self, batch: Batch, lo: int, hi: int) -> None:
        """Add trades ``[lo, hi)`` of a batch to the open bar, as ``_add`` would one by one."""
        px = batch["price"][lo:hi]
        qty = batch["qty"][lo:hi]
        ts = batch["ts"]
        high, low = float(px.max()), float(px.min())
        ob = self._open_bar
        if ob.count:
            if high > ob.high:
                ob.high = high
            if low < ob.low:
                ob.low = low
        else:
            ob.open = float(px[0])
            ob.high, ob.low = high, low
            ob.first_ts = int(ts[lo])
        ob.close = float(px[-1])
        ob.last_ts = int(ts[hi - 1])
        n = hi - lo
        scratch = self._scratch
        if len(scratch) <= n:
            scratch = self._scratch = np.empty(max(2 * n + 2, 1024))
        ob.volume = accumulate(ob.volume, qty, scratch)
        np.multiply(px, qty, out=scratch[1 : n + 1])
        ob.notional = accumulate(ob.notional, scratch[1 : n + 1], scratch)
        ob.count += n

    def _can_batch(self, batch: Batch) -> bool:
        """Return True when the batch holds trades (``ts``, ``price`` and ``qty`` columns)
        replayed in ``ts`` order."""
        return batch.time_column == "ts" and batch.has(*_TRADE_COLUMNS)

    def batch_absorb(self, batch: Batch, lo: int, hi: int) -> None:
        """Take trades ``[lo, hi)`` into the open bar (none of them finishes a bar)."""
        self._absorb(batch, lo, hi)

    @abstractmethod
    def _on_trade(self, trade: Any) -> None:
        """Take in one trade."""

    def on_activate(self) -> bool:
        """Take in the trade of this cycle, if any, and emit the next finished bar."""
        if self.network.has_activated(self._trades):
            self._on_trade(self._trades._value)
        elif self._requested:
            self._requested -= 1
        return self._emit_pending()

    def _call(self) -> bool:
        return self.on_activate()

    def _emit_pending(self) -> bool:
        pending = self._pending
        if not pending:
            return False
        self._value = pending.popleft()
        self._valid = True
        # One cycle per bar: request a cycle for every bar still waiting, all at once.
        # (Requesting one per cycle would chain them, and tau runs each chained request
        # from inside the previous one, a stack frame deeper each time.)
        for _ in range(len(pending) - self._requested):
            self.network.activate(self)
            self._requested += 1
        return True
