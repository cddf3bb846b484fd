"""Upstream Serenity's Bollinger-band strategy: buy below the lower band with a protective
stop, sell above the upper band, and cool off after a stop-out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from serenity.algo import Strategy, StrategyContext
from serenity.signal.bars import OHLC, TimeBars
from serenity.signal.indicators import Bands, BollingerBands
from serenity.tau.event import Lambda
from serenity.tau.signal import Map
from serenity.trading import ExecutionReport, Order

__all__ = ["BollingerBands1"]


class BollingerBands1(Strategy):
    """Long-only mean reversion on bar closes.

    When flat, a close below the lower band buys ``qty`` at market; once filled, a sell stop
    ``stop_loss_pct`` below the entry protects the position. A close above the upper band
    cancels the stop and sells at market. After a stop-out the strategy waits
    ``cool_off_bars`` bars before it may buy again. Each bar's close and bands go to the
    ``bands`` capture channel.
    """

    @dataclass(frozen=True)
    class Params:
        window: int = 20
        num_std: float = 2.0
        qty: float = 1.0
        bar_seconds: int = 60
        stop_loss_pct: float = 0.01
        cool_off_bars: int = 5

    def init(self, ctx: StrategyContext) -> None:
        self.ctx = ctx
        p = ctx.params
        self.instrument = ctx.instruments[0]
        trades = ctx.marketdata.get_trades(self.instrument)
        bars = self._bars = TimeBars(ctx.scheduler, trades, dt.timedelta(seconds=p.bar_seconds))
        closes = Map(ctx.network, bars, lambda bar: bar.close)
        self.bands = BollingerBands(ctx.network, closes, p.window, p.num_std)
        # Listening to the bands too puts this node after them in every cycle.
        Lambda(ctx.network, [bars, self.bands], self.on_bar, name="bbands1:on_bar")
        Lambda(ctx.network, [ctx.oms.fills], self.on_fill, name="bbands1:on_fill")
        self.entry: Order | None = None
        self.exit: Order | None = None
        self.stop_order: Order | None = None
        self.cool_off = 0
        self.running = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def on_bar(self, bar: OHLC, b: Bands | None) -> None:
        network = self.ctx.network
        if not network.has_activated(self._bars):
            return
        if self.cool_off:
            self.cool_off -= 1
        if b is None or not network.has_activated(self.bands):
            return
        self.ctx.capture("bands", close=bar.close, upper=b.upper, middle=b.middle, lower=b.lower)
        if not self.running or self._busy():
            return
        held = self.ctx.position(self.instrument)
        factory = self.ctx.order_factory
        if held == 0 and not self.cool_off and bar.close < b.lower:
            self.entry = self.ctx.submit(
                factory.market(self.instrument, "BUY", self.ctx.params.qty)
            )
        elif held > 0 and bar.close > b.upper:
            if self.stop_order is not None and self.stop_order.is_working:
                self.ctx.cancel(self.stop_order)
            self.exit = self.ctx.submit(factory.market(self.instrument, "SELL", held))

    def on_fill(self, fill: ExecutionReport) -> None:
        order = self.ctx.oms.get(fill.order_id)
        if order is None or not order.is_terminal:
            return
        if order is self.entry and order.avg_px is not None:
            stop_px = order.avg_px * (1 - Decimal(repr(self.ctx.params.stop_loss_pct)))
            self.stop_order = self.ctx.submit(
                self.ctx.order_factory.stop(self.instrument, "SELL", order.cum_qty, _round(stop_px))
            )
            self.entry = None
        elif order is self.stop_order:
            self.cool_off = self.ctx.params.cool_off_bars
            self.stop_order = None
        elif order is self.exit:
            self.exit = None

    def _busy(self) -> bool:
        pending: Any = (self.entry, self.exit)
        return any(o is not None and not o.is_terminal for o in pending)


def _round(price: Decimal) -> Decimal:
    return price.quantize(Decimal("0.01"))
