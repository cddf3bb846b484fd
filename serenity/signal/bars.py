"""Bars from trades: the ``OHLC`` value, time bars aligned to UTC boundaries, and tick,
volume and dollar bars.

Every builder is a tau node that takes a signal of trades. A trade is anything with the
attributes of :class:`TradeLike` (``ts``, ``price``, ``qty``), so ``serenity.marketdata.Trade``
and a test's own small dataclass both work. When one trade completes several bars (a large
trade through a volume threshold, or a trade that closes a time bar and opens the next), the
bars are emitted one per cycle, in order, at the same instant.
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Protocol

from serenity.errors import InvalidValueError
from serenity.tau import to_duration_ns
from serenity.tau.core import Network, Signal
from serenity.tau.scheduler import NetworkScheduler, TimerHandle
from serenity.tau.signal import Function

__all__ = [
    "OHLC",
    "ComputeOHLC",
    "DollarBars",
    "TickBars",
    "TimeBars",
    "TradeLike",
    "VolumeBars",
]

log = logging.getLogger(__name__)

_NEVER: Final = -(2**63)
_THRESHOLD_TOLERANCE: Final = 1e-9


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


class _BarBuilder(Function[OHLC]):
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


class TimeBars(_BarBuilder):
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
        "_bar_end",
        "_bar_start",
        "_closed_until",
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
        self._bar_start = self._bar_end = 0
        self._closed_until = _NEVER  # end of the last bar handed out
        self._last_close = math.nan
        self._timer: TimerHandle | None = None
        self._due = 0
        self.late_trades = 0
        super().__init__(scheduler.network, trades, name=name)
        scheduler.at_end(self._flush)

    def _on_trade(self, trade: Any) -> None:
        ts = trade.ts
        if ts < self._closed_until:
            self.late_trades += 1
            log.debug(
                "bars.late_trade",
                extra={"node": repr(self), "trade_ts": ts, "closed_until": self._closed_until},
            )
            ts = self._closed_until
        if self._count:
            if ts < self._bar_end:
                self._add(trade.price, trade.qty, trade.ts)
                return
            self._close_bar()
        interval = self._interval
        start = ts - ts % interval
        if self._fill_empty:
            self._fill_until(start)
        self._bar_start = start
        self._bar_end = start + interval
        self._add(trade.price, trade.qty, trade.ts)
        self._rearm()

    def partial_bar(self) -> OHLC | None:
        """Return the bar in progress over its whole interval (not emitted), or None."""
        if not self._count:
            return None
        return self._bar(self._bar_start, self._bar_end)

    def _close_bar(self) -> None:
        bar = self._finish(self._bar_start, self._bar_end)
        self._closed_until = self._bar_end
        self._last_close = bar.close

    def _fill_until(self, boundary: int) -> None:
        """Queue an empty bar for every whole interval from the last bar up to ``boundary``."""
        close = self._last_close
        if math.isnan(close):
            return
        t, interval = self._closed_until, self._interval
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
        self._closed_until = t

    def _rearm(self) -> None:
        """Keep exactly one timer, at the next boundary that will finish a bar."""
        due: int | None = None
        if self._count:
            due = self._bar_end
        elif self._fill_empty and not math.isnan(self._last_close):
            due = self._closed_until + self._interval
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
        if self._count and now >= self._bar_end:
            self._close_bar()
        if self._fill_empty and not self._count:
            self._fill_until(now - now % self._interval)
        self._rearm()
        if self._pending:
            self.network.activate(self)

    def _flush(self) -> None:
        if self._count:
            self._close_bar()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            self.network.activate(self)


class _ThresholdBars(_BarBuilder):
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
        self._finish(self._first_ts, self._last_ts)
        self._filled = 0.0


class TickBars(_BarBuilder):
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
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidValueError(f"count must be an int >= 1, was {count!r}")
        self._every = count
        super().__init__(network, trades, name=name)

    def _on_trade(self, trade: Any) -> None:
        self._add(trade.price, trade.qty, trade.ts)
        if self._count >= self._every:
            self._finish(self._first_ts, self._last_ts)


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

    def _qty_for(self, price: float, measure: float) -> float:
        return measure / price


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
