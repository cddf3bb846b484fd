"""What the order manager publishes: execution reports stamped with an order's state as the
order manager holds it, and the signals derived from its order events (the fills, and the
order each event changed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serenity.model import ExecType
from serenity.tau import Network, Signal
from serenity.tau.signal import Function
from serenity.trading.orders import Order
from serenity.trading.reports import ExecutionReport, OrderEvent

__all__ = ["ChangedOrders", "Fills", "stamped"]


class Fills(Function[ExecutionReport]):
    """The fill reports among the order events."""

    __slots__ = ("_events",)

    def __init__(self, network: Network, events: Signal[OrderEvent]) -> None:
        self._events = events
        super().__init__(network, [events], name="fills")

    def _call(self) -> bool:
        event = self._events._value
        if event.__class__ is ExecutionReport and event.exec_type is ExecType.TRADE:
            self._update(event)
            return True
        return False


class ChangedOrders(Function[Order]):
    """The order each event changed."""

    __slots__ = ("_events", "_orders")

    def __init__(
        self, network: Network, events: Signal[OrderEvent], orders: Mapping[int, Order]
    ) -> None:
        self._events = events
        self._orders = orders
        super().__init__(network, [events], name="orders")

    def _call(self) -> bool:
        order = self._orders.get(self._events._value.order_id)
        if order is None:
            return False
        self._update(order)
        return True


def stamped(
    order: Order,
    report: ExecutionReport | None = None,
    *,
    exec_id: str = "",
    exec_type: ExecType = ExecType.ORDER_STATUS,
    ts: int = 0,
) -> ExecutionReport:
    """Return a report with the order's state as the order manager now holds it: the
    placer's ``report`` (its exec id, type, time and fill) or, without one, a state
    change of the order manager's own."""
    state: dict[str, Any] = {
        "order_id": order.order_id,
        "cl_ord_id": order.cl_ord_id,
        "status": order.status,
        "account": order.account,
        "instrument": order.instrument,
        "side": order.side,
        "qty": order.qty,
        "price": order.price,
        "cum_qty": order.cum_qty,
        "leaves_qty": order.leaves_qty,
        "avg_px": order.avg_px,
        "venue_order_id": order.venue_order_id,
    }
    if report is None:
        return ExecutionReport(exec_id=exec_id, exec_type=exec_type, ts=ts, **state)
    return ExecutionReport(
        exec_id=report.exec_id,
        exec_type=report.exec_type,
        ts=report.ts,
        last_qty=report.last_qty,
        last_px=report.last_px,
        fee=report.fee,
        fee_currency=report.fee_currency,
        liquidity=report.liquidity,
        text=report.text,
        **state,
    )
