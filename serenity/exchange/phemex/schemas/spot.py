"""Phemex's spot messages: the Wallet-Order stream and the spot REST rows.

Spot reports on the Wallet-Order stream (``wo.subscribe``): each message (:class:`WoMessage`)
holds ``wallets`` and ``orders`` split in ``open``, ``closed`` and ``fills``. The REST API
answers with orders and trades of the same shapes. Prices are scaled ``...Ep`` integers; base
and quote quantities and values are scaled ``...Ev`` integers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import msgspec

from serenity.errors import DataError
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill
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
from serenity.model.enums import ExecType, OrderStatus

__all__ = [
    "SPOT_WALLET",
    "SpotFill",
    "SpotOrder",
    "SpotOrders",
    "SpotTrade",
    "SpotWallet",
    "WoMessage",
]

SPOT_WALLET: Final = "spot"
"""The ``wallet`` of a spot wallet's balance."""


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
        tif, post_only = parse_tif(self.time_in_force)
        ts = self.transact_time_ns or self.create_time_ns
        return OrderUpdate(
            instrument=InstrumentId(VENUE, self.symbol),
            cl_ord_id=self.cl_ord_id,
            venue_order_id=self.order_id,
            exec_type=state_exec_type(status, self.action, state=state),
            status=status,
            side=SIDES.from_wire(self.side),
            order_type=infer_order_type(self.ord_type, self.price_ep, self.stop_px_ep),
            qty=self._qty(instrument, cum, leaves),
            cum_qty=cum,
            ts=ts,
            tif=tif,
            price=instrument.price(self.price_ep) if self.price_ep else None,
            stop_price=instrument.price(self.stop_px_ep) if self.stop_px_ep else None,
            avg_px=instrument.price(self.avg_price_ep) if self.avg_price_ep else None,
            exec_id=event_id(self.order_id, self.ord_status, self.action, ts, self.cum_base_qty_ev),
            post_only=post_only,
            text=reject_text(self.biz_error, self.cxl_rej_reason),
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
            liquidity=parse_liquidity(self.last_liquidity_ind, self.exec_status),
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
            order_type=infer_order_type(self.ord_type, self.price_ep, 0),
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
        return self.trade_type in FILL_TRADE_TYPES and self.exec_base_qty_ev > 0

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
    """A Wallet-Order message; entries stay raw until
    :func:`~serenity.exchange.phemex.schemas.decode_entries`."""

    wallets: list[msgspec.Raw] = msgspec.field(default_factory=list)
    orders: SpotOrders = msgspec.field(default_factory=SpotOrders)
    sequence: int = 0
    timestamp: int = 0
    type: str = ""


def _spot_fee_currency(
    raw: str | None, side: str, instrument: PhemexInstrument, refdata: PhemexRefdata
) -> str:
    """Return a spot fill's fee currency: as sent when known, else the currency received."""
    if raw and raw in refdata.value_scales:
        return raw
    return instrument.base if side == "Buy" else instrument.quote
