"""A small market for trading tests: trades and books replayed into a simulator, an order
manager and positions, with every order event recorded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from serenity.exchange.product import Product
from serenity.marketdata import BookUpdate
from serenity.marketdata.historic import TableMarketdataService
from serenity.model import InstrumentId, InstrumentStatus, InstrumentType
from serenity.position import PositionService
from serenity.tau import HistoricNetworkScheduler
from serenity.tau.event import Do
from serenity.trading import (
    ContractSpec,
    ExchangeSimulator,
    ExecutionReport,
    Order,
    OrderEvent,
    OrderFactory,
    OrderManagerService,
    OrderPlacerService,
    PreTradeCheck,
    SimulatorConfig,
)

T0 = 1_704_153_600 * 10**9  # 2024-01-02 00:00 UTC
S = 10**9
BTC = InstrumentId("coinbase", "BTC-USD")

Tick = tuple[float, float, float, int]  # (seconds after T0, price, qty, side)


def product(**overrides: Any) -> Product:
    fields: dict[str, Any] = dict(
        venue="coinbase",
        symbol="BTC-USD",
        instrument_type=InstrumentType.CURRENCY_PAIR,
        base="BTC",
        quote="USD",
        status=InstrumentStatus.TRADING,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.001"),
    )
    fields.update(overrides)
    return Product(**fields)


def book(
    t_s: float,
    bids: Sequence[tuple[float, float]],
    asks: Sequence[tuple[float, float]],
    *,
    seq: int = 1,
    snapshot: bool = True,
) -> BookUpdate:
    ts = T0 + int(t_s * S)
    return BookUpdate(BTC, ts, ts, seq, list(bids), list(asks), snapshot)


def trade_table(ticks: Sequence[Tick]) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array([T0 + int(t * S) for t, *_ in ticks], pa.int64()),
            "price": pa.array([p for _, p, _, _ in ticks], pa.float64()),
            "qty": pa.array([q for _, _, q, _ in ticks], pa.float64()),
            "side": pa.array([s for *_, s in ticks], pa.int8()),
        }
    )


class Market:
    """One instrument's market with a simulator, an order manager and positions."""

    def __init__(
        self,
        trades: Sequence[Tick] = (),
        books: Sequence[BookUpdate] = (),
        *,
        config: SimulatorConfig | None = None,
        products: dict[InstrumentId, Product] | None = None,
        checks: list[PreTradeCheck] | None = None,
        batch: bool = True,
        end_s: float = 3 * 86_400,
        instrument: InstrumentId = BTC,
    ) -> None:
        self.sched = HistoricNetworkScheduler(T0, T0 + int(end_s * S), batch=batch)
        self.md = TableMarketdataService(
            self.sched,
            trades={instrument: trade_table(trades)},
            books={instrument: list(books)} if books else None,
        )
        self.placers = OrderPlacerService()
        self.sim = ExchangeSimulator(
            self.sched, self.md, [instrument], config or SimulatorConfig(), products=products
        )
        self.placers.register("simulator:default", self.sim)
        ref = self.md.get_trades(instrument)
        self.oms = OrderManagerService(
            self.sched,
            self.placers,
            products=products,
            checks=checks,
            ref_price=lambda _i: ref.get_value().price if ref.is_valid() else None,
        )
        specs = {i: ContractSpec.of(i, p) for i, p in (products or {}).items()}
        self.positions = PositionService(self.sched, self.oms.fills, specs=specs)
        self.events: list[OrderEvent] = []
        Do(
            self.sched.network,
            self.oms.order_events,
            lambda: self.events.append(self.oms.order_events.get_value()),
        )
        self.factory = OrderFactory("acct", prefix="t")
        self.instrument = instrument

    def at(self, t_s: float, action: Callable[[], object]) -> None:
        self.sched.schedule_at(action, T0 + int(t_s * S))

    def submit_at(self, t_s: float, order: Order) -> Order:
        self.at(t_s, lambda: self.oms.submit(order))
        return order

    def run(self) -> Any:
        return self.sched.run()

    def fills(self, order: Order | None = None) -> list[ExecutionReport]:
        return [
            e
            for e in self.events
            if isinstance(e, ExecutionReport)
            and e.is_fill
            and (order is None or e.order_id == order.order_id)
        ]

    def of(self, order: Order) -> list[OrderEvent]:
        return [e for e in self.events if getattr(e, "order_id", None) == order.order_id]
