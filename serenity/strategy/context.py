"""What an investment strategy sees and does at a session's close."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from serenity.errors import ConfigError, InvalidValueError
from serenity.strategy.calendar import Session, TradingCalendar
from serenity.strategy.fills import Order
from serenity.strategy.model import Account, Portfolio, Universe
from serenity.strategy.pricing import DividendContext, PricingContext
from serenity.trading.orders import to_decimal

if TYPE_CHECKING:
    from serenity.strategy.engine import InvestEngine

__all__ = ["InvestContext"]

_ZERO: Final = Decimal(0)
_SLACK: Final = Decimal("1e-9")


class InvestContext:
    """A strategy's view of the run: params, prices, the portfolio, and order entry.

    Amounts are :class:`~decimal.Decimal` in the portfolio's currency. Quantities are
    rounded down to each tradable's lot size. ``account=None`` means every account for the
    ``target_*`` methods, and the only account for :meth:`order` and the queries.

    Attributes
    ----------
    params
        The strategy's params (an instance of its ``Params``, or a read-only mapping).
    universe
        The tradables.
    portfolio
        The accounts, their cash and holdings (read them; trade through this context).
    calendar
        The run's exchange calendar.
    """

    def __init__(self, engine: InvestEngine, params: Any) -> None:
        self._engine = engine
        self.params = params
        self.universe: Universe = engine.universe
        self.portfolio: Portfolio = engine.portfolio
        self.calendar: TradingCalendar = engine.calendar

    def __repr__(self) -> str:
        return f"InvestContext({self.date}, {self.portfolio!r})"

    # --- time and prices ------------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        """Return the current session (None in ``init``)."""
        return self._engine.session

    @property
    def date(self) -> dt.date | None:
        """Return the current session's date (None in ``init``)."""
        session = self._engine.session
        return session.date if session is not None else None

    @property
    def pricing(self) -> PricingContext:
        """Return prices as of the current session's close."""
        return PricingContext(self._engine.table, self._row())

    @property
    def dividends(self) -> DividendContext:
        """Return dividends and splits as of the current session."""
        return DividendContext(self._engine.table, self._row())

    # --- the portfolio --------------------------------------------------------------------

    def cash(self, account: str | None = None) -> Decimal:
        """Return an account's cash."""
        return self._account(account).cash

    def position(self, symbol: str, account: str | None = None) -> Decimal:
        """Return the quantity of ``symbol`` held in an account."""
        return self._account(account).qty(self.universe.resolve(symbol) or symbol)

    def equity(self, account: str | None = None) -> Decimal:
        """Return an account's cash plus holdings at the latest closes."""
        return self._account(account).equity(self._engine.marks())

    def weights(self, account: str | None = None) -> dict[str, Decimal]:
        """Return each holding's share of an account's equity, by symbol."""
        held = self._account(account)
        marks = self._engine.marks()
        equity = held.equity(marks)
        if not equity:
            return {}
        return {
            h.symbol: h.qty * marks.get(h.symbol, _ZERO) / equity
            for h in held.holdings.values()
            if h.qty
        }

    # --- orders ---------------------------------------------------------------------------

    def order(
        self,
        symbol: str,
        qty: Decimal | float | int,
        *,
        account: str | None = None,
        limit: Decimal | float | None = None,
    ) -> Order | None:
        """Buy (``qty`` > 0) or sell (``qty`` < 0) ``symbol``; return the order, or None
        when the quantity rounds to no lot.

        Raises
        ------
        UnknownSymbolError
            For a symbol outside the universe.
        InvalidValueError
            For a quantity or limit that is not a finite number, or a limit <= 0.
        """
        tradable = self.universe.get(symbol)
        amount = tradable.round_qty(to_decimal(qty, what=f"quantity of {symbol}"))
        if not amount:
            return None
        price = None if limit is None else to_decimal(limit, what=f"limit of {symbol}")
        if price is not None and price <= 0:
            raise InvalidValueError(f"limit of {symbol} must be > 0, was {limit!r}")
        return self._engine.place(
            self._account(account).name,
            tradable.symbol,
            "BUY" if amount > 0 else "SELL",
            abs(amount),
            price,
        )

    def target_quantities(
        self,
        targets: Mapping[str, Decimal | float | int],
        *,
        account: str | None = None,
        limits: Mapping[str, Decimal | float] | None = None,
    ) -> list[Order]:
        """Trade each account toward holding ``targets`` (quantity by symbol).

        Holdings not named keep their quantity. Sells and buys are placed for the
        differences; ``limits`` gives limit prices by symbol.
        """
        orders: list[Order] = []
        for held in self._accounts(account):
            for symbol, target in targets.items():
                tradable = self.universe.get(symbol)
                name = tradable.symbol
                wanted = tradable.round_qty(to_decimal(target, what=f"target of {symbol}"))
                if wanted < 0:
                    raise InvalidValueError(
                        f"target of {symbol} must be >= 0 (accounts are long-only), was {target}"
                    )
                placed = self.order(
                    name,
                    wanted - held.qty(name),
                    account=held.name,
                    limit=_limit(limits, symbol, name),
                )
                if placed is not None:
                    orders.append(placed)
        return orders

    def target_weights(
        self,
        weights: Mapping[str, Decimal | float | int],
        *,
        account: str | None = None,
        limits: Mapping[str, Decimal | float] | None = None,
    ) -> list[Order]:
        """Trade each account toward ``weights`` of its equity, by symbol, at today's close.

        The mapping is the whole target: a holding not in it is sold. Weights are >= 0 and
        add up to at most 1 (the rest stays in cash). A symbol without a price yet is left
        alone.

        Raises
        ------
        InvalidValueError
            For a negative weight or weights adding up to more than 1.
        """
        wanted = {
            self.universe.get(s).symbol: to_decimal(w, what=f"weight of {s}")
            for s, w in weights.items()
        }
        if any(w < 0 for w in wanted.values()) or sum(wanted.values(), _ZERO) > 1 + _SLACK:
            raise InvalidValueError(
                f"weights must be >= 0 and add up to at most 1, were {dict(weights)}"
            )
        pricing = self.pricing
        marks = self._engine.marks()
        orders: list[Order] = []
        for held in self._accounts(account):
            equity = held.equity(marks)
            targets: dict[str, Decimal] = {}
            for symbol in sorted(set(wanted) | {h for h, v in held.holdings.items() if v.qty}):
                price = pricing.price(symbol)
                if price is None or not price > 0:
                    continue
                targets[symbol] = wanted.get(symbol, _ZERO) * equity / price
            orders += self.target_quantities(targets, account=held.name, limits=limits)
        return orders

    def capture(self, channel: str, **fields: Any) -> None:
        """Add a row to the run's capture channel ``channel`` at the current close
        (see :meth:`~serenity.analytics.RunWriter.capture`)."""
        self._engine.capture(channel, **fields)

    # --- internals ------------------------------------------------------------------------

    def _row(self) -> int:
        if self._engine.session is None:
            raise InvalidValueError("prices are not available in init; use rebalance")
        return self._engine.row

    def _account(self, name: str | None) -> Account:
        accounts = self.portfolio.accounts
        if name is None:
            if len(accounts) != 1:
                raise ConfigError(
                    f"the portfolio has {len(accounts)} accounts; name one of {', '.join(accounts)}"
                )
            return next(iter(accounts.values()))
        return self.portfolio.account(name)

    def _accounts(self, name: str | None) -> list[Account]:
        if name is None:
            return list(self.portfolio.accounts.values())
        return [self.portfolio.account(name)]


def _limit(
    limits: Mapping[str, Decimal | float] | None, key: str, symbol: str
) -> Decimal | float | None:
    if not limits:
        return None
    return limits.get(key, limits.get(symbol))
