"""How an instrument's quantity and price turn into money: linear and inverse contracts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from serenity.exchange.product import Product
from serenity.model import InstrumentId

__all__ = ["ContractSpec"]

_ONE: Final = Decimal(1)


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """The money arithmetic of one instrument.

    A *linear* instrument (spot, USDT-margined futures) is worth ``qty * multiplier * price``
    in its quote currency; an *inverse* one (a future settled in its base currency, such as
    Phemex's ``BTCUSD``, one USD per contract) is worth ``qty * multiplier / price`` in its
    settlement currency. P&L and fees are in :attr:`currency`: the quote currency of a spot
    pair, the settlement currency of a future.

    Attributes
    ----------
    instrument
        The instrument.
    currency
        The currency P&L and fees are counted in.
    multiplier
        The contract size (1 for spot).
    is_inverse
        True for an inverse contract.
    """

    instrument: InstrumentId
    currency: str
    multiplier: Decimal = _ONE
    is_inverse: bool = False

    @classmethod
    def of(
        cls, instrument: InstrumentId, product: Product | None, *, default_currency: str = "USD"
    ) -> ContractSpec:
        """Return the spec from a venue listing, or a linear spec in ``default_currency``."""
        if product is None:
            return cls(instrument, default_currency)
        return cls(
            instrument,
            product.settle or product.quote,
            product.contract_size or _ONE,
            product.is_inverse,
        )

    def notional(self, qty: Decimal, price: Decimal) -> Decimal:
        """Return the value of ``qty`` at ``price`` in :attr:`currency` (unsigned)."""
        if self.is_inverse:
            return abs(qty) * self.multiplier / price
        return abs(qty) * self.multiplier * price

    def pnl(self, qty: Decimal, entry: Decimal, exit: Decimal) -> Decimal:
        """Return the P&L of a position of ``qty`` (signed) from ``entry`` to ``exit``."""
        if self.is_inverse:
            return qty * self.multiplier * (_ONE / entry - _ONE / exit)
        return qty * self.multiplier * (exit - entry)

    def average_entry(
        self, qty: Decimal, avg: Decimal, add_qty: Decimal, price: Decimal
    ) -> Decimal:
        """Return the average entry of ``qty`` at ``avg`` plus ``add_qty`` at ``price``
        (both unsigned): weighted by quantity, or harmonically for an inverse contract."""
        total = qty + add_qty
        if self.is_inverse:
            return total / (qty / avg + add_qty / price)
        return (qty * avg + add_qty * price) / total
