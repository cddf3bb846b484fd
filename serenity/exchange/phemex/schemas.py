"""Phemex's private wire messages as typed msgspec Structs, with conversions to domain values.

Contracts (coin-margined ``Perpetual``) report on the Account-Order-Position stream
(``aop.subscribe``): each message holds ``accounts`` (the margin account of a settlement
currency), ``orders`` (order events, each with the order's state and, for a fill, the
execution) and ``positions``. Spot reports on the Wallet-Order stream (``wo.subscribe``):
``wallets`` and ``orders`` split in ``open``, ``closed`` and ``fills``. The REST API answers
``{"code", "msg", "data"}`` with orders and executions of the same shapes.

Conversions give the venue-neutral values of :mod:`serenity.exchange.execution` (the
order connector turns them into execution reports and reconciles with them):

* :class:`~serenity.exchange.execution.OrderUpdate` (``to_update``): one change of an
  order's state, or one fill (with its :class:`~serenity.exchange.execution.VenueFill`,
  whose ``exec_id`` is Phemex's ``execID``, so a replayed fill counts once);
* :class:`~serenity.exchange.execution.VenueFill` (``to_fill``): a row of the trade history;
* :class:`~serenity.exchange.execution.VenueBalance` (``to_balance``): a contract margin
  account or a spot wallet (a balance, never a position);
* :class:`~serenity.exchange.execution.VenuePosition` (``to_position``): a contract
  position, signed.

Messages are decoded entry by entry (:func:`decode_entries`): an entry that does not parse is
reported as a :class:`~serenity.errors.DataError` and the others are still delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final, TypeVar

import msgspec

from serenity.errors import DataError
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill, VenuePosition
from serenity.exchange.phemex.endpoints import VENUE
from serenity.exchange.phemex.enums import (
    LIQUIDITY,
    ORDER_STATUSES,
    ORDER_TYPES,
    SIDES,
    parse_time_in_force,
)
from serenity.exchange.phemex.errors import describe
from serenity.exchange.phemex.refdata import PhemexInstrument, PhemexRefdata
from serenity.model import InstrumentId
from serenity.model.enums import ExecType, Liquidity, OrderStatus, OrderType, TimeInForce

__all__ = [
    "CONTRACT_WALLET",
    "NO_EXEC_ID",
    "SPOT_WALLET",
    "AopMessage",
    "ContractAccount",
    "ContractOrder",
    "ContractPosition",
    "ContractTrade",
    "RestResponse",
    "SpotFill",
    "SpotOrder",
    "SpotOrders",
    "SpotTrade",
    "SpotWallet",
    "WoMessage",
    "decode_entries",
    "decode_rows",
]

CONTRACT_WALLET: Final = "contract"
"""The ``wallet`` of a contract trading account's margin balance."""
SPOT_WALLET: Final = "spot"
"""The ``wallet`` of a spot wallet's balance."""
NO_EXEC_ID: Final = "00000000-0000-0000-0000-000000000000"
"""The ``execID`` Phemex sends on order events that are not fills."""
_ZERO: Final = Decimal(0)
_FILL_TRADE_TYPES: Final = frozenset({"Trade", "LiqTrade", "AdlTrade", ""})
_FINISHING: Final = {
    OrderStatus.CANCELED: ExecType.CANCELED,
    OrderStatus.REJECTED: ExecType.REJECTED,
    OrderStatus.EXPIRED: ExecType.EXPIRED,
}

T = TypeVar("T")


