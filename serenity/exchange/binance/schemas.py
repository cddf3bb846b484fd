"""Binance spot private messages as typed msgspec Structs, with their domain conversions.

REST answers (``POST/DELETE/GET /api/v3/order``, ``openOrders``, ``myTrades``, ``account``,
``order/amend/keepPriority``, ``order/cancelReplace``) and user data stream events
(``executionReport``, ``outboundAccountPosition``) are decoded straight from bytes by
:func:`decode`, which checks every field's type; decimals arrive as strings and become
exact :class:`~decimal.Decimal`. Each message converts itself to the venue-neutral values
of :mod:`serenity.exchange.execution` (``to_order_update()``, ``to_updates()``,
``to_fill()``, ``to_balances()``); the order connector matches those to our orders.

A fill's exec id is ``<symbol>:<trade id>`` whichever message reports it (the order
answer's ``fills[].tradeId``, the stream's ``t``, ``myTrades``' ``id``), so a fill is
applied once however often it is reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final, TypeVar

import msgspec

from serenity.errors import DataError
from serenity.exchange.binance import enums
from serenity.exchange.binance.endpoints import VENUE
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill
from serenity.model import ExecType, InstrumentId, Liquidity, OrderStatus

__all__ = [
    "Account",
    "AccountBalance",
    "AccountPositionEvent",
    "AmendAnswer",
    "AmendedOrder",
    "CancelReplaceAnswer",
    "ErrorBody",
    "ExecutionReportEvent",
    "MyTrade",
    "OrderAnswer",
    "OrderFill",
    "ServerTime",
    "UserEvent",
    "WsResponse",
    "decode",
    "fill_exec_id",
]

_NS_PER_MS: Final = 1_000_000
_ZERO: Final = Decimal(0)
_FINAL_EXEC: Final = {
    OrderStatus.CANCELED: ExecType.CANCELED,
    OrderStatus.EXPIRED: ExecType.EXPIRED,
    OrderStatus.REJECTED: ExecType.REJECTED,
}

T = TypeVar("T")


def decode(data: bytes | str, type: type[T], what: str) -> T:  # noqa: A002 (msgspec's name)
    """Return ``data`` decoded as ``type``.

    Raises
    ------
    DataError
        When ``data`` is not JSON or a field is missing or of the wrong type; the message
        names the venue, ``what`` was read and msgspec's path to the field.
    """
    try:
        return msgspec.json.decode(data, type=type)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DataError(f"{VENUE}: malformed {what}: {exc}") from None


def fill_exec_id(symbol: str, trade_id: int) -> str:
    """Return the exec id of the fill ``trade_id`` of ``symbol``."""
    return f"{symbol}:{trade_id}"


def _ns(ms: int | None) -> int:
    return 0 if ms is None else ms * _NS_PER_MS


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def _avg(quote: Decimal | None, qty: Decimal) -> Decimal | None:
    if quote is None or quote <= 0 or qty <= 0:
        return None
    return quote / qty


def _balances(rows: Iterable[AccountBalance | _PositionBalance], ts: int) -> list[VenueBalance]:
    """Return Binance's free and locked amounts of each asset as balances stamped ``ts``."""
    return [
        VenueBalance(
            venue=VENUE,
            currency=b.asset,
            total=b.free + b.locked,
            available=b.free,
            locked=b.locked,
            ts=ts,
        )
        for b in rows
    ]


class ErrorBody(msgspec.Struct, frozen=True):
    """An error answer: ``{"code": -2010, "msg": "..."}``."""

    code: int | str
    msg: str = ""


class ServerTime(msgspec.Struct, frozen=True, rename="camel"):
    """``GET /api/v3/time``: the server's clock in ms."""

    server_time: int


class OrderFill(msgspec.Struct, frozen=True, rename="camel"):
    """One fill in a ``FULL`` order answer (always taker: it filled on arrival)."""

    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    trade_id: int


