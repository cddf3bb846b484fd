"""Coinbase Exchange reference data: products, currencies, and prices and sizes on increments.

``GET /products`` answers a JSON array of spot products: ``id`` (``"BTC-USD"``),
``base_currency``, ``quote_currency``, ``quote_increment`` (the price tick),
``base_increment`` (the size step), ``min_market_funds`` (since June 2022 the smallest
notional of an order, in the quote currency), ``status`` (``online``, ``offline``,
``internal``, ``delisted``) and the flags ``trading_disabled``, ``cancel_only``,
``limit_only``, ``post_only`` and ``auction_mode``. ``base_min_size`` and ``base_max_size``
were removed in 2022 but older payloads carry them. ``GET /currencies`` answers an array of
currencies with ``id`` and ``name``.

Prices and sizes are decimal strings in real units: Coinbase scales nothing. An order's
price must be a multiple of ``quote_increment`` and its size of ``base_increment``;
:func:`format_price` and :func:`format_size` write them with exactly the increment's decimals
and refuse a value off the grid (the order connector has refused such an order before, with
:func:`serenity.trading.check_order`, so this is the last line).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from serenity.errors import InvalidValueError
from serenity.exchange import _fields as f
from serenity.exchange.coinbase.endpoints import VENUE
from serenity.exchange.coinbase.enums import PRODUCT_STATUSES
from serenity.exchange.product import Product, ProductCatalog
from serenity.model.enums import InstrumentStatus, InstrumentType

__all__ = [
    "format_price",
    "format_size",
    "format_to_increment",
    "parse_currencies",
    "parse_products",
]


def parse_currencies(payload: Any) -> tuple[str, ...]:
    """Return the currency codes in a ``/currencies`` response (parsed JSON).

    Raises
    ------
    DataError
        When the response is not an array of objects with an ``id``.
    """
    codes = []
    for i, raw in enumerate(f.as_list(VENUE, "currencies response", payload)):
        where = f"currencies[{i}]"
        codes.append(f.text(VENUE, where, f.as_mapping(VENUE, where, raw), "id"))
    return tuple(codes)


def parse_products(products: Any, currencies: Any = None) -> ProductCatalog:
    """Return the catalog in a ``/products`` response and, optionally, a ``/currencies`` one.

    Raises
    ------
    DataError
        When a field is missing or malformed, or a status is unknown; the message names the
        field.
    """
    parsed = []
    for i, raw in enumerate(f.as_list(VENUE, "products response", products)):
        where = f"products[{i}]"
        obj = f.as_mapping(VENUE, where, raw)
        parsed.append(_parse_product(f"{where} ({obj.get('id')})", obj))
    codes = parse_currencies(currencies) if currencies is not None else ()
    return ProductCatalog.of(VENUE, parsed, codes)


def _parse_product(where: str, obj: Mapping[str, Any]) -> Product:
    status = f.spelling(
        VENUE, f"{where}.status", PRODUCT_STATUSES, f.get(VENUE, where, obj, "status")
    )
    if status is InstrumentStatus.TRADING:
        if obj.get("trading_disabled") or obj.get("cancel_only"):
            status = InstrumentStatus.HALTED
        elif obj.get("auction_mode"):
            status = InstrumentStatus.PRE_TRADING
    min_funds = f.optional_decimal(VENUE, where, obj, "min_market_funds")
    return Product(
        venue=VENUE,
        symbol=f.text(VENUE, where, obj, "id"),
        instrument_type=InstrumentType.CURRENCY_PAIR,
        base=f.text(VENUE, where, obj, "base_currency"),
        quote=f.text(VENUE, where, obj, "quote_currency"),
        status=status,
        tick_size=f.decimal(VENUE, where, obj, "quote_increment"),
        lot_size=f.decimal(VENUE, where, obj, "base_increment"),
        min_qty=f.optional_decimal(VENUE, where, obj, "base_min_size"),
        max_qty=f.optional_decimal(VENUE, where, obj, "base_max_size"),
        min_notional=min_funds if min_funds else None,
    )


def format_to_increment(value: Decimal, increment: Decimal, *, what: str) -> str:
    """Return ``value`` as a decimal string with exactly the decimals of ``increment``.

    Nothing is rounded: a value that is not a multiple of the increment is refused, as the
    venue would refuse it.

    Raises
    ------
    InvalidValueError
        When ``value`` is not finite and > 0, or not a multiple of ``increment``; the message
        names ``what``, the value and the increment.
    """
    if not value.is_finite() or value <= 0:
        raise InvalidValueError(f"{VENUE}: {what} must be a number > 0, was {value}")
    if increment > 0:
        if value % increment != 0:
            raise InvalidValueError(
                f"{VENUE}: {what} {value} is not a multiple of the increment {increment}"
            )
        exponent = increment.normalize().as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        value = value.quantize(Decimal(1).scaleb(min(exponent, 0)))
    text = format(value, "f")
    return text


def format_price(product: Product, price: Decimal, *, what: str = "price") -> str:
    """Return ``price`` on ``product``'s price grid (``quote_increment``) as Coinbase writes it.

    Raises
    ------
    InvalidValueError
        When the price is off the grid or not > 0.
    """
    return format_to_increment(price, product.tick_size, what=f"{product.symbol} {what}")


def format_size(product: Product, size: Decimal) -> str:
    """Return ``size`` on ``product``'s size grid (``base_increment``) as Coinbase writes it.

    Raises
    ------
    InvalidValueError
        When the size is off the grid or not > 0.
    """
    return format_to_increment(size, product.lot_size, what=f"{product.symbol} size")