class RestResponse(msgspec.Struct):
    """The REST envelope: ``code`` 0 and ``data`` on success, else ``code`` and ``msg``."""

    code: int = 0
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


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
            and (self.trade_type or "") in _FILL_TRADE_TYPES
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
        tif, post_only = _tif(self.time_in_force)
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
                liquidity=_liquidity(self.last_liquidity_ind, self.exec_status),
            )
        else:
            exec_type = _state_exec_type(status, self.action, state=state)
        return OrderUpdate(
            instrument=iid,
            cl_ord_id=self.cl_ord_id,
            venue_order_id=self.order_id,
            exec_type=exec_type,
            status=status,
            side=side,
            order_type=_order_type(
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
            text=_reason(self.biz_error or self.code, self.cxl_rej_reason),
        )

    def _event_id(self, ts: int) -> str:
        return _event_id(self.order_id, self.ord_status, self.action, ts, self.cum_qty)


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
        return self.trade_type in _FILL_TRADE_TYPES and self.exec_qty > 0

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
            liquidity=_liquidity(None, self.exec_status),
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
    """An Account-Order-Position message; entries stay raw until :func:`decode_entries`."""

    accounts: list[msgspec.Raw] = msgspec.field(default_factory=list)
    orders: list[msgspec.Raw] = msgspec.field(default_factory=list)
    positions: list[msgspec.Raw] = msgspec.field(default_factory=list)
    sequence: int = 0
    timestamp: int = 0
    type: str = ""


class SpotOrder(msgspec.Struct, kw_only=True):
    """A spot order: ``...Ep`` prices and ``...Ev`` base and quote quantities."""

    order_id: str = msgspec.field(name="orderID")
    cl_ord_id: str = msgspec.field(default="", name="clOrdID")
    symbol: str
    side: str
    ord_type: str | None = msgspec.field(default=None, name="ordType")
    price_ep: int = msgspec.field(default=0, name="priceEp")
    stop_px_ep: int = msgspec.field(default=0, name="stopPxEp")
    qty_type: str = msgspec.field(default="ByBase", name="qtyType")
    base_qty_ev: int | str = msgspec.field(default=0, name="baseQtyEv")
    time_in_force: str | None = msgspec.field(default=None, name="timeInForce")
    ord_status: str = msgspec.field(name="ordStatus")
    action: str | None = None
    exec_status: str | None = msgspec.field(default=None, name="execStatus")
    cum_base_qty_ev: int = msgspec.field(default=0, name="cumBaseQtyEv")
    cum_base_value_ev: int = msgspec.field(default=0, name="cumBaseValueEv")
    """What the order-history endpoints call ``cumBaseQtyEv``."""
    leaves_base_qty_ev: int = msgspec.field(default=0, name="leavesBaseQtyEv")
    avg_price_ep: int = msgspec.field(default=0, name="avgPriceEp")
    cum_fee_ev: int = msgspec.field(default=0, name="cumFeeEv")
    fee_currency: str | None = msgspec.field(default=None, name="feeCurrency")
    biz_error: int = msgspec.field(default=0, name="bizError")
    cxl_rej_reason: int = msgspec.field(default=0, name="cxlRejReason")
    transact_time_ns: int = msgspec.field(default=0, name="transactTimeNs")
    create_time_ns: int = msgspec.field(default=0, name="createTimeNs")

    def to_update(
        self, instrument: PhemexInstrument, refdata: PhemexRefdata, *, state: bool = False
    ) -> OrderUpdate:
        """Return what changed in this order (its fills come as :class:`SpotFill`), or with
        ``state`` a statement of its state (``ORDER_STATUS`` unless the order is closed).

        Raises
        ------
        DataError
            For a spelling Phemex is not documented to send, or an order sized in quote
            units whose base quantity is unknown.
        """
        status = ORDER_STATUSES.from_wire(self.ord_status)
        cum = instrument.qty(self.cum_base_qty_ev or self.cum_base_value_ev)
        leaves = instrument.qty(self.leaves_base_qty_ev)
        tif, post_only = _tif(self.time_in_force)
        ts = self.transact_time_ns or self.create_time_ns
        return OrderUpdate(
            instrument=InstrumentId(VENUE, self.symbol),
            cl_ord_id=self.cl_ord_id,
            venue_order_id=self.order_id,
            exec_type=_state_exec_type(status, self.action, state=state),
            status=status,
            side=SIDES.from_wire(self.side),
            order_type=_order_type(self.ord_type, self.price_ep, self.stop_px_ep),
            qty=self._qty(instrument, cum, leaves),
            cum_qty=cum,
            ts=ts,
            tif=tif,
            price=instrument.price(self.price_ep) if self.price_ep else None,
            stop_price=instrument.price(self.stop_px_ep) if self.stop_px_ep else None,
            avg_px=instrument.price(self.avg_price_ep) if self.avg_price_ep else None,
            exec_id=_event_id(
                self.order_id, self.ord_status, self.action, ts, self.cum_base_qty_ev
            ),
            post_only=post_only,
            text=_reason(self.biz_error, self.cxl_rej_reason),
        )

    def _qty(self, instrument: PhemexInstrument, cum: Decimal, leaves: Decimal) -> Decimal:
        if self.qty_type == "ByBase":
            return instrument.qty(int(self.base_qty_ev))
        if self.qty_type == "ByQuote" and cum + leaves > 0:
            return cum + leaves
        raise DataError(
            f"{VENUE}: spot order {self.order_id} of {self.symbol} is sized {self.qty_type!r} "
            "and its base quantity is unknown"
        )


class SpotFill(msgspec.Struct, kw_only=True):
    """One execution of a spot order on the Wallet-Order stream."""

    exec_id: str = msgspec.field(name="execID")
    order_id: str = msgspec.field(name="orderID")
    cl_ord_id: str = msgspec.field(default="", name="clOrdID")
    symbol: str
    side: str
    ord_type: str | None = msgspec.field(default=None, name="ordType")
    price_ep: int = msgspec.field(default=0, name="priceEp")
    base_qty_ev: int = msgspec.field(default=0, name="baseQtyEv")
    exec_base_qty_ev: int = msgspec.field(name="execBaseQtyEv")
    exec_price_ep: int = msgspec.field(name="execPriceEp")
    exec_fee_ev: int = msgspec.field(default=0, name="execFeeEv")
    fee_currency: str | None = msgspec.field(default=None, name="feeCurrency")
    last_liquidity_ind: str | None = msgspec.field(default=None, name="lastLiquidityInd")
    exec_status: str | None = msgspec.field(default=None, name="execStatus")
    transact_time_ns: int = msgspec.field(default=0, name="transactTimeNs")

    def to_fill(self, instrument: PhemexInstrument, refdata: PhemexRefdata) -> VenueFill:
        """Return this execution as a fill.

        Raises
        ------
        DataError
            For an unknown side.
        """
        fee_currency = _spot_fee_currency(self.fee_currency, self.side, instrument, refdata)
        return VenueFill(
            instrument=InstrumentId(VENUE, self.symbol),
            exec_id=self.exec_id,
            venue_order_id=self.order_id,
            cl_ord_id=self.cl_ord_id or None,
            side=SIDES.from_wire(self.side),
            qty=instrument.qty(self.exec_base_qty_ev),
            price=instrument.price(self.exec_price_ep),
            ts=self.transact_time_ns,
            fee=refdata.value(self.exec_fee_ev, fee_currency),
            fee_currency=fee_currency,
            liquidity=_liquidity(self.last_liquidity_ind, self.exec_status),
        )

    def to_update(
        self, instrument: PhemexInstrument, refdata: PhemexRefdata, *, cum_qty: Decimal
    ) -> OrderUpdate:
        """Return this fill as an order update; ``cum_qty`` is the order's filled quantity
        after it (a Wallet-Order fill carries no order state, so the caller counts it).

        Raises
        ------
        DataError
            For an unknown side or order type.
        """
        fill = self.to_fill(instrument, refdata)
        qty = instrument.qty(self.base_qty_ev) if self.base_qty_ev else cum_qty
        return OrderUpdate(
            instrument=fill.instrument,
            cl_ord_id=self.cl_ord_id,
            venue_order_id=self.order_id,
            exec_type=ExecType.TRADE,
            status=OrderStatus.FILLED if cum_qty >= qty else OrderStatus.PARTIALLY_FILLED,
            side=fill.side,
            order_type=_order_type(self.ord_type, self.price_ep, 0),
            qty=qty,
            cum_qty=cum_qty,
            ts=fill.ts,
            price=instrument.price(self.price_ep) if self.price_ep else None,
            exec_id=fill.exec_id,
            fill=fill,
        )


class SpotTrade(msgspec.Struct, kw_only=True):
    """One row of ``/exchange/spot/order/trades`` (note ``execId``, not ``execID``)."""

    exec_id: str = msgspec.field(name="execId")
    order_id: str = msgspec.field(name="orderID")
    cl_ord_id: str = msgspec.field(default="", name="clOrdID")
    symbol: str
    side: str
    trade_type: str = msgspec.field(default="Trade", name="tradeType")
    ord_type: str | None = msgspec.field(default=None, name="ordType")
    base_qty_ev: int = msgspec.field(default=0, name="baseQtyEv")
    exec_base_qty_ev: int = msgspec.field(name="execBaseQtyEv")
    exec_price_ep: int = msgspec.field(name="execPriceEp")
    exec_fee_ev: int = msgspec.field(default=0, name="execFeeEv")
    fee_currency: str | None = msgspec.field(default=None, name="feeCurrency")
    exec_status: str | None = msgspec.field(default=None, name="execStatus")
    transact_time_ns: int = msgspec.field(default=0, name="transactTimeNs")

    @property
    def is_fill(self) -> bool:
        """Return True for an execution of an order."""
        return self.trade_type in _FILL_TRADE_TYPES and self.exec_base_qty_ev > 0

    def to_fill(self, instrument: PhemexInstrument, refdata: PhemexRefdata) -> VenueFill:
        """Return this row as a fill (the same as the stream's, by ``execID``).

        Raises
        ------
        DataError
            For an unknown side.
        """
        return SpotFill(
            exec_id=self.exec_id,
            order_id=self.order_id,
            cl_ord_id=self.cl_ord_id,
            symbol=self.symbol,
            side=self.side,
            ord_type=self.ord_type,
            base_qty_ev=self.base_qty_ev,
            exec_base_qty_ev=self.exec_base_qty_ev,
            exec_price_ep=self.exec_price_ep,
            exec_fee_ev=self.exec_fee_ev,
            fee_currency=self.fee_currency,
            exec_status=self.exec_status,
            transact_time_ns=self.transact_time_ns,
        ).to_fill(instrument, refdata)


class SpotWallet(msgspec.Struct, kw_only=True):
    """A spot wallet of one currency."""

    currency: str
    balance_ev: int = msgspec.field(name="balanceEv")
    locked_trading_balance_ev: int = msgspec.field(default=0, name="lockedTradingBalanceEv")
    locked_withdraw_ev: int = msgspec.field(default=0, name="lockedWithdrawEv")
    last_update_time_ns: int = msgspec.field(default=0, name="lastUpdateTimeNs")

    def to_balance(self, refdata: PhemexRefdata, *, ts: int) -> VenueBalance:
        """Return this wallet as a balance.

        Raises
        ------
        UnknownSymbolError
            For a currency the products do not list.
        """
        total = refdata.value(self.balance_ev, self.currency)
        locked = refdata.value(
            self.locked_trading_balance_ev + self.locked_withdraw_ev, self.currency
        )
        return VenueBalance(
            venue=VENUE,
            currency=self.currency,
            total=total,
            available=total - locked,
            locked=locked,
            ts=self.last_update_time_ns or ts,
            wallet=SPOT_WALLET,
        )


class SpotOrders(msgspec.Struct, kw_only=True):
    """The ``orders`` of a Wallet-Order message: open, closed and filled, entries raw."""

    open: list[msgspec.Raw] = msgspec.field(default_factory=list)
    closed: list[msgspec.Raw] = msgspec.field(default_factory=list)
    fills: list[msgspec.Raw] = msgspec.field(default_factory=list)


class WoMessage(msgspec.Struct, kw_only=True):
    """A Wallet-Order message; entries stay raw until :func:`decode_entries`."""

    wallets: list[msgspec.Raw] = msgspec.field(default_factory=list)
    orders: SpotOrders = msgspec.field(default_factory=SpotOrders)
    sequence: int = 0
    timestamp: int = 0
    type: str = ""


_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _decoder(kind: type[T]) -> msgspec.json.Decoder[T]:
    found = _DECODERS.get(kind)
    if found is None:
        found = _DECODERS[kind] = msgspec.json.Decoder(kind)
    return found


def decode_entries(
    raws: Iterable[msgspec.Raw], kind: type[T], *, where: str
) -> tuple[list[T], list[DataError]]:
    """Decode each raw entry as ``kind``; a bad entry is an error, the others still decode."""
    decoder = _decoder(kind)
    out: list[T] = []
    errors: list[DataError] = []
    for i, raw in enumerate(raws):
        try:
            out.append(decoder.decode(raw))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            text = bytes(raw)[:120].decode(errors="replace")
            errors.append(DataError(f"{VENUE}: {where}[{i}] is malformed ({exc}): {text}"))
    return out, errors


def decode_rows(data: msgspec.Raw, kind: type[T], *, where: str) -> tuple[list[T], list[DataError]]:
    """Decode a REST ``data`` that is a list, ``{"rows": [...]}``, or one object, entry by entry.

    Raises
    ------
    DataError
        When ``data`` is none of those.
    """
    try:
        value = msgspec.json.decode(data, type=list[msgspec.Raw] | dict[str, Any] | None)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DataError(f"{VENUE}: {where} is malformed: {exc}") from None
    if value is None:
        return [], []
    if isinstance(value, dict):
        rows = value.get("rows")
        if rows is None:
            return decode_entries([data], kind, where=where)
        if not isinstance(rows, list):
            raise DataError(f"{VENUE}: {where}.rows must be a JSON array, was {rows!r:.80}")
        return decode_entries(
            [msgspec.Raw(msgspec.json.encode(r)) for r in rows], kind, where=f"{where}.rows"
        )
    return decode_entries(value, kind, where=where)


def _state_exec_type(status: OrderStatus, action: str | None, *, state: bool) -> ExecType:
    """Return what an order event without an execution reports (or, with ``state``, what a
    statement of the order's state reports)."""
    finishing = _FINISHING.get(status)
    if finishing is not None:
        return finishing
    if state:
        return ExecType.ORDER_STATUS
    if action == "Replace" and status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
        return ExecType.REPLACED
    if status is OrderStatus.NEW:
        return ExecType.NEW
    return ExecType.ORDER_STATUS  # (partially) filled without an execution: a state report


def _order_type(raw: str | None, price_ep: int, stop_px_ep: int) -> OrderType:
    """Return the order type as sent, or as its prices imply when Phemex leaves it null."""
    if raw:
        return ORDER_TYPES.from_wire(raw)
    if stop_px_ep:
        return OrderType.STOP_LIMIT if price_ep else OrderType.STOP_MARKET
    return OrderType.LIMIT if price_ep else OrderType.MARKET


def _tif(raw: str | None) -> tuple[TimeInForce | None, bool]:
    return parse_time_in_force(raw) if raw else (None, False)


def _event_id(order_id: str, status: str, action: str | None, ts: int, cum: int) -> str:
    """Return a deterministic id for an order event that is not a fill (replays dedupe)."""
    return f"{order_id}:{status}:{action or ''}:{ts}:{cum}"


def _liquidity(indicator: str | None, exec_status: str | None) -> Liquidity | None:
    for raw in (indicator, exec_status):
        if raw and raw in LIQUIDITY.spellings():
            return LIQUIDITY.from_wire(raw)
    return None


def _reason(code: int, cxl_rej_reason: int) -> str | None:
    if code:
        return describe(code)
    if cxl_rej_reason:
        return f"{VENUE} cxlRejReason {cxl_rej_reason}: {_CXL_REJ.get(cxl_rej_reason, 'unknown')}"
    return None


_CXL_REJ: Final = {
    100: "CE_NO_ENOUGH_QTY: quantity is not enough",
    101: "CE_WILLCROSS: a passive (post-only) order would cross",
    116: "CE_NO_ENOUGH_BASE_QTY: base quantity is not enough",
    117: "CE_NO_ENOUGH_QUOTE_QTY: quote quantity is not enough",
}


def _spot_fee_currency(
    raw: str | None, side: str, instrument: PhemexInstrument, refdata: PhemexRefdata
) -> str:
    """Return a spot fill's fee currency: as sent when known, else the currency received."""
    if raw and raw in refdata.value_scales:
        return raw
    return instrument.base if side == "Buy" else instrument.quote