class OrderAnswer(msgspec.Struct, frozen=True, rename="camel"):
    """An order as Binance states it: the answer to a new order (``FULL``), a cancel, a
    query, and each entry of ``openOrders``.

    ``client_order_id`` is the order's, except in a cancel's answer, where it is the
    cancel's own and ``orig_client_order_id`` the order's.
    """

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    status: str
    orig_qty: Decimal
    executed_qty: Decimal = _ZERO
    cummulative_quote_qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None
    orig_client_order_id: str | None = None
    transact_time: int | None = None
    time: int | None = None
    update_time: int | None = None
    working_time: int | None = None
    fills: list[OrderFill] = msgspec.field(default_factory=list)
    expiry_reason: str | None = None

    @property
    def instrument(self) -> InstrumentId:
        """Return the order's instrument."""
        return InstrumentId(VENUE, self.symbol)

    @property
    def our_id(self) -> str:
        """Return the order's client id (the original one in a cancel's answer)."""
        return self.orig_client_order_id or self.client_order_id

    @property
    def ts(self) -> int:
        """Return the time of the state, int ns."""
        return _ns(self.transact_time or self.update_time or self.time or self.working_time)

    def to_order_update(self, exec_type: ExecType = ExecType.ORDER_STATUS) -> OrderUpdate:
        """Return the order's state as an update of ``exec_type``.

        Raises
        ------
        DataError
            For a side, type, status or time in force Binance does not document.
        """
        kind, post_only = enums.order_type(self.type)
        return OrderUpdate(
            instrument=self.instrument,
            cl_ord_id=self.our_id,
            venue_order_id=str(self.order_id),
            exec_type=exec_type,
            status=enums.order_status(self.status),
            side=enums.side(self.side),
            order_type=kind,
            tif=enums.time_in_force(self.time_in_force) if self.time_in_force else None,
            qty=self.orig_qty,
            price=_positive(self.price),
            stop_price=_positive(self.stop_price),
            cum_qty=self.executed_qty,
            avg_px=_avg(self.cummulative_quote_qty, self.executed_qty),
            ts=self.ts,
            post_only=post_only,
            text=self.expiry_reason,
        )

    def to_updates(self) -> list[OrderUpdate]:
        """Return what a new order's answer says happened, in order: the acknowledgement,
        each fill, and the end (canceled, expired or rejected) when it ended at once.

        Raises
        ------
        DataError
            For a side, type, status or time in force Binance does not document.
        """
        state = self.to_order_update()
        ts = state.ts
        ack = dataclasses.replace(
            state,
            exec_type=ExecType.NEW,
            status=OrderStatus.NEW,
            cum_qty=_ZERO,
            avg_px=None,
            text=None,
        )
        out = [ack]
        cum = _ZERO
        paid = _ZERO
        for fill in self.fills:
            cum += fill.qty
            paid += fill.qty * fill.price
            done = cum >= self.orig_qty
            out.append(
                dataclasses.replace(
                    state,
                    exec_type=ExecType.TRADE,
                    status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                    cum_qty=cum,
                    avg_px=paid / cum,
                    text=None,
                    fill=VenueFill(
                        instrument=state.instrument,
                        exec_id=fill_exec_id(self.symbol, fill.trade_id),
                        venue_order_id=state.venue_order_id,
                        cl_ord_id=state.cl_ord_id,
                        side=state.side,
                        qty=fill.qty,
                        price=fill.price,
                        ts=ts,
                        fee=fill.commission,
                        fee_currency=fill.commission_asset,
                        liquidity=Liquidity.TAKER,
                    ),
                )
            )
        final = _FINAL_EXEC.get(state.status)
        if final is not None:
            out.append(dataclasses.replace(state, exec_type=final))
        return out


