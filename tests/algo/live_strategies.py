"""A strategy for the paper and live tests: on start it buys every instrument at market and
bids below the touch; :meth:`BidEach.bid` adds a bid on demand (through the strategy's own
context, so every pre-trade check applies)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from serenity.algo import Strategy, StrategyContext
from serenity.marketdata import OrderBook, Trade
from serenity.model import InstrumentId, Side
from serenity.tau import Signal
from serenity.tau.event import Lambda
from serenity.trading import Order

__all__ = ["BidEach"]


class BidEach(Strategy):
    """Buy ``qty`` of each instrument at market and bid ``qty`` at ``offset`` below the best
    bid when started; count the trades seen before that."""

    @dataclass(frozen=True)
    class Params:
        qty: float = 0.1
        offset: float = 1.0
        on_start: bool = True
        fail_on_stop: bool = False

    def init(self, ctx: StrategyContext) -> None:
        self.ctx = ctx
        self.started = False
        self.stopped = False
        self.trades_before_start = 0
        self.trades = 0
        self.books: dict[InstrumentId, Signal[OrderBook]] = {}
        self.last_bid: dict[InstrumentId, Decimal] = {}
        for inst in ctx.instruments:
            self.books[inst] = ctx.marketdata.get_order_books(inst)
            Lambda(ctx.network, [ctx.marketdata.get_trades(inst)], self.on_trade)

    def on_trade(self, trade: Trade) -> None:
        self.trades += 1
        if not self.started:
            self.trades_before_start += 1

    def start(self) -> None:
        self.started = True
        if self.ctx.params.on_start:
            for inst in self.ctx.instruments:
                self.ctx.submit(self.ctx.order_factory.market(inst, Side.BUY, self.qty))
                self.bid(inst)

    def stop(self) -> None:
        self.stopped = True
        if self.ctx.params.fail_on_stop:
            raise RuntimeError("bid_each: stop failed on purpose")

    @property
    def qty(self) -> Decimal:
        return Decimal(repr(self.ctx.params.qty))

    def bid(self, instrument: InstrumentId) -> Order:
        """Bid ``qty`` at ``offset`` below the best bid (the last one seen while the book is
        resyncing)."""
        best = self.books[instrument].get_value().best_bid()
        if best is not None:
            self.last_bid[instrument] = Decimal(repr(best[0]))
        price = self.last_bid[instrument] - Decimal(repr(self.ctx.params.offset))
        order = self.ctx.submit(self.ctx.order_factory.limit(instrument, Side.BUY, self.qty, price))
        self.ctx.capture("bids", instrument=str(instrument), price=float(price))
        return order
