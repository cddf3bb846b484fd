"""Coinbase Exchange's public websocket feed: parsers and their inverse frame builders.

The websocket feed sends JSON objects told apart by ``type`` (Coinbase's "Exchange WebSocket
Overview" and "Exchange WebSocket Channels" pages):

- ``subscriptions``: the acknowledgement of a ``subscribe``, listing channels and products;
  ``error`` (``message``, ``reason``): e.g. ``Failed to subscribe`` for an unknown product.
- ``heartbeat`` (channel ``heartbeat``): once a second per product, with the product's
  ``sequence`` and ``last_trade_id``.
- ``match`` (channel ``matches``), and one ``last_match`` right after subscribing: a trade
  with ``trade_id`` (consecutive per product), ``price``, ``size``, ``time`` and ``side``,
  which is the **maker** order's side; the aggressor is on the other side.
- ``snapshot`` (``bids``, ``asks`` as ``[price, size]``) and then ``l2update`` (``changes`` as
  ``[side, price, size]``, size ``"0"`` removing the level, and ``time``) on the L2 channels
  (``level2_batch``, unauthenticated, batched every 50 ms; ``level2``, authenticated since
  2023, the same schema). L2 messages carry no sequence number.
- ``ticker``: informational, not recorded.

Prices and sizes are decimal strings in real units (no price scaling); times are RFC 3339 UTC
strings with up to nanosecond digits. Parsers return plain tuples for the per-tick path; the
``format_*`` builders are their inverses, for loopback venues (the demo's and the tests').
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from serenity.errors import DataError
from serenity.exchange import _fields as f
from serenity.exchange.coinbase.endpoints import VENUE
from serenity.model.enums import Side

__all__ = [
    "BOOK_CHANNEL",
    "HEARTBEAT_CHANNEL",
    "INFORMATIONAL_TYPES",
    "SUBSCRIBE_FAILED",
    "TRADES_CHANNEL",
    "Levels",
    "format_error",
    "format_heartbeat",
    "format_l2update",
    "format_match",
    "format_snapshot",
    "format_subscriptions",
    "format_time",
    "parse_aggressor_side",
    "parse_error",
    "parse_heartbeat",
    "parse_l2update",
    "parse_match",
    "parse_product_trade",
    "parse_snapshot",
    "parse_subscriptions",
    "parse_time",
]

BOOK_CHANNEL: Final = "level2_batch"
"""The unauthenticated full-depth L2 channel (``snapshot`` then ``l2update``)."""
TRADES_CHANNEL: Final = "matches"
"""The trades channel (``last_match`` then ``match``)."""
HEARTBEAT_CHANNEL: Final = "heartbeat"
"""One ``heartbeat`` per product per second: keeps a quiet connection visibly alive."""
INFORMATIONAL_TYPES: Final = frozenset({"subscriptions", "heartbeat", "ticker", "ticker_batch"})
"""Documented message types that carry nothing to record."""
SUBSCRIBE_FAILED: Final = "Failed to subscribe"
"""The ``message`` of the ``error`` that refuses a subscription."""

Levels = list[tuple[float, float]]
"""Book levels as ``(price, size)``; a size of 0 removes the level."""

_AGGRESSOR_SIDES: Final[Mapping[str, Side]] = {"buy": Side.SELL, "sell": Side.BUY}
"""A match's ``side`` is the maker order's; the aggressor (taker) took the other side."""
_BOOK_SIDES: Final[Mapping[str, int]] = {"buy": 0, "sell": 1}
"""An ``l2update`` change's side: ``buy`` changes a bid (index 0), ``sell`` an ask (1)."""
_INF: Final = float("inf")
_NS: Final = 1_000_000_000
_FRACTION_SCALE: Final[tuple[int, ...]] = tuple(10 ** (9 - n) for n in range(10))
_TIME: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", re.ASCII
)
_SECONDS: dict[str, int] = {}
"""``YYYY-MM-DDTHH:MM:SS`` -> ns since the epoch; the messages of one second share it."""


def parse_time(text: Any) -> int:
    """Return an RFC 3339 time such as ``2014-11-07T08:19:27.028459Z`` in int ns (UTC).

    Up to nine fraction digits are kept exactly. The whole-second prefix is cached, so a
    message costs a dictionary lookup and one ``int`` of its fraction.

    Raises
    ------
    DataError
        When ``text`` is not such a time.
    """
    try:
        base = _SECONDS.get(text[:19])
    except TypeError:
        base = None
    if base is not None and text[-1] == "Z" and text[19] == ".":
        digits = text[20:-1]
        if digits.isdigit() and len(digits) <= 9:
            return base + int(digits) * _FRACTION_SCALE[len(digits)]
    return _parse_time_fully(text)


