"""What happens to dividends: ignored, kept as cash, or reinvested.

A dividend is paid to the units held at the start of its ex-date (after that day's split,
before that day's fills), at the ex-date's close: ``units × dividend per unit``. It counts
as realised P&L of the holding that paid it. Then, by policy:

- ``none``: not paid at all (a price-return backtest, e.g. on prices already adjusted for
  dividends);
- ``accumulate``: the cash stays in the account;
- ``reinvest``: the cash buys more of the tradable that paid it;
- ``reinvest_portfolio``: the cash buys the account's holdings in proportion to their
  market value at that close.

Reinvestment orders are sized at the ex-date's close so that units and fee fit the
dividend (rounded down to lots; the rest stays as cash) and fill like any order (at that
close, or at the next open). When the strategy's rebalance trades on the ex-date, nothing is
reinvested: the cash was part of the equity the rebalance invested.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum, unique
from typing import Final

from serenity.strategy.costs import CostModel
from serenity.strategy.model import Account, Universe

__all__ = ["DividendPolicy", "reinvestment"]

_ZERO: Final = Decimal(0)


@unique
class DividendPolicy(StrEnum):
    """What happens to the dividends a holding pays."""

    NONE = "none"
    ACCUMULATE = "accumulate"
    REINVEST = "reinvest"
    REINVEST_PORTFOLIO = "reinvest_portfolio"

    @property
    def pays(self) -> bool:
        """Return True when dividends are paid into the account."""
        return self is not DividendPolicy.NONE


def reinvestment(
    policy: DividendPolicy,
    *,
    account: Account,
    symbol: str,
    amount: Decimal,
    prices: Mapping[str, Decimal],
    costs: CostModel,
    universe: Universe,
) -> dict[str, Decimal]:
    """Return the units to buy with a dividend of ``amount`` paid by ``symbol``, by symbol.

    Parameters
    ----------
    policy
        The run's dividend policy; only the two reinvesting ones buy anything.
    account
        The account paid (its holdings set the portfolio weights).
    symbol
        The tradable that paid.
    amount
        The cash paid.
    prices
        Today's closes, of the symbols that traded today.
    costs
        The fee model, so that units and fee fit the amount.
    universe
        For lot sizes.
    """
    if policy is DividendPolicy.REINVEST:
        shares = {symbol: amount}
    elif policy is DividendPolicy.REINVEST_PORTFOLIO:
        values = {
            h.symbol: h.qty * prices[h.symbol]
            for h in account.holdings.values()
            if h.qty > 0 and h.symbol in prices
        }
        total = sum(values.values(), _ZERO)
        if not total:
            return {}
        shares = {s: amount * v / total for s, v in sorted(values.items())}
    else:
        return {}
    out = {}
    for name, cash in shares.items():
        price = prices.get(name)
        if price is None:
            continue
        units = universe.get(name).round_qty(costs.affordable(cash, price))
        if units > 0:
            out[name] = units
    return out
