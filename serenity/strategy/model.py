"""The investment domain: tradables, the universe, holdings, accounts and the portfolio.

Money and quantities are :class:`~decimal.Decimal`. A portfolio counts everything in one
base currency; every tradable must be priced in it (there is no FX conversion). Accounts
are long-only and cash-only: a sell never goes below zero held and a buy never spends more
than the account's cash.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Final

from serenity.errors import ConfigError, InvalidValueError, UnknownSymbolError
from serenity.model import InstrumentId

__all__ = ["FRACTIONAL", "Account", "Holding", "Portfolio", "Tradable", "Universe"]

FRACTIONAL: Final = Decimal("0.00000001")
"""The lot size of a tradable held in fractions (crypto, fractional shares): 1e-8."""
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Tradable:
    """One thing a portfolio can hold, priced daily.

    Parameters
    ----------
    symbol
        Its code in prices and outputs: ``AAA`` for a price file's symbol, or an instrument
        code such as ``BTC-USD@coinbase`` for the tick store.
    currency
        The currency it is priced in (the portfolio's).
    lot_size
        Quantities are whole multiples of it: 1 for shares, :data:`FRACTIONAL` for crypto.
    instrument
        The tick-store instrument, for tradables priced from stored trades.
    """

    symbol: str
    currency: str = "USD"
    lot_size: Decimal = Decimal(1)
    instrument: InstrumentId | None = None

    def __post_init__(self) -> None:
        if not self.symbol:
            raise InvalidValueError("a tradable needs a symbol")
        if not self.lot_size > 0:
            raise InvalidValueError(f"lot size of {self.symbol} must be > 0, was {self.lot_size!r}")

    def round_qty(self, qty: Decimal) -> Decimal:
        """Return ``qty`` rounded toward zero to a whole number of lots."""
        lots = (qty / self.lot_size).to_integral_value(rounding=ROUND_DOWN)
        return lots * self.lot_size


class Universe:
    """The tradables of a run, in order; looked up by symbol (or ``VENUE:SYMBOL``).

    Raises
    ------
    ConfigError
        When two tradables share a symbol, or the universe is empty.
    """

    def __init__(self, tradables: Iterable[Tradable]) -> None:
        self._by_symbol: dict[str, Tradable] = {}
        self._aliases: dict[str, str] = {}
        for tradable in tradables:
            if tradable.symbol in self._by_symbol:
                raise ConfigError(f"symbol {tradable.symbol!r} appears twice in the universe")
            self._by_symbol[tradable.symbol] = tradable
            if tradable.instrument is not None:
                inst = tradable.instrument
                self._aliases[f"{inst.venue.upper()}:{inst.symbol}"] = tradable.symbol
                self._aliases.setdefault(inst.symbol, tradable.symbol)
        if not self._by_symbol:
            raise ConfigError("the universe is empty; name at least one tradable")

    def __repr__(self) -> str:
        return f"Universe({list(self._by_symbol)!r})"

    def __iter__(self) -> Iterator[Tradable]:
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.resolve(key, strict=False) is not None

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the symbols, in the universe's order."""
        return tuple(self._by_symbol)

    def resolve(self, key: str, *, strict: bool = True) -> str | None:
        """Return the symbol ``key`` names: a symbol, ``VENUE:SYMBOL`` or ``SYMBOL@venue``.

        Raises
        ------
        UnknownSymbolError
            When ``strict`` and nothing matches (with the closest symbol as a hint).
        """
        if key in self._by_symbol:
            return key
        if key in self._aliases:
            return self._aliases[key]
        venue, sep, symbol = key.partition(":")
        if sep and f"{symbol}@{venue.lower()}" in self._by_symbol:
            return f"{symbol}@{venue.lower()}"
        if not strict:
            return None
        close = difflib.get_close_matches(key, [*self._by_symbol, *self._aliases], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UnknownSymbolError(
            f"{key!r} is not in the universe{hint} (universe: {', '.join(self._by_symbol)})"
        )

    def get(self, key: str) -> Tradable:
        """Return the tradable ``key`` names (see :meth:`resolve`)."""
        symbol = self.resolve(key)
        assert symbol is not None
        return self._by_symbol[symbol]


@dataclass(slots=True)
class Holding:
    """One position of an account: quantity, cost basis and what it has earned.

    ``realised`` is the P&L of the quantity sold (at average cost) plus dividends received
    and cash paid in lieu of fractions; ``fees`` are the trading costs paid. Fees are not in
    the cost basis, so ``realised + unrealised - fees`` is the holding's whole P&L.
    """

    symbol: str
    qty: Decimal = _ZERO
    cost: Decimal = _ZERO
    realised: Decimal = _ZERO
    fees: Decimal = _ZERO
    dividends: Decimal = _ZERO

    @property
    def avg_price(self) -> Decimal | None:
        """Return the average cost of one unit held, or None when flat."""
        return self.cost / self.qty if self.qty else None

    def unrealised(self, mark: Decimal) -> Decimal:
        """Return the P&L of the quantity held at ``mark``."""
        return self.qty * mark - self.cost

    def buy(self, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        """Add ``qty`` bought at ``price`` (and its fee)."""
        self.qty += qty
        self.cost += qty * price
        self.fees += fee

    def sell(self, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        """Remove ``qty`` sold at ``price``; the P&L against average cost is realised.

        Raises
        ------
        InvalidValueError
            When ``qty`` is more than is held (accounts are long-only).
        """
        if qty > self.qty:
            raise InvalidValueError(f"cannot sell {qty} {self.symbol}, only {self.qty} held")
        basis = self.cost if qty == self.qty else self.cost * qty / self.qty
        self.realised += qty * price - basis
        self.cost -= basis
        self.qty -= qty
        self.fees += fee

    def split(self, ratio: Decimal) -> None:
        """Apply a split of ``ratio`` new units per old one: the quantity changes, the cost
        basis does not."""
        self.qty *= ratio


@dataclass(slots=True)
class Account:
    """A cash account holding positions, in the portfolio's currency."""

    name: str
    cash: Decimal
    holdings: dict[str, Holding] = field(default_factory=dict)

    def holding(self, symbol: str) -> Holding:
        """Return the holding of ``symbol``, created flat when new."""
        found = self.holdings.get(symbol)
        if found is None:
            found = self.holdings[symbol] = Holding(symbol)
        return found

    def qty(self, symbol: str) -> Decimal:
        """Return the quantity of ``symbol`` held (0 when none)."""
        found = self.holdings.get(symbol)
        return found.qty if found is not None else _ZERO

    def market_value(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Return the value of the holdings at ``marks`` (a holding without a mark counts
        at its cost)."""
        total = _ZERO
        for symbol, held in self.holdings.items():
            if held.qty:
                mark = marks.get(symbol)
                total += held.cost if mark is None else held.qty * mark
        return total

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Return cash plus the holdings' market value."""
        return self.cash + self.market_value(marks)


class Portfolio:
    """Accounts counted in one base currency.

    Parameters
    ----------
    currency
        The base currency: cash, prices, fees and P&L are all in it.
    cash
        Each account's starting cash, by account name.

    Raises
    ------
    ConfigError
        For no account, or starting cash that is not positive.
    """

    def __init__(self, currency: str, cash: Mapping[str, Decimal]) -> None:
        if not cash:
            raise ConfigError("a portfolio needs at least one account")
        self.currency = currency.upper()
        self.accounts: dict[str, Account] = {}
        for name, amount in cash.items():
            if not amount > 0:
                raise ConfigError(f"starting cash of account {name!r} must be > 0, was {amount}")
            self.accounts[name] = Account(name, Decimal(amount))
        self.starting_capital = sum(cash.values(), _ZERO)

    def __repr__(self) -> str:
        return f"Portfolio({self.currency}, accounts={list(self.accounts)})"

    def account(self, name: str) -> Account:
        """Return the account ``name``.

        Raises
        ------
        ConfigError
            For an unknown account, naming the known ones.
        """
        try:
            return self.accounts[name]
        except KeyError:
            raise ConfigError(
                f"no account {name!r} in the portfolio; accounts: {', '.join(self.accounts)}"
            ) from None

    @property
    def cash(self) -> Decimal:
        """Return the cash of every account."""
        return sum((a.cash for a in self.accounts.values()), _ZERO)

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Return the equity of every account at ``marks``."""
        return sum((a.equity(marks) for a in self.accounts.values()), _ZERO)

    def holdings(self) -> Iterator[tuple[Account, Holding]]:
        """Yield every (account, holding) pair, flat ones included."""
        for account in self.accounts.values():
            for held in account.holdings.values():
                yield account, held
