"""Binance spot market streams: the parsers the feedhandler uses. Opens no sockets.

Market streams: events of the combined-stream path ``/stream`` arrive as ``{"stream": name,
"data": payload}``. A ``trade``'s ``m`` ("is the buyer the market maker?") true means the
seller was the aggressor. A ``depthUpdate`` covers update ids ``U``..``u`` and continues a
``GET /api/v3/depth`` snapshot's ``lastUpdateId``. The parsers return plain values; the
feedhandler (:mod:`serenity.marketdata.fh.binance`, documented in ``docs/fh_binance.rst``)
builds trades and book updates from them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import orjson

from serenity.errors import DataError
from serenity.exchange import _fields as f
from serenity.exchange.binance.endpoints import VENUE
from serenity.exchange.binance.errors import code_of
from serenity.model.enums import Side

__all__ = [
    "AGG_TRADE",
    "DEPTH_LIMIT",
    "DEPTH_UPDATE",
    "INFORMATIONAL_EVENTS",
    "MAX_STREAMS",
    "NO_BOUNDS",
    "SERVER_SHUTDOWN",
    "TRADE",
    "LevelBounds",
    "Levels",
    "Reply",
    "aggressor_side",
    "depth_stream",
    "is_informational",
    "keepalive_request",
    "parse_agg_trade",
    "parse_depth_snapshot",
    "parse_depth_update",
    "parse_historical_trade",
    "parse_reply",
    "parse_trade",
    "subscribe_request",
    "trade_stream",
]

# -- market streams --------------------------------------------------------------------

DEPTH_LIMIT: Final = 1000
"""Levels a side asked of a depth snapshot, as in Binance's local-book guide (at most 5000)."""
MAX_STREAMS: Final = 1024
"""Streams one connection may listen to."""
TRADE: Final = "trade"
AGG_TRADE: Final = "aggTrade"
DEPTH_UPDATE: Final = "depthUpdate"
SERVER_SHUTDOWN: Final = "serverShutdown"
"""Sent before Binance closes a connection for maintenance; informational."""
INFORMATIONAL_EVENTS: Final = frozenset(
    {"kline", "24hrTicker", "24hrMiniTicker", "1hTicker", "4hTicker", "1dTicker", "avgPrice"}
)
"""Event types of streams Serenity does not record (candles, tickers); ignored, not errors."""
_INFORMATIONAL_STREAMS: Final = ("@bookTicker",)  # payloads without an "e" field

_AGGRESSOR_SIDES: Final[Mapping[bool, Side]] = {True: Side.SELL, False: Side.BUY}
"""``m`` ("is the buyer the market maker?") to the taker's side: a maker buyer met a seller."""
_NS_PER_MS: Final = 1_000_000
_MAX_ID: Final = 2**63  # ids are journalled as 64-bit integers
_MAX_TRADE_ID: Final = 2**62  # larger trade ids are what corrupt frames carry
_MAX_MS: Final = f.MAX_TIME_NS // _NS_PER_MS  # times from 2100 on are implausible
_INF: Final = math.inf

Levels: TypeAlias = list[tuple[float, float]]
"""Book levels as ``(price, qty)`` floats; a qty of 0 deletes the level."""
LevelBounds: TypeAlias = tuple[float, float, float, float, float, float, float]
"""What a caller (a feedhandler, from the catalog and the market) knows a level must meet:
``(lo, hi, max_qty, inv_grid, tol, one_minus_tol, grid_below)``. A level is refused when its
price is outside ``(lo, hi)``, its qty is ``max_qty`` or more, or ``x = price * inv_grid``
(below ``grid_below``) has a fractional part in ``(tol, one_minus_tol)``: off the grid. They
are checked in the loop that parses the levels, which costs less than a second pass."""
NO_BOUNDS: Final[LevelBounds] = (0.0, math.inf, math.inf, 0.0, 1.0, 0.0, 0.0)
"""Bounds that refuse no finite level with price > 0 and qty >= 0."""


def trade_stream(symbol: str) -> str:
    """Return the name of a symbol's raw-trade stream, e.g. ``btcusdt@trade``."""
    return f"{symbol.lower()}@trade"


def depth_stream(symbol: str) -> str:
    """Return the name of a symbol's 100 ms diff-depth stream, e.g. ``btcusdt@depth@100ms``."""
    return f"{symbol.lower()}@depth@100ms"


