"""Equal weight: every tradable with a price gets the same share of the equity."""

from __future__ import annotations

from dataclasses import dataclass

from serenity.strategy import InvestContext, InvestmentStrategy

__all__ = ["EqualWeight"]


class EqualWeight(InvestmentStrategy):
    """On each rebalance, weigh every tradable that traded today equally, keeping
    ``cash_buffer`` of the equity in cash (for costs and fills at the next open)."""

    @dataclass(frozen=True)
    class Params:
        cash_buffer: float = 0.01

    def rebalance(self, ctx: InvestContext) -> None:
        pricing = ctx.pricing
        listed = [s for s in ctx.universe.symbols if pricing.close(s) is not None]
        if not listed:
            return
        weight = (1 - ctx.params.cash_buffer) / len(listed)
        ctx.target_weights({s: weight for s in listed})
        ctx.capture("rebalance", symbols=len(listed), weight=weight)