class AmendedOrder(msgspec.Struct, frozen=True, rename="camel"):
    """The order after an amend (``amendedOrder``)."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    status: str
    qty: Decimal
    executed_qty: Decimal = _ZERO
    cumulative_quote_qty: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str | None = None
    orig_client_order_id: str | None = None


class AmendAnswer(msgspec.Struct, frozen=True, rename="camel"):
    """``PUT /api/v3/order/amend/keepPriority``: the amended order and the execution id."""

    transact_time: int
    execution_id: int
    amended_order: AmendedOrder

    def to_order_update(self) -> OrderUpdate:
        """Return the amend as a ``REPLACED`` update (its exec id the stream's too).

        Raises
        ------
        DataError
            For a spelling Binance does not document.
        """
        order = self.amended_order
        kind, post_only = enums.order_type(order.type)
        return OrderUpdate(
            instrument=InstrumentId(VENUE, order.symbol),
            cl_ord_id=order.client_order_id,
            venue_order_id=str(order.order_id),
            exec_type=ExecType.REPLACED,
            status=enums.order_status(order.status),
            side=enums.side(order.side),
            order_type=kind,
            tif=enums.time_in_force(order.time_in_force) if order.time_in_force else None,
            qty=order.qty,
            price=_positive(order.price),
            cum_qty=order.executed_qty,
            avg_px=_avg(order.cumulative_quote_qty, order.executed_qty),
            ts=_ns(self.transact_time),
            exec_id=f"replaced:{order.order_id}:{self.execution_id}",
            post_only=post_only,
        )


class CancelReplaceAnswer(msgspec.Struct, frozen=True, rename="camel"):
    """``POST /api/v3/order/cancelReplace`` when both halves succeeded."""

    cancel_result: str
    new_order_result: str
    cancel_response: OrderAnswer
    new_order_response: OrderAnswer


class MyTrade(msgspec.Struct, frozen=True, rename="camel"):
    """One row of ``GET /api/v3/myTrades``."""

    symbol: str
    id: int
    order_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool

    def to_fill(self) -> VenueFill:
        """Return the fill (without our client order id: the row does not carry it)."""
        return VenueFill(
            instrument=InstrumentId(VENUE, self.symbol),
            exec_id=fill_exec_id(self.symbol, self.id),
            venue_order_id=str(self.order_id),
            cl_ord_id=None,
            side=enums.side("BUY" if self.is_buyer else "SELL"),
            qty=self.qty,
            price=self.price,
            ts=_ns(self.time),
            fee=self.commission,
            fee_currency=self.commission_asset,
            liquidity=Liquidity.MAKER if self.is_maker else Liquidity.TAKER,
        )


class AccountBalance(msgspec.Struct, frozen=True):
    """One asset's balance in ``GET /api/v3/account``."""

    asset: str
    free: Decimal
    locked: Decimal


class Account(msgspec.Struct, frozen=True, rename="camel"):
    """``GET /api/v3/account``: the balances (other fields are not read)."""

    balances: list[AccountBalance]
    update_time: int = 0

    def to_balances(self, ts: int | None = None) -> list[VenueBalance]:
        """Return the balances, stamped ``ts`` (the account's update time by default)."""
        return _balances(self.balances, _ns(self.update_time) if ts is None else ts)


# -- the user data stream ---------------------------------------------------------------------


class ExecutionReportEvent(msgspec.Struct, frozen=True):
    """An ``executionReport`` event: one change of one of our orders."""

    event_time: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    client_order_id: str = msgspec.field(name="c")
    side: str = msgspec.field(name="S")
    type: str = msgspec.field(name="o")
    time_in_force: str = msgspec.field(name="f")
    qty: Decimal = msgspec.field(name="q")
    price: Decimal = msgspec.field(name="p")
    stop_price: Decimal = msgspec.field(name="P")
    exec_type: str = msgspec.field(name="x")
    status: str = msgspec.field(name="X")
    order_id: int = msgspec.field(name="i")
    last_qty: Decimal = msgspec.field(name="l")
    cum_qty: Decimal = msgspec.field(name="z")
    last_price: Decimal = msgspec.field(name="L")
    transact_time: int = msgspec.field(name="T")
    trade_id: int = msgspec.field(name="t")
    execution_id: int = msgspec.field(name="I")
    is_maker: bool = msgspec.field(name="m")
    cum_quote_qty: Decimal = msgspec.field(name="Z")
    orig_client_order_id: str = msgspec.field(default="", name="C")
    reject_reason: str = msgspec.field(default="NONE", name="r")
    commission: Decimal | None = msgspec.field(default=None, name="n")
    commission_asset: str | None = msgspec.field(default=None, name="N")
    expiry_reason: str | None = msgspec.field(default=None, name="eR")

    def to_order_update(self) -> OrderUpdate:
        """Return the change as an update (a ``TRADE`` with its fill).

        For a cancel, ``c`` is the cancel request's id and ``C`` the order's: the update
        names the order.

        Raises
        ------
        DataError
            For a spelling Binance does not document.
        """
        kind, post_only = enums.order_type(self.type)
        exec_type = enums.exec_type(self.exec_type)
        side = enums.side(self.side)
        cl = self.orig_client_order_id or self.client_order_id
        instrument = InstrumentId(VENUE, self.symbol)
        ts = _ns(self.transact_time)
        fill = None
        exec_id = None
        if exec_type is ExecType.TRADE:
            exec_id = fill_exec_id(self.symbol, self.trade_id)
            fill = VenueFill(
                instrument=instrument,
                exec_id=exec_id,
                venue_order_id=str(self.order_id),
                cl_ord_id=cl,
                side=side,
                qty=self.last_qty,
                price=self.last_price,
                ts=ts,
                fee=self.commission or _ZERO,
                fee_currency=self.commission_asset or "",
                liquidity=Liquidity.MAKER if self.is_maker else Liquidity.TAKER,
            )
        elif exec_type is ExecType.REPLACED:
            exec_id = f"replaced:{self.order_id}:{self.execution_id}"
        text = None
        if self.reject_reason != "NONE":
            text = self.reject_reason
        elif self.expiry_reason:
            text = self.expiry_reason
        return OrderUpdate(
            instrument=instrument,
            cl_ord_id=cl,
            venue_order_id=str(self.order_id),
            exec_type=exec_type,
            status=enums.order_status(self.status),
            side=side,
            order_type=kind,
            tif=enums.time_in_force(self.time_in_force),
            qty=self.qty,
            price=_positive(self.price),
            stop_price=_positive(self.stop_price),
            cum_qty=self.cum_qty,
            avg_px=_avg(self.cum_quote_qty, self.cum_qty),
            ts=ts,
            exec_id=exec_id,
            fill=fill,
            post_only=post_only,
            text=text,
        )


class _PositionBalance(msgspec.Struct, frozen=True):
    asset: str = msgspec.field(name="a")
    free: Decimal = msgspec.field(name="f")
    locked: Decimal = msgspec.field(name="l")


class AccountPositionEvent(msgspec.Struct, frozen=True):
    """An ``outboundAccountPosition`` event: the balances an account change touched."""

    event_time: int = msgspec.field(name="E")
    update_time: int = msgspec.field(name="u")
    balances: list[_PositionBalance] = msgspec.field(name="B")

    def to_balances(self) -> list[VenueBalance]:
        """Return the balances, stamped with the time of the account update."""
        return _balances(self.balances, _ns(self.update_time))


class _EventType(msgspec.Struct, frozen=True):
    e: str


class UserEvent(msgspec.Struct, frozen=True, rename="camel"):
    """A user data stream frame: ``{"subscriptionId": 0, "event": {...}}`` (the event is
    decoded by its type ``e``; see :meth:`event_type`)."""

    event: msgspec.Raw
    subscription_id: int | None = None

    def event_type(self) -> str:
        """Return the event's type (``executionReport``, ``outboundAccountPosition``...).

        Raises
        ------
        DataError
            When the event has no type.
        """
        return decode(self.event, _EventType, "user data stream event").e


class WsResponse(msgspec.Struct, frozen=True):
    """An answer of the WebSocket API to one of our requests."""

    id: str | int | None
    status: int
    result: Any = None
    error: ErrorBody | None = None
