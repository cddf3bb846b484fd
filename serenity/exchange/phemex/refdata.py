"""Phemex reference data: products, currencies and the scales of their integer fields.

``GET /public/products`` answers ``{"code": 0, "msg": ..., "data": {...}}`` where ``data``
holds ``currencies`` (each with its ``valueScale``), ``products`` (spot pairs such as
``sBTCUSDT`` and the coin-margined ``Perpetual`` contracts such as ``BTCUSD``) and, in the
current API, ``perpProductsV2`` (USDT-margined ``PerpetualV2`` contracts with real-valued
fields). Coin-margined contracts and spot send prices as scaled integers (``...Ep`` fields):
the real price is ``Ep / 10**priceScale``, with ``priceScale`` read from each product; ratios
(``...Er``) use ``ratioScale`` and values (``...Ev``) a currency's ``valueScale`` (the
settlement currency's for contracts; for spot, the base currency's for base quantities and
the quote currency's for quote amounts). The 2021 payload
(``/exchange/public/cfg/v2/products``) has the same shape without ``perpProductsV2``, and
omits ``priceScale`` on spot pairs, whose prices Phemex documents as scaled by 1e8.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum, unique
from typing import Any, Final

from serenity.errors import DataError, InvalidValueError, UnknownSymbolError, VenueError
from serenity.exchange import _fields as f
from serenity.exchange.phemex.endpoints import VENUE
from serenity.exchange.product import Product, ProductCatalog
from serenity.model.enums import InstrumentStatus, InstrumentType

__all__ = [
    "SPOT_PRICE_SCALE",
    "PhemexInstrument",
    "PhemexRefdata",
    "PhemexScales",
    "ProductKind",
    "parse_instruments",
    "parse_products",
    "parse_scales",
    "scale",
    "unscale",
]

SPOT_PRICE_SCALE: Final = 8
"""Spot ``...Ep`` prices are scaled by 1e8 ("all spot symbols use the same price scale"); used
only when a payload omits a spot pair's ``priceScale``, as the 2021 one does."""

_TYPES: Final[Mapping[str, InstrumentType]] = {
    "Spot": InstrumentType.CURRENCY_PAIR,
    "Perpetual": InstrumentType.PERPETUAL_FUTURE,
    "PerpetualV2": InstrumentType.PERPETUAL_FUTURE,
}
_STATUSES: Final[Mapping[str, InstrumentStatus]] = {
    "Listed": InstrumentStatus.TRADING,
    "Delisted": InstrumentStatus.DELISTED,
}


