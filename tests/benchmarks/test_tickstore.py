"""Tick store throughput on one day of 10M trades in a local store: insert, select, scan.

Run with ``python -m pytest tests/benchmarks/test_tickstore.py --benchmark-only``. Each
benchmark reports ``rows_per_s`` (mean and best round) and ``cpu_s_min``, the least process
CPU time of a round, in its extra info. Targets on the 2-core machine: select of a
day >= 20M rows/s into a DataFrame; raw pyarrow reading the same file is the reference.
"""

from __future__ import annotations

import datetime as dt
import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from serenity.marketdata.tickstore import BlobTickstore, LocalTickstore
from serenity.marketdata.tickstore.args import day_start_ns

N = 10_000_000
DAY = dt.date(2024, 1, 5)
NEXT = DAY + dt.timedelta(days=1)
T0 = day_start_ns(DAY)
HOUR = 3_600 * 10**9
T = TypeVar("T")


def _day_of_trades(n: int, seed: int = 42) -> pd.DataFrame:
    """Return ``n`` trades over one day: Poisson arrivals, a random walk on a 0.5 tick grid."""
    rng = np.random.default_rng(seed)
    ts = T0 + np.sort(rng.integers(0, 86_400 * 10**9, n))
    ticks = np.cumsum(rng.integers(-1, 2, n, dtype=np.int64))
    table = pa.table(
        {
            "ts": ts,
            "ts_recv": ts + rng.integers(200_000, 5_000_000, n),
            "trade_id": pa.array(np.arange(n, dtype=np.int64) + 3_000_000_000).cast(pa.string()),
            "side": np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
            "price": 42_000.0 + 0.5 * ticks,
            "qty": rng.integers(1, 2_000, n) * 0.001,
            "seq": np.arange(n, dtype=np.int64),
        }
    )
    frame: pd.DataFrame = table.to_pandas()
    return frame


@pytest.fixture(scope="module")
def day_frame() -> pd.DataFrame:
    return _day_of_trades(N)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, day_frame: pd.DataFrame) -> BlobTickstore:
    store = LocalTickstore(tmp_path_factory.mktemp("bench-read"), "PHEMEX_TRADES")
    store.insert("BTCUSD", DAY, day_frame)
    return store


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(benchmark: Any, fn: Callable[[], T]) -> T:
    """Benchmark ``fn`` (3 rounds) and record the least process CPU time of a round too.

    On a shared machine wall time swings with other load; CPU time shows the work itself.
    """
    cpu: list[float] = []

    def timed() -> T:
        start = _cpu_s()
        try:
            return fn()
        finally:
            cpu.append(_cpu_s() - start)

    result: T = benchmark.pedantic(timed, rounds=3, iterations=1)
    benchmark.extra_info["cpu_s_min"] = round(min(cpu), 3)
    return result


def _report(benchmark: Any, rows: int) -> None:
    benchmark.extra_info["rows"] = rows
    benchmark.extra_info["rows_per_s"] = round(rows / benchmark.stats["mean"])
    benchmark.extra_info["rows_per_s_best"] = round(rows / benchmark.stats["min"])


def test_insert_a_day_of_10m_trades(
    benchmark: Any, tmp_path: Path, day_frame: pd.DataFrame
) -> None:
    store = LocalTickstore(tmp_path, "PHEMEX_TRADES")
    version = _run(benchmark, lambda: store.insert("BTCUSD", DAY, day_frame))
    assert version == 3
    _report(benchmark, N)
    benchmark.extra_info["file_mb"] = round(store.versions("BTCUSD", DAY)[-1].size_bytes / 1e6, 1)


# The timed calls return a row count: each frame is dropped inside its round, as in a loop over
# days, instead of living on while pytest-benchmark runs the next round.


def test_select_a_day_of_10m_trades(benchmark: Any, filled: BlobTickstore) -> None:
    assert _run(benchmark, lambda: len(filled.select("BTCUSD", DAY, NEXT))) == N
    _report(benchmark, N)
    frame = filled.select("BTCUSD", DAY, NEXT)
    assert frame["ts"].is_monotonic_increasing and frame["trade_id"].dtype == "str"


def test_select_one_hour_of_10m_trades(benchmark: Any, filled: BlobTickstore) -> None:
    start, end = T0 + 12 * HOUR, T0 + 13 * HOUR
    rows = _run(benchmark, lambda: len(filled.select("BTCUSD", start, end)))
    frame = filled.select("BTCUSD", start, end)
    assert len(frame) == rows > 0 and frame["ts"].between(start, end - 1).all()
    _report(benchmark, rows)
    benchmark.extra_info["ms"] = round(benchmark.stats["mean"] * 1e3, 1)


def test_scan_a_day_of_10m_trades_by_row_group(benchmark: Any, filled: BlobTickstore) -> None:
    def run() -> int:
        return sum(b.num_rows for b in filled.scan("BTCUSD", DAY, NEXT))

    assert _run(benchmark, run) == N
    _report(benchmark, N)


def test_raw_pyarrow_read_of_the_same_file(benchmark: Any, filled: BlobTickstore) -> None:
    path = Path(filled.url.removeprefix("file://")) / filled.data_key(
        filled.versions("BTCUSD", DAY)[-1]
    )
    assert _run(benchmark, lambda: pq.read_table(path).num_rows) == N
    _report(benchmark, N)
