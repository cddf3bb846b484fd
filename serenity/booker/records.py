"""What gets booked, as plain values: order states with their fills, positions and marks.

The booking service turns each order event into an :class:`OrderRecord` in the event's own
cycle (a few attribute reads, no I/O) and hands lists of records to the writer thread and
the journal. Records are frozen, hold only ``str``/``int``/``bool``/:class:`~decimal.Decimal`
values and enums, and round-trip through :func:`record_to_dict` / :func:`record_from_dict`
(JSON-ready dicts, amounts as decimal strings) exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from serenity.errors import DataError
from serenity.model import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from serenity.trading import CancelReject, ExecutionReport, Order, Reject

__all__ = [
    "BookingRecord",
    "FillRecord",
    "MarkRecord",
    "OrderRecord",
    "PositionRecord",
    "order_record",
    "record_from_dict",
    "record_to_dict",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FillRecord:
    """One fill of an order: ``exec_id`` becomes the ``fill.venue_fill_id``.

    ``fee`` is in ``fee_currency`` (positive a cost, negative a rebate); ``ts`` is the
    venue's time of the fill (int ns, UTC).
    """

    exec_id: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity | None
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRecord:
    """An order's state after one event, and the fill that event reported (if any).

    ``venue``/``symbol`` name the instrument and, with ``account``, the exchange account;
    ``run_id`` is the ``strategy_run`` row the order belongs to, if any. ``created_ts`` is
    when the order was submitted and ``ts`` when this state began (int ns, UTC).
    """

    venue: str
    symbol: str
    account: str
    cl_ord_id: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    is_post_only: bool
    is_reduce_only: bool
    status: OrderStatus
    cum_qty: Decimal
    avg_price: Decimal | None
    venue_order_id: str | None
    reason: str | None
    created_ts: int
    ts: int
    run_id: int | None = None
    fill: FillRecord | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRecord:
    """A snapshot of ``account``'s signed quantity in an instrument at ``ts`` (int ns)."""

    venue: str
    symbol: str
    account: str
    ts: int
    qty: Decimal
    avg_price: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkRecord:
    """An instrument's mark price at ``ts`` (int ns) from the named ``source``."""

    venue: str
    symbol: str
    source: str
    ts: int
    price: Decimal


BookingRecord = OrderRecord | PositionRecord | MarkRecord
"""Anything the booker writes."""


def order_record(
    event: ExecutionReport | Reject | CancelReject,
    order: Order | None,
    *,
    run_id: int | None = None,
) -> OrderRecord | None:
    """Return the record of an order's state after ``event``, or None if nothing is booked.

    ``order`` is the order manager's order, for what reports do not carry (type, time in
    force, instructions). Every execution report is booked, a fill also as a
    :class:`FillRecord`. A reject is booked when the order is known, with its reason. A
    cancel reject is booked when the order is known, for the status the order went back to
    (a cancel that failed leaves the order working, not pending cancel).
    """
    if isinstance(event, Reject | CancelReject):
        if order is None:
            return None
        if isinstance(event, Reject):
            status, reason = OrderStatus.REJECTED, _clip(event.reason)
        else:
            status = event.status or order.status
            reason = _clip(order.reason) if status.is_terminal else None
        return OrderRecord(
            venue=order.instrument.venue,
            symbol=order.instrument.symbol,
            account=order.account,
            cl_ord_id=order.cl_ord_id,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.tif,
            qty=order.qty,
            price=order.price,
            stop_price=order.stop_price,
            is_post_only=order.post_only,
            is_reduce_only=order.reduce_only,
            status=status,
            cum_qty=order.cum_qty,
            avg_price=order.avg_px,
            venue_order_id=order.venue_order_id,
            reason=reason,
            created_ts=order.created_ts or event.ts,
            ts=event.ts,
            run_id=run_id,
        )
    fill = None
    if event.is_fill and event.last_px is not None:
        fill = FillRecord(
            exec_id=event.exec_id,
            qty=event.last_qty,
            price=event.last_px,
            fee=event.fee,
            fee_currency=event.fee_currency,
            liquidity=event.liquidity,
            ts=event.ts,
        )
    if order is not None:
        order_type, tif, stop = order.order_type, order.tif, order.stop_price
        post_only, reduce_only, created = order.post_only, order.reduce_only, order.created_ts
        reason = order.reason or event.text
    else:  # a report from elsewhere (a venue's history): infer what it does not say
        order_type = OrderType.MARKET if event.price is None else OrderType.LIMIT
        tif, stop, post_only, reduce_only, created = TimeInForce.GTC, None, False, False, 0
        reason = event.text
    return OrderRecord(
        venue=event.instrument.venue,
        symbol=event.instrument.symbol,
        account=event.account,
        cl_ord_id=event.cl_ord_id,
        side=event.side,
        order_type=order_type,
        time_in_force=tif,
        qty=event.qty,
        price=event.price,
        stop_price=stop,
        is_post_only=post_only,
        is_reduce_only=reduce_only,
        status=event.status,
        cum_qty=event.cum_qty,
        avg_price=event.avg_px,
        venue_order_id=event.venue_order_id,
        reason=_clip(reason) if event.status.is_terminal else None,
        created_ts=created or event.ts,
        ts=event.ts,
        run_id=run_id,
        fill=fill,
    )


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:256]


# -- JSON-ready dicts, for the journal ----------------------------------------------------

_DECIMALS: Final = frozenset({"qty", "price", "stop_price", "cum_qty", "avg_price", "fee"})


def record_to_dict(record: BookingRecord) -> dict[str, Any]:
    """Return ``record`` as a JSON-ready dict: amounts as decimal strings, enums as values."""
    out: dict[str, Any] = {"kind": _KIND[type(record)]}
    for name in record.__slots__:
        value = getattr(record, name)
        if isinstance(value, FillRecord):
            value = {n: _plain(getattr(value, n)) for n in FillRecord.__slots__}
        out[name] = _plain(value)
    return out


def record_from_dict(data: dict[str, Any]) -> BookingRecord:
    """Return the record :func:`record_to_dict` made ``data`` from.

    Raises
    ------
    DataError
        When ``data`` is not such a dict.
    """
    try:
        kind = _CLASSES[data["kind"]]
        fields = {k: _typed(k, v) for k, v in data.items() if k != "kind"}
        if kind is OrderRecord and fields.get("fill") is not None:
            fill = fields["fill"]
            fields["fill"] = FillRecord(**{k: _typed(k, v) for k, v in fill.items()})
        record: BookingRecord = kind(**fields)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise DataError(f"not a booking record: {data!r} ({exc})") from None
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value  # StrEnums are str, the rest is JSON already


_ENUMS: Final[dict[str, Any]] = {
    "side": Side,
    "order_type": OrderType,
    "time_in_force": TimeInForce,
    "status": OrderStatus,
    "liquidity": Liquidity,
}


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DECIMALS:
        return Decimal(value)
    enum = _ENUMS.get(name)
    if enum is not None:
        return enum(value)
    return value


_KIND: Final[dict[type, str]] = {
    OrderRecord: "order",
    PositionRecord: "position",
    MarkRecord: "mark",
}
_CLASSES: Final[dict[str, type]] = {v: k for k, v in _KIND.items()}
