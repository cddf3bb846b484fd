"""Daily fills: market-on-close or next open, with costs, a volume cap and limit prices.

Rules, applied to the orders due at one instant (a session's close, or the next session's
open), in order id order:

1. **Price**: the bar's close (market-on-close) or open (next open). A symbol without a bar
   that day does not fill (``no price``).
2. **Limit**: a buy fills only at or below its limit, a sell at or above; otherwise nothing
   fills (``limit``). A limit order fills at the auction price, never at its limit.
3. **Volume cap** (``max_participation``): the orders of a symbol together fill at most that
   fraction of the day's volume, rounded down to lots, first come first served; the rest is
   canceled (``volume cap``) and the next rebalance tries again.
4. **Long-only**: a sell fills at most the quantity held (``not held``).
5. **Cash**: sells go first and their proceeds are available to buys. When an account's
   buys with their fees cost more than its cash, every buy is cut by the same factor
   (rounded down to lots), and each is then cut again if it still does not fit
   (``cash``).

Each fill pays the :class:`~serenity.strategy.costs.CostModel` fee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum, unique
from typing import Final

from serenity.strategy.costs import CostModel
from serenity.strategy.model import Portfolio, Universe
from serenity.strategy.pricing import PriceTable

__all__ = ["Execution", "FillSimulator", "FillTiming", "Order"]

_ZERO: Final = Decimal(0)


@unique
class FillTiming(StrEnum):
    """When an order decided at a session's close fills."""

    MARKET_ON_CLOSE = "market_on_close"
    """At the same close (the close the decision saw)."""
    NEXT_OPEN = "next_open"
    """At the next session's open."""

    @property
    def tif(self) -> str:
        """Return the time in force written with the order (FIX's names)."""
        return "AT_THE_CLOSE" if self is FillTiming.MARKET_ON_CLOSE else "AT_THE_OPENING"


@dataclass(slots=True)
class Order:
    """A daily order: buy or sell a quantity of one tradable in one account.

    ``qty`` is positive; ``limit`` is None for a market order. ``tag`` says why it was
    placed (``rebalance`` or ``dividend``).
    """

    order_id: int
    account: str
    symbol: str
    side: str
    qty: Decimal
    limit: Decimal | None
    placed_ns: int
    tag: str = "rebalance"

    @property
    def is_buy(self) -> bool:
        """Return True for a buy."""
        return self.side == "BUY"


@dataclass(frozen=True, slots=True)
class Execution:
    """What happened to one order: the quantity filled (maybe 0), at what price and fee,
    and why the rest did not fill."""

    order: Order
    ts: int
    qty: Decimal
    price: Decimal | None
    fee: Decimal
    reason: str | None

    @property
    def leaves(self) -> Decimal:
        """Return the quantity not filled (canceled)."""
        return self.order.qty - self.qty


@dataclass(slots=True)
class _Working:
    order: Order
    qty: Decimal
    price: Decimal | None = None
    reason: str | None = None


class FillSimulator:
    """Fill daily orders at a session's close or open (see the module docstring).

    Parameters
    ----------
    timing
        Market-on-close or next open.
    costs
        The fee of each fill.
    max_participation
        The largest fraction of a day's volume the run's orders of a symbol may fill
        (e.g. 0.1); no cap when None.
    """

    def __init__(
        self,
        timing: FillTiming = FillTiming.MARKET_ON_CLOSE,
        costs: CostModel | None = None,
        *,
        max_participation: Decimal | None = None,
    ) -> None:
        self.timing = timing
        self.costs = costs or CostModel()
        self.max_participation = max_participation

    def __repr__(self) -> str:
        return f"FillSimulator({self.timing.value}, {self.costs}, cap={self.max_participation})"

    def execute(
        self,
        orders: Sequence[Order],
        *,
        ts: int,
        row: int,
        table: PriceTable,
        portfolio: Portfolio,
        universe: Universe,
    ) -> list[Execution]:
        """Fill ``orders`` at session ``row`` of ``table`` and book the fills.

        Holdings and cash of ``portfolio``'s accounts change; the executions come back in
        order id order, one per order.
        """
        work = [_Working(o, o.qty) for o in sorted(orders, key=lambda o: o.order_id)]
        field = "close" if self.timing is FillTiming.MARKET_ON_CLOSE else "open"
        used: dict[str, Decimal] = {}
        for w in work:
            bar = table.bar(row, w.order.symbol)
            if bar is None:
                w.qty, w.reason = _ZERO, f"no price of {w.order.symbol} on {table.dates[row]}"
                continue
            w.price = bar.close if field == "close" else bar.open
            limit = w.order.limit
            if limit is not None and (
                (w.order.is_buy and w.price > limit) or (not w.order.is_buy and w.price < limit)
            ):
                w.qty, w.reason = _ZERO, f"limit {limit} not reached ({field} {w.price})"
                continue
            if self.max_participation is not None:
                tradable = universe.get(w.order.symbol)
                cap = tradable.round_qty(self.max_participation * bar.volume)
                room = max(cap - used.get(w.order.symbol, _ZERO), _ZERO)
                if w.qty > room:
                    w.qty = room
                    w.reason = f"volume cap {self.max_participation} of {bar.volume}"
                used[w.order.symbol] = used.get(w.order.symbol, _ZERO) + w.qty
        for w in work:  # sells first: their cash pays for the buys
            if w.order.is_buy or w.price is None or not w.qty:
                continue
            account = portfolio.account(w.order.account)
            held = account.qty(w.order.symbol)
            if w.qty > held:
                w.qty, w.reason = held, f"not held: only {held} {w.order.symbol}"
            if w.qty:
                fee = self.costs.fee(w.qty, w.price)
                account.holding(w.order.symbol).sell(w.qty, w.price, fee)
                account.cash += w.qty * w.price - fee
        for name in portfolio.accounts:
            self._buy(
                [w for w in work if w.order.is_buy and w.order.account == name],
                portfolio,
                universe,
            )
        out = []
        for w in work:
            fee = self.costs.fee(w.qty, w.price) if w.qty and w.price is not None else _ZERO
            reason = w.reason if w.qty < w.order.qty else None
            out.append(Execution(w.order, ts, w.qty, w.price, fee, reason))
        return out

    def _buy(self, buys: list[_Working], portfolio: Portfolio, universe: Universe) -> None:
        live = [w for w in buys if w.qty and w.price is not None]
        if not live:
            return
        account = portfolio.account(live[0].order.account)
        costs = self.costs

        def cost(w: _Working) -> Decimal:
            assert w.price is not None
            return w.qty * w.price + costs.fee(w.qty, w.price)

        needed = sum((cost(w) for w in live), _ZERO)
        if needed > account.cash:
            factor = max(account.cash, _ZERO) / needed
            for w in live:
                w.qty = universe.get(w.order.symbol).round_qty(w.qty * factor)
                w.reason = f"cash: {account.cash} {portfolio.currency} for {needed}"
        for w in live:
            assert w.price is not None
            if w.qty and cost(w) > account.cash:
                affordable = costs.affordable(account.cash, w.price)
                w.qty = min(w.qty, universe.get(w.order.symbol).round_qty(affordable))
                w.reason = f"cash: {account.cash} {portfolio.currency} left"
                if w.qty and cost(w) > account.cash:  # a fee floor can still tip it over
                    w.qty = _ZERO
            if w.qty:
                fee = costs.fee(w.qty, w.price)
                account.holding(w.order.symbol).buy(w.qty, w.price, fee)
                account.cash -= w.qty * w.price + fee
