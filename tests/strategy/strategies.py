"""Strategies the investment tests script by date."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from serenity.strategy import InvestContext, InvestmentStrategy


class Scripted(InvestmentStrategy):
    """Place the orders and weights the params list for each session's date.

    ``orders``: ``{"2024-01-02": [[symbol, qty], [symbol, qty, limit], ...]}`` (qty < 0
    sells); ``weights``: ``{"2024-01-02": {symbol: weight}}``; ``account`` names the account.
    """

    @dataclass(frozen=True)
    class Params:
        orders: dict[str, list[list[Any]]] = field(default_factory=dict)
        weights: dict[str, dict[str, float]] = field(default_factory=dict)
        account: str | None = None

    def rebalance(self, ctx: InvestContext) -> None:
        assert ctx.date is not None
        day = ctx.date.isoformat()
        for item in ctx.params.orders.get(day, []):
            limit = item[2] if len(item) > 2 else None
            ctx.order(item[0], item[1], limit=limit, account=ctx.params.account)
        if day in ctx.params.weights:
            ctx.target_weights(ctx.params.weights[day], account=ctx.params.account)


class Failing(InvestmentStrategy):
    """Raise on the first rebalance."""

    def rebalance(self, ctx: InvestContext) -> None:
        raise RuntimeError("the strategy broke")
