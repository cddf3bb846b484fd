"""Coinbase Exchange's wire spellings, mapped both ways to the :mod:`serenity.model` enums.

Every map here is tested against every value of the model enum it covers: a value either
has a spelling or is in an ``UNSUPPORTED_*`` table that says why Coinbase cannot carry it
(the order builder refuses such an order locally, naming the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum, unique
from typing import Any, Final

from serenity.errors import DataError
from serenity.exchange import _fields as f
from serenity.exchange.coinbase.endpoints import VENUE
from serenity.model.enums import (
    InstrumentStatus,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

__all__ = [
    "DONE_REASONS",
    "LIQUIDITY",
    "LIQUIDITY_SPELLINGS",
    "ORDER_TYPE_SPELLINGS",
    "PRODUCT_STATUSES",
    "SIDES",
    "SIDE_SPELLINGS",
    "STOP_SPELLINGS",
    "TIME_IN_FORCE",
    "TIME_IN_FORCE_SPELLINGS",
    "UNSUPPORTED_TIME_IN_FORCE",
    "SelfTradePrevention",
    "parse_liquidity",
    "parse_order_status",
    "parse_order_type",
    "parse_side",
    "parse_time_in_force",
]


@unique
class SelfTradePrevention(StrEnum):
    """What the matching engine does when two of our own orders would trade (``stp``).

    ``dc`` (decrement and cancel) is Coinbase's default.
    """

    DECREMENT_AND_CANCEL = "dc"
    CANCEL_OLDEST = "co"
    CANCEL_NEWEST = "cn"
    CANCEL_BOTH = "cb"


SIDES: Final[Mapping[str, Side]] = {"buy": Side.BUY, "sell": Side.SELL}
"""An order's or fill's ``side`` -> :class:`~serenity.model.Side` (the order's own side)."""
SIDE_SPELLINGS: Final[Mapping[Side, str]] = {v: k for k, v in SIDES.items()}

PRODUCT_STATUSES: Final[Mapping[str, InstrumentStatus]] = {
    "online": InstrumentStatus.TRADING,
    "offline": InstrumentStatus.HALTED,
    "internal": InstrumentStatus.HALTED,
    "delisted": InstrumentStatus.DELISTED,
}
"""A product's ``status``; the flags ``trading_disabled``, ``cancel_only`` (halted) and
``auction_mode`` (pre-trading) refine ``online``
(:func:`~serenity.exchange.coinbase.refdata.parse_products`)."""

ORDER_TYPE_SPELLINGS: Final[Mapping[OrderType, tuple[str, bool]]] = {
    OrderType.MARKET: ("market", False),
    OrderType.LIMIT: ("limit", False),
    OrderType.STOP_MARKET: ("market", True),
    OrderType.STOP_LIMIT: ("limit", True),
}
"""Our order type -> Coinbase's ``type`` and whether the order carries ``stop`` and
``stop_price`` (a stop order is a market or limit order with a trigger)."""

STOP_SPELLINGS: Final[Mapping[Side, str]] = {Side.BUY: "entry", Side.SELL: "loss"}
"""A stop order's ``stop`` by side: ``entry`` triggers when the last trade is at or above the
stop price (a buy stop), ``loss`` at or below it (a sell stop), as Serenity's stops do."""

TIME_IN_FORCE_SPELLINGS: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
}
"""Our time in force -> Coinbase's ``time_in_force`` for the ones an order can ask for."""
TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "GTT": TimeInForce.GTD,
}
"""Coinbase's ``time_in_force`` -> ours; ``GTT`` (good till a ``cancel_after`` of a minute,
an hour or a day) reads as GTD."""
UNSUPPORTED_TIME_IN_FORCE: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.DAY: "Coinbase Exchange has no trading day (its GTT lasts a fixed min, hour or "
    "day from placement); use GTC and cancel, or IOC",
    TimeInForce.GTD: "Coinbase Exchange's GTT expires only a fixed min, hour or day after "
    "placement, not at a chosen time; use GTC and cancel at expire_ts",
}
"""Times in force Coinbase cannot carry faithfully, with the reason an order is refused."""

