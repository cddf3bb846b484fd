"""Time bars aligned to UTC boundaries, emitted at the closing boundary by a timer."""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any, Final

from serenity.signal.bars._builder import BarBuilder, has_fast_paths
from serenity.signal.bars.ohlc import OHLC
from serenity.tau import to_duration_ns
from serenity.tau.batch import Batch
from serenity.tau.core import Signal
from serenity.tau.scheduler import NetworkScheduler, TimerHandle

__all__ = ["TimeBars"]

log = logging.getLogger(__name__)

_NEVER: Final = -(2**63)
_fast_paths = has_fast_paths()


class TimeBars(BarBuilder):
    """Time bars aligned to UTC boundaries, emitted at the closing boundary.

    Bar k holds the trades with ``k * interval <= trade.ts < (k + 1) * interval``, so
    5-minute bars close at :00, :05, ... and a trade exactly on a boundary opens the new bar.
    Trades are assigned by their venue time ``ts``; bars are emitted by scheduler time: a
    timer fires at the closing boundary even when no later trade arrives (or a trade of a
    later bar emits the open one first, when venue time runs ahead of the scheduler). At most
    one timer is pending.

    A trade whose ``ts`` falls in a bar already emitted (a late trade) is counted in
    :attr:`late_trades` and added to the bar in progress, so no volume is lost. When the
    scheduler's run ends, the last partial bar is emitted; it keeps its nominal ``end``.

    Parameters
    ----------
    scheduler
        Supplies time and timers; the node joins its network.
    trades
        A signal of :class:`TradeLike` values.
    interval
        Bar width, a timedelta or int ns.
    fill_empty
        False (default) skips intervals without trades. True emits, once a first trade was
        seen, an empty bar for each such interval at its closing boundary: open, high, low,
        close and vwap all equal to the previous close, zero volume and trade count.
    name
        A label for error messages.

    Raises
    ------
    InvalidValueError
        When ``interval`` is not a positive timedelta or int.
    """

    __slots__ = (
        "_bar_start",
        "_due",
        "_fill_empty",
        "_interval",
        "_last_close",
        "_scheduler",
        "_timer",
        "late_trades",
    )

    def __init__(
        self,
        scheduler: NetworkScheduler,
        trades: Signal[Any],
        interval: timedelta | int,
        *,
        fill_empty: bool = False,
        name: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._interval = to_duration_ns(interval, what="interval")
        self._fill_empty = bool(fill_empty)
        self._bar_start = 0
        self._last_close = math.nan
        self._timer: TimerHandle | None = None
        self._due = 0
        self.late_trades = 0
        super().__init__(scheduler.network, trades, name=name)
        # The open bar's end and the end of the last bar handed out live in the open bar,
        # where the compiled core's fast path (when built) reads them.
        self._open_bar.end = 0
        self._open_bar.closed_until = _NEVER
        # The compiled common case stands in for on_activate, so not for a subclass that
        # overrides it.
        if _fast_paths and type(self).on_activate is TimeBars.on_activate:
            self._fast = self._open_bar
        scheduler.at_end(self._flush)

    def on_activate(self) -> bool:
        """Take the trade of this cycle, if any, and emit the next finished bar."""
        trades = self._trades
        if trades._fired == self.network._cycle:
            trade = trades._value
            ts = trade.ts
            ob = self._open_bar
            if ob.count and ob.closed_until <= ts < ob.end and not self._pending:
                # The hot path: the trade extends the open bar (what _add does, inline; the
                # compiled core runs it in C, OpenBar.run, and comes here for the rest).
                price, qty = trade.price, trade.qty
                if price > ob.high:
                    ob.high = price
                elif price < ob.low:
                    ob.low = price
                ob.close = price
                ob.last_ts = ts
                ob.volume += qty
                ob.notional += price * qty
                ob.count += 1
                return False
            self._on_trade(trade)
        elif self._requested:
            self._requested -= 1
        return self._emit_pending()

    def _on_trade(self, trade: Any) -> None:
        ts = trade.ts
        if ts < self._open_bar.closed_until:
            self.late_trades += 1
            log.debug(
                "bars.late_trade",
                extra={
                    "node": repr(self),
                    "trade_ts": ts,
                    "closed_until": self._open_bar.closed_until,
                },
            )
            ts = self._open_bar.closed_until
        if self._open_bar.count:
            if ts < self._open_bar.end:
                self._add(trade.price, trade.qty, trade.ts)
                return
            self._close_bar()
        interval = self._interval
        start = ts - ts % interval
        if self._fill_empty:
            self._fill_until(start)
        self._bar_start = start
        self._open_bar.end = start + interval
        self._add(trade.price, trade.qty, trade.ts)
        self._rearm()

    def batch_scan(self, batch: Batch, lo: int, hi: int) -> int:
        """Return the first trade in ``[lo, hi)`` that finishes a bar, is late, or must
        first emit empty bars (it runs per event), or ``hi``."""
        if not self._can_batch(batch):
            return lo
        ts = batch.ts
        first = int(ts[lo])
        if first < self._open_bar.closed_until:
            return lo
        if self._open_bar.count:
            if first >= self._open_bar.end:
                return lo
            end = self._open_bar.end
        else:
            start = first - first % self._interval
            if (
                self._fill_empty
                and not math.isnan(self._last_close)
                and self._open_bar.closed_until + self._interval <= start
            ):
                return lo
            end = start + self._interval
        return lo + int(ts[lo:hi].searchsorted(end))

    def batch_absorb(self, batch: Batch, lo: int, hi: int) -> None:
        """Take trades ``[lo, hi)`` into the open bar, opening it (and its timer) first when
        none is open; none of the trades finishes a bar."""
        if self._open_bar.count:
            self._absorb(batch, lo, hi)
            return
        first = int(batch.ts[lo])
        start = first - first % self._interval
        self._bar_start = start
        self._open_bar.end = start + self._interval
        self._absorb(batch, lo, hi)
        self._rearm()

    def partial_bar(self) -> OHLC | None:
        """Return the bar in progress over its whole interval (not emitted), or None."""
        if not self._open_bar.count:
            return None
        return self._bar(self._bar_start, self._open_bar.end)

    def _close_bar(self) -> None:
        bar = self._finish(self._bar_start, self._open_bar.end)
        self._open_bar.closed_until = self._open_bar.end
        self._last_close = bar.close

    def _fill_until(self, boundary: int) -> None:
        """Queue an empty bar for every whole interval from the last bar up to ``boundary``."""
        close = self._last_close
        if math.isnan(close):
            return
        t, interval = self._open_bar.closed_until, self._interval
        while t + interval <= boundary:
            self._pending.append(
                OHLC(
                    open=close,
                    high=close,
                    low=close,
                    close=close,
                    volume=0.0,
                    vwap=close,
                    trade_count=0,
                    start=t,
                    end=t + interval,
                )
            )
            t += interval
        self._open_bar.closed_until = t

    def _rearm(self) -> None:
        """Keep exactly one timer, at the next boundary that will finish a bar."""
        due: int | None = None
        if self._open_bar.count:
            due = self._open_bar.end
        elif self._fill_empty and not math.isnan(self._last_close):
            due = self._open_bar.closed_until + self._interval
        timer = self._timer
        if timer is not None:
            if due == self._due:
                return
            timer.cancel()
            self._timer = None
        if due is not None:
            self._due = due
            self._timer = self._scheduler.schedule_at(
                self._on_timer, max(due, self._scheduler.get_time())
            )

    def _on_timer(self) -> None:
        self._timer = None
        now = self._scheduler.get_time()
        if self._open_bar.count and now >= self._open_bar.end:
            self._close_bar()
        if self._fill_empty and not self._open_bar.count:
            self._fill_until(now - now % self._interval)
        self._rearm()
        if self._pending:
            self.network.activate(self)

    def _flush(self) -> None:
        if self._open_bar.count:
            self._close_bar()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            self.network.activate(self)
