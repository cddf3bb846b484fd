"""Buy and hold: spend the cash on the chosen symbols once, in equal parts, then wait."""

from __future__ import annotations

from dataclasses import dataclass, field

from serenity.strategy import InvestContext, InvestmentStrategy

__all__ = ["BuyAndHold"]


class BuyAndHold(InvestmentStrategy):
    """Buy ``symbols`` (every tradable when empty) at equal weights on the first rebalance;
    later rebalances do nothing, so run it with ``rebalance: once``."""

    @dataclass(frozen=True)
    class Params:
        symbols: list[str] = field(default_factory=list)

    def init(self, ctx: InvestContext) -> None:
        self.bought = False

    def rebalance(self, ctx: InvestContext) -> None:
        if self.bought:
            return
        symbols = ctx.params.symbols or list(ctx.universe.symbols)
        ctx.target_weights({s: 1 / len(symbols) for s in symbols})
        self.bought = True