def subscribe_request(streams: Sequence[str], request_id: int) -> str:
    """Return the ``SUBSCRIBE`` request for ``streams`` as JSON text."""
    return orjson.dumps({"method": "SUBSCRIBE", "params": list(streams), "id": request_id}).decode()


def keepalive_request(request_id: int) -> str:
    """Return a ``GET_PROPERTY`` request, which Binance answers at once with a small reply.

    Sent periodically, its answers show that a connection whose streams are quiet (an
    illiquid symbol) is still alive; websocket ping frames do not reach the application.
    """
    return orjson.dumps(
        {"method": "GET_PROPERTY", "params": ["combined"], "id": request_id}
    ).decode()


def is_informational(stream: str, event: object) -> bool:
    """Return True for events of streams Serenity does not record (klines, tickers)."""
    if isinstance(event, str):
        return event in INFORMATIONAL_EVENTS
    return event is None and isinstance(stream, str) and stream.endswith(_INFORMATIONAL_STREAMS)


def aggressor_side(is_buyer_maker: object) -> Side:
    """Return the aggressor's side for a trade's ``m`` flag ("is the buyer the market maker?").

    Raises
    ------
    DataError
        When the flag is not a JSON boolean.
    """
    if isinstance(is_buyer_maker, bool):
        return _AGGRESSOR_SIDES[is_buyer_maker]
    raise DataError(f"{VENUE}: trade field 'm' must be true or false, was {_show(is_buyer_maker)}")


def parse_trade(data: Mapping[str, Any]) -> tuple[str, int, str, Side, float, float]:
    """Return ``(symbol, ts, trade_id, side, price, qty)`` of a ``trade`` event payload.

    ``ts`` is the trade time ``T`` in int ns, ``side`` the aggressor's (see
    :func:`aggressor_side`); ``price`` and ``qty`` are > 0.

    Raises
    ------
    DataError
        Naming the field that is missing or malformed, and its value.
    """
    return _trade(data, "t", TRADE)


def parse_agg_trade(data: Mapping[str, Any]) -> tuple[str, int, str, Side, float, float]:
    """Return ``(symbol, ts, trade_id, side, price, qty)`` of an ``aggTrade`` event payload.

    An aggregate trade sums one taker order's fills at one price; ``trade_id`` is the
    aggregate id ``a``. Otherwise as :func:`parse_trade`.

    Raises
    ------
    DataError
        Naming the field that is missing or malformed, and its value.
    """
    return _trade(data, "a", AGG_TRADE)


def parse_historical_trade(
    symbol: str, item: Mapping[str, Any]
) -> tuple[str, int, str, Side, float, float]:
    """Return ``(symbol, ts, trade_id, side, price, qty)`` of one ``historicalTrades`` item.

    The REST item spells the ``trade`` event's fields out (``id`` for ``t``, ``time`` for
    ``T``, ``price``, ``qty``, ``isBuyerMaker`` for ``m``) and names no symbol; it is checked
    and converted exactly as :func:`parse_trade` does, so a trade fetched equals the one
    streamed.

    Raises
    ------
    DataError
        Naming the field that is missing or malformed, and its value.
    """
    if not isinstance(item, Mapping):
        raise DataError(f"{VENUE}: a historical trade must be a JSON object, was {_show(item)}")
    payload = {
        "s": symbol,
        "t": item.get("id"),
        "T": item.get("time"),
        "p": item.get("price"),
        "q": item.get("qty"),
        "m": item.get("isBuyerMaker"),
    }
    return _trade(payload, "t", TRADE)


def _trade(
    data: Mapping[str, Any], id_key: str, event: str
) -> tuple[str, int, str, Side, float, float]:
    try:
        symbol, trade_id, t = data["s"], data[id_key], data["T"]
        raw_price, raw_qty = data["p"], data["q"]
        price = float(raw_price)
        qty = float(raw_qty)
        side = _AGGRESSOR_SIDES[data["m"]]
        if (
            type(raw_price) is str  # decimal strings, as documented: a JSON number is wrong
            and type(raw_qty) is str
            and type(symbol) is str
            and type(trade_id) is int
            and 0 <= trade_id < _MAX_TRADE_ID
            and type(t) is int
            and 0 <= t < _MAX_MS
            and 0.0 < price < _INF
            and 0.0 < qty < _INF
        ):
            return symbol, t * _NS_PER_MS, str(trade_id), side, price, qty
    except (KeyError, TypeError, ValueError):
        pass
    raise _malformed(event, data, _AGG_TRADE_CHECKS if id_key == "a" else _TRADE_CHECKS)


