"""Binance spot's wire spellings of order terms and states, mapped both ways.

Sides are ``BUY``/``SELL``. Order types: ``MARKET``, ``LIMIT``, ``LIMIT_MAKER`` (a post-only
limit order: refused if it would take), ``STOP_LOSS`` and ``STOP_LOSS_LIMIT`` (triggered
when the last price reaches ``stopPrice``: a buy stop above the market, a sell stop below
it, as Serenity's stop orders are) and ``TAKE_PROFIT``/``TAKE_PROFIT_LIMIT`` (the opposite
trigger, read back as stop orders). Time in force: ``GTC``, ``IOC``, ``FOK`` (Binance spot
has no day or good-till-date orders, and no reduce-only: spot has no position to reduce).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, TypeVar

from serenity.errors import DataError
from serenity.exchange.binance.endpoints import VENUE
from serenity.model import ExecType, OrderStatus, OrderType, Side, TimeInForce

__all__ = [
    "EXEC_TYPES",
    "LIMIT_MAKER",
    "ORDER_STATUSES",
    "ORDER_TYPES",
    "SIDES",
    "TIME_IN_FORCE",
    "exec_type",
    "order_status",
    "order_type",
    "side",
    "time_in_force",
    "wire_order_type",
    "wire_side",
    "wire_time_in_force",
]

LIMIT_MAKER: Final = "LIMIT_MAKER"

SIDES: Final[Mapping[str, Side]] = {"BUY": Side.BUY, "SELL": Side.SELL}
"""Wire side to :class:`~serenity.model.Side`."""
_WIRE_SIDES: Final[Mapping[Side, str]] = {v: k for k, v in SIDES.items()}

ORDER_TYPES: Final[Mapping[str, tuple[OrderType, bool]]] = {
    "MARKET": (OrderType.MARKET, False),
    "LIMIT": (OrderType.LIMIT, False),
    LIMIT_MAKER: (OrderType.LIMIT, True),
    "STOP_LOSS": (OrderType.STOP_MARKET, False),
    "STOP_LOSS_LIMIT": (OrderType.STOP_LIMIT, False),
    "TAKE_PROFIT": (OrderType.STOP_MARKET, False),
    "TAKE_PROFIT_LIMIT": (OrderType.STOP_LIMIT, False),
}
"""Wire order type to ``(order type, is post-only)``."""
_WIRE_ORDER_TYPES: Final[Mapping[OrderType, str]] = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
}

TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
}
"""Wire time in force to :class:`~serenity.model.TimeInForce` (Binance spot has no other)."""
_WIRE_TIF: Final[Mapping[TimeInForce, str]] = {v: k for k, v in TIME_IN_FORCE.items()}

ORDER_STATUSES: Final[Mapping[str, OrderStatus]] = {
    "PENDING_NEW": OrderStatus.PENDING_NEW,
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.PENDING_CANCEL,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
"""Wire order status to :class:`~serenity.model.OrderStatus` (``EXPIRED_IN_MATCH``, an
expiry by self-trade prevention, is an expiry)."""

EXEC_TYPES: Final[Mapping[str, ExecType]] = {
    "NEW": ExecType.NEW,
    "CANCELED": ExecType.CANCELED,
    "REPLACED": ExecType.REPLACED,
    "REJECTED": ExecType.REJECTED,
    "TRADE": ExecType.TRADE,
    "EXPIRED": ExecType.EXPIRED,
    "TRADE_PREVENTION": ExecType.EXPIRED,
}
"""Wire execution type (``x`` of an ``executionReport``) to
:class:`~serenity.model.ExecType` (an expiry by self-trade prevention is an expiry)."""


_V = TypeVar("_V")


def _lookup(table: Mapping[str, _V], raw: str, what: str) -> _V:
    try:
        return table[raw]
    except (KeyError, TypeError):
        expected = ", ".join(sorted(table))
        raise DataError(f"{VENUE}: unknown {what} {raw!r}, expected one of {expected}") from None


def side(raw: str) -> Side:
    """Return the side spelled ``raw``.

    Raises
    ------
    DataError
        For an unknown spelling.
    """
    return _lookup(SIDES, raw, "side")


def order_type(raw: str) -> tuple[OrderType, bool]:
    """Return ``(order type, is post-only)`` of the order type spelled ``raw``.

    Raises
    ------
    DataError
        For an unknown spelling.
    """
    return _lookup(ORDER_TYPES, raw, "order type")


def time_in_force(raw: str) -> TimeInForce:
    """Return the time in force spelled ``raw``.

    Raises
    ------
    DataError
        For an unknown spelling.
    """
    return _lookup(TIME_IN_FORCE, raw, "time in force")


def order_status(raw: str) -> OrderStatus:
    """Return the order status spelled ``raw``.

    Raises
    ------
    DataError
        For an unknown spelling.
    """
    return _lookup(ORDER_STATUSES, raw, "order status")


def exec_type(raw: str) -> ExecType:
    """Return the execution type spelled ``raw``.

    Raises
    ------
    DataError
        For an unknown spelling.
    """
    return _lookup(EXEC_TYPES, raw, "execution type")


def wire_side(value: Side) -> str:
    """Return Binance's spelling of ``value``."""
    return _WIRE_SIDES[value]


def wire_order_type(value: OrderType, *, post_only: bool = False) -> str | None:
    """Return Binance's order type for ``value`` (``LIMIT_MAKER`` for a post-only limit
    order), or None when Binance spot has none."""
    if post_only:
        return LIMIT_MAKER if value is OrderType.LIMIT else None
    return _WIRE_ORDER_TYPES.get(value)


def wire_time_in_force(value: TimeInForce) -> str | None:
    """Return Binance's spelling of ``value``, or None when Binance spot has none (day and
    good-till-date orders)."""
    return _WIRE_TIF.get(value)
