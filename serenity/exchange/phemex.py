"""Phemex: endpoints, product parsing and price scaling. Opens no sockets.

``GET /public/products`` answers ``{"code": 0, "msg": ..., "data": {...}}`` where ``data``
holds ``currencies`` (each with its ``valueScale``), ``products`` (spot pairs such as
``sBTCUSDT`` and the coin-margined ``Perpetual`` contracts such as ``BTCUSD``) and, in the
current API, ``perpProductsV2`` (USDT-margined ``PerpetualV2`` contracts with real-valued
fields). Coin-margined contracts and spot send prices as scaled integers (``...Ep`` fields):
the real price is ``Ep / 10**priceScale``; ratios (``...Er``) use ``ratioScale`` and values
(``...Ev``) the currency's ``valueScale``. The 2021 payload
(``/exchange/public/cfg/v2/products``) has the same shape without ``perpProductsV2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from serenity.errors import DataError, InvalidValueError, VenueError
from serenity.exchange import _fields as f
from serenity.exchange.endpoints import Endpoints, Environment
from serenity.exchange.product import Product, ProductCatalog
from serenity.model.enums import InstrumentStatus, InstrumentType

__all__ = [
    "NAME",
    "ENDPOINTS",
    "PRODUCTS_PATH",
    "PROD",
    "SPOT_PRICE_SCALE",
    "TESTNET",
    "VENUE",
    "PhemexScales",
    "parse_products",
    "parse_scales",
    "scale",
    "unscale",
]

VENUE: Final = "phemex"
NAME: Final = "Phemex"
PROD: Final = Endpoints(rest="https://api.phemex.com", ws="wss://ws.phemex.com")
TESTNET: Final = Endpoints(
    rest="https://testnet-api.phemex.com", ws="wss://testnet-api.phemex.com/ws"
)
ENDPOINTS: Final[Mapping[Environment, Endpoints]] = {
    Environment.PROD: PROD,
    Environment.TESTNET: TESTNET,
}
PRODUCTS_PATH: Final = "/public/products"
SPOT_PRICE_SCALE: Final = 8
"""Spot ``...Ep`` prices are scaled by 1e8; older payloads omit a spot ``priceScale``."""

_TYPES: Final[Mapping[str, InstrumentType]] = {
    "Spot": InstrumentType.CURRENCY_PAIR,
    "Perpetual": InstrumentType.PERPETUAL_FUTURE,
    "PerpetualV2": InstrumentType.PERPETUAL_FUTURE,
}
_STATUSES: Final[Mapping[str, InstrumentStatus]] = {
    "Listed": InstrumentStatus.TRADING,
    "Delisted": InstrumentStatus.DELISTED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PhemexScales:
    """The powers of ten one product's scaled integers use.

    ``price_scale`` for ``...Ep`` prices, ``ratio_scale`` for ``...Er`` ratios and
    ``value_scale`` for ``...Ev`` values (the settlement currency's for contracts, the quote
    currency's for spot).
    """

    price_scale: int
    ratio_scale: int
    value_scale: int


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
    raw_products = f.as_list(VENUE, "data.products", f.get(VENUE, "data", data, "products"))
    raw_v2 = f.as_list(VENUE, "data.perpProductsV2", data.get("perpProductsV2") or [])
    for where, raw in [(f"data.products[{i}]", r) for i, r in enumerate(raw_products)] + [
        (f"data.perpProductsV2[{i}]", r) for i, r in enumerate(raw_v2)
    ]:
        product = _parse_product(where, f.as_mapping(VENUE, where, raw), value_scales)
        previous = products.get(product.symbol)
        if previous is not None and not where.startswith("data.perpProductsV2"):
            raise DataError(f"{VENUE}: symbol {product.symbol!r} is listed twice ({where})")
        products[product.symbol] = product  # a perpProductsV2 entry supersedes its summary
    return ProductCatalog.of(VENUE, products.values(), value_scales.keys())


def parse_scales(payload: Any) -> dict[str, PhemexScales]:
    """Return each scaled-price product's scales, by symbol, from a ``/public/products`` response.

    ``PerpetualV2`` products use real values and are left out.

    Raises
    ------
    VenueError, DataError
        As :func:`parse_products`.
    """
    data, value_scales = _data(payload)
    default_ratio = f.integer(VENUE, "data", data, "ratioScale") if "ratioScale" in data else 8
    raw_products = f.as_list(VENUE, "data.products", f.get(VENUE, "data", data, "products"))
    scales: dict[str, PhemexScales] = {}
    for i, raw in enumerate(raw_products):
        where = f"data.products[{i}]"
        obj = f.as_mapping(VENUE, where, raw)
        kind = f.text(VENUE, where, obj, "type")
        if kind == "PerpetualV2":
            continue
        spot = kind == "Spot"
        currency = f.text(VENUE, where, obj, "quoteCurrency" if spot else "settleCurrency")
        has_price_scale = "priceScale" in obj or not spot
        scales[f.text(VENUE, where, obj, "symbol")] = PhemexScales(
            price_scale=(
                f.integer(VENUE, where, obj, "priceScale") if has_price_scale else SPOT_PRICE_SCALE
            ),
            ratio_scale=(
                f.integer(VENUE, where, obj, "ratioScale") if "ratioScale" in obj else default_ratio
            ),
            value_scale=_value_scale(value_scales, where, currency),
        )
    return scales


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


def _parse_product(where: str, obj: Mapping[str, Any], value_scales: Mapping[str, int]) -> Product:
    symbol = f.text(VENUE, where, obj, "symbol")
    where = f"{where} ({symbol})"
    kind = f.get(VENUE, where, obj, "type")
    instrument_type = f.spelling(VENUE, f"{where}.type", _TYPES, kind)
    status = f.spelling(VENUE, f"{where}.status", _STATUSES, f.get(VENUE, where, obj, "status"))
    quote = f.text(VENUE, where, obj, "quoteCurrency")
    if instrument_type is InstrumentType.CURRENCY_PAIR:
        base = f.text(VENUE, where, obj, "baseCurrency")
        price_scale = (
            f.integer(VENUE, where, obj, "priceScale") if "priceScale" in obj else SPOT_PRICE_SCALE
        )
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
        step = f.decimal(VENUE, where, obj, "qtyStepSize")
        return Product(
            venue=VENUE,
            symbol=symbol,
            instrument_type=instrument_type,
            base=str(base),
            quote=quote,
            status=status,
            tick_size=f.decimal(VENUE, where, obj, "tickSize"),
            lot_size=step,
            min_qty=step,
            price_scale=f.integer(VENUE, where, obj, "priceScale"),
            settle=settle,
            contract_size=Decimal(1),
        )
    underlying = f.text(VENUE, where, obj, "contractUnderlyingAssets")
    # An inverse contract is sized in the quote currency (BTCUSD: 1 USD, settled in BTC).
    base = obj.get("baseCurrency") or (settle if underlying == quote else underlying)
    lot = f.decimal(VENUE, where, obj, "lotSize")
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
        contract_size=f.decimal(VENUE, where, obj, "contractSize"),
    )


def _amount(obj: Mapping[str, Any], where: str, key: str, power: int) -> Decimal:
    """Read ``"0.01 USDT"``-style text, or else its scaled twin ``<key>Ev``."""
    raw = obj.get(key)
    if isinstance(raw, str) and raw.strip():
        return f.to_decimal(VENUE, f"{where}.{key}", raw.split()[0].replace(",", ""))
    if f"{key}Ev" in obj:
        return unscale(f.integer(VENUE, where, obj, f"{key}Ev"), power)
    raise DataError(f"{VENUE}: {where}.{key} is missing (and so is {key}Ev)")
