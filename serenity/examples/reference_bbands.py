"""The reference strategy of Serenity's benchmarks: one-minute bars from trades, population
Bollinger(20, 2) of the closes; when flat and a close is below the lower band, buy 1 at
market; when long and a close is above the middle, sell 1 at market."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from serenity.algo import Strategy, StrategyContext
from serenity.signal.bars import OHLC, TimeBars
from serenity.signal.indicators import Bands, BollingerBands
from serenity.tau.event import Lambda
from serenity.tau.signal import Map

__all__ = ["ReferenceBollinger"]


class ReferenceBollinger(Strategy):
    """Buy 1 below the lower band when flat; sell it above the middle band."""

    @dataclass(frozen=True)
    class Params:
        window: int = 20
        num_std: float = 2.0
        qty: float = 1.0

    def init(self, ctx: StrategyContext) -> None:
        self.ctx = ctx
        self.instrument = ctx.instruments[0]
        bars = TimeBars(
            ctx.scheduler, ctx.marketdata.get_trades(self.instrument), dt.timedelta(minutes=1)
        )
        closes = Map(ctx.network, bars, lambda bar: bar.close)
        self.bands = BollingerBands(ctx.network, closes, ctx.params.window, ctx.params.num_std)
        # Listening to the bands too puts this node after them in every cycle.
        Lambda(ctx.network, [bars, self.bands], self.on_bar, name="reference:on_bar")

    def on_bar(self, bar: OHLC, bands: Bands | None) -> None:
        ctx = self.ctx
        if not ctx.network.has_activated(self.bands) or ctx.oms.working_orders():
            return
        assert bands is not None
        held = ctx.position(self.instrument)
        if held == 0 and bar.close < bands.lower:
            ctx.submit(ctx.order_factory.market(self.instrument, "BUY", ctx.params.qty))
        elif held > 0 and bar.close > bands.middle:
            ctx.submit(ctx.order_factory.market(self.instrument, "SELL", held))
