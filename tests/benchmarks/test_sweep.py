"""A 3×3 sweep of the reference strategy on 1M trades: serially, and on a LocalCluster.

The trades (:func:`tests.benchmarks.reference.market`) are stored once in a temporary tick
store, which the Dask workers read by URL. The grid is the reference strategy's
``window=10,20,40`` × ``num_std=1.5,2,2.5`` (nine backtests, outputs written, no HTML
reports). Timed: the nine points one after the other in this process; the same sweep on a
fresh LocalCluster of two single-threaded worker processes, its start-up included; and on
a cluster that is up and whose workers have imported the backtester. ``extra_info`` records
the wall times and the speed-ups.

Run with ``python -m pytest tests/benchmarks/test_sweep.py --benchmark-only -s``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pytest

from serenity.marketdata.tickstore import open_tickstore
from serenity.sweep import run
from tests.benchmarks.reference import T0, market, window_end

N: Final = 1_000_000
NS_PER_DAY: Final = 86_400 * 10**9
REFERENCE: Final = Path(__file__).resolve().parents[2] / "serenity/examples/reference_bbands.yaml"
GRID: Final = ["window=10,20,40", "num_std=1.5,2,2.5"]
TIMING: Final = ["wall_s", "wall_seconds", "ticks_per_second", "folder"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The 1M reference trades in a local tick store, one version per UTC day."""
    url = f"file://{tmp_path_factory.mktemp('ticks')}"
    table = pa.Table.from_batches(list(market(N)))
    table = table.append_column("seq", pa.array(np.arange(N, dtype=np.int64)))
    days = table.column("ts").to_numpy() // NS_PER_DAY
    trades = open_tickstore(url, "COINBASE_TRADES")
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        date = np.datetime64(int(day), "D").astype(object)
        trades.insert("BTC-USD", date, table.slice(int(rows[0]), len(rows)))
    return url


def sweep(store: str, out: Path, **how: Any) -> Any:
    return run(
        REFERENCE, GRID, start=T0, end=window_end(N), store=store, out=out, reports=False, **how
    )


def _import_backtest() -> None:
    import serenity.algo.backtest  # noqa: F401
    import serenity.sweep.task  # noqa: F401


def test_sweep_serial_versus_local_cluster(benchmark: Any, store: str, tmp_path: Path) -> None:
    from dask.distributed import Client, LocalCluster

    started = time.perf_counter()
    serial = sweep(store, tmp_path / "serial", workers=0)
    serial_s = time.perf_counter() - started

    cold = benchmark.pedantic(
        lambda: sweep(store, tmp_path / f"cold-{time.monotonic_ns()}", workers=2),
        rounds=1,
        iterations=1,
    )
    cold_s = benchmark.stats["mean"]

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    with Client(cluster) as client:
        client.run(_import_backtest)  # warm: the workers have imported what a point needs
        started = time.perf_counter()
        warm = sweep(store, tmp_path / "warm", client=client)
        warm_s = time.perf_counter() - started
    cluster.close()

    for table in (cold, warm):
        assert table.drop(columns=TIMING).equals(serial.drop(columns=TIMING))
    assert serial.error.isna().all() and len(serial) == 9
    points_s = float(serial.wall_s.sum())
    benchmark.extra_info.update(
        {
            "trades": N,
            "points": len(serial),
            "serial_s": round(serial_s, 2),
            "local_cluster_s": round(cold_s, 2),
            "local_cluster_warm_s": round(warm_s, 2),
            "speedup": round(serial_s / cold_s, 2),
            "speedup_warm": round(serial_s / warm_s, 2),
            "point_mean_s": round(points_s / len(serial), 2),
            "trades_per_s_serial": round(N * len(serial) / serial_s),
        }
    )
    print(
        f"\n3x3 sweep on {N:,} trades: serial {serial_s:.1f} s, LocalCluster(2) {cold_s:.1f} s "
        f"with start-up ({serial_s / cold_s:.2f}x), {warm_s:.1f} s warm "
        f"({serial_s / warm_s:.2f}x); a point takes {points_s / len(serial):.1f} s"
    )