def _parse_time_fully(text: Any) -> int:
    """Validate and convert any RFC 3339 time, caching its whole-second prefix."""
    match = _TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise DataError(
            f"{VENUE}: time must be RFC 3339 such as 2014-11-07T08:19:27.028459Z, was {text!r:.40}"
        )
    prefix, digits, zone = match.groups()
    try:
        when = dt.datetime.fromisoformat(prefix + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        raise DataError(f"{VENUE}: time out of range, was {text!r:.40}") from None
    seconds = int(when.timestamp()) * _NS
    if not 0 <= seconds < f.MAX_TIME_NS:
        raise DataError(f"{VENUE}: time must be from 1970 to 2099, was {text!r:.40}")
    if zone == "Z":
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[prefix] = seconds
    return seconds + (int(digits) * _FRACTION_SCALE[len(digits)] if digits else 0)


def parse_aggressor_side(maker_side: Any) -> Side:
    """Return the aggressor's side of a match whose (maker) ``side`` is ``maker_side``.

    Raises
    ------
    DataError
        For a spelling other than ``buy`` or ``sell``.
    """
    side = _AGGRESSOR_SIDES.get(maker_side) if type(maker_side) is str else None
    if side is None:
        raise DataError(
            f"{VENUE}: unknown match side {maker_side!r:.40}, expected one of "
            f"{sorted(_AGGRESSOR_SIDES)}"
        )
    return side


def parse_match(msg: Mapping[str, Any]) -> tuple[str, int, int, Side, float, float]:
    """Return ``(product_id, trade_id, ts, aggressor side, price, size)`` of a match.

    Takes ``match`` and ``last_match`` messages; ``ts`` is the venue's ``time`` in ns.

    Raises
    ------
    DataError
        For a missing or malformed field, naming it and the bad value.
    """
    try:
        symbol = msg["product_id"]
        trade_id = msg["trade_id"]
        side = _AGGRESSOR_SIDES.get(msg["side"])
        raw_price, raw_size = msg["price"], msg["size"]
        price = float(raw_price)
        size = float(raw_size)
        raw_time = msg["time"]
    except KeyError as exc:
        raise DataError(f"{VENUE}: match has no {exc.args[0]!r} field") from None
    except (TypeError, ValueError):
        raise _bad_match(msg) from None
    if (
        side is None
        or type(raw_price) is not str  # decimal strings, as documented
        or type(raw_size) is not str
        or type(trade_id) is not int
        or type(symbol) is not str
        or not (0.0 < price < _INF and 0.0 < size < _INF)
    ):
        raise _bad_match(msg)
    return symbol, trade_id, parse_time(raw_time), side, price, size


def parse_product_trade(
    product_id: str, item: Mapping[str, Any]
) -> tuple[str, int, int, Side, float, float]:
    """Return ``(product_id, trade_id, ts, aggressor side, price, size)`` of a REST trade.

    An item of ``GET /products/{product_id}/trades`` carries a ``match``'s ``trade_id``,
    ``price``, ``size``, ``time`` and ``side`` (the maker's, per "Get product trades"), and no
    product; it is checked and converted exactly as :func:`parse_match` does, so a trade
    fetched equals the one streamed.

    Raises
    ------
    DataError
        For a missing or malformed field, naming it and the bad value.
    """
    if not isinstance(item, Mapping):
        raise DataError(f"{VENUE}: a product trade must be a JSON object, was {item!r:.80}")
    return parse_match({**item, "product_id": product_id})


def _bad_match(msg: Mapping[str, Any]) -> DataError:
    """Return the error that names what is wrong with a match the fast path refused."""
    symbol, trade_id = msg["product_id"], msg["trade_id"]
    if type(symbol) is not str or type(trade_id) is not int:
        return DataError(
            f"{VENUE}: match needs a string product_id and an integer trade_id, "
            f"was {symbol!r:.40} and {trade_id!r:.40}"
        )
    try:
        parse_aggressor_side(msg["side"])
        _number("match price", msg["price"])
        _number("match size", msg["size"])
    except DataError as exc:
        return exc
    return DataError(
        f"{VENUE}: match {symbol} {trade_id} needs price and size > 0, "
        f"was {msg['price']!r:.40} and {msg['size']!r:.40}"
    )


def parse_snapshot(msg: Mapping[str, Any]) -> tuple[str, int | None, Levels, Levels]:
    """Return ``(product_id, ts or None, bids, asks)`` of an L2 ``snapshot``.

    Snapshots carry no ``time`` in the documented example; ``ts`` is None then.

    Raises
    ------
    DataError
        For a missing or malformed field or level.
    """
    symbol = _product_id("snapshot", msg)
    raw_time = msg.get("time")
    ts = parse_time(raw_time) if raw_time is not None else None
    return (
        symbol,
        ts,
        _levels("snapshot bids", msg.get("bids")),
        _levels("snapshot asks", msg.get("asks")),
    )


def parse_l2update(msg: Mapping[str, Any]) -> tuple[str, int, Levels, Levels]:
    """Return ``(product_id, ts, bids, asks)`` of an ``l2update``; a size of 0 removes a level.

    Raises
    ------
    DataError
        For a missing or malformed field, change or side.
    """
    symbol = _product_id("l2update", msg)
    changes = msg.get("changes")
    if type(changes) is not list:
        raise DataError(f"{VENUE}: l2update.changes must be a JSON array, was {changes!r:.40}")
    sides: tuple[Levels, Levels] = ([], [])
    book_sides, inf = _BOOK_SIDES, _INF
    try:
        for side, raw_price, raw_size in changes:
            price = float(raw_price)
            size = float(raw_size)
            if type(raw_price) is not str or type(raw_size) is not str:
                raise TypeError
            if not (0.0 < price < inf and 0.0 <= size < inf):
                raise ValueError
            sides[book_sides[side]].append((price, size))
    except (ValueError, TypeError, KeyError):
        bad = next((c for c in changes if not _is_change(c)), changes)
        raise DataError(
            f"{VENUE}: l2update {symbol} change must be [buy|sell, price > 0, size >= 0], "
            f"was {bad!r:.60}"
        ) from None
    return symbol, parse_time(msg.get("time")), sides[0], sides[1]


def parse_heartbeat(msg: Mapping[str, Any]) -> tuple[str, int, int, int]:
    """Return ``(product_id, sequence, last_trade_id, ts)`` of a ``heartbeat``.

    Raises
    ------
    DataError
        For a missing or malformed field.
    """
    symbol = _product_id("heartbeat", msg)
    sequence, last_trade_id = msg.get("sequence"), msg.get("last_trade_id")
    if type(sequence) is not int or type(last_trade_id) is not int:
        raise DataError(
            f"{VENUE}: heartbeat {symbol} needs integer sequence and last_trade_id, "
            f"was {sequence!r:.40} and {last_trade_id!r:.40}"
        )
    return symbol, sequence, last_trade_id, parse_time(msg.get("time"))


def parse_subscriptions(msg: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Return channel name -> product ids of a ``subscriptions`` acknowledgement.

    Raises
    ------
    DataError
        When ``channels`` is not a list of ``{"name", "product_ids"}`` objects.
    """
    out: dict[str, tuple[str, ...]] = {}
    for i, raw in enumerate(f.as_list(VENUE, "subscriptions.channels", msg.get("channels"))):
        where = f"subscriptions.channels[{i}]"
        channel = f.as_mapping(VENUE, where, raw)
        products = f.as_list(VENUE, f"{where}.product_ids", channel.get("product_ids", []))
        out[f.text(VENUE, where, channel, "name")] = tuple(str(p) for p in products)
    return out


def parse_error(msg: Mapping[str, Any]) -> tuple[str, str]:
    """Return ``(message, reason)`` of an ``error`` message (reason may be empty)."""
    return str(msg.get("message") or "error"), str(msg.get("reason") or "")


def _product_id(kind: str, msg: Mapping[str, Any]) -> str:
    symbol = msg.get("product_id")
    if type(symbol) is not str or not symbol:
        raise DataError(
            f"{VENUE}: {kind}.product_id must be a non-empty string, was {symbol!r:.40}"
        )
    return symbol


def _number(what: str, raw: Any) -> float:
    try:
        return _decimal(raw)
    except (TypeError, ValueError):
        raise DataError(f"{VENUE}: {what} must be a decimal string, was {raw!r:.40}") from None


def _levels(what: str, raw: Any) -> Levels:
    if type(raw) is not list:
        raise DataError(f"{VENUE}: {what} must be a JSON array, was {raw!r:.40}")
    try:
        levels = [(_decimal(level[0]), _decimal(level[1])) for level in raw]
    except (TypeError, ValueError, IndexError, KeyError):
        bad = next((lv for lv in raw if not _is_level(lv)), raw)
        raise DataError(f"{VENUE}: {what} level must be [price, size], was {bad!r:.60}") from None
    for price, size in levels:
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            raise DataError(
                f"{VENUE}: {what} level needs price > 0 and size >= 0, was {price!r}, {size!r}"
            )
    return levels


def _decimal(raw: Any) -> float:
    """Return a decimal string's value; anything else (a JSON number too) is a TypeError."""
    if type(raw) is not str:
        raise TypeError("a decimal string was expected")
    return float(raw)


def _is_level(level: Any) -> bool:
    try:
        _decimal(level[0])
        _decimal(level[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return False
    return True


def _is_change(change: Any) -> bool:
    if type(change) is not list or len(change) != 3 or change[0] not in _BOOK_SIDES:
        return False
    return (
        _is_level(change[1:]) and 0.0 < float(change[1]) < _INF and 0.0 <= float(change[2]) < _INF
    )


# -- frame builders: the parsers' inverses, for loopback venues ------------------------------

_MAKER_SIDES: Final[Mapping[Side, str]] = {Side.BUY: "sell", Side.SELL: "buy"}
"""The aggressor's side -> the spelling of the maker's side a match carries."""
_PREFIXES: dict[int, str] = {}
"""Seconds since the epoch -> ``YYYY-MM-DDTHH:MM:SS``; the messages of one second share it."""


def format_time(ns: int) -> str:
    """Return int ns since the epoch as Coinbase writes times: microseconds and ``Z``."""
    seconds, fraction = divmod(ns, _NS)
    prefix = _PREFIXES.get(seconds)
    if prefix is None:
        if len(_PREFIXES) >= 4096:
            _PREFIXES.clear()
        when = dt.datetime.fromtimestamp(seconds, dt.UTC)
        prefix = _PREFIXES[seconds] = f"{when:%Y-%m-%dT%H:%M:%S}"
    return f"{prefix}.{fraction // 1_000:06d}Z"


def _wire(number: float | str) -> str:
    """Return a float with eight decimals; a string (the venue's own decimal) as it is."""
    return number if isinstance(number, str) else f"{number:.8f}"


def format_match(
    symbol: str,
    trade_id: int,
    ts: int,
    side: Side,
    price: float | str,
    size: float | str,
    *,
    sequence: int | None = None,
    is_last: bool = False,
) -> dict[str, Any]:
    """Return the ``match`` (or, with ``is_last``, ``last_match``) of a trade.

    ``side`` is the aggressor's, Serenity's convention; the message carries the maker's, so
    :func:`parse_match` gives ``side`` back.
    """
    msg: dict[str, Any] = {"type": "last_match" if is_last else "match", "trade_id": trade_id}
    if sequence is not None:
        msg["sequence"] = sequence
    msg["time"] = format_time(ts)
    msg["product_id"] = symbol
    msg["size"] = _wire(size)
    msg["price"] = _wire(price)
    msg["side"] = _MAKER_SIDES[side]
    return msg


def format_snapshot(
    symbol: str,
    bids: Iterable[tuple[float | str, float | str]],
    asks: Iterable[tuple[float | str, float | str]],
    ts: int | None = None,
) -> dict[str, Any]:
    """Return the L2 ``snapshot`` of a book, best levels first; ``time`` only when given."""
    msg: dict[str, Any] = {
        "type": "snapshot",
        "product_id": symbol,
        "bids": [[_wire(p), _wire(s)] for p, s in bids],
        "asks": [[_wire(p), _wire(s)] for p, s in asks],
    }
    if ts is not None:
        msg["time"] = format_time(ts)
    return msg


def format_l2update(
    symbol: str,
    ts: int,
    bids: Iterable[tuple[float | str, float | str]] = (),
    asks: Iterable[tuple[float | str, float | str]] = (),
) -> dict[str, Any]:
    """Return the ``l2update`` changing ``bids`` and ``asks``; a size of 0 removes a level."""
    changes = [["buy", _wire(p), _wire(s)] for p, s in bids]
    changes += [["sell", _wire(p), _wire(s)] for p, s in asks]
    return {"type": "l2update", "product_id": symbol, "changes": changes, "time": format_time(ts)}


def format_heartbeat(symbol: str, sequence: int, last_trade_id: int, ts: int) -> dict[str, Any]:
    """Return the ``heartbeat`` of a product."""
    return {
        "type": "heartbeat",
        "sequence": sequence,
        "last_trade_id": last_trade_id,
        "product_id": symbol,
        "time": format_time(ts),
    }


def format_subscriptions(channels: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """Return the ``subscriptions`` acknowledgement of channel name -> product ids."""
    body = [{"name": name, "product_ids": list(ids)} for name, ids in channels.items()]
    return {"type": "subscriptions", "channels": body}


def format_error(message: str, reason: str = "") -> dict[str, Any]:
    """Return an ``error`` message, e.g. ``format_error(SUBSCRIBE_FAILED, "...")``."""
    return {"type": "error", "message": message, "reason": reason}
