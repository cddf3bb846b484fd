"""Replay throughput of HistoricMarketdataService: stored trades into a signal, one subscriber.

Run with ``python -m pytest tests/benchmarks/test_historic.py --benchmark-only``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from serenity.marketdata.historic import HistoricMarketdataService
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import InstrumentId
from serenity.tau import HistoricNetworkScheduler
from serenity.tau.event import Do

N = 1_000_000
DAY = dt.date(2024, 1, 2)
D0 = int(dt.datetime(2024, 1, 2, tzinfo=dt.UTC).timestamp()) * 10**9
INST = InstrumentId("binance", "BTCUSDT")


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    root: Path = tmp_path_factory.mktemp("ticks")
    rng = np.random.default_rng(1)
    ts = D0 + np.sort(rng.integers(0, 86_400 * 10**9, N))
    frame = pd.DataFrame(
        {
            "ts": ts,
            "ts_recv": ts + 1_000,
            "trade_id": np.arange(N).astype(str),
            "side": rng.choice(np.array([1, -1], dtype=np.int8), N),
            "price": 42_000 + rng.standard_normal(N).cumsum(),
            "qty": rng.uniform(0.001, 1.0, N),
            "seq": np.arange(1, N + 1),
        }
    )
    url = root.as_uri()
    open_tickstore(url, "BINANCE_TRADES").insert(INST.symbol, DAY, frame)
    return url


def test_replay_trades_into_one_subscriber(benchmark: Any, store_url: str) -> None:
    def run() -> int:
        sched = HistoricNetworkScheduler(D0, D0 + 86_400 * 10**9)
        svc = HistoricMarketdataService(sched, open_tickstore(store_url, "BINANCE_TRADES"))
        trades = svc.get_trades(INST)
        count = [0]

        def on_trade() -> None:
            count[0] += 1

        Do(sched.network, trades, on_trade)
        sched.run()
        return count[0]

    assert benchmark.pedantic(run, rounds=3, iterations=1) == N
    benchmark.extra_info["trades_per_s"] = round(N / benchmark.stats["mean"])
