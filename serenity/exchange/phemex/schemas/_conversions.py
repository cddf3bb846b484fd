"""What the contract and spot messages of Phemex convert alike: order types, times in force,
execution types, liquidity, reject reasons and the ids of order events that are not fills."""

from __future__ import annotations

from typing import Final

from serenity.exchange.phemex.endpoints import VENUE
from serenity.exchange.phemex.enums import LIQUIDITY, ORDER_TYPES, parse_time_in_force
from serenity.exchange.phemex.errors import describe
from serenity.model.enums import ExecType, Liquidity, OrderStatus, OrderType, TimeInForce

FILL_TRADE_TYPES: Final = frozenset({"Trade", "LiqTrade", "AdlTrade", ""})
"""The ``tradeType`` values of an execution of an order (not a funding or settlement)."""
_FINISHING: Final = {
    OrderStatus.CANCELED: ExecType.CANCELED,
    OrderStatus.REJECTED: ExecType.REJECTED,
    OrderStatus.EXPIRED: ExecType.EXPIRED,
}


def state_exec_type(status: OrderStatus, action: str | None, *, state: bool) -> ExecType:
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


def infer_order_type(raw: str | None, price_ep: int, stop_px_ep: int) -> OrderType:
    """Return the order type as sent, or as its prices imply when Phemex leaves it null."""
    if raw:
        return ORDER_TYPES.from_wire(raw)
    if stop_px_ep:
        return OrderType.STOP_LIMIT if price_ep else OrderType.STOP_MARKET
    return OrderType.LIMIT if price_ep else OrderType.MARKET


def parse_tif(raw: str | None) -> tuple[TimeInForce | None, bool]:
    """Return the time in force and whether the order is post-only; (None, False) when unsent."""
    return parse_time_in_force(raw) if raw else (None, False)


def event_id(order_id: str, status: str, action: str | None, ts: int, cum: int) -> str:
    """Return a deterministic id for an order event that is not a fill (replays dedupe)."""
    return f"{order_id}:{status}:{action or ''}:{ts}:{cum}"


def parse_liquidity(indicator: str | None, exec_status: str | None) -> Liquidity | None:
    """Return maker or taker from the first of the two fields that spells it, else None."""
    for raw in (indicator, exec_status):
        if raw and raw in LIQUIDITY.spellings():
            return LIQUIDITY.from_wire(raw)
    return None


def reject_text(code: int, cxl_rej_reason: int) -> str | None:
    """Return the reason Phemex gives for a reject (an error code, else a cancel reason)."""
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
