"""Turning a venue's order updates into the order manager's terms (internal)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from serenity.exchange.execution import OrderUpdate
from serenity.model import ExecType, OrderStatus, OrderType, TimeInForce
from serenity.trading.orders import LimitOrder, MarketOrder, Order, StopLimitOrder, StopOrder
from serenity.trading.reports import ExecutionReport

_ORDER_TYPES: Final[Mapping[OrderType, type[Order]]] = {
    OrderType.MARKET: MarketOrder,
    OrderType.LIMIT: LimitOrder,
    OrderType.STOP_MARKET: StopOrder,
    OrderType.STOP_LIMIT: StopLimitOrder,
}
STATE_EXEC: Final[Mapping[OrderStatus, ExecType]] = {
    OrderStatus.CANCELED: ExecType.CANCELED,
    OrderStatus.EXPIRED: ExecType.EXPIRED,
    OrderStatus.REJECTED: ExecType.REJECTED,
}
"""The change a terminal state implies (a filled state implies its fills, fetched apart)."""


def exec_id_of(update: OrderUpdate) -> str:
    """Return the exec id of a change: the same however the venue reported it."""
    kind = update.exec_type
    if kind is ExecType.TRADE:
        if update.fill is not None:
            return update.fill.exec_id
        return update.exec_id or f"trade:{update.venue_order_id}:{update.cum_qty}"
    if kind is ExecType.REPLACED:
        return update.exec_id or (
            f"replaced:{update.venue_order_id}:{update.qty}:{update.price}:{update.ts}"
        )
    return f"{kind}:{update.venue_order_id or update.cl_ord_id}"


def order_of(update: OrderUpdate, account: str) -> Order:
    """Return the order a venue's state describes, for ``account`` (to adopt it).

    Raises
    ------
    InvalidValueError
        When the venue's terms do not make an order.
    """
    cls = _ORDER_TYPES[update.order_type]
    order = cls(
        cl_ord_id=update.cl_ord_id,
        account=account,
        instrument=update.instrument,
        side=update.side,
        qty=update.qty,
        order_type=update.order_type,
        price=update.price,
        stop_price=update.stop_price,
        post_only=update.post_only,
        tif=update.tif if update.tif is not None else TimeInForce.GTC,
    )
    order.status = update.status
    order.cum_qty = update.cum_qty
    order.avg_px = update.avg_px
    order.venue_order_id = update.venue_order_id or None
    order.created_ts = order.updated_ts = update.ts
    return order


def report_of(order: Order, update: OrderUpdate, exec_id: str) -> ExecutionReport:
    """Return ``update`` of ``order`` as an execution report with ``exec_id``."""
    fill = update.fill
    return ExecutionReport(
        order_id=order.order_id,
        cl_ord_id=order.cl_ord_id,
        exec_id=exec_id,
        exec_type=update.exec_type,
        status=update.status,
        account=order.account,
        instrument=order.instrument,
        side=order.side,
        qty=update.qty,
        price=update.price,
        cum_qty=update.cum_qty,
        leaves_qty=update.leaves_qty,
        ts=update.ts,
        last_qty=fill.qty if fill is not None else Decimal(0),
        last_px=fill.price if fill is not None else None,
        avg_px=update.avg_px,
        fee=fill.fee if fill is not None else Decimal(0),
        fee_currency=fill.fee_currency if fill is not None else "",
        liquidity=fill.liquidity if fill is not None else None,
        venue_order_id=update.venue_order_id or None,
        text=update.text,
    )
