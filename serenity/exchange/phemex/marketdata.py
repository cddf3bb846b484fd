"""Phemex public websocket market data: channels, scales and parsers for the feedhandler.

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
from enum import StrEnum, unique
from typing import Any, Final

from serenity.errors import DataError
from serenity.exchange import _fields as f
from serenity.exchange.phemex.endpoints import VENUE
from serenity.exchange.phemex.enums import SIDES
from serenity.exchange.phemex.refdata import SPOT_PRICE_SCALE
from serenity.exchange.product import Product
from serenity.model.enums import InstrumentType, Side

__all__ = [
    "SCALED_CHANNELS",
    "SPOT_QTY_SCALE",
    "UNSCALED_CHANNELS",
    "PhemexBook",
    "PhemexReply",
    "PhemexTrades",
    "WsChannels",
    "WsMessageKind",
    "WsScale",
    "classify",
    "parse_book",
    "parse_reply",
    "parse_trades",
    "ws_scale",
]

SPOT_QTY_SCALE: Final = 8
"""Spot sizes on the public channels are ``...Ev`` values of the base currency, whose
``valueScale`` is 8 on every spot pair the feedhandler records."""

_SIDES: Final[Mapping[str, Side]] = {wire: side for side, wire in SIDES.wire.items()}
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