@unique
class ProductKind(StrEnum):
    """Which Phemex API trades a product: its orders, fields and private stream differ."""

    SPOT = "Spot"
    """``/spot/orders``, ``priceEp`` and ``baseQtyEv``; the ``wo.subscribe`` stream."""
    PERPETUAL = "Perpetual"
    """Coin-margined contracts: ``/orders``, ``priceEp`` and integer ``orderQty``; ``aop``."""
    PERPETUAL_V2 = "PerpetualV2"
    """USDT-margined contracts: ``/g-orders``, real-valued ``priceRp`` and ``orderQtyRq``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhemexScales:
    """The powers of ten one product's scaled integers use.

    ``price_scale`` for ``...Ep`` prices, ``ratio_scale`` for ``...Er`` ratios and
    ``value_scale`` for ``...Ev`` values (the settlement currency's for contracts, the quote
    currency's for spot). ``qty_scale`` is the power of ten of an order quantity: the base
    currency's ``valueScale`` for spot (``baseQtyEv``), 0 for contracts (whole contracts).
    """

    price_scale: int
    ratio_scale: int
    value_scale: int
    qty_scale: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PhemexInstrument:
    """What an order connector needs to know of one product: its API and its scales.

    ``value_currency`` is the currency of the product's ``...Ev`` values (settlement
    currency of a contract, quote currency of a spot pair).
    """

    symbol: str
    kind: ProductKind
    base: str
    quote: str
    value_currency: str
    scales: PhemexScales

    def price_ep(self, price: Decimal) -> int:
        """Return ``price`` as this product's scaled ``...Ep`` integer.

        Raises
        ------
        InvalidValueError
            When ``price`` has more decimals than the price scale allows.
        """
        return scale(price, self.scales.price_scale)

    def qty_wire(self, qty: Decimal) -> int:
        """Return an order quantity as sent: whole contracts, or ``baseQtyEv`` for spot.

        Raises
        ------
        InvalidValueError
            When ``qty`` has more decimals than the quantity scale allows.
        """
        return scale(qty, self.scales.qty_scale)

    def price(self, ep: int) -> Decimal:
        """Return the real price of a scaled ``...Ep`` integer."""
        return unscale(ep, self.scales.price_scale)

    def qty(self, wire: int) -> Decimal:
        """Return the real quantity of a wire quantity (contracts or ``...Ev`` base units)."""
        return unscale(wire, self.scales.qty_scale)


@dataclass(frozen=True, slots=True)
class PhemexRefdata:
    """Every product's :class:`PhemexInstrument`, and each currency's ``valueScale``."""

    instruments: Mapping[str, PhemexInstrument]
    value_scales: Mapping[str, int]

    def instrument(self, symbol: str) -> PhemexInstrument:
        """Return the instrument listed as ``symbol``.

        Raises
        ------
        UnknownSymbolError
            When Phemex lists no such product, with the closest symbol as a hint.
        """
        found = self.instruments.get(symbol)
        if found is None:
            close = difflib.get_close_matches(symbol, list(self.instruments), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UnknownSymbolError(f"unknown symbol {symbol!r} on {VENUE}{hint}")
        return found

    def value_scale(self, currency: str) -> int:
        """Return the power of ten of ``currency``'s ``...Ev`` values.

        Raises
        ------
        UnknownSymbolError
            When the currency is not listed.
        """
        try:
            return self.value_scales[currency]
        except KeyError:
            raise UnknownSymbolError(f"unknown currency {currency!r} on {VENUE}") from None

    def value(self, ev: int, currency: str) -> Decimal:
        """Return the real amount of a scaled ``...Ev`` value of ``currency``."""
        return unscale(ev, self.value_scale(currency))


def unscale(scaled: int, power: int) -> Decimal:
    """Return the real value of a scaled integer: ``scaled / 10**power``, exactly."""
    return Decimal(scaled).scaleb(-power)


def scale(value: Decimal | int | str, power: int) -> int:
    """Return ``value * 10**power`` as the integer Phemex expects.

    Raises
    ------
    InvalidValueError
        When ``value`` has more decimals than ``power`` allows.
    """
    scaled = Decimal(value).scaleb(power)
    if scaled != scaled.to_integral_value():
        raise InvalidValueError(f"{VENUE}: {value} has more than {power} decimals; round it first")
    return int(scaled)


def parse_products(payload: Any) -> ProductCatalog:
    """Return the catalog in a ``/public/products`` response (parsed JSON).

    Raises
    ------
    VenueError
        When the response carries a non-zero ``code``.
    DataError
        When a field is missing or malformed, or a product type or status is unknown; the
        message names the field.
    """
    data, value_scales = _data(payload)
    products: dict[str, Product] = {}
    for where, obj in _entries(data):
        product = _parse_product(where, obj, value_scales)
        previous = products.get(product.symbol)
        if previous is not None and not where.startswith("data.perpProductsV2"):
            raise DataError(f"{VENUE}: symbol {product.symbol!r} is listed twice ({where})")
        products[product.symbol] = product  # a perpProductsV2 entry supersedes its summary
    return ProductCatalog.of(VENUE, products.values(), value_scales.keys())


def parse_instruments(payload: Any) -> PhemexRefdata:
    """Return every product's API and scales, and the currencies' value scales.

    Raises
    ------
    VenueError, DataError
        As :func:`parse_products`.
    """
    data, value_scales = _data(payload)
    default_ratio = f.integer(VENUE, "data", data, "ratioScale") if "ratioScale" in data else 8
    instruments: dict[str, PhemexInstrument] = {}
    for where, obj in _entries(data):
        symbol = f.text(VENUE, where, obj, "symbol")
        where = f"{where} ({symbol})"
        kind = f.spelling(VENUE, f"{where}.type", _KINDS, f.get(VENUE, where, obj, "type"))
        quote = f.text(VENUE, where, obj, "quoteCurrency")
        ratio = f.integer(VENUE, where, obj, "ratioScale") if "ratioScale" in obj else default_ratio
        if kind is ProductKind.SPOT:
            base = f.text(VENUE, where, obj, "baseCurrency")
            value_currency = quote
            price_scale = _spot_price_scale(obj, where)
            qty_scale = _value_scale(value_scales, where, base)
        else:
            settle = f.text(VENUE, where, obj, "settleCurrency")
            base = _contract_base(obj, where, quote, settle)
            value_currency = settle
            price_scale = f.integer(VENUE, where, obj, "priceScale")
            qty_scale = 0
        value_scale = (
            0
            if kind is ProductKind.PERPETUAL_V2
            else _value_scale(value_scales, where, value_currency)
        )
        instruments[symbol] = PhemexInstrument(
            symbol=symbol,
            kind=kind,
            base=base,
            quote=quote,
            value_currency=value_currency,
            scales=PhemexScales(
                price_scale=price_scale,
                ratio_scale=ratio,
                value_scale=value_scale,
                qty_scale=qty_scale,
            ),
        )
    return PhemexRefdata(instruments, value_scales)


def parse_scales(payload: Any) -> dict[str, PhemexScales]:
    """Return each scaled-price product's scales, by symbol, from a ``/public/products`` response.

    ``PerpetualV2`` products use real values and are left out.

    Raises
    ------
    VenueError, DataError
        As :func:`parse_products`.
    """
    refdata = parse_instruments(payload)
    return {
        symbol: instrument.scales
        for symbol, instrument in refdata.instruments.items()
        if instrument.kind is not ProductKind.PERPETUAL_V2
    }


_KINDS: Final[Mapping[str, ProductKind]] = {kind.value: kind for kind in ProductKind}


def _entries(data: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    raw_products = f.as_list(VENUE, "data.products", f.get(VENUE, "data", data, "products"))
    raw_v2 = f.as_list(VENUE, "data.perpProductsV2", data.get("perpProductsV2") or [])
    out: list[tuple[str, Mapping[str, Any]]] = []
    for name, rows in (("data.products", raw_products), ("data.perpProductsV2", raw_v2)):
        for i, raw in enumerate(rows):
            where = f"{name}[{i}]"
            out.append((where, f.as_mapping(VENUE, where, raw)))
    return out


def _data(payload: Any) -> tuple[Mapping[str, Any], dict[str, int]]:
    body = f.as_mapping(VENUE, "response", payload)
    code = body.get("code", 0)
    if code != 0:
        raise VenueError(f"{VENUE}: products request failed: {body.get('msg')!r}", code=code)
    data = f.as_mapping(VENUE, "data", f.get(VENUE, "response", body, "data"))
    value_scales: dict[str, int] = {}
    raw_currencies = f.as_list(VENUE, "data.currencies", f.get(VENUE, "data", data, "currencies"))
    for i, raw in enumerate(raw_currencies):
        where = f"data.currencies[{i}]"
        obj = f.as_mapping(VENUE, where, raw)
        value_scales[f.text(VENUE, where, obj, "currency")] = f.integer(
            VENUE, where, obj, "valueScale"
        )
    return data, value_scales


def _value_scale(value_scales: Mapping[str, int], where: str, currency: str) -> int:
    try:
        return value_scales[currency]
    except KeyError:
        raise DataError(
            f"{VENUE}: {where} uses currency {currency!r} missing from data.currencies"
        ) from None


def _contract_base(obj: Mapping[str, Any], where: str, quote: str, settle: str) -> str:
    """Return a contract's base currency: given, or read from its underlying asset."""
    if obj.get("baseCurrency"):
        return str(obj["baseCurrency"])
    underlying = f.text(VENUE, where, obj, "contractUnderlyingAssets")
    # An inverse contract is sized in the quote currency (BTCUSD: 1 USD, settled in BTC).
    return settle if underlying == quote else underlying


