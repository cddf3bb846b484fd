"""Phemex's contract messages: the Account-Order-Position stream and the contract REST rows.

Contracts (coin-margined ``Perpetual``) report on the Account-Order-Position stream
(``aop.subscribe``): each message (:class:`AopMessage`) holds ``accounts`` (the margin account
of a settlement currency), ``orders`` (order events, each with the order's state and, for a
fill, the execution) and ``positions``. The REST API answers with orders and executions of the
same shapes. Quantities are integer contracts; prices are scaled ``...Ep`` and values
``...Ev`` integers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import msgspec

from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill, VenuePosition
from serenity.exchange.phemex.endpoints import VENUE
from serenity.exchange.phemex.enums import ORDER_STATUSES, SIDES
from serenity.exchange.phemex.refdata import PhemexInstrument, PhemexRefdata
from serenity.exchange.phemex.schemas._conversions import (
    FILL_TRADE_TYPES,
    event_id,
    infer_order_type,
    parse_liquidity,
    parse_tif,
    reject_text,
    state_exec_type,
)
from serenity.model import InstrumentId
from serenity.model.enums import ExecType

__all__ = [
    "CONTRACT_WALLET",
    "NO_EXEC_ID",
    "AopMessage",
    "ContractAccount",
    "ContractOrder",
    "ContractPosition",
    "ContractTrade",
]

CONTRACT_WALLET: Final = "contract"
"""The ``wallet`` of a contract trading account's margin balance."""
NO_EXEC_ID: Final = "00000000-0000-0000-0000-000000000000"
"""The ``execID`` Phemex sends on order events that are not fills."""


class ContractOrder(msgspec.Struct, kw_only=True):
    """A contract order, or an order event of the AOP stream (state and, for a fill, the
    execution): ``...Ep`` prices, integer contract quantities, ``...Ev`` values."""

    order_id: str = msgspec.field(name="orderID")
    cl_ord_id: str = msgspec.field(default="", name="clOrdID")
    symbol: str
    side: str
    ord_type: str | None = msgspec.field(default=None, name="ordType")
    order_type: str | None = msgspec.field(default=None, name="orderType")
    price_ep: int = msgspec.field(default=0, name="priceEp")
    stop_px_ep: int = msgspec.field(default=0, name="stopPxEp")
    order_qty: int = msgspec.field(default=0, name="orderQty")
    time_in_force: str | None = msgspec.field(default=None, name="timeInForce")
    reduce_only: bool = msgspec.field(default=False, name="reduceOnly")
    exec_inst: str | None = msgspec.field(default=None, name="execInst")
    ord_status: str = msgspec.field(name="ordStatus")
    action: str | None = None
    cum_qty: int = msgspec.field(default=0, name="cumQty")
    leaves_qty: int = msgspec.field(default=0, name="leavesQty")
    exec_status: str | None = msgspec.field(default=None, name="execStatus")
    exec_id: str | None = msgspec.field(default=None, name="execID")
    exec_qty: int = msgspec.field(default=0, name="execQty")
    exec_price_ep: int = msgspec.field(default=0, name="execPriceEp")
    exec_fee_ev: int = msgspec.field(default=0, name="execFeeEv")
    last_liquidity_ind: str | None = msgspec.field(default=None, name="lastLiquidityInd")
    trade_type: str | None = msgspec.field(default=None, name="tradeType")
    currency: str | None = None
    biz_error: int = msgspec.field(default=0, name="bizError")
    code: int = 0
    cxl_rej_reason: int = msgspec.field(default=0, name="cxlRejReason")
    transact_time_ns: int = msgspec.field(default=0, name="transactTimeNs")
    action_time_ns: int = msgspec.field(default=0, name="actionTimeNs")

    @property
    def is_fill(self) -> bool:
        """Return True when this event is an execution (a fill) of the order."""
        return (
            self.exec_qty > 0
            and bool(self.exec_id)
            and self.exec_id != NO_EXEC_ID
            and (self.trade_type or "") in FILL_TRADE_TYPES
        )

    def to_update(
        self, instrument: PhemexInstrument, refdata: PhemexRefdata, *, state: bool = False
    ) -> OrderUpdate:
        """Return this order event in domain terms: a fill (``TRADE``), or what changed.

        With ``state`` the entry is read as a statement of the order's state (an open-order
        row, a query answer): ``ORDER_STATUS`` unless the order is closed.

        Raises
        ------
        DataError
            For a spelling Phemex is not documented to send.
        """
        status = ORDER_STATUSES.from_wire(self.ord_status)
        tif, post_only = parse_tif(self.time_in_force)
        ts = self.transact_time_ns or self.action_time_ns
        iid = InstrumentId(VENUE, self.symbol)
        side = SIDES.from_wire(self.side)
        fill = None
        if self.is_fill and not state:
            currency = self.currency or instrument.value_currency
            exec_type = ExecType.TRADE
            fill = VenueFill(
                instrument=iid,
                exec_id=str(self.exec_id),
                venue_order_id=self.order_id,
                cl_ord_id=self.cl_ord_id or None,
                side=side,
                qty=Decimal(self.exec_qty),
                price=instrument.price(self.exec_price_ep),
                ts=ts,
                fee=refdata.value(self.exec_fee_ev, currency),
                fee_currency=currency,
                liquidity=parse_liquidity(self.last_liquidity_ind, self.exec_status),
            )
        else:
            exec_type = state_exec_type(status, self.action, state=state)
        return OrderUpdate(
            instrument=iid,
            cl_ord_id=self.cl_ord_id,
            venue_order_id=self.order_id,
            exec_type=exec_type,
            status=status,
            side=side,
            order_type=infer_order_type(
                self.ord_type or self.order_type, self.price_ep, self.stop_px_ep
            ),
            qty=Decimal(self.order_qty),
            cum_qty=Decimal(self.cum_qty),
            ts=ts,
            tif=tif,
            price=instrument.price(self.price_ep) if self.price_ep else None,
            stop_price=instrument.price(self.stop_px_ep) if self.stop_px_ep else None,
            exec_id=fill.exec_id if fill is not None else self._event_id(ts),
            fill=fill,
            post_only=post_only,
            text=reject_text(self.biz_error or self.code, self.cxl_rej_reason),
        )

    def _event_id(self, ts: int) -> str:
        return event_id(self.order_id, self.ord_status, self.action, ts, self.cum_qty)


