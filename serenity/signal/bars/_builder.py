"""The base of the bar builders: accumulate trades, emit finished bars one per cycle."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import deque
from typing import Any

import numpy as np

from serenity.signal.bars.ohlc import OHLC
from serenity.tau.batch import Batch, accumulate
from serenity.tau.core import Network, Signal
from serenity.tau.signal import Function

_TRADE_COLUMNS = ("ts", "price", "qty")


class BarBuilder(Function[OHLC]):
    """Accumulate trades into the bar in progress and emit finished bars one per cycle."""

    __slots__ = (
        "_close",
        "_count",
        "_first_ts",
        "_high",
        "_last_ts",
        "_low",
        "_notional",
        "_open",
        "_pending",
        "_requested",
        "_scratch",
        "_trades",
        "_volume",
    )

    def __init__(self, network: Network, trades: Signal[Any], *, name: str | None = None) -> None:
        self._trades = trades
        self._pending: deque[OHLC] = deque()
        self._requested = 0  # cycles requested for bars still pending
        self._open = self._high = self._low = self._close = math.nan
        self._volume = self._notional = 0.0
        self._count = 0
        self._first_ts = self._last_ts = 0
        self._scratch = np.empty(0)
        super().__init__(network, [trades], name=name)

    def partial_bar(self) -> OHLC | None:
        """Return the bar in progress as it stands (not emitted), or None when it is empty."""
        if not self._count:
            return None
        return self._bar(self._first_ts, self._last_ts)

    def _add(self, price: float, qty: float, ts: int) -> None:
        if self._count:
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
        else:
            self._open = self._high = self._low = price
            self._first_ts = ts
        self._close = price
        self._last_ts = ts
        self._volume += qty
        self._notional += price * qty
        self._count += 1

    def _bar(self, start: int, end: int) -> OHLC:
        volume = self._volume
        return OHLC(
            open=self._open,
            high=self._high,
            low=self._low,
            close=self._close,
            volume=volume,
            vwap=self._notional / volume if volume > 0 else self._close,
            trade_count=self._count,
            start=start,
            end=end,
        )

    def _finish(self, start: int, end: int) -> OHLC:
        bar = self._bar(start, end)
        self._pending.append(bar)
        self._volume = self._notional = 0.0
        self._count = 0
        return bar

    def _absorb(self, batch: Batch, lo: int, hi: int) -> None:
        """Add trades ``[lo, hi)`` of a batch to the open bar, as ``_add`` would one by one."""
        px = batch["price"][lo:hi]
        qty = batch["qty"][lo:hi]
        ts = batch["ts"]
        high, low = float(px.max()), float(px.min())
        if self._count:
            if high > self._high:
                self._high = high
            if low < self._low:
                self._low = low
        else:
            self._open = float(px[0])
            self._high, self._low = high, low
            self._first_ts = int(ts[lo])
        self._close = float(px[-1])
        self._last_ts = int(ts[hi - 1])
        n = hi - lo
        scratch = self._scratch
        if len(scratch) <= n:
            scratch = self._scratch = np.empty(max(2 * n + 2, 1024))
        self._volume = accumulate(self._volume, qty, scratch)
        np.multiply(px, qty, out=scratch[1 : n + 1])
        self._notional = accumulate(self._notional, scratch[1 : n + 1], scratch)
        self._count += n

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
