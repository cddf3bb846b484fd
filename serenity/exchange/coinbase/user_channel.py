"""The ``user`` websocket channel read into order updates, free of I/O.

Coinbase's ``user`` channel sends one event per message about our own orders, and most of
them carry only Coinbase's ``order_id``: only ``received`` names our ``client_oid``, and no
message states an order's filled quantity. :class:`UserChannel` therefore keeps, per order,
what we asked for and what has filled, and turns each message into
:class:`~serenity.exchange.execution.OrderUpdate` values in our terms:

==============  =================================================================
message         update
==============  =================================================================
``received``    ``NEW`` (the matching engine took the order)
``open``        ``NEW`` (the same acknowledgement; applied once by its exec id)
``activate``    ``NEW`` of a stop order, waiting for its trigger
``match``       ``TRADE`` with the fill (our side, maker or taker, fee from the rate)
``change``      ``REPLACED``: self-trade prevention shrank the order, or an amend
                through FIX changed its price or size (``new_size`` is what is left)
``done``        ``CANCELED``; for ``filled`` nothing (the matches said it), unless a
                match is missing: then a statement of the venue's filled quantity, so
                the connector fetches the missing fills before anything finishes
==============  =================================================================

Orders are known from :meth:`UserChannel.expect` (before a request is sent, by its
``client_oid``) and :meth:`UserChannel.bind` (its answer's ``id``). A message about an
order the channel does not know still gives an update, with ``client_oid`` or Coinbase's
id as its client id, so the connector records the difference and reconciles.

An order can be carried on by a replacement (Coinbase's REST API has no amend, so an
amend is a cancel and a new order for what is left): :meth:`UserChannel.replacing` marks
the old order, whose ``done`` is then no cancel of ours, and the replacement is expected
with the quantity already filled, so the order's totals carry on across both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from serenity.exchange.coinbase.endpoints import VENUE
from serenity.exchange.coinbase.enums import parse_order_type, parse_side
from serenity.exchange.coinbase.marketdata import parse_time
from serenity.exchange.coinbase.schemas import (
    Activate,
    Change,
    Done,
    Match,
    Open,
    Received,
    UserMessage,
)
from serenity.exchange.execution import OrderUpdate, VenueFill
from serenity.model import ExecType, InstrumentId, OrderStatus, OrderType, Side, TimeInForce

__all__ = ["TrackedOrder", "UserChannel"]

log = logging.getLogger(__name__)

ZERO: Final = Decimal(0)
_NS: Final = 1_000_000_000


@dataclass(slots=True, kw_only=True)
class TrackedOrder:
    """What the channel knows of one of our orders (on one or, after amends, more venue
    orders).

    ``qty`` is our total quantity; ``cum_qty`` and ``notional`` sum every fill counted,
    those of replaced venue orders included; ``exec_ids`` are the fills counted;
    ``is_acked`` once its acknowledgement was read (a replacement's is not repeated);
    ``base_qty`` and ``base_notional`` what filled on the venue orders it replaced.
    """

    cl_ord_id: str
    instrument: InstrumentId
    side: Side
    order_type: OrderType
    qty: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce | None = None
    post_only: bool = False
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO
    venue_order_id: str = ""
    exec_ids: set[str] = field(default_factory=set)
    is_acked: bool = False
    base_qty: Decimal = ZERO
    base_notional: Decimal = ZERO

    @property
    def avg_px(self) -> Decimal | None:
        """Return the average fill price, None before the first fill."""
        return self.notional / self.cum_qty if self.cum_qty else None

    @property
    def fill_status(self) -> OrderStatus:
        """Return FILLED once the whole quantity filled, else PARTIALLY_FILLED or NEW."""
        if self.cum_qty >= self.qty:
            return OrderStatus.FILLED
        return OrderStatus.PARTIALLY_FILLED if self.cum_qty else OrderStatus.NEW

    def update(
        self,
        exec_type: ExecType,
        status: OrderStatus,
        ts: int,
        *,
        fill: VenueFill | None = None,
        exec_id: str | None = None,
        text: str | None = None,
    ) -> OrderUpdate:
        """Return an update of this order in its current state."""
        return OrderUpdate(
            instrument=self.instrument,
            cl_ord_id=self.cl_ord_id,
            venue_order_id=self.venue_order_id,
            exec_type=exec_type,
            status=status,
            side=self.side,
            order_type=self.order_type,
            qty=self.qty,
            cum_qty=self.cum_qty,
            ts=ts,
            tif=self.tif,
            price=self.price,
            stop_price=self.stop_price,
            avg_px=self.avg_px,
            exec_id=exec_id,
            fill=fill,
            post_only=self.post_only,
            text=text,
        )


class UserChannel:
    """Turn ``user`` channel messages into order updates (see the module docstring)."""

    def __init__(self) -> None:
        self._expected: dict[str, TrackedOrder] = {}  # client_oid -> order, before its id
        self._orders: dict[str, TrackedOrder] = {}  # Coinbase order id -> order
        self._replaced: set[str] = set()  # Coinbase ids of orders carried on by another

    # -- what we told the venue ------------------------------------------------------------

    def expect(self, client_oid: str, order: TrackedOrder) -> None:
        """Note that an order with ``client_oid`` is about to be sent."""
        self._expected[client_oid] = order

    def unexpect(self, client_oid: str) -> None:
        """Forget an expected order whose request failed."""
        self._expected.pop(client_oid, None)

    def bind(self, venue_order_id: str, client_oid: str | None = None) -> TrackedOrder | None:
        """Tie Coinbase's ``venue_order_id`` to the order expected as ``client_oid``; return
        the order (None when neither id is known)."""
        order = self._expected.pop(client_oid, None) if client_oid else None
        if order is None:
            return self._orders.get(venue_order_id)
        order.venue_order_id = venue_order_id
        self._orders[venue_order_id] = order
        return order

    def track(self, order: TrackedOrder) -> None:
        """Track an order already on the venue under its ``venue_order_id``."""
        self._orders[order.venue_order_id] = order

    def replacing(self, venue_order_id: str) -> None:
        """Note that ``venue_order_id`` is being replaced: its cancel is not ours to report."""
        self._replaced.add(venue_order_id)

    def not_replacing(self, venue_order_id: str) -> None:
        """Undo :meth:`replacing` (the cancel failed: the order carries on)."""
        self._replaced.discard(venue_order_id)

    def get(self, venue_order_id: str) -> TrackedOrder | None:
        """Return the order Coinbase knows as ``venue_order_id``, or None."""
        return self._orders.get(venue_order_id)

    def forget(self, venue_order_id: str) -> None:
        """Stop tracking a finished order."""
        self._orders.pop(venue_order_id, None)
        self._replaced.discard(venue_order_id)

    def count_fill(self, order: TrackedOrder, fill: VenueFill) -> bool:
        """Count ``fill`` in ``order``'s totals once; return False when it was counted."""
        if fill.exec_id in order.exec_ids:
            return False
        order.exec_ids.add(fill.exec_id)
        order.cum_qty += fill.qty
        order.notional += fill.qty * fill.price
        return True

    def count_fills(self, fills: Iterable[VenueFill]) -> None:
        """Count fills read elsewhere (``GET /fills``) in the orders they belong to."""
        for fill in fills:
            order = self._orders.get(fill.venue_order_id)
            if order is not None:
                self.count_fill(order, fill)

    # -- what the venue says -----------------------------------------------------------------

    def read(self, message: UserMessage) -> list[OrderUpdate]:
        """Return the updates one ``user`` channel message means (none for other types).

        Raises
        ------
        DataError
            For a malformed side, type or time.
        """
        if isinstance(message, Match):
            return self._match(message)
        if isinstance(message, Received):
            return self._received(message)
        if isinstance(message, Open):
            order = self._order_of(message.order_id, message.product_id, message.side)
            return self._ack(order, parse_time(message.time))
        if isinstance(message, Done):
            return self._done(message)
        if isinstance(message, Change):
            return self._change(message)
        if isinstance(message, Activate):
            order = self._order_of(message.order_id, message.product_id, message.side)
            return self._ack(order, int(Decimal(message.timestamp) * _NS))
        return []

    def _ack(self, order: TrackedOrder, ts: int) -> list[OrderUpdate]:
        if order.is_acked:
            return []
        order.is_acked = True
        return [order.update(ExecType.NEW, order.fill_status, ts)]

    def _received(self, message: Received) -> list[OrderUpdate]:
        order = self.bind(message.order_id, message.client_oid)
        if order is None:
            order = TrackedOrder(
                cl_ord_id=message.client_oid or message.order_id,
                instrument=InstrumentId(VENUE, message.product_id),
                side=parse_side(message.side, where="received.side"),
                order_type=parse_order_type(message.order_type, where="received"),
                qty=message.size if message.size is not None else ZERO,
                price=message.price,
                venue_order_id=message.order_id,
            )
            self._orders[message.order_id] = order
        return self._ack(order, parse_time(message.time))

    def _match(self, message: Match) -> list[OrderUpdate]:
        ours = self._orders.get(message.maker_order_id)
        order_id = message.maker_order_id
        if ours is None:
            ours = self._orders.get(message.taker_order_id)
            order_id = message.taker_order_id
        if ours is None:  # neither is tracked: the authenticated fields say which is ours
            is_taker = message.taker_user_id is not None or message.taker_profile_id is not None
            order_id = message.taker_order_id if is_taker else message.maker_order_id
            fill = message.to_fill(order_id)
            stranger = self._stranger(order_id, message.product_id, fill.side)
            return [
                stranger.update(ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, fill.ts, fill=fill)
            ]
        fill = message.to_fill(order_id)
        if not self.count_fill(ours, fill):
            return []
        return [ours.update(ExecType.TRADE, ours.fill_status, fill.ts, fill=fill)]

    def _done(self, message: Done) -> list[OrderUpdate]:
        order = self._order_of(message.order_id, message.product_id, message.side)
        ts = parse_time(message.time)
        if message.order_id in self._replaced and message.reason != "filled":
            self.forget(message.order_id)
            return []  # the cancel half of an amend: the replacement carries the order on
        self.forget(message.order_id)
        if message.reason == "filled":
            if order.cum_qty >= order.qty:
                return []
            # a match is missing: state what the venue filled, the fills are fetched
            return [
                _stated(order, OrderStatus.PARTIALLY_FILLED, ts, cum_qty=order.qty),
            ]
        venue_filled = _filled(order, message.remaining_size)
        if venue_filled is not None and venue_filled > order.cum_qty:
            return [_stated(order, OrderStatus.PARTIALLY_FILLED, ts, cum_qty=venue_filled)]
        text = f"done: {message.reason}" + (
            f" ({message.cancel_reason})" if message.cancel_reason else ""
        )
        return [order.update(ExecType.CANCELED, OrderStatus.CANCELED, ts, text=text)]

    def _change(self, message: Change) -> list[OrderUpdate]:
        order = self._order_of(message.order_id, message.product_id, message.side)
        if message.new_size is not None:
            order.qty = order.cum_qty + message.new_size
        if message.new_price is not None:
            order.price = message.new_price
        ts = parse_time(message.time)
        exec_id = f"change:{message.order_id}:{message.sequence or message.time}"
        return [
            order.update(
                ExecType.REPLACED,
                order.fill_status,
                ts,
                exec_id=exec_id,
                text=f"changed: {message.reason or 'by the venue'}",
            )
        ]

    def _order_of(self, venue_order_id: str, product_id: str, side: str) -> TrackedOrder:
        order = self._orders.get(venue_order_id)
        if order is not None:
            return order
        return self._stranger(venue_order_id, product_id, parse_side(side, where="side"))

    def _stranger(self, venue_order_id: str, product_id: str, side: Side) -> TrackedOrder:
        """Return a stand-in for an order the channel does not know (not tracked)."""
        return TrackedOrder(
            cl_ord_id=venue_order_id,
            instrument=InstrumentId(VENUE, product_id),
            side=side,
            order_type=OrderType.LIMIT,
            qty=ZERO,
            venue_order_id=venue_order_id,
        )


def _filled(order: TrackedOrder, remaining: Decimal | None) -> Decimal | None:
    """Return what the venue filled of ``order``, from a ``done``'s ``remaining_size``."""
    if remaining is None or not order.qty:
        return None
    return order.qty - remaining


def _stated(order: TrackedOrder, status: OrderStatus, ts: int, *, cum_qty: Decimal) -> OrderUpdate:
    """Return a statement of ``order``'s state with the venue's filled quantity."""
    update = order.update(ExecType.ORDER_STATUS, status, ts)
    return OrderUpdate(
        instrument=update.instrument,
        cl_ord_id=update.cl_ord_id,
        venue_order_id=update.venue_order_id,
        exec_type=update.exec_type,
        status=status,
        side=update.side,
        order_type=update.order_type,
        qty=update.qty,
        cum_qty=cum_qty,
        ts=ts,
        tif=update.tif,
        price=update.price,
        stop_price=update.stop_price,
        avg_px=update.avg_px,
        post_only=update.post_only,
    )
