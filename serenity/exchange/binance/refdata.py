"""Binance spot reference data: products and their filters from ``exchangeInfo``.

``GET /api/v3/exchangeInfo`` answers an object whose ``symbols`` array lists every spot
symbol with its ``status``, ``baseAsset``, ``quoteAsset`` and ``filters``. The
``PRICE_FILTER`` filter gives the price tick (``tickSize``), the ``LOT_SIZE`` filter the
quantity step (``stepSize``), minimum (``minQty``) and maximum (``maxQty``), and the
``NOTIONAL`` (formerly ``MIN_NOTIONAL``) filter the smallest ``price * qty``
(``minNotional``). Symbols no longer trading stay in the list with a status other than
``TRADING`` (``BREAK`` for a delisted pair).

Binance writes prices and quantities as decimal strings and takes them the same way: an
order's values are written by :func:`format_decimal`, on the instrument's grid, never in
exponent form.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from serenity.errors import DataError
from serenity.exchange import _fields as f
from serenity.exchange.binance.endpoints import VENUE
from serenity.exchange.product import Product, ProductCatalog
from serenity.model.enums import InstrumentStatus, InstrumentType

__all__ = ["format_decimal", "parse_exchange_info"]

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
        max_qty=_positive(f.optional_decimal(VENUE, f"{where}.LOT_SIZE", lot, "maxQty")),
        min_notional=_min_notional(where, filters),
    )


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def _min_notional(where: str, filters: Mapping[str, Mapping[str, Any]]) -> Decimal | None:
    for kind in ("NOTIONAL", "MIN_NOTIONAL"):
        found = filters.get(kind)
        if found is not None:
            return _positive(f.optional_decimal(VENUE, f"{where}.{kind}", found, "minNotional"))
    return None


def _filter(where: str, filters: Mapping[str, Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    try:
        return filters[kind]
    except KeyError:
        raise DataError(f"{VENUE}: {where}.filters has no {kind}") from None


def format_decimal(value: Decimal) -> str:
    """Return ``value`` as Binance reads a decimal: plain digits, no exponent, no trailing
    zeros (``Decimal("1E+1")`` is ``"10"``, ``Decimal("0.50")`` is ``"0.5"``)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
