"""Binance spot: endpoints and product parsing. Opens no sockets.

``GET /api/v3/exchangeInfo`` answers an object whose ``symbols`` array lists every spot
symbol with its ``status``, ``baseAsset``, ``quoteAsset`` and ``filters``. The
``PRICE_FILTER`` filter gives the price tick (``tickSize``) and the ``LOT_SIZE`` filter the
quantity step (``stepSize``) and minimum (``minQty``). Symbols no longer trading stay in the
list with a status other than ``TRADING`` (``BREAK`` for a delisted pair).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from serenity.errors import DataError
from serenity.exchange import _fields as f
from serenity.exchange.endpoints import Endpoints, Environment
from serenity.exchange.product import Product, ProductCatalog
from serenity.model.enums import InstrumentStatus, InstrumentType

__all__ = [
    "NAME",
    "ENDPOINTS",
    "EXCHANGE_INFO_PATH",
    "PROD",
    "TESTNET",
    "VENUE",
    "parse_exchange_info",
]

VENUE: Final = "binance"
NAME: Final = "Binance"
PROD: Final = Endpoints(rest="https://api.binance.com", ws="wss://stream.binance.com:9443")
TESTNET: Final = Endpoints(
    rest="https://testnet.binance.vision", ws="wss://stream.testnet.binance.vision"
)
ENDPOINTS: Final[Mapping[Environment, Endpoints]] = {
    Environment.PROD: PROD,
    Environment.TESTNET: TESTNET,
}
EXCHANGE_INFO_PATH: Final = "/api/v3/exchangeInfo"

_STATUSES: Final[Mapping[str, InstrumentStatus]] = {
    "PRE_TRADING": InstrumentStatus.PRE_TRADING,
    "TRADING": InstrumentStatus.TRADING,
    "POST_TRADING": InstrumentStatus.HALTED,
    "END_OF_DAY": InstrumentStatus.HALTED,
    "HALT": InstrumentStatus.HALTED,
    "AUCTION_MATCH": InstrumentStatus.HALTED,
    "BREAK": InstrumentStatus.HALTED,
}


def parse_exchange_info(payload: Any) -> ProductCatalog:
    """Return the catalog in an ``/api/v3/exchangeInfo`` response (parsed JSON).

    Raises
    ------
    DataError
        When a field is missing or malformed, a symbol lacks its ``PRICE_FILTER`` or
        ``LOT_SIZE`` filter, or a status is unknown; the message names the field.
    """
    body = f.as_mapping(VENUE, "exchangeInfo response", payload)
    symbols = f.as_list(VENUE, "symbols", f.get(VENUE, "exchangeInfo", body, "symbols"))
    products = []
    for i, raw in enumerate(symbols):
        where = f"symbols[{i}]"
        obj = f.as_mapping(VENUE, where, raw)
        products.append(_parse_symbol(f"{where} ({obj.get('symbol')})", obj))
    return ProductCatalog.of(VENUE, products)


def _parse_symbol(where: str, obj: Mapping[str, Any]) -> Product:
    filters: dict[str, Mapping[str, Any]] = {}
    for j, raw in enumerate(
        f.as_list(VENUE, f"{where}.filters", f.get(VENUE, where, obj, "filters"))
    ):
        item = f.as_mapping(VENUE, f"{where}.filters[{j}]", raw)
        filters[str(item.get("filterType"))] = item
    price = _filter(where, filters, "PRICE_FILTER")
    lot = _filter(where, filters, "LOT_SIZE")
    return Product(
        venue=VENUE,
        symbol=f.text(VENUE, where, obj, "symbol"),
        instrument_type=InstrumentType.CURRENCY_PAIR,
        base=f.text(VENUE, where, obj, "baseAsset"),
        quote=f.text(VENUE, where, obj, "quoteAsset"),
        status=f.spelling(VENUE, f"{where}.status", _STATUSES, f.get(VENUE, where, obj, "status")),
        tick_size=f.decimal(VENUE, f"{where}.PRICE_FILTER", price, "tickSize"),
        lot_size=f.decimal(VENUE, f"{where}.LOT_SIZE", lot, "stepSize"),
        min_qty=f.decimal(VENUE, f"{where}.LOT_SIZE", lot, "minQty"),
    )


def _filter(where: str, filters: Mapping[str, Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    try:
        return filters[kind]
    except KeyError:
        raise DataError(f"{VENUE}: {where}.filters has no {kind}") from None
