"""Trading: orders, the order manager, pre-trade risk, order placers and the simulator.

A strategy builds orders with an :class:`OrderFactory` and hands them to the
:class:`OrderManagerService`, the one owner of order state. The order manager checks them
(instrument filters with :func:`check_order`, the kill switch, :class:`PreTradeRisk`) and
sends them to the account's :class:`OrderPlacer` (registered in an
:class:`OrderPlacerService` by URI): the deterministic :class:`ExchangeSimulator` in
backtests and paper trading, a venue connector when live. What comes back
(:class:`ExecutionReport`, :class:`Reject`, :class:`CancelReject`, :class:`OrderError`) is
published on the order manager's signals, in order, one cycle each.
"""

from __future__ import annotations

from serenity.trading.contract import ContractSpec
from serenity.trading.oms import OrderManagerService, PreTradeCheck
from serenity.trading.orders import (
    LimitOrder,
    MarketOrder,
    Order,
    OrderFactory,
    StopLimitOrder,
    StopOrder,
    to_decimal,
    to_side,
)
from serenity.trading.placer import ExecutionSink, OrderPlacer, OrderPlacerService
from serenity.trading.reports import (
    CancelReject,
    ExecutionReport,
    OrderError,
    OrderEvent,
    Reject,
    RejectSource,
)
from serenity.trading.risk import PreTradeRisk, RiskLimits
from serenity.trading.simulator import ExchangeSimulator, SimulatorConfig
from serenity.trading.validation import FilterRefusal, check_order

__all__ = [
    "CancelReject",
    "ContractSpec",
    "ExchangeSimulator",
    "ExecutionReport",
    "ExecutionSink",
    "FilterRefusal",
    "LimitOrder",
    "MarketOrder",
    "Order",
    "OrderError",
    "OrderEvent",
    "OrderFactory",
    "OrderManagerService",
    "OrderPlacer",
    "OrderPlacerService",
    "PreTradeCheck",
    "PreTradeRisk",
    "Reject",
    "RejectSource",
    "RiskLimits",
    "SimulatorConfig",
    "StopLimitOrder",
    "StopOrder",
    "check_order",
    "to_decimal",
    "to_side",
]