LIQUIDITY: Final[Mapping[str, Liquidity]] = {"M": Liquidity.MAKER, "T": Liquidity.TAKER}
"""A fill's ``liquidity`` -> :class:`~serenity.model.Liquidity`; ``O`` (other, such as an
auction) has no counterpart and reads as None."""
LIQUIDITY_SPELLINGS: Final[Mapping[Liquidity, str]] = {v: k for k, v in LIQUIDITY.items()}

DONE_REASONS: Final[Mapping[str, OrderStatus]] = {
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
}
"""A ``done`` order's ``done_reason`` (REST) or ``reason`` (websocket) -> its final status.

A GTT order that timed out is ``canceled``: Coinbase reports no separate expiry."""

_OPEN_STATUSES: Final[Mapping[str, OrderStatus]] = {
    "pending": OrderStatus.PENDING_NEW,
    "received": OrderStatus.PENDING_NEW,
    "open": OrderStatus.NEW,
    "active": OrderStatus.NEW,
}
"""REST statuses of a live order: ``active`` is a stop order waiting for its trigger."""
_STOPS: Final = ("entry", "loss")
_ORDER_TYPES: Final[Mapping[tuple[str, bool], OrderType]] = {
    v: k for k, v in ORDER_TYPE_SPELLINGS.items()
}


def parse_side(raw: Any, *, where: str = "side") -> Side:
    """Return the :class:`~serenity.model.Side` of a ``buy``/``sell`` spelling.

    Raises
    ------
    DataError
        For any other spelling.
    """
    return f.spelling(VENUE, where, SIDES, raw)


def parse_order_type(kind: Any, stop: Any = None, *, where: str = "order") -> OrderType:
    """Return the :class:`~serenity.model.OrderType` of an order's ``type`` and ``stop``.

    ``type`` ``stop`` (an older spelling of a stop-market order) reads as STOP_MARKET.

    Raises
    ------
    DataError
        For an unknown ``type`` or ``stop``.
    """
    if stop is not None and stop not in _STOPS:
        raise DataError(f"{VENUE}: unknown {where}.stop {stop!r:.40}, expected one of {_STOPS}")
    if kind == "stop":
        return OrderType.STOP_MARKET
    found = _ORDER_TYPES.get((kind, stop is not None)) if isinstance(kind, str) else None
    if found is None:
        raise DataError(
            f"{VENUE}: unknown {where}.type {kind!r:.40}, expected one of "
            "['limit', 'market', 'stop']"
        )
    return found


def parse_time_in_force(raw: Any, *, where: str = "time_in_force") -> TimeInForce:
    """Return the :class:`~serenity.model.TimeInForce` of Coinbase's spelling (``GTT`` is GTD).

    Raises
    ------
    DataError
        For an unknown spelling.
    """
    return f.spelling(VENUE, where, TIME_IN_FORCE, raw)


def parse_liquidity(raw: Any) -> Liquidity | None:
    """Return maker or taker for ``M`` or ``T``; None for ``O`` (other), null or anything else."""
    return LIQUIDITY.get(raw) if isinstance(raw, str) else None


def parse_order_status(
    status: Any, done_reason: Any = None, *, is_filled: bool = False, where: str = "order"
) -> OrderStatus:
    """Return an order's :class:`~serenity.model.OrderStatus` from its REST ``status``.

    A live order (``pending``, ``received``, ``open``, ``active``) that has fills
    (``is_filled``) is PARTIALLY_FILLED. A ``done`` order's status is its ``done_reason``'s;
    ``rejected`` is REJECTED.

    Raises
    ------
    DataError
        For an unknown status or done reason.
    """
    if status == "done":
        return f.spelling(VENUE, f"{where}.done_reason", DONE_REASONS, done_reason)
    if status == "rejected":
        return OrderStatus.REJECTED
    live = _OPEN_STATUSES.get(status) if isinstance(status, str) else None
    if live is None:
        raise DataError(
            f"{VENUE}: unknown {where}.status {status!r:.40}, expected one of "
            f"{sorted([*_OPEN_STATUSES, 'done', 'rejected'])}"
        )
    return OrderStatus.PARTIALLY_FILLED if is_filled else live
