"""Throughput of the exchange simulator under a busy order book.

One million generated trades replay through the engine while a strategy keeps 100 limit
orders resting around the market, cancelling its oldest and placing a new one every 100
trades (10,000 of each). Three setups, each in batch (columnar) and per-event mode:

- ``bare``: the same replay and trigger, no orders;
- ``null_placer``: the same order flow through the order manager to a placer that only
  acknowledges (no matching), to separate the order path's cost from the simulator's;
- ``simulator``: the order flow matched by the exchange simulator.

Run with ``python -m pytest tests/benchmarks/test_trading.py --benchmark-only``.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

import pyarrow as pa
import pytest

from serenity.marketdata.historic import TableMarketdataService
from serenity.model import ExecType, OrderStatus
from serenity.position import PositionService
from serenity.signal.bars import TickBars
from serenity.tau import HistoricNetworkScheduler
from serenity.tau.event import Do
from serenity.trading import (
    ExchangeSimulator,
    ExecutionReport,
    Order,
    OrderFactory,
    OrderManagerService,
    OrderPlacerService,
    SimulatorConfig,
)
from tests.benchmarks.reference import INSTRUMENT, T0, market

N = 1_000_000
RESTING = 100
EVERY = 100


@pytest.fixture(scope="session")
def trades() -> list[pa.RecordBatch]:
    return list(market(N, seed=3))


class NullPlacer:
    """Acknowledge every order and cancel at once; never fill."""

    def __init__(self, scheduler: HistoricNetworkScheduler) -> None:
        self.scheduler = scheduler
        self.sink: Any = None
        self.ids = itertools.count(1)

    def bind(self, sink: Any) -> None:
        self.sink = sink

    def _report(self, order: Order, kind: ExecType) -> None:
        self.sink.apply(
            ExecutionReport(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                exec_id=f"n-{next(self.ids)}",
                exec_type=kind,
                status=OrderStatus.NEW,
                account=order.account,
                instrument=order.instrument,
                side=order.side,
                qty=order.qty,
                price=order.price,
                cum_qty=order.cum_qty,
                leaves_qty=order.qty,
                ts=self.scheduler.get_time(),
            )
        )

    def submit(self, order: Order) -> None:
        self._report(order, ExecType.NEW)

    def cancel(self, order: Order) -> None:
        self._report(order, ExecType.CANCELED)

    def replace(self, order: Order, *, price: Any, qty: Any) -> None:
        self._report(order, ExecType.REPLACED)


def run(
    batches: list[pa.RecordBatch], *, orders: bool, batch: bool, placer: str = "simulator"
) -> dict[str, Any]:
    end = int(batches[-1].column("ts")[-1].as_py())
    sched = HistoricNetworkScheduler(T0, end, batch=batch)
    md = TableMarketdataService(sched, trades={INSTRUMENT: iter(batches)})
    placers = OrderPlacerService()
    if placer == "simulator":
        config = SimulatorConfig(maker_fee_bps=1, taker_fee_bps=5)
        placers.register("simulator:default", ExchangeSimulator(sched, md, [INSTRUMENT], config))
    else:
        placers.register("null:default", NullPlacer(sched))
    oms = OrderManagerService(sched, placers)
    PositionService(sched, oms.fills)
    factory = OrderFactory("bench", prefix="b")
    trades_signal = md.get_trades(INSTRUMENT)
    every = TickBars(sched.network, trades_signal, EVERY)
    resting: deque[Order] = deque()
    count = [0]

    def on_bar() -> None:
        bar = every.get_value()
        count[0] += 1
        if not orders:
            return
        if len(resting) >= RESTING:
            oms.cancel(resting.popleft())
        k = count[0] % 50 + 1
        side = "BUY" if count[0] % 2 else "SELL"
        away = (1 - k / 1000) if side == "BUY" else (1 + k / 1000)
        resting.append(oms.submit(factory.limit(INSTRUMENT, side, 1, round(bar.close * away, 2))))

    Do(sched.network, every, on_bar, name="strategy")
    stats = sched.run()
    return {"stats": stats, "orders": len(list(oms.all_orders())), "bars": count[0]}


SETUPS = {
    "bare": (False, "simulator"),
    "null_placer": (True, "null"),
    "simulator": (True, "simulator"),
}


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "per_event"])
@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_simulator_with_100_resting_orders(
    benchmark: Any, trades: list[pa.RecordBatch], setup: str, batch: bool
) -> None:
    orders, placer = SETUPS[setup]
    out = benchmark.pedantic(
        run,
        args=(trades,),
        kwargs={"orders": orders, "batch": batch, "placer": placer},
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info["events_per_s"] = N / benchmark.stats["mean"]
    benchmark.extra_info["best_events_per_s"] = N / benchmark.stats["min"]
    benchmark.extra_info["orders"] = out["orders"]
    assert out["bars"] == N // EVERY
    assert out["orders"] == (N // EVERY if orders else 0)
