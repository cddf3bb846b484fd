"""Bar builders give the same bars from batch slices as from per-event trades."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.signal.bars import DollarBars, TickBars, TimeBars, VolumeBars
from serenity.tau import HistoricNetworkScheduler, MutableSignal, RunStats
from serenity.tau.event import Do

T0 = 1_704_153_600 * 10**9  # 2024-01-02 UTC
S = 10**9


def trade_table(gaps_ms: list[int], prices: list[float], qtys: list[float]) -> pa.Table:
    ts = T0 + np.cumsum(np.asarray(gaps_ms, dtype=np.int64)) * 10**6
    return pa.table({"ts": ts, "price": prices, "qty": qtys})


def run_bars(table: pa.Table, make: Any, *, batch: bool) -> tuple[list[Any], RunStats]:
    end = int(table.column("ts")[-1].as_py()) + 3600 * S if len(table) else T0 + S
    sched = HistoricNetworkScheduler(T0, end, batch=batch)
    trades: MutableSignal[Any] = MutableSignal()
    bars = make(sched, trades)
    out: list[Any] = []
    Do(sched.network, bars, lambda: out.append((sched.get_time(), bars.get_value())))
    sched.replay(trades, table)
    return out, sched.run()


BUILDERS = {
    "time_1m": lambda s, t: TimeBars(s, t, 60 * S),
    "time_1m_filled": lambda s, t: TimeBars(s, t, 60 * S, fill_empty=True),
    "ticks_7": lambda s, t: TickBars(s.network, t, 7),
    "volume_3": lambda s, t: VolumeBars(s.network, t, 3.0),
    "dollar_250": lambda s, t: DollarBars(s.network, t, 250.0),
}


@st.composite
def trades(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(1, 400))
    gaps = draw(
        st.lists(
            st.sampled_from([0, 0, 1, 250, 900, 30_000, 61_000, 300_000]), min_size=n, max_size=n
        )
    )
    prices = draw(st.lists(st.floats(50, 150, allow_nan=False), min_size=n, max_size=n))
    qtys = draw(st.lists(st.floats(0.001, 5, allow_nan=False), min_size=n, max_size=n))
    return trade_table(gaps, prices, qtys)


@settings(max_examples=60, deadline=None)
@given(trades(), st.sampled_from(sorted(BUILDERS)))
def test_batch_and_per_event_bars_are_identical(table: pa.Table, kind: str) -> None:
    batched, stats_b = run_bars(table, BUILDERS[kind], batch=True)
    per_event, stats_e = run_bars(table, BUILDERS[kind], batch=False)
    assert batched == per_event
    assert stats_e.batched == 0 and stats_e.per_event == len(table)
    assert stats_b.batched + stats_b.per_event == len(table)


def test_time_bars_take_most_trades_as_slices() -> None:
    n = 20_000
    rng = np.random.default_rng(7)
    table = trade_table(
        rng.integers(0, 400, n).tolist(),
        (100 + np.cumsum(rng.normal(0, 0.01, n))).tolist(),
        rng.uniform(0.01, 1, n).tolist(),
    )
    batched, stats = run_bars(table, BUILDERS["time_1m"], batch=True)
    per_event, _ = run_bars(table, BUILDERS["time_1m"], batch=False)
    assert batched == per_event
    # Opening, extending and (by its timer) closing a bar need no per-event trade at all.
    assert len(batched) > 60
    assert stats.per_event == 0 and stats.batched == n and not stats.per_event_nodes


def test_a_kernel_that_asks_for_rows_is_named_in_the_run_stats() -> None:
    table = trade_table([1000] * 30, [100.0] * 30, [1.0] * 30)
    batched, stats = run_bars(table, BUILDERS["ticks_7"], batch=True)
    assert len(batched) == 4
    # The 7th, 14th, 21st and 28th trades finish a bar, so they run per event.
    [(label, (rows, reason))] = stats.per_event_nodes.items()
    assert "TickBars" in label and rows == stats.per_event == 4 and "kernel" in reason


def test_a_listener_without_kernel_makes_rows_run_per_event_and_says_why() -> None:
    table = trade_table([1000] * 50, [100.0] * 50, [1.0] * 50)
    sched = HistoricNetworkScheduler(T0, T0 + 3600 * S)
    trades: MutableSignal[Any] = MutableSignal()
    TimeBars(sched, trades, 60 * S)
    seen: list[float] = []
    Do(sched.network, trades, lambda: seen.append(trades.get_value().price), name="watcher")
    sched.replay(trades, table)
    stats = sched.run()
    assert len(seen) == 50 and stats.per_event == 50 and stats.batched == 0
    assert stats.per_event_nodes["<watcher#3>"] == (50, "no batch kernel")
