"""Throughput of the exchange simulator under a busy order book.

One million generated trades replay through the engine while a strategy keeps 100 limit
orders resting around the market, cancelling its oldest and placing a new one every 100
trades (10,000 of each). The same replay with the same trigger but no orders is the bare
rate; the issue's bar is that the simulator keeps at least half of it. Both run in batch
(columnar) and per-event mode.

Run with ``python -m pytest tests/benchmarks/test_trading.py --benchmark-only``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pyarrow as pa
import pytest

from serenity.marketdata.historic import TableMarketdataService
from serenity.position import PositionService
from serenity.signal.bars import TickBars
from serenity.tau import HistoricNetworkScheduler
from serenity.tau.event import Do
from serenity.trading import (
    ExchangeSimulator,
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


def run(batches: list[pa.RecordBatch], *, orders: bool, batch: bool) -> dict[str, Any]:
    end = int(batches[-1].column("ts")[-1].as_py())
    sched = HistoricNetworkScheduler(T0, end, batch=batch)
    md = TableMarketdataService(sched, trades={INSTRUMENT: iter(batches)})
    placers = OrderPlacerService()
    sim = ExchangeSimulator(
        sched, md, [INSTRUMENT], SimulatorConfig(maker_fee_bps=1, taker_fee_bps=5)
    )
    placers.register("simulator:default", sim)
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


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "per_event"])
@pytest.mark.parametrize("orders", [False, True], ids=["bare", "simulator"])
def test_simulator_with_100_resting_orders(
    benchmark: Any, trades: list[pa.RecordBatch], orders: bool, batch: bool
) -> None:
    out = benchmark.pedantic(
        run, args=(trades,), kwargs={"orders": orders, "batch": batch}, rounds=3, iterations=1
    )
    benchmark.extra_info["events_per_s"] = N / benchmark.stats["mean"]
    benchmark.extra_info["best_events_per_s"] = N / benchmark.stats["min"]
    benchmark.extra_info["orders"] = out["orders"]
    assert out["bars"] == N // EVERY
    assert out["orders"] == (N // EVERY if orders else 0)