def parse_depth_update(
    data: Mapping[str, Any], bounds: LevelBounds = NO_BOUNDS
) -> tuple[str, int, int, int, Levels, Levels]:
    """Return ``(symbol, ts, first_id, last_id, bids, asks)`` of a ``depthUpdate`` payload.

    ``ts`` is the event time ``E`` in int ns; the event covers the update ids
    ``first_id`` (``U``) to ``last_id`` (``u``); levels hold absolute quantities, 0 deleting.
    Every level must also meet ``bounds`` (see :data:`LevelBounds`).

    Raises
    ------
    DataError
        Naming the field that is missing or malformed, or the level that is implausible,
        and its value.
    """
    try:
        symbol, first, last, t = data["s"], data["U"], data["u"], data["E"]
        if (
            type(symbol) is str
            and type(first) is int
            and type(last) is int
            and type(t) is int
            and 0 <= t < _MAX_MS
            and 0 < first <= last < _MAX_ID
        ):
            bids, asks = _levels(data["b"], bounds), _levels(data["a"], bounds)
            return symbol, t * _NS_PER_MS, first, last, bids, asks
    except (KeyError, TypeError, ValueError):
        pass
    raise _malformed(DEPTH_UPDATE, data, _DEPTH_CHECKS, bounds)


def parse_depth_snapshot(payload: Any) -> tuple[int, Levels, Levels]:
    """Return ``(last_update_id, bids, asks)`` of a ``GET /api/v3/depth`` answer.

    Raises
    ------
    DataError
        Naming the field that is missing or malformed, and its value.
    """
    body = f.as_mapping(VENUE, "depth snapshot", payload)
    last = f.get(VENUE, "depth snapshot", body, "lastUpdateId")
    if type(last) is not int or last < 0:
        raise DataError(
            f"{VENUE}: depth snapshot field 'lastUpdateId' must be an integer >= 0, "
            f"was {_show(last)}"
        )
    sides = []
    for key in ("bids", "asks"):
        raw = f.get(VENUE, "depth snapshot", body, key)
        try:
            sides.append(_levels(raw))
        except (TypeError, ValueError):
            problem = _bad_levels(raw) or " is malformed"
            raise DataError(f"{VENUE}: depth snapshot field {key!r}{problem}") from None
    return last, sides[0], sides[1]


@dataclass(frozen=True, slots=True)
class Reply:
    """Binance's answer to a request on a stream connection (``SUBSCRIBE``, ``GET_PROPERTY``).

    ``request_id`` is None when Binance names none (unreadable JSON); ``result`` is ``null``
    for a subscription; ``code`` and ``msg`` are Binance's error, ``code`` None on success.
    """

    request_id: int | str | None
    result: Any = None
    code: int | str | None = None
    msg: str = ""

    @property
    def is_error(self) -> bool:
        """Return True when Binance refused the request."""
        return self.code is not None


def parse_reply(msg: Mapping[str, Any]) -> Reply:
    """Return the reply in a frame that is not a stream event.

    Binance answers ``{"result": ..., "id": N}``, or ``{"error": {"code": .., "msg": ..},
    "id": N}`` or ``{"code": .., "msg": ..}`` for a refused or unreadable request.

    Raises
    ------
    DataError
        When the frame is no reply either.
    """
    error = msg.get("error")
    if error is not None:
        body = f.as_mapping(VENUE, "reply field 'error'", error)
        code = code_of(body.get("code", "unknown"))
        return Reply(msg.get("id"), code=code, msg=str(body.get("msg", "")))
    if "code" in msg and "msg" in msg:
        return Reply(msg.get("id"), code=code_of(msg["code"]), msg=str(msg["msg"]))
    if "result" in msg and "id" in msg:
        return Reply(msg["id"], result=msg["result"])
    raise DataError(f"{VENUE}: frame is neither a stream event nor a reply, was {_show(msg)}")


