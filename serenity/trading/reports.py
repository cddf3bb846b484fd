"""What comes back about orders: execution reports, rejects, cancel rejects and errors."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum, unique

from serenity.model import ExecType, InstrumentId, Liquidity, OrderStatus, Side

__all__ = [
    "CancelReject",
    "ExecutionReport",
    "OrderError",
    "OrderEvent",
    "Reject",
    "RejectSource",
]


@unique
class RejectSource(StrEnum):
    """Who refused an order: local filter checks, pre-trade risk, or the venue."""

    VALIDATION = "validation"
    RISK = "risk"
    VENUE = "venue"


@dataclass(slots=True, kw_only=True)
class ExecutionReport:
    """A change of an order's state, FIX style; immutable by convention (not ``frozen``:
    reports are built per order event, where a frozen dataclass of this size costs three
    times as much to construct).

    ``last_qty``/``last_px`` are the fill of a ``TRADE`` report (0 and None otherwise);
    ``cum_qty``, ``leaves_qty``, ``avg_px`` and ``status`` are the order's state after the
    report. ``fee`` is the fee of this fill in ``fee_currency`` (positive is a cost, negative
    a rebate). ``exec_id`` identifies the report: a report whose ``exec_id`` was already
    applied is ignored, so a replayed fill is never counted twice. ``ts`` is the venue's
    time of the event (int ns, UTC).
    """

    order_id: int
    cl_ord_id: str
    exec_id: str
    exec_type: ExecType
    status: OrderStatus
    account: str
    instrument: InstrumentId
    side: Side
    qty: Decimal
    price: Decimal | None
    cum_qty: Decimal
    leaves_qty: Decimal
    ts: int
    last_qty: Decimal = Decimal(0)
    last_px: Decimal | None = None
    avg_px: Decimal | None = None
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    liquidity: Liquidity | None = None
    venue_order_id: str | None = None
    text: str | None = None

    @property
    def is_fill(self) -> bool:
        """Return True for a report of a fill (exec type ``TRADE``)."""
        return self.exec_type is ExecType.TRADE


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """An order refused before it worked: by local checks, pre-trade risk or the venue.

    ``reason`` says which filter or limit, with the values involved.
    """

    order_id: int
    cl_ord_id: str
    account: str
    instrument: InstrumentId
    reason: str
    source: RejectSource
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReject:
    """A cancel or amend that could not be done; the order is unchanged.

    ``order_id`` is 0 when the order is unknown. ``is_replace`` tells an amend from a cancel.
    """

    order_id: int
    cl_ord_id: str
    reason: str
    ts: int
    is_replace: bool = False
    status: OrderStatus | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderError:
    """A report the order manager refused to apply (an overfill, a fill on a finished or
    unknown order): it is logged and published, never applied."""

    order_id: int
    cl_ord_id: str
    reason: str
    ts: int
    report: ExecutionReport | None = None


OrderEvent = ExecutionReport | Reject | CancelReject | OrderError
"""Anything the order manager publishes on ``order_events``."""
