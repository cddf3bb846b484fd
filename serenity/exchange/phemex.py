"""Phemex: endpoints, product parsing and price scaling. Opens no sockets.

``GET /public/products`` answers ``{"code": 0, "msg": ..., "data": {...}}`` where ``data``
holds ``currencies`` (each with its ``valueScale``), ``products`` (spot pairs such as
``sBTCUSDT`` and the coin-margined ``Perpetual`` contracts such as ``BTCUSD``) and, in the
current API, ``perpProductsV2`` (USDT-margined ``PerpetualV2`` contracts with real-valued
fields). Coin-margined contracts and spot send prices as scaled integers (``...Ep`` fields):
the real price is ``Ep / 10**priceScale``; ratios (``...Er``) use ``ratioScale`` and values
(``...Ev``) the currency's ``valueScale``. The 2021 payload
(``/exchange/public/cfg/v2/products``) has the same shape without ``perpProductsV2``.

The public websocket (one URL for every product family) publishes trades and order books on
two sets of channels. Spot pairs and the coin-margined ``Perpetual`` contracts use
``trade.subscribe`` and ``orderbook.subscribe``, whose messages (``trades``, ``book``) carry
scaled integers; the USDT-margined ``PerpetualV2`` contracts use ``trade_p.subscribe`` and
``orderbook_p.subscribe``, whose messages (``trades_p``, ``orderbook_p``) carry decimal
strings. :func:`ws_scale` tells which a product uses, and :func:`parse_trades`,
:func:`parse_book` and :func:`parse_reply` turn parsed frames into plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum, unique
from typing import Any, Final

from serenity.errors import DataError, InvalidValueError, VenueError
from serenity.exchange import _fields as f
from serenity.exchange.endpoints import Endpoints, Environment
from serenity.exchange.product import Product, ProductCatalog
from serenity.model.enums import InstrumentStatus, InstrumentType, Side

__all__ = [
    "NAME",
    "ENDPOINTS",
    "PRODUCTS_PATH",
    "PROD",
    "SCALED_CHANNELS",
    "SPOT_PRICE_SCALE",
    "SPOT_QTY_SCALE",
    "TESTNET",
    "UNSCALED_CHANNELS",
    "VENUE",
    "WS_MAX_SUBSCRIPTIONS",
    "WS_PING_LIMIT_S",
    "PhemexBook",
    "PhemexReply",
    "PhemexScales",
    "PhemexTrades",
    "WsChannels",
    "WsMessageKind",
    "WsScale",
    "classify",
    "parse_book",
    "parse_products",
    "parse_reply",
    "parse_scales",
    "parse_trades",
    "scale",
    "unscale",
    "ws_scale",
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
        lot = f.decimal(VENUE, where, obj, "qtyStepSize")
        contract_size = Decimal(1)
    else:
        underlying = f.text(VENUE, where, obj, "contractUnderlyingAssets")
        # An inverse contract is sized in the quote currency (BTCUSD: 1 USD, settled in BTC).
        base = obj.get("baseCurrency") or (settle if underlying == quote else underlying)
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


# -- websocket market data ---------------------------------------------------------------------

SPOT_QTY_SCALE: Final = 8
"""Spot sizes are ``...Ev`` values of the base currency, whose ``valueScale`` is 8 on spot."""
WS_PING_LIMIT_S: Final = 30.0
"""Phemex drops a connection that sent no ping (``server.ping`` or a protocol ping) for 30 s."""
WS_MAX_SUBSCRIPTIONS: Final = 20
"""Subscriptions per connection that Phemex documents."""

_SIDES: Final[Mapping[str, Side]] = {"Buy": Side.BUY, "Sell": Side.SELL}
"""A trade's side is the taker's ("Execution taker side" in Phemex's message tables)."""
_MESSAGE_TYPES: Final[Mapping[str, bool]] = {"snapshot": True, "incremental": False}
_INF: Final = float("inf")
_MAX_TS: Final = f.MAX_TIME_NS
_NONE: Final[list[Any]] = []


@unique
class WsMessageKind(StrEnum):
    """What a websocket message carries."""

    TRADES = "trades"
    BOOK = "book"
    REPLY = "reply"
    """A reply to a request: a subscription ack or error, or the pong to ``server.ping``."""


@dataclass(frozen=True, slots=True)
class WsChannels:
    """One family of websocket channels: subscribe methods and the keys of their messages.

    ``book_params`` follow the symbol in an order-book subscription: ``(True,)`` asks the
    scaled channel for the full book (depth 0, every 100 ms) instead of the top 30 levels.
    """

    trade_method: str
    book_method: str
    trade_key: str
    book_key: str
    book_params: tuple[bool, ...]
    is_scaled: bool


SCALED_CHANNELS: Final = WsChannels(
    "trade.subscribe", "orderbook.subscribe", "trades", "book", (True,), True
)
"""Spot and coin-margined contracts: integer prices and sizes (``priceEp``, ``qty``)."""
UNSCALED_CHANNELS: Final = WsChannels(
    "trade_p.subscribe", "orderbook_p.subscribe", "trades_p", "orderbook_p", (), False
)
"""USDT-margined ``PerpetualV2`` contracts: decimal strings, books of the top 30 levels."""


@dataclass(frozen=True, slots=True)
class WsScale:
    """How one product's websocket prices and sizes read.

    On scaled channels the real price is ``priceEp / price_divisor`` and the real size
    ``qty / qty_divisor``; on unscaled channels both are decimal strings and the divisors 1.
    """

    channels: WsChannels
    price_divisor: int = 1
    qty_divisor: int = 1


@dataclass(slots=True)
class PhemexTrades:
    """One ``trades``/``trades_p`` message: ``(ts, side, price, qty)`` in the message's order.

    A snapshot lists the newest first; ``ts`` is in ns and ``side`` is the taker's.
    """

    symbol: str
    sequence: int
    is_snapshot: bool
    trades: list[tuple[int, Side, float, float]]


@dataclass(slots=True)
class PhemexBook:
    """One ``book``/``orderbook_p`` message: levels as ``(price, qty)``, qty 0 deletes.

    ``ts`` is the venue's time in ns (None when absent); ``depth`` is 0 for the full book.
    """

    symbol: str
    sequence: int
    ts: int | None
    depth: int
    is_snapshot: bool
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class PhemexReply:
    """A reply to a request: ``{"error": ..., "id": ..., "result": ...}``.

    ``code`` and ``message`` come from ``error`` and are None when the request succeeded.
    """

    id: int | None
    result: Any
    code: int | str | None = None
    message: str | None = None

    @property
    def is_error(self) -> bool:
        """Return True when the venue refused the request."""
        return self.message is not None


def ws_scale(product: Product) -> WsScale:
    """Return the channels and scales of a product's websocket market data.

    Spot pairs use the scaled channels, prices scaled by ``price_scale`` (1e8 when the
    catalog has none) and sizes by 1e8. Perpetuals quoted in real values (``price_scale``
    0: the ``PerpetualV2`` contracts) use the ``_p`` channels; other perpetuals use the
    scaled channels with sizes in whole contracts.

    Raises
    ------
    DataError
        For a product Phemex publishes no such data for, or a contract without a price scale.
    """
    kind, power = product.instrument_type, product.price_scale
    if kind is InstrumentType.CURRENCY_PAIR:
        power = SPOT_PRICE_SCALE if power is None else power
        return WsScale(SCALED_CHANNELS, 10**power, 10**SPOT_QTY_SCALE)
    if kind is InstrumentType.PERPETUAL_FUTURE:
        if power is None:
            raise DataError(f"{VENUE}: contract {product.symbol!r} has no price scale")
        return WsScale(UNSCALED_CHANNELS) if power == 0 else WsScale(SCALED_CHANNELS, 10**power)
    raise DataError(f"{VENUE}: no websocket market data for {kind} product {product.symbol!r}")


def classify(msg: Mapping[str, Any]) -> WsMessageKind:
    """Return what a parsed websocket message carries.

    Raises
    ------
    DataError
        For a message that is neither trades, a book nor a reply, naming its keys.
    """
    if SCALED_CHANNELS.trade_key in msg or UNSCALED_CHANNELS.trade_key in msg:
        return WsMessageKind.TRADES
    if SCALED_CHANNELS.book_key in msg or UNSCALED_CHANNELS.book_key in msg:
        return WsMessageKind.BOOK
    if "id" in msg and ("result" in msg or "error" in msg):
        return WsMessageKind.REPLY
    keys = sorted(str(k) for k in msg)[:8]
    raise DataError(f"{VENUE}: unknown message type with keys {keys}; expected trades or a book")


def parse_trades(msg: Mapping[str, Any], scale: WsScale) -> PhemexTrades:
    """Return the trades in a ``trades``/``trades_p`` message (parsed JSON).

    Raises
    ------
    DataError
        For a missing or malformed field, an unknown side, or a price or size that is not
        a number > 0; the message names the field and the bad value.
    """
    key = scale.channels.trade_key
    try:  # the header inline: this is the hot path
        symbol, sequence, rows = msg["symbol"], msg["sequence"], msg[key]
        is_snapshot = _MESSAGE_TYPES[msg["type"]]
        if type(symbol) is not str or type(sequence) is not int:
            raise TypeError
    except (KeyError, TypeError):
        raise _header_error(msg, key) from None
    trades: list[tuple[int, Side, float, float]] = []
    append, sides = trades.append, _SIDES
    try:
        if type(rows) is not list:
            raise TypeError
        if scale.channels.is_scaled:
            pdiv, qdiv = scale.price_divisor, scale.qty_divisor
            for ts, side, price, qty in rows:
                if (
                    type(ts) is not int
                    or not 0 < ts < _MAX_TS
                    or type(price) is not int
                    or type(qty) is not int
                    or not (price > 0 and qty > 0)
                ):
                    raise ValueError
                append((ts, sides[side], price / pdiv, qty / qdiv))
        else:
            for ts, side, raw_price, raw_qty in rows:
                price, qty = float(raw_price), float(raw_qty)
                if (
                    type(raw_price) is not str  # decimal strings on these channels
                    or type(raw_qty) is not str
                    or type(ts) is not int
                    or not 0 < ts < _MAX_TS
                    or not (0.0 < price < _INF and 0.0 < qty < _INF)
                ):
                    raise ValueError
                append((ts, sides[side], price, qty))
    except (KeyError, TypeError, ValueError):
        error = _rows_error(f"{key} of {symbol}", rows, scale, width=4)
        raise error or DataError(f"{VENUE}: {key} of {symbol} is malformed") from None
    return PhemexTrades(symbol, sequence, is_snapshot, trades)


def parse_book(msg: Mapping[str, Any], scale: WsScale) -> PhemexBook:
    """Return the levels in a ``book``/``orderbook_p`` message (parsed JSON).

    Raises
    ------
    DataError
        For a missing or malformed field, or a price that is not a number > 0 or a size
        that is not a number >= 0; the message names the field and the bad value.
    """
    key = scale.channels.book_key
    try:  # the header inline: this is the hot path
        symbol, sequence, body = msg["symbol"], msg["sequence"], msg[key]
        is_snapshot = _MESSAGE_TYPES[msg["type"]]
        if type(symbol) is not str or type(sequence) is not int:
            raise TypeError
    except (KeyError, TypeError):
        raise _header_error(msg, key) from None
    ts, depth = msg.get("timestamp"), msg.get("depth", 0)
    if (
        (ts is None or (type(ts) is int and 0 < ts < _MAX_TS))
        and type(depth) is int
        and type(body) is dict
    ):
        bids, asks = body.get("bids", _NONE), body.get("asks", _NONE)
        try:
            return PhemexBook(
                symbol, sequence, ts, depth, is_snapshot, _levels(bids, scale), _levels(asks, scale)
            )
        except (TypeError, ValueError):
            pass
    raise _book_error(f"{key} of {symbol}", ts, depth, body, scale)


def parse_reply(msg: Mapping[str, Any]) -> PhemexReply:
    """Return a reply (ack, error or pong); a refusal keeps the venue's code and text."""
    rid, error = msg.get("id"), msg.get("error")
    rid = rid if type(rid) is int else None
    if error is None:
        return PhemexReply(rid, msg.get("result"))
    if isinstance(error, Mapping):
        return PhemexReply(rid, None, error.get("code"), str(error.get("message") or "no message"))
    return PhemexReply(rid, None, None, str(error))


def _header_error(msg: Mapping[str, Any], key: str) -> DataError:
    """Explain why a message's header did not parse."""
    where = f"{key} message of {msg.get('symbol')!r}"
    for field, kind in (("symbol", str), ("sequence", int)):
        if type(value := msg.get(field)) is not kind:
            return DataError(f"{VENUE}: {where}: {field} must be {kind.__name__}, was {value!r}")
    try:
        f.get(VENUE, where, msg, key)
        f.spelling(VENUE, f"{where} type", _MESSAGE_TYPES, msg.get("type"))
    except DataError as exc:
        return exc
    return DataError(f"{VENUE}: {where} is malformed")


def _levels(rows: Any, scale: WsScale) -> list[tuple[float, float]]:
    if type(rows) is not list:
        raise TypeError
    out: list[tuple[float, float]] = []
    append = out.append
    if scale.channels.is_scaled:
        pdiv, qdiv = scale.price_divisor, scale.qty_divisor
        for price, qty in rows:
            if type(price) is not int or type(qty) is not int or not (price > 0 and qty >= 0):
                raise ValueError
            append((price / pdiv, qty / qdiv))
    else:
        for raw_price, raw_qty in rows:
            price, qty = float(raw_price), float(raw_qty)
            if type(raw_price) is not str or type(raw_qty) is not str:
                raise TypeError
            if not (0.0 < price < _INF and 0.0 <= qty < _INF):
                raise ValueError
            append((price, qty))
    return out


def _book_error(where: str, ts: Any, depth: Any, body: Any, scale: WsScale) -> DataError:
    """Explain why a book message did not parse (the slow path)."""
    if ts is not None and (type(ts) is not int or not 0 < ts < _MAX_TS):
        return DataError(f"{VENUE}: {where}: timestamp must be integer ns before 2100, was {ts!r}")
    if type(depth) is not int:
        return DataError(f"{VENUE}: {where}: depth must be an integer, was {depth!r}")
    if type(body) is not dict:
        return DataError(f"{VENUE}: {where} must be a JSON object, was {body!r:.80}")
    for side in ("bids", "asks"):
        error = _rows_error(f"{where}.{side}", body.get(side, _NONE), scale, width=2)
        if error is not None:
            return error
    return DataError(f"{VENUE}: {where} is malformed")


def _rows_error(where: str, rows: Any, scale: WsScale, *, width: int) -> DataError | None:
    """Explain why rows did not parse (the slow path), or return None if they are fine."""
    if not isinstance(rows, list):
        return DataError(f"{VENUE}: {where} must be a JSON array, was {rows!r:.80}")
    kind = "an integer" if scale.channels.is_scaled else "a decimal string"
    for i, row in enumerate(rows):
        at = f"{VENUE}: {where}[{i}]"
        if not isinstance(row, list) or len(row) != width:
            return DataError(f"{at} must be an array of {width} values, was {row!r:.80}")
        if width == 4 and (type(row[0]) is not int or not 0 < row[0] < _MAX_TS):
            return DataError(f"{at}: timestamp must be integer ns > 0 before 2100, was {row[0]!r}")
        if width == 4 and not (isinstance(row[1], str) and row[1] in _SIDES):
            return DataError(f"{at}: unknown side {row[1]!r}, expected one of {sorted(_SIDES)}")
        price, qty = _number(row[-2], scale), _number(row[-1], scale)
        if price is None or price <= 0:
            return DataError(f"{at}: price must be {kind} > 0, was {row[-2]!r}")
        if qty is None or qty < 0 or (width == 4 and qty == 0):
            bound = "> 0" if width == 4 else ">= 0"
            return DataError(f"{at}: qty must be {kind} {bound}, was {row[-1]!r}")
    return None


def _number(value: Any, scale: WsScale) -> float | None:
    if isinstance(value, bool):
        return None
    if scale.channels.is_scaled:
        return float(value) if isinstance(value, int) else None
    if not isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number < _INF else None
