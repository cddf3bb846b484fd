"""Fixed weights with a drift band: e.g. 60% BTC and 40% ETH, rebalanced when they drift."""

from __future__ import annotations

from dataclasses import dataclass, field

from serenity.strategy import InvestContext, InvestmentStrategy

__all__ = ["FixedWeights"]


class FixedWeights(InvestmentStrategy):
    """Hold ``weights`` (by symbol, adding up to at most 1); on a rebalance session, trade
    back to them when any weight has drifted by more than ``tolerance``."""

    @dataclass(frozen=True)
    class Params:
        weights: dict[str, float] = field(default_factory=dict)
        tolerance: float = 0.0

    def rebalance(self, ctx: InvestContext) -> None:
        targets = {ctx.universe.get(s).symbol: w for s, w in ctx.params.weights.items()}
        for account in ctx.portfolio.accounts:
            held = ctx.weights(account)
            drift = max(abs(float(held.get(s, 0)) - w) for s, w in targets.items())
            if drift > ctx.params.tolerance:
                ctx.target_weights(targets, account=account)
