"""Coinbase Exchange (formerly Coinbase Pro): endpoints and product parsing. Opens no sockets.

``GET /products`` answers a JSON array of spot products: ``id`` (``"BTC-USD"``),
``base_currency``, ``quote_currency``, ``quote_increment`` (the price tick),
``base_increment`` (the size step), ``status`` (``online``, ``offline``, ``internal``,
``delisted``) and the flags ``trading_disabled``, ``cancel_only``, ``limit_only``,
``post_only`` and ``auction_mode``. ``base_min_size`` was removed in 2022 but older payloads
carry it. ``GET /currencies`` answers an array of currencies with ``id`` and ``name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from serenity.exchange import _fields as f
from serenity.exchange.endpoints import Endpoints, Environment
from serenity.exchange.product import Product, ProductCatalog
from serenity.model.enums import InstrumentStatus, InstrumentType

__all__ = [
    "NAME",
    "CURRENCIES_PATH",
    "ENDPOINTS",
    "PRODUCTS_PATH",
    "PROD",
    "TESTNET",
    "VENUE",
    "parse_currencies",
    "parse_products",
]

VENUE: Final = "coinbase"
NAME: Final = "Coinbase Exchange"
PROD: Final = Endpoints(
    rest="https://api.exchange.coinbase.com", ws="wss://ws-feed.exchange.coinbase.com"
)
TESTNET: Final = Endpoints(
    rest="https://api-public.sandbox.exchange.coinbase.com",
    ws="wss://ws-feed-public.sandbox.exchange.coinbase.com",
)
ENDPOINTS: Final[Mapping[Environment, Endpoints]] = {
    Environment.PROD: PROD,
    Environment.TESTNET: TESTNET,
}
PRODUCTS_PATH: Final = "/products"
CURRENCIES_PATH: Final = "/currencies"

_STATUSES: Final[Mapping[str, InstrumentStatus]] = {
    "online": InstrumentStatus.TRADING,
    "offline": InstrumentStatus.HALTED,
    "internal": InstrumentStatus.HALTED,
    "delisted": InstrumentStatus.DELISTED,
}


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
    status = f.spelling(VENUE, f"{where}.status", _STATUSES, f.get(VENUE, where, obj, "status"))
    if status is InstrumentStatus.TRADING:
        if obj.get("trading_disabled") or obj.get("cancel_only"):
            status = InstrumentStatus.HALTED
        elif obj.get("auction_mode"):
            status = InstrumentStatus.PRE_TRADING
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
    )