class ContractTrade(msgspec.Struct, kw_only=True):
    """One row of ``/exchange/order/trade``: an execution (or funding) of the account."""

    exec_id: str = msgspec.field(name="execID")
    order_id: str = msgspec.field(name="orderID")
    cl_ord_id: str = msgspec.field(default="", name="clOrdID")
    symbol: str
    side: str
    trade_type: str = msgspec.field(default="Trade", name="tradeType")
    exec_qty: int = msgspec.field(name="execQty")
    exec_price_ep: int = msgspec.field(name="execPriceEp")
    exec_fee_ev: int = msgspec.field(default=0, name="execFeeEv")
    exec_status: str | None = msgspec.field(default=None, name="execStatus")
    currency: str | None = None
    order_qty: int = msgspec.field(default=0, name="orderQty")
    price_ep: int = msgspec.field(default=0, name="priceEp")
    ord_type: str | None = msgspec.field(default=None, name="ordType")
    transact_time_ns: int = msgspec.field(default=0, name="transactTimeNs")

    @property
    def is_fill(self) -> bool:
        """Return True for an execution of an order (not a funding or settlement row)."""
        return self.trade_type in FILL_TRADE_TYPES and self.exec_qty > 0

    def to_fill(self, instrument: PhemexInstrument, refdata: PhemexRefdata) -> VenueFill:
        """Return this execution as a fill.

        Raises
        ------
        DataError
            For an unknown side.
        """
        currency = self.currency or instrument.value_currency
        return VenueFill(
            instrument=InstrumentId(VENUE, self.symbol),
            exec_id=self.exec_id,
            venue_order_id=self.order_id,
            cl_ord_id=self.cl_ord_id or None,
            side=SIDES.from_wire(self.side),
            qty=Decimal(self.exec_qty),
            price=instrument.price(self.exec_price_ep),
            ts=self.transact_time_ns,
            fee=refdata.value(self.exec_fee_ev, currency),
            fee_currency=currency,
            liquidity=parse_liquidity(None, self.exec_status),
        )


class ContractAccount(msgspec.Struct, kw_only=True):
    """A contract trading account: the margin balance of one settlement currency."""

    currency: str
    account_balance_ev: int = msgspec.field(name="accountBalanceEv")
    total_used_balance_ev: int = msgspec.field(default=0, name="totalUsedBalanceEv")
    account_id: int = msgspec.field(default=0, name="accountID")

    def to_balance(self, refdata: PhemexRefdata, *, ts: int) -> VenueBalance:
        """Return this account as a margin balance (a balance, not a position).

        Raises
        ------
        UnknownSymbolError
            For a currency the products do not list.
        """
        total = refdata.value(self.account_balance_ev, self.currency)
        used = refdata.value(self.total_used_balance_ev, self.currency)
        return VenueBalance(
            venue=VENUE,
            currency=self.currency,
            total=total,
            available=total - used,
            locked=used,
            ts=ts,
            wallet=CONTRACT_WALLET,
        )


class ContractPosition(msgspec.Struct, kw_only=True):
    """A contract position: ``side`` (``Buy``, ``Sell`` or ``None``) and unsigned ``size``."""

    symbol: str
    side: str
    size: int
    currency: str = ""
    avg_entry_price_ep: int = msgspec.field(default=0, name="avgEntryPriceEp")
    unrealised_pnl_ev: int | None = msgspec.field(default=None, name="unrealisedPnlEv")
    transact_time_ns: int = msgspec.field(default=0, name="transactTimeNs")

    def to_position(
        self, instrument: PhemexInstrument, refdata: PhemexRefdata, *, ts: int
    ) -> VenuePosition:
        """Return this position, signed: negative for a short.

        Raises
        ------
        DataError
            For a side other than ``Buy``, ``Sell`` or ``None``.
        """
        sign = 0 if self.side == "None" or self.size == 0 else SIDES.from_wire(self.side).sign
        pnl = self.unrealised_pnl_ev
        currency = self.currency or instrument.value_currency
        return VenuePosition(
            instrument=InstrumentId(VENUE, self.symbol),
            qty=Decimal(sign * self.size),
            ts=self.transact_time_ns or ts,
            entry_price=instrument.price(self.avg_entry_price_ep)
            if sign and self.avg_entry_price_ep
            else None,
            unrealized_pnl=None if pnl is None else refdata.value(pnl, currency),
        )


class AopMessage(msgspec.Struct, kw_only=True):
    """An Account-Order-Position message; entries stay raw until
    :func:`~serenity.exchange.phemex.schemas.decode_entries`."""

    accounts: list[msgspec.Raw] = msgspec.field(default_factory=list)
    orders: list[msgspec.Raw] = msgspec.field(default_factory=list)
    positions: list[msgspec.Raw] = msgspec.field(default_factory=list)
    sequence: int = 0
    timestamp: int = 0
    type: str = ""
