"""Peg a limit order to the near touch or the mid, re-pegging as the book moves."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from serenity.algo import Strategy, StrategyContext
from serenity.marketdata import OrderBook
from serenity.model import Side
from serenity.tau.event import Lambda
from serenity.trading import Order

__all__ = ["Peg"]


class Peg(Strategy):
    """Work ``qty`` on ``side`` with one post-only limit order at the near touch (the best
    bid for a buy) or at the mid rounded away from crossing, moved whenever that price
    changes, until ``qty`` is filled. Each re-peg goes to the ``peg`` capture channel.
    """

    @dataclass(frozen=True)
    class Params:
        side: str = "BUY"
        qty: float = 1.0
        at: str = "touch"  # or "mid"
        tick: float = 0.01

    def init(self, ctx: StrategyContext) -> None:
        self.ctx = ctx
        p = ctx.params
        if p.at not in ("touch", "mid"):
            raise ValueError(f"peg param `at` must be touch or mid, was {p.at!r}")
        self.instrument = ctx.instruments[0]
        self.side = Side(p.side.lower())
        self.tick = Decimal(repr(p.tick))
        self.order: Order | None = None
        self.done = Decimal(0)
        self.running = False
        books = ctx.marketdata.get_order_books(self.instrument)
        Lambda(ctx.network, [books], self.on_book, name="peg:on_book")

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def target(self, book: OrderBook) -> Decimal | None:
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return None
        if self.ctx.params.at == "touch":
            return Decimal(repr(bid[0] if self.side is Side.BUY else ask[0]))
        mid = Decimal(repr((bid[0] + ask[0]) / 2))
        rounding = ROUND_DOWN if self.side is Side.BUY else ROUND_UP
        price = (mid / self.tick).to_integral_value(rounding) * self.tick
        # Never cross: a buy stays below the ask, a sell above the bid.
        if self.side is Side.BUY and price >= Decimal(repr(ask[0])):
            price = Decimal(repr(ask[0])) - self.tick
        if self.side is Side.SELL and price <= Decimal(repr(bid[0])):
            price = Decimal(repr(bid[0])) + self.tick
        return price

    def on_book(self, book: OrderBook) -> None:
        if not self.running:
            return
        order = self.order
        if order is not None and order.is_terminal:
            self.done += order.cum_qty
            self.order = order = None
        left = Decimal(repr(self.ctx.params.qty)) - self.done
        if left <= 0:
            return
        price = self.target(book)
        if price is None or price <= 0:
            return
        if order is None:
            self.order = self.ctx.submit(
                self.ctx.order_factory.limit(
                    self.instrument, self.side, left, price, post_only=True
                )
            )
            self.ctx.capture("peg", price=float(price), qty=float(left), action="new")
        elif (
            order.is_working
            and order.price != price
            and order.status.name in ("NEW", "PARTIALLY_FILLED")
        ):
            self.ctx.replace(order, price=price)
            self.ctx.capture(
                "peg", price=float(price), qty=float(order.leaves_qty), action="replace"
            )