def _levels(raw: Any, bounds: LevelBounds = NO_BOUNDS) -> Levels:
    if type(raw) is not list:
        raise TypeError("levels must be a JSON array")
    lo, hi, max_qty, inv, tol, top, below = bounds
    out: Levels = []
    append = out.append
    for level in raw:
        if type(level) is not list:
            raise TypeError("a level must be a JSON array")
        price, qty = level
        p = float(price)
        q = float(qty)
        # lo >= 0 and hi <= inf, so this also refuses NaN, infinities and p <= 0; the ids of
        # depth updates, not the JSON types of their levels, guard against replays
        if not (lo < p < hi and 0.0 <= q < max_qty) or (
            tol < (x := p * inv) % 1.0 < top and x < below
        ):
            raise ValueError("level out of range")
        append((p, q))
    return out


# -- validation on the error path only --------------------------------------------------


def _bad_levels(raw: Any, bounds: LevelBounds = NO_BOUNDS) -> str | None:
    """Return what is wrong with a list of levels, or None when nothing is."""
    if not isinstance(raw, list):  # (the error path: no care for speed)
        return f" must be a JSON array of [price, qty], was {_show(raw)}"
    for i, level in enumerate(raw):
        try:
            _levels([level])
        except (TypeError, ValueError):
            return f"[{i}] must be [price > 0, qty >= 0], was {_show(level)}"
        try:
            _levels([level], bounds)
        except (TypeError, ValueError):
            lo, hi, max_qty = bounds[:3]
            return (
                f"[{i}] is implausible for the instrument, was {_show(level)}: a price must "
                f"lie in ({lo!r}, {hi!r}) on its tick grid, a qty below {max_qty!r}"
            )
    return None


def _is_positive(value: Any) -> bool:
    try:
        return type(value) is str and 0.0 < float(value) < _INF
    except (TypeError, ValueError):
        return False


_Check: TypeAlias = tuple[str, Callable[[Any], bool], str]
_INT: Final = (lambda v: type(v) is int and 0 <= v < _MAX_ID), "an integer in [0, 2**63)"
_MS: Final = (lambda v: type(v) is int and 0 <= v < _MAX_MS), "an integer time in ms before 2100"
_TRADE_CHECKS: Final[tuple[_Check, ...]] = (
    ("s", lambda v: type(v) is str and bool(v), "a symbol"),
    ("t", lambda v: type(v) is int and 0 <= v < _MAX_TRADE_ID, "an integer in [0, 2**62)"),
    ("p", _is_positive, "a decimal string > 0"),
    ("q", _is_positive, "a decimal string > 0"),
    ("T", *_MS),
    ("m", lambda v: isinstance(v, bool), "true or false"),
)
_AGG_TRADE_CHECKS: Final[tuple[_Check, ...]] = (
    ("a", lambda v: type(v) is int and 0 <= v < _MAX_TRADE_ID, "an integer in [0, 2**62)"),
    *(c for c in _TRADE_CHECKS if c[0] != "t"),
)
_DEPTH_CHECKS: Final[tuple[_Check, ...]] = (
    _TRADE_CHECKS[0],
    ("E", *_MS),
    ("U", *_INT),
    ("u", *_INT),
    ("b", lambda v: _bad_levels(v) is None, "[[price, qty], ...]"),
    ("a", lambda v: _bad_levels(v) is None, "[[price, qty], ...]"),
)


def _malformed(
    event: str, data: Any, checks: Sequence[_Check], bounds: LevelBounds = NO_BOUNDS
) -> DataError:
    """Return the error naming the first missing or malformed field of an event payload."""
    if not isinstance(data, Mapping):
        return DataError(f"{VENUE}: {event} payload must be a JSON object, was {_show(data)}")
    for key, is_valid, expected in checks:
        if key not in data:
            return DataError(f"{VENUE}: {event} field {key!r} is missing in {_show(data)}")
        value = data[key]
        if not is_valid(value):
            if key in ("b", "a"):
                return DataError(f"{VENUE}: {event} field {key!r}{_bad_levels(value)}")
            return DataError(
                f"{VENUE}: {event} field {key!r} must be {expected}, was {_show(value)}"
            )
    if event == DEPTH_UPDATE:
        for key in ("b", "a"):
            problem = _bad_levels(data[key], bounds)
            if problem is not None:
                return DataError(f"{VENUE}: {event} field {key!r}{problem}")
        return DataError(
            f"{VENUE}: {event} update ids must satisfy 0 < U <= u, was "
            f"U={_show(data.get('U'))} u={_show(data.get('u'))}"
        )
    return DataError(f"{VENUE}: malformed {event} event {_show(data)}")


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
