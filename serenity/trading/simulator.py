"""A deterministic exchange simulator: an order placer that fills orders from market data.

The rules (``docs/trading.rst`` has them with examples):

- **Market orders** walk the L2 book level by level, one fill per level, so the order's
  average price is the average over the levels taken; what the book cannot fill waits for
  later book updates (liquidity already taken at a price is not taken twice while the
  order lives). Without book data for the instrument, a market order fills in full at the
  price of the first trade after it reaches the venue.
- **Limit orders** take the marketable part as a taker against the book; the rest rests. A
  resting order fills as a maker, at its own price, when a later trade prints strictly
  through it (in full), or at its price once the quantity visible ahead of it at
  placement has traded at that price (queue position; the excess over the queue fills).
  Without book data, a limit order priced through the last trade takes at the first later
  trade at or better than its price, at that trade's price. Post-only orders that would
  take are rejected.
- **Stops** trigger on the last trade: a buy stop at or above its stop price, a sell stop
  at or below; then they act as market (stop) or limit (stop-limit) orders.
- **Fees** in basis points of notional, maker and taker, per instrument if configured, in
  the instrument's P&L currency (:class:`~serenity.trading.ContractSpec`).
- **Latency**: an order, cancel or amend reaches the venue ``latency_ns`` after it was
  sent (at once, in the sender's cycle, when it is 0); reports come back
  ``report_latency_ns`` after the venue event. Cancels and amends
  that race a fill are resolved in time order: a cancel that arrives after the fill is a
  cancel reject.
- **Time in force**: IOC expires what does not fill at once; FOK fills in full at once or
  expires unfilled; DAY expires at the end of the UTC day it arrived; GTD at its
  ``expire_ts``.

Same data and config, same fills: there is no randomness.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from serenity.errors import ConfigError, UnknownSymbolError
from serenity.exchange.product import Product
from serenity.marketdata.book import OrderBook
from serenity.marketdata.service import MarketdataService
from serenity.marketdata.types import Trade
from serenity.model import ExecType, InstrumentId, Liquidity, OrderStatus, Side
from serenity.model import TimeInForce as Tif
from serenity.tau import NetworkScheduler, Signal
from serenity.trading._matcher import BOOK, REST, STOP, TAKE, Entry, Matcher, Working
from serenity.trading.contract import ContractSpec
from serenity.trading.orders import ZERO, Order, to_decimal
from serenity.trading.placer import ExecutionSink
from serenity.trading.reports import CancelReject, ExecutionReport

__all__ = ["ExchangeSimulator", "SimulatorConfig"]


def _by_seq(w: Working) -> int:
    return w.seq


log = logging.getLogger(__name__)

_NS_PER_DAY: Final = 86_400 * 10**9
_INF: Final = float("inf")
_BPS: Final = Decimal(10_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatorConfig:
    """How the simulator charges and delays.

    Attributes
    ----------
    maker_fee_bps, taker_fee_bps
        Fees in basis points of notional (negative is a rebate).
    fees
        Per-instrument ``(maker_bps, taker_bps)`` by instrument id text (``"BTC-USD@coinbase"``).
    latency_ns
        From sending an order, cancel or amend to the venue acting on it.
    report_latency_ns
        From a venue event to its report reaching the order manager.
    default_currency
        The P&L and fee currency of instruments without a product listing.
    """

    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0
    fees: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    latency_ns: int = 0
    report_latency_ns: int = 0
    default_currency: str = "USD"

    def __post_init__(self) -> None:
        for name in ("latency_ns", "report_latency_ns"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"simulator {name} must be an int >= 0, was {value!r}")
        for name, value in (
            ("maker_fee_bps", self.maker_fee_bps),
            ("taker_fee_bps", self.taker_fee_bps),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"simulator {name} must be a number, was {value!r}")

    def fee_bps(self, instrument: InstrumentId) -> tuple[Decimal, Decimal]:
        """Return ``(maker, taker)`` fees in bps for ``instrument``."""
        maker, taker = self.fees.get(str(instrument), (self.maker_fee_bps, self.taker_fee_bps))
        return Decimal(repr(float(maker))), Decimal(repr(float(taker)))


class ExchangeSimulator:
    """An order placer that fills orders from market data, deterministically.

    Parameters
    ----------
    scheduler
        Supplies time and timers (historic in backtests, realtime for paper trading).
    marketdata
        Where trades and books come from; every simulated instrument's trades are
        subscribed at construction, and its books when the service has them.
    instruments
        The instruments orders may be placed for.
    config
        Fees and latencies.
    products
        Listings by instrument, for contract arithmetic and fee currencies.

    Raises
    ------
    UnknownSymbolError
        When the market-data service has no trades for an instrument.
    """

    def __init__(
        self,
        scheduler: NetworkScheduler,
        marketdata: MarketdataService,
        instruments: Iterable[InstrumentId],
        config: SimulatorConfig | None = None,
        *,
        products: Mapping[InstrumentId, Product] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.config = config or SimulatorConfig()
        self._sink: ExecutionSink | None = None
        self._exec_ids = itertools.count(1)
        self._matchers: dict[InstrumentId, Matcher] = {}
        self._where: dict[int, tuple[Matcher, Working]] = {}
        self._positions: dict[tuple[str, InstrumentId], Decimal] = {}
        self._fees: dict[InstrumentId, tuple[Decimal, Decimal]] = {}
        products = products or {}
        for instrument in instruments:
            trades = marketdata.get_trades(instrument)
            try:
                books: Signal[OrderBook] | None = marketdata.get_order_books(instrument)
            except UnknownSymbolError:
                books = None
            spec = ContractSpec.of(
                instrument, products.get(instrument), default_currency=self.config.default_currency
            )
            self._matchers[instrument] = Matcher(
                scheduler.network,
                instrument,
                trades,
                books,
                spec,
                on_trade=self._on_trade,
                on_book=self._on_book,
            )
            self._fees[instrument] = self.config.fee_bps(instrument)

    # -- OrderPlacer ---------------------------------------------------------------------

    def bind(self, sink: ExecutionSink) -> None:
        """Send reports to ``sink`` (the order manager)."""
        self._sink = sink

    def submit(self, order: Order) -> None:
        """Send ``order``; it reaches the venue after the configured latency."""
        self._after_latency(lambda: self._arrive(order))

    def cancel(self, order: Order) -> None:
        """Send a cancel; it reaches the venue after the configured latency."""
        self._after_latency(lambda: self._cancel(order))

    def replace(self, order: Order, *, price: Decimal | None, qty: Decimal | None) -> None:
        """Send an amend; it reaches the venue after the configured latency."""
        self._after_latency(lambda: self._replace(order, price, qty))

    def position(self, account: str, instrument: InstrumentId) -> Decimal:
        """Return the venue's view of ``account``'s position (for reduce-only)."""
        return self._positions.get((account, instrument), ZERO)

    # -- venue events --------------------------------------------------------------------

    def _after_latency(self, action: Any) -> None:
        # Without latency the venue acts at once: no timer, so a batch replay is not cut
        # just to deliver the request at the same instant.
        if self.config.latency_ns:
            self.scheduler.schedule(action, self.config.latency_ns)
        else:
            action()

    def _arrive(self, order: Order) -> None:
        matcher = self._matchers.get(order.instrument)
        if matcher is None:
            self._report(order, ExecType.REJECTED, text=f"{order.instrument} is not simulated")
            return
        if order.reduce_only and not self._reduces(order, order.qty):
            self._report(order, ExecType.REJECTED, text="reduce-only order would not reduce")
            return
        w = matcher.new(order)
        if order.post_only and self._marketable(matcher, w):
            self._report(order, ExecType.REJECTED, text="post-only order would take liquidity")
            return
        # Derived from the client id, so runs that share an account never collide.
        order.venue_order_id = order.venue_order_id or f"sim-{order.cl_ord_id}"
        self._report(order, ExecType.NEW)
        self._where[order.order_id] = (matcher, w)
        if w.triggered:
            self._activate(matcher, w)
        else:
            matcher.put(w, STOP)
        if order.order_id in self._where:
            self._arm_expiry(order)
        matcher.sync()

    def _activate(self, matcher: Matcher, w: Working) -> None:
        """Act on an order that is live (arrived, or triggered): take, then rest or wait."""
        book = matcher.book()
        tif = w.order.tif
        quick = tif in (Tif.IOC, Tif.FOK)
        if book is None:
            if w.is_market or self._marketable(matcher, w):
                matcher.put(w, TAKE)  # the next trade decides (for IOC and FOK too)
            elif quick:
                self._expire(matcher, w, f"{tif.name} order cannot fill at once")
            else:
                w.queue = 0.0
                matcher.put(w, REST)
            return
        if tif is Tif.FOK and self._available(book, w) < w.leaves:
            self._expire(matcher, w, "FOK order cannot fill in full")
            return
        self._take(matcher, w, book)
        if w.leaves > 0:
            if quick:
                self._expire(matcher, w, f"{tif.name} remainder")
            elif w.is_market:
                matcher.put(w, BOOK)
            else:
                w.queue = self._queue_ahead(book, w)
                matcher.put(w, REST)

    def _on_trade(self, matcher: Matcher, trade: Trade) -> None:
        """Apply a trade: trigger stops, fill takers, then the resting orders it reaches."""
        px, qty = trade.price, trade.qty
        triggered = []
        stops = matcher.buy_stops
        while stops and stops[0][0] <= px:
            triggered.append(stops[0][2])
            matcher.take_out(stops[0][2])
        stops = matcher.sell_stops
        while stops and -stops[0][0] >= px:
            triggered.append(stops[0][2])
            matcher.take_out(stops[0][2])
        if matcher.takers:
            price = to_decimal(px, what="price")
            for w in list(matcher.takers.values()):
                if w.is_market or (px <= w.limit if w.is_buy else px >= w.limit):
                    self._fill(matcher, w, w.leaves, price, Liquidity.TAKER)
                elif w.order.tif in (Tif.IOC, Tif.FOK):
                    self._expire(matcher, w, f"{w.order.tif.name} remainder")
                else:
                    w.queue = 0.0
                    matcher.put(w, REST)  # the market moved away: rest as a maker from here
        self._trade_through(matcher, matcher.bids, px, qty, -1.0)
        self._trade_through(matcher, matcher.asks, px, qty, 1.0)
        for w in sorted(triggered, key=_by_seq):
            w.triggered = True
            self._activate(matcher, w)
        matcher.sync()

    def _trade_through(
        self, matcher: Matcher, side: list[Entry], px: float, qty: float, sign: float
    ) -> None:
        """Fill the resting orders of one side that a trade at ``px`` reaches, best first:
        in full when it prints through them, from the queue when it prints at them."""
        i = 0
        while i < len(side):
            key, _, w = side[i]
            limit = key * sign
            if (px < limit) if sign > 0 else (px > limit):
                return  # sorted best first: no later order is reached either
            if limit != px:
                self._fill(matcher, w, w.leaves, w.limit_px or ZERO, Liquidity.MAKER)
            else:
                w.queue -= qty
                if w.queue < 0:
                    excess = to_decimal(-w.queue, what="qty")
                    w.queue = 0.0
                    self._fill(
                        matcher, w, min(w.leaves, excess), w.limit_px or ZERO, Liquidity.MAKER
                    )
            if w.place is not None:
                i += 1  # still resting (partly filled, or queued); a filled order left the list

    def _on_book(self, matcher: Matcher) -> None:
        book = matcher.book()
        if book is None:
            return
        for w in list(matcher.waiting.values()):
            self._take(matcher, w, book)
        matcher.sync()

    def _cancel(self, order: Order) -> None:
        where = self._where.get(order.order_id)
        if where is None:
            self._cancel_reject(order, f"too late to cancel: order is {order.status}", False)
            return
        matcher, w = where
        self._remove(matcher, w)
        self._report(order, ExecType.CANCELED, text="canceled by request")
        matcher.sync()

    def _replace(self, order: Order, price: Decimal | None, qty: Decimal | None) -> None:
        where = self._where.get(order.order_id)
        if where is None:
            self._cancel_reject(order, f"too late to amend: order is {order.status}", True)
            return
        matcher, w = where
        new_qty = qty if qty is not None else w.qty
        done = w.qty - w.leaves  # filled at the venue
        if new_qty <= done:
            self._cancel_reject(order, f"new qty {new_qty} does not exceed the filled {done}", True)
            return
        moved = price is not None and price != w.limit_px
        grew = new_qty > w.qty
        if order.post_only and moved and price is not None:
            candidate = matcher.new(dataclasses.replace(order, price=price))
            if self._marketable(matcher, candidate):
                self._cancel_reject(order, "post-only amend would take liquidity", True)
                return
        place = w.place
        matcher.take_out(w)
        w.leaves = new_qty - done
        w.qty = new_qty
        if price is not None:
            w.set_limit(price)
        self._report(order, ExecType.REPLACED, new_price=price, new_qty=new_qty)
        if place == REST and (moved or grew):
            book = matcher.book()
            if book is not None:
                self._take(matcher, w, book)
            if w.leaves > 0:
                w.queue = self._queue_ahead(book, w)
        if w.leaves > 0 and place is not None:
            matcher.put(w, place)
        matcher.sync()

    def _arm_expiry(self, order: Order) -> None:
        if order.tif is Tif.DAY:
            now = self.scheduler.get_time()
            at = now - now % _NS_PER_DAY + _NS_PER_DAY
        elif order.tif is Tif.GTD and order.expire_ts is not None:
            at = max(order.expire_ts, self.scheduler.get_time())
        else:
            return
        self.scheduler.schedule_at(lambda: self._expire_at(order), at)

    def _expire_at(self, order: Order) -> None:
        where = self._where.get(order.order_id)
        if where is not None:
            matcher, w = where
            self._expire(matcher, w, f"{order.tif.name} order expired")
            matcher.sync()

    # -- matching ------------------------------------------------------------------------

    def _marketable(self, matcher: Matcher, w: Working) -> bool:
        """Return True when ``w`` would take liquidity now."""
        if w.is_market:
            return True
        book = matcher.book()
        if book is not None:
            best = book.best_ask() if w.is_buy else book.best_bid()
            return best is not None and (best[0] <= w.limit if w.is_buy else best[0] >= w.limit)
        last = matcher.last_px
        return last is not None and (last <= w.limit if w.is_buy else last >= w.limit)

    def _levels(self, book: OrderBook, w: Working) -> list[tuple[float, float]]:
        bids, asks = book.depth(book.bid_count() + book.ask_count())
        levels = asks if w.is_buy else bids
        out = []
        for price, qty in levels:
            if not w.is_market and (price > w.limit if w.is_buy else price < w.limit):
                break
            left = qty - w.taken.get(price, 0.0)
            if left > 0:
                out.append((price, left))
        return out

    def _available(self, book: OrderBook, w: Working) -> Decimal:
        return sum((to_decimal(q, what="qty") for _, q in self._levels(book, w)), ZERO)

    def _take(self, matcher: Matcher, w: Working, book: OrderBook) -> None:
        """Fill ``w`` against the book's levels within its limit, one fill per level."""
        for price, qty in self._levels(book, w):
            if w.leaves <= 0:
                break
            size = min(w.leaves, to_decimal(qty, what="qty"))
            w.taken[price] = w.taken.get(price, 0.0) + float(size)
            self._fill(matcher, w, size, to_decimal(price, what="price"), Liquidity.TAKER)

    @staticmethod
    def _queue_ahead(book: OrderBook | None, w: Working) -> float:
        """Return the quantity visible at ``w``'s price on its side of the book."""
        if book is None:
            return 0.0
        bids, asks = book.depth(book.bid_count() + book.ask_count())
        for price, qty in bids if w.is_buy else asks:
            if price == w.limit:
                return qty
        return 0.0

    def _reduces(self, order: Order, qty: Decimal) -> bool:
        pos = self.position(order.account, order.instrument)
        return pos < 0 if order.side is Side.BUY else pos > 0

    def _fill(
        self, matcher: Matcher, w: Working, qty: Decimal, price: Decimal, liquidity: Liquidity
    ) -> None:
        order = w.order
        if order.reduce_only:
            pos = abs(self.position(order.account, order.instrument))
            if not self._reduces(order, qty):
                self._expire(matcher, w, "reduce-only order: nothing left to reduce")
                return
            qty = min(qty, pos)
        maker, taker = self._fees[matcher.instrument]
        bps = maker if liquidity is Liquidity.MAKER else taker
        fee = matcher.spec.notional(qty, price) * bps / _BPS
        w.leaves -= qty
        key = (order.account, order.instrument)
        signed = qty if order.side is Side.BUY else -qty
        self._positions[key] = self._positions.get(key, ZERO) + signed
        self._report(
            order,
            ExecType.TRADE,
            last_qty=qty,
            last_px=price,
            fee=fee,
            fee_currency=matcher.spec.currency,
            liquidity=liquidity,
            leaves=w.leaves,
        )
        if w.leaves <= 0:
            self._remove(matcher, w)

    def _expire(self, matcher: Matcher, w: Working, reason: str) -> None:
        self._remove(matcher, w)
        self._report(w.order, ExecType.EXPIRED, text=reason)

    def _remove(self, matcher: Matcher, w: Working) -> None:
        w.leaves = ZERO
        matcher.take_out(w)
        self._where.pop(w.order.order_id, None)

    # -- reports -------------------------------------------------------------------------

    def _report(
        self,
        order: Order,
        kind: ExecType,
        *,
        text: str | None = None,
        last_qty: Decimal = ZERO,
        last_px: Decimal | None = None,
        fee: Decimal = ZERO,
        fee_currency: str = "",
        liquidity: Liquidity | None = None,
        leaves: Decimal | None = None,
        new_price: Decimal | None = None,
        new_qty: Decimal | None = None,
    ) -> None:
        qty = new_qty if new_qty is not None else order.qty
        report = ExecutionReport(
            order_id=order.order_id,
            cl_ord_id=order.cl_ord_id,
            exec_id=f"sim-{next(self._exec_ids)}",
            exec_type=kind,
            status=OrderStatus.NEW,  # the order manager stamps the order's real state
            account=order.account,
            instrument=order.instrument,
            side=order.side,
            qty=qty,
            price=new_price if new_price is not None else order.price,
            cum_qty=ZERO,
            leaves_qty=leaves if leaves is not None else ZERO,
            ts=self.scheduler.get_time(),
            last_qty=last_qty,
            last_px=last_px,
            fee=fee,
            fee_currency=fee_currency,
            liquidity=liquidity,
            venue_order_id=order.venue_order_id,
            text=text,
        )
        self._deliver(report)

    def _cancel_reject(self, order: Order, reason: str, is_replace: bool) -> None:
        self._deliver(
            CancelReject(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                reason=reason,
                ts=self.scheduler.get_time(),
                is_replace=is_replace,
            )
        )

    def _deliver(self, event: ExecutionReport | CancelReject) -> None:
        sink = self._sink
        if sink is None:
            raise ConfigError("the simulator is not bound to an order manager")
        delay = self.config.report_latency_ns
        if delay:
            self.scheduler.schedule(lambda: sink.apply(event), delay)
        else:
            sink.apply(event)
