"""Reconciliation: what to do when the venue's view of our orders differs from ours.

A connector reconciles at start and after every reconnect of its private stream: it reads
the venue's open orders, recent fills and balances (a :class:`VenueSnapshot`), the final
state of each of our working orders the venue no longer lists open, and hands them with
the orders it knows to :func:`reconcile`. That pure function decides:

* orders working on the venue that we do not know are **adopted** (placed from elsewhere,
  or by an earlier run: the order manager takes them over);
* fills we have not applied (by exec id) are **applied once**, in time order;
* our working orders the venue has closed are **finished** with the venue's status
  (canceled, expired, rejected; filled ones by their fills); those it does not know at all
  are **rejected** when never acknowledged, else **expired**, except on a venue that
  purges canceled orders without fills (``purges_unfilled_cancels``, e.g. Coinbase
  Exchange): there an acknowledged order with nothing filled that vanished was
  **canceled**;
* an acknowledgement we missed is applied;
* every difference is a :class:`Difference`, logged by the connector as a data-quality
  event.

Orders with a request in flight are left alone: their answer settles them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum, unique
from typing import Any

from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill, VenuePosition
from serenity.model import ExecType, InstrumentId, OrderStatus
from serenity.trading.orders import Order

__all__ = ["Difference", "DifferenceKind", "ReconcilePlan", "VenueSnapshot", "reconcile"]

_ZERO = Decimal(0)
_FINISHING = {
    OrderStatus.CANCELED: ExecType.CANCELED,
    OrderStatus.EXPIRED: ExecType.EXPIRED,
    OrderStatus.REJECTED: ExecType.REJECTED,
}


@unique
class DifferenceKind(StrEnum):
    """How the venue's view differed from ours."""

    ADOPTED = "adopted"
    """An order working on the venue that we did not know; adopted."""
    MISSED_FILL = "missed_fill"
    """A fill we had not applied (e.g. while the private stream was down); applied."""
    MISSED_ACK = "missed_ack"
    """The venue acknowledged an order we still thought pending; applied."""
    CLOSED_ON_VENUE = "closed_on_venue"
    """One of our working orders is closed on the venue; finished with its status."""
    UNKNOWN_TO_VENUE = "unknown_to_venue"
    """One of our working orders the venue does not know at all; rejected, expired, or (on
    a venue that purges canceled orders without fills, with nothing filled) canceled."""
    FOREIGN_FILL = "foreign_fill"
    """A fill of an order we do not know (and that is not working, so not adopted)."""
    FILL_GAP = "fill_gap"
    """The venue's filled quantity differs from ours after applying every fill it gave."""
    LATE_FILL = "late_fill"
    """A fill of an order we already consider finished; not applied."""
    UNKNOWN_ORDER = "unknown_order"
    """A private-stream event for an order we do not know."""
    ADOPT_FAILED = "adopt_failed"
    """An order working on the venue that could not be adopted (see details)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """One difference between the venue's view and ours, as a data-quality record.

    Attributes
    ----------
    venue
        The venue.
    kind
        What differed.
    ts
        When it was found (int ns, UTC).
    cl_ord_id, instrument
        The order and instrument concerned, when there is one.
    details
        JSON-able facts (quantities as strings).
    """

    venue: str
    kind: DifferenceKind
    ts: int
    cl_ord_id: str | None = None
    instrument: InstrumentId | None = None
    details: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueSnapshot:
    """What the venue says at one moment: open orders, recent fills, balances, positions.

    ``fills`` are those since the time the connector asked for (older ones are not
    compared); ``ts`` is when the snapshot was taken (int ns, UTC).
    """

    venue: str
    ts: int
    open_orders: Sequence[OrderUpdate] = ()
    fills: Sequence[VenueFill] = ()
    balances: Sequence[VenueBalance] = ()
    positions: Sequence[VenuePosition] = ()


@dataclass(slots=True)
class ReconcilePlan:
    """What :func:`reconcile` decided; the connector carries it out in this order.

    Attributes
    ----------
    adopt
        Venue orders to adopt (each an ``ORDER_STATUS`` update with its state).
    updates
        ``(order, update)`` to apply to orders we know, in order: missed acks, then fills
        in time order, then finishes.
    rejects
        ``(order, reason)``: orders the venue never received.
    covered
        Exec ids of fills already counted in an adopted order's filled quantity (never to
        be applied).
    differences
        Every difference found.
    """

    adopt: list[OrderUpdate] = field(default_factory=list)
    updates: list[tuple[Order, OrderUpdate]] = field(default_factory=list)
    rejects: list[tuple[Order, str]] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)
    differences: list[Difference] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        """Return True when the venue agreed with us in every respect."""
        return not self.differences


def reconcile(
    snapshot: VenueSnapshot,
    orders: Iterable[Order],
    *,
    closed: Mapping[str, OrderUpdate | None] | None = None,
    applied: Collection[str] = (),
    in_flight: Collection[str] = (),
    cancels_sent: Collection[str] = (),
    purges_unfilled_cancels: bool = False,
) -> ReconcilePlan:
    """Return what to do about the differences between ``snapshot`` and our ``orders``.

    Parameters
    ----------
    snapshot
        The venue's open orders, recent fills and balances.
    orders
        The orders we know on this venue account (working and finished).
    closed
        For our working orders missing from ``snapshot.open_orders``: the venue's final
        state of each by client order id, None when the venue does not know the order.
        Orders missing from this mapping are left alone.
    applied
        Exec ids already applied (fills are never applied twice).
    in_flight
        Client order ids with a request in flight (left alone).
    cancels_sent
        Client order ids of orders a cancel was sent for, whatever its answer: with the
        ``PENDING_CANCEL`` orders, those we asked to cancel (said in the difference and in
        the text of a canceled order's report).
    purges_unfilled_cancels
        The venue forgets an order canceled without fills (a lookup then finds nothing), so
        an acknowledged order of ours it does not know, with nothing filled, was canceled;
        when False (the default) such an order is expired. Either way the difference is
        reported.
    """
    venue = snapshot.venue
    now = snapshot.ts
    plan = ReconcilePlan()
    closed = closed or {}
    known = list(orders)
    by_cl = {o.cl_ord_id: o for o in known}
    by_venue_id = {o.venue_order_id: o for o in known if o.venue_order_id}
    open_by_cl = {u.cl_ord_id: u for u in snapshot.open_orders}
    for update in snapshot.open_orders:
        if update.venue_order_id and update.cl_ord_id in by_cl:
            by_venue_id.setdefault(update.venue_order_id, by_cl[update.cl_ord_id])
    for state in closed.values():
        if state is not None and state.venue_order_id and state.cl_ord_id in by_cl:
            by_venue_id.setdefault(state.venue_order_id, by_cl[state.cl_ord_id])

    # orders working on the venue that we do not know: adopt them
    adopted_venue_ids: set[str] = set()
    for update in snapshot.open_orders:
        order = by_cl.get(update.cl_ord_id) or by_venue_id.get(update.venue_order_id)
        if order is None and not update.status.is_terminal:
            plan.adopt.append(update)
            adopted_venue_ids.add(update.venue_order_id)
            plan.differences.append(
                Difference(
                    venue=venue,
                    kind=DifferenceKind.ADOPTED,
                    ts=now,
                    cl_ord_id=update.cl_ord_id,
                    instrument=update.instrument,
                    details={
                        "venue_order_id": update.venue_order_id,
                        "side": str(update.side),
                        "qty": str(update.qty),
                        "cum_qty": str(update.cum_qty),
                        "price": None if update.price is None else str(update.price),
                        "status": str(update.status),
                    },
                )
            )

    # missed acknowledgements
    for update in snapshot.open_orders:
        order = by_cl.get(update.cl_ord_id)
        if (
            order is not None
            and order.status is OrderStatus.PENDING_NEW
            and order.cl_ord_id not in in_flight
        ):
            ack = _restate(update, ExecType.NEW, OrderStatus.NEW, cum_qty=_ZERO)
            plan.updates.append((order, ack))
            plan.differences.append(_diff(venue, DifferenceKind.MISSED_ACK, now, order))

    # fills we have not applied, oldest first
    pending_qty: dict[int, Decimal] = {}
    seen = set(applied)
    for fill in sorted(snapshot.fills, key=lambda f: (f.ts, f.exec_id)):
        if fill.exec_id in seen:
            continue
        seen.add(fill.exec_id)
        if fill.venue_order_id in adopted_venue_ids:
            plan.covered.add(fill.exec_id)  # counted in the adopted order's filled qty
            continue
        order = (by_cl.get(fill.cl_ord_id) if fill.cl_ord_id else None) or by_venue_id.get(
            fill.venue_order_id
        )
        if order is None:
            plan.differences.append(
                Difference(
                    venue=venue,
                    kind=DifferenceKind.FOREIGN_FILL,
                    ts=now,
                    cl_ord_id=fill.cl_ord_id,
                    instrument=fill.instrument,
                    details=_fill_details(fill),
                )
            )
            continue
        if order.is_terminal:
            plan.differences.append(
                _diff(
                    venue,
                    DifferenceKind.LATE_FILL,
                    now,
                    order,
                    status=str(order.status),
                    **_fill_details(fill),
                )
            )
            continue
        cum = pending_qty.get(order.order_id, order.cum_qty) + fill.qty
        pending_qty[order.order_id] = cum
        status = OrderStatus.FILLED if cum >= order.qty else OrderStatus.PARTIALLY_FILLED
        plan.updates.append(
            (
                order,
                OrderUpdate(
                    instrument=order.instrument,
                    cl_ord_id=order.cl_ord_id,
                    venue_order_id=fill.venue_order_id,
                    exec_type=ExecType.TRADE,
                    status=status,
                    side=order.side,
                    order_type=order.order_type,
                    qty=order.qty,
                    price=order.price,
                    cum_qty=cum,
                    ts=fill.ts,
                    exec_id=fill.exec_id,
                    fill=fill,
                ),
            )
        )
        plan.differences.append(
            _diff(venue, DifferenceKind.MISSED_FILL, now, order, **_fill_details(fill))
        )

    # our live orders (pending ones too): compare filled quantities; finish those closed
    for order in known:
        if order.is_terminal or order.cl_ord_id in in_flight:
            continue
        ours = pending_qty.get(order.order_id, order.cum_qty)
        theirs: OrderUpdate | None = open_by_cl.get(order.cl_ord_id)
        if theirs is None and order.cl_ord_id in closed:
            theirs = closed[order.cl_ord_id]
            if theirs is None:
                _unknown_to_venue(
                    plan,
                    venue,
                    now,
                    order,
                    ours,
                    cancel_requested=order.status is OrderStatus.PENDING_CANCEL
                    or order.cl_ord_id in cancels_sent,
                    purged=purges_unfilled_cancels and ours == _ZERO,
                )
                continue
            if theirs.cum_qty != ours:
                plan.differences.append(_gap(venue, now, order, theirs.cum_qty, ours))
            exec_type = _FINISHING.get(theirs.status)
            if exec_type is not None:
                plan.updates.append((order, _restate(theirs, exec_type, theirs.status)))
                plan.differences.append(
                    _diff(
                        venue,
                        DifferenceKind.CLOSED_ON_VENUE,
                        now,
                        order,
                        status=str(theirs.status),
                        text=theirs.text,
                    )
                )
        elif theirs is not None and theirs.cum_qty != ours:
            plan.differences.append(_gap(venue, now, order, theirs.cum_qty, ours))
    return plan


def _unknown_to_venue(
    plan: ReconcilePlan,
    venue: str,
    now: int,
    order: Order,
    cum_qty: Decimal,
    *,
    cancel_requested: bool,
    purged: bool,
) -> None:
    """Finish ``order``, which ``venue`` does not know: rejected when never acknowledged;
    canceled when the venue purges canceled orders without fills and nothing filled
    (``purged``); else expired."""
    never_acked = order.status is OrderStatus.PENDING_NEW
    if never_acked:
        ending = "rejected"
    else:
        ending = "canceled" if purged else "expired"
    plan.differences.append(
        _diff(
            venue,
            DifferenceKind.UNKNOWN_TO_VENUE,
            now,
            order,
            status=str(order.status),
            cum_qty=str(cum_qty),
            cancel_requested=cancel_requested,
            ending=ending,
        )
    )
    if never_acked:
        plan.rejects.append((order, f"{venue} never received the order"))
        return
    plan.updates.append(
        (order, vanished_update(venue, now, order, cum_qty, purged=purged, by_us=cancel_requested))
    )


def vanished_update(
    venue: str, now: int, order: Order, cum_qty: Decimal, *, purged: bool, by_us: bool
) -> OrderUpdate:
    """Return the update that finishes an acknowledged ``order`` that ``venue`` no longer
    knows: canceled when ``purged`` (the venue purges canceled orders without fills, and
    nothing filled; ``by_us`` says whether we asked for the cancel), else expired."""
    if purged:
        exec_type, status = ExecType.CANCELED, OrderStatus.CANCELED
        by = "as we asked" if by_us else "not at our request"
        text = f"{venue} purged the order: canceled ({by}) with no fills"
    else:
        exec_type, status = ExecType.EXPIRED, OrderStatus.EXPIRED
        text = f"{venue} no longer knows the order"
    return OrderUpdate(
        instrument=order.instrument,
        cl_ord_id=order.cl_ord_id,
        venue_order_id=order.venue_order_id or "",
        exec_type=exec_type,
        status=status,
        side=order.side,
        order_type=order.order_type,
        qty=order.qty,
        price=order.price,
        cum_qty=cum_qty,
        ts=now,
        exec_id=f"reconcile:{status}:{order.cl_ord_id}",
        text=text,
    )


def _restate(
    update: OrderUpdate,
    exec_type: ExecType,
    status: OrderStatus,
    *,
    cum_qty: Decimal | None = None,
) -> OrderUpdate:
    return OrderUpdate(
        instrument=update.instrument,
        cl_ord_id=update.cl_ord_id,
        venue_order_id=update.venue_order_id,
        exec_type=exec_type,
        status=status,
        side=update.side,
        order_type=update.order_type,
        tif=update.tif,
        qty=update.qty,
        price=update.price,
        stop_price=update.stop_price,
        cum_qty=update.cum_qty if cum_qty is None else cum_qty,
        avg_px=update.avg_px,
        ts=update.ts,
        exec_id=f"{exec_type}:{update.venue_order_id}",
        post_only=update.post_only,
        text=update.text,
    )


def _diff(venue: str, kind: DifferenceKind, ts: int, order: Order, **details: Any) -> Difference:
    return Difference(
        venue=venue,
        kind=kind,
        ts=ts,
        cl_ord_id=order.cl_ord_id,
        instrument=order.instrument,
        details=details,
    )


def _gap(venue: str, ts: int, order: Order, theirs: Decimal, ours: Decimal) -> Difference:
    return _diff(
        venue, DifferenceKind.FILL_GAP, ts, order, venue_cum_qty=str(theirs), cum_qty=str(ours)
    )


def _fill_details(fill: VenueFill) -> dict[str, Any]:
    return {
        "exec_id": fill.exec_id,
        "venue_order_id": fill.venue_order_id,
        "qty": str(fill.qty),
        "price": str(fill.price),
        "fill_ts": fill.ts,
    }
