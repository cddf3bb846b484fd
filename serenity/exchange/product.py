"""What a venue lists: products parsed from its reference-data endpoints, as plain values.

Each venue module (:mod:`serenity.exchange.phemex`, :mod:`~serenity.exchange.coinbase`,
:mod:`~serenity.exchange.binance`) turns its own product payloads into a
:class:`ProductCatalog`; :mod:`serenity.db.refdata` loads a catalog into the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from serenity.errors import DataError
from serenity.model.enums import InstrumentStatus, InstrumentType
from serenity.model.refdata import instrument_code

__all__ = ["Product", "ProductCatalog"]

_FUTURES = (InstrumentType.PERPETUAL_FUTURE, InstrumentType.DATED_FUTURE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """One product as a venue lists it, with its domain instrument's identity.

    ``tick_size`` is the price increment and ``lot_size`` the quantity increment, both in real
    (unscaled) units; ``min_qty`` the smallest order quantity when the venue gives one.
    ``price_scale`` is the power of ten the venue scales integer prices by, if it does.
    ``min_notional`` is the smallest ``price * qty`` of an order and ``max_qty`` the largest
    quantity, when the venue gives them. ``contract_size`` is, for a derivative, the value of
    one contract: in the quote currency for a linear contract, and for an inverse contract
    (settled in its base currency, such as Phemex's ``BTCUSD``) in the quote currency too
    (one contract is worth ``contract_size`` USD).
    """

    venue: str
    symbol: str
    instrument_type: InstrumentType
    base: str
    quote: str
    status: InstrumentStatus
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal | None = None
    price_scale: int | None = None
    settle: str | None = None
    contract_size: Decimal | None = None
    expiry: dt.datetime | None = None
    min_notional: Decimal | None = None
    max_qty: Decimal | None = None

    def __post_init__(self) -> None:
        where = f"{self.venue}: product {self.symbol!r}"
        if not self.symbol or not self.base or not self.quote:
            raise DataError(f"{where} needs a symbol, base and quote, was {self!r}")
        for name in (
            "tick_size",
            "lot_size",
            "min_qty",
            "contract_size",
            "min_notional",
            "max_qty",
        ):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value < 0):
                raise DataError(f"{where}: {name} must be a number >= 0, was {value}")
        if self.instrument_type in _FUTURES and not self.settle:
            raise DataError(f"{where}: a {self.instrument_type} needs a settlement currency")
        if self.instrument_type is InstrumentType.DATED_FUTURE and self.expiry is None:
            raise DataError(f"{where}: a dated future needs an expiry")

    @property
    def instrument_code(self) -> str:
        """Return the code of the venue-independent instrument this product trades."""
        return instrument_code(
            self.instrument_type,
            self.base,
            quote=self.quote,
            settle=self.settle,
            contract_size=self.contract_size,
            expiry=self.expiry,
        )

    @property
    def is_inverse(self) -> bool:
        """Return True for an inverse contract: a future settled in its base currency."""
        return self.instrument_type in _FUTURES and self.settle == self.base

    @property
    def currencies(self) -> tuple[str, ...]:
        """Return the codes of the currencies this product involves."""
        return tuple(c for c in (self.base, self.quote, self.settle) if c)


@dataclass(frozen=True, slots=True)
class ProductCatalog:
    """Everything one venue lists: its products and the currency codes it knows.

    ``currencies`` always includes every currency a product uses.
    """

    venue: str
    products: tuple[Product, ...]
    currencies: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for product in self.products:
            if product.venue != self.venue:
                raise DataError(
                    f"{self.venue}: catalog holds a product of {product.venue!r}: {product.symbol}"
                )
            if product.symbol in seen:
                raise DataError(f"{self.venue}: symbol {product.symbol!r} is listed twice")
            seen.add(product.symbol)
        codes = dict.fromkeys(self.currencies)
        for product in self.products:
            codes.update(dict.fromkeys(product.currencies))
        object.__setattr__(self, "currencies", tuple(codes))

    @classmethod
    def of(
        cls, venue: str, products: Iterable[Product], currencies: Iterable[str] = ()
    ) -> ProductCatalog:
        """Return a catalog from any iterables of products and currency codes."""
        return cls(venue, tuple(products), tuple(currencies))

    def get(self, symbol: str) -> Product | None:
        """Return the product listed under ``symbol``, or None."""
        return next((p for p in self.products if p.symbol == symbol), None)
