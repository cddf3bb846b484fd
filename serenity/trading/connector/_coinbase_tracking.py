"""Coinbase's answers about our orders, read into our terms with the ``user`` channel's
tracking (internal; no I/O).

Coinbase knows an order by its own id and our ``client_oid``, and an amend makes a new
venue order: the :class:`~serenity.exchange.coinbase.user_channel.UserChannel` keeps, for
each of our orders, its terms and what filled on each of its venue orders
(:class:`~serenity.exchange.coinbase.user_channel.TrackedOrder`). These functions start
that tracking (for an order we send, hold or find open on the venue) and read Coinbase's
answers with it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from serenity.errors import DataError
from serenity.exchange.coinbase import endpoints as cb
from serenity.exchange.coinbase.marketdata import parse_time
from serenity.exchange.coinbase.schemas import CoinbaseOrder
from serenity.exchange.coinbase.user_channel import TrackedOrder, UserChannel
from serenity.exchange.execution import OrderUpdate
from serenity.model import ExecType, OrderStatus
from serenity.trading.connector._coinbase_rest import log_bad
from serenity.trading.orders import Order

__all__ = ["acknowledged", "follow", "stated", "track", "tracked"]


def tracked(terms: Order | OrderUpdate, **state: Any) -> TrackedOrder:
    """Return the tracking of an order with ``terms`` (ours, or as Coinbase states them)
    and ``state`` (:class:`TrackedOrder`'s other fields: what filled, its venue order id)."""
    return TrackedOrder(
        cl_ord_id=terms.cl_ord_id,
        instrument=terms.instrument,
        side=terms.side,
        order_type=terms.order_type,
        qty=terms.qty,
        price=terms.price,
        stop_price=terms.stop_price,
        tif=terms.tif,
        post_only=terms.post_only,
        **state,
    )


def track(channel: UserChannel, order: Order) -> TrackedOrder:
    """Return the tracking of ``order`` as the order manager holds it (followed by
    ``channel`` once it has a venue order id)."""
    found = tracked(
        order,
        cum_qty=order.cum_qty,
        notional=(order.avg_px or Decimal(0)) * order.cum_qty,
        venue_order_id=order.venue_order_id or "",
        is_acked=order.status is not OrderStatus.PENDING_NEW,
    )
    if found.venue_order_id:
        channel.track(found)
    return found


def follow(channel: UserChannel, answer: CoinbaseOrder, exec_ids: set[str]) -> None:
    """Track an order found open on the venue, so its stream messages read right."""
    try:
        update = answer.to_order_update()
    except DataError as exc:
        log_bad([exc])
        return
    channel.track(
        tracked(
            update,
            cum_qty=answer.filled_size,
            notional=answer.executed_value,
            venue_order_id=answer.id,
            exec_ids=exec_ids,
            is_acked=True,
        )
    )


def stated(channel: UserChannel, answer: CoinbaseOrder) -> OrderUpdate:
    """Return Coinbase's statement of an order in our terms: an order carried on by a
    replacement keeps its total quantity and what filled before."""
    update = answer.to_order_update()
    found = channel.get(answer.id)
    if found is None or not found.base_qty:
        return update
    cum = found.base_qty + answer.filled_size
    paid = found.base_notional + answer.executed_value
    return dataclasses.replace(
        update, cl_ord_id=found.cl_ord_id, qty=found.qty, cum_qty=cum, avg_px=paid / cum
    )


def acknowledged(channel: UserChannel, answer: CoinbaseOrder, oid: str) -> list[OrderUpdate]:
    """Return what Coinbase's answer to a new order (sent with ``oid``) says: its ack, its
    rejection, or its end."""
    found = channel.bind(answer.id, oid)
    if found is None:  # pragma: no cover - expect() always precedes
        return [stated(channel, answer)]
    ts = parse_time(answer.created_at)
    if answer.status == "rejected":
        text = f"{cb.VENUE}: rejected: {answer.reject_reason or 'no reason given'}"
        return [found.update(ExecType.REJECTED, OrderStatus.REJECTED, ts, text=text)]
    if answer.status == "done":
        return [stated(channel, answer)]
    found.is_acked = True
    return [found.update(ExecType.NEW, found.fill_status, ts)]