def _spot_price_scale(obj: Mapping[str, Any], where: str) -> int:
    if "priceScale" in obj:
        return f.integer(VENUE, where, obj, "priceScale")
    return SPOT_PRICE_SCALE


def _parse_product(where: str, obj: Mapping[str, Any], value_scales: Mapping[str, int]) -> Product:
    symbol = f.text(VENUE, where, obj, "symbol")
    where = f"{where} ({symbol})"
    kind = f.get(VENUE, where, obj, "type")
    instrument_type = f.spelling(VENUE, f"{where}.type", _TYPES, kind)
    status = f.spelling(VENUE, f"{where}.status", _STATUSES, f.get(VENUE, where, obj, "status"))
    quote = f.text(VENUE, where, obj, "quoteCurrency")
    if instrument_type is InstrumentType.CURRENCY_PAIR:
        base = f.text(VENUE, where, obj, "baseCurrency")
        price_scale = _spot_price_scale(obj, where)
        tick = _amount(obj, where, "quoteTickSize", price_scale)
        lot = _amount(obj, where, "baseTickSize", _value_scale(value_scales, where, base))
        return Product(
            venue=VENUE,
            symbol=symbol,
            instrument_type=instrument_type,
            base=base,
            quote=quote,
            status=status,
            tick_size=tick,
            lot_size=lot,
            price_scale=price_scale,
        )
    settle = f.text(VENUE, where, obj, "settleCurrency")
    if kind == "PerpetualV2":
        base = obj.get("baseCurrency") or f.text(VENUE, where, obj, "contractUnderlyingAssets")
        lot = f.decimal(VENUE, where, obj, "qtyStepSize")
        contract_size = Decimal(1)
    else:
        base = _contract_base(obj, where, quote, settle)
        lot = f.decimal(VENUE, where, obj, "lotSize")
        contract_size = f.decimal(VENUE, where, obj, "contractSize")
    return Product(
        venue=VENUE,
        symbol=symbol,
        instrument_type=instrument_type,
        base=str(base),
        quote=quote,
        status=status,
        tick_size=f.decimal(VENUE, where, obj, "tickSize"),
        lot_size=lot,
        min_qty=lot,
        price_scale=f.integer(VENUE, where, obj, "priceScale"),
        settle=settle,
        contract_size=contract_size,
    )


def _amount(obj: Mapping[str, Any], where: str, key: str, power: int) -> Decimal:
    """Read ``"0.01 USDT"``-style text, or else its scaled twin ``<key>Ev``."""
    raw = obj.get(key)
    if isinstance(raw, str) and raw.strip():
        return f.to_decimal(VENUE, f"{where}.{key}", raw.split()[0].replace(",", ""))
    if f"{key}Ev" in obj:
        return unscale(f.integer(VENUE, where, obj, f"{key}Ev"), power)
    raise DataError(f"{VENUE}: {where}.{key} is missing (and so is {key}Ev)")
