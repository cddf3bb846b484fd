"""The reference strategy several ways, over 1M and 10M generated trades.

The per-event figures depend on the compiled core (``serenity.tau.NATIVE``); with
``SERENITY_PURE_PYTHON=1`` they are the pure-Python fallback's.

In-process benchmarks time each way on the same 1M trades: the full engine in batch
(columnar) and per-event mode, the algo engine's backtest writing every output, a plain
Python loop over ``Trade`` objects, a plain Python loop over the arrays' values, and bars
vectorised with NumPy (a loop over bars only). The subprocess report
runs each way in a fresh process at 1M and 10M trades (generated lazily, batch by batch) for
its wall time, rate and peak RSS, and records the ratios in ``extra_info``.

Run with ``python -m pytest tests/benchmarks/test_backtest.py --benchmark-only -s``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.benchmarks.reference import (
    Result,
    market,
    run_array_loop,
    run_backtest,
    run_engine,
    run_object_loop,
    run_vectorised,
    write_market,
)

N = 1_000_000
ROOT = Path(__file__).resolve().parents[2]

WAYS: dict[str, Callable[[Any], Result]] = {
    "vectorised": run_vectorised,
    "arrays": run_array_loop,
    "objects": run_object_loop,
    "engine_batch": lambda d: run_engine(d, batch=True),
    "engine_per_event": lambda d: run_engine(d, batch=False),
    "backtest": lambda d: run_backtest(d, n=N),
}


@pytest.fixture(scope="session")
def trades() -> list[pa.RecordBatch]:
    return list(market(N))


@pytest.fixture(scope="session")
def expected(trades: list[pa.RecordBatch]) -> Result:
    return run_object_loop(iter(trades))


@pytest.mark.parametrize("way", sorted(WAYS))
def test_reference_strategy(
    benchmark: Any, trades: list[pa.RecordBatch], expected: Result, way: str
) -> None:
    result = benchmark.pedantic(lambda: WAYS[way](iter(trades)), rounds=3, iterations=1)
    benchmark.extra_info["ticks_per_s"] = N / benchmark.stats["mean"]
    benchmark.extra_info["best_ticks_per_s"] = N / benchmark.stats["min"]
    benchmark.extra_info["fills"] = result.fills
    assert result.same_as(expected), (result, expected)


def _fresh(mode: str, n: int, path: Path) -> dict[str, Any]:
    script = ROOT / "tests" / "benchmarks" / "reference.py"
    done = subprocess.run(
        [sys.executable, str(script), mode, str(n), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_reference_strategy_report(benchmark: Any, tmp_path: Path) -> None:
    """Each way in a fresh process at 1M and 10M trades, read from a Parquet file written
    beforehand (by this process), so peak RSS is the run's own: rates, ratios, peak RSS."""
    files = {n: tmp_path / f"trades-{n}.parquet" for n in (N, 10 * N)}
    for n, path in files.items():
        write_market(n, str(path))

    def report() -> dict[str, Any]:
        rows: dict[str, Any] = {}
        for n in (N, 10 * N):
            for mode in ("vectorised", "arrays", "objects", "batch", "per_event", "backtest"):
                rows[f"{mode}@{n}"] = _fresh(mode, n, files[n])
        return rows

    rows = benchmark.pedantic(report, rounds=1, iterations=1)
    for key, row in rows.items():
        benchmark.extra_info[key] = {
            k: row[k] for k in ("ticks_per_s", "wall_s", "peak_rss_mb", "fills")
        }
    for n in (N, 10 * N):
        arrays = rows[f"arrays@{n}"]["ticks_per_s"]
        objects = rows[f"objects@{n}"]["ticks_per_s"]
        benchmark.extra_info[f"batch_vs_arrays@{n}"] = rows[f"batch@{n}"]["ticks_per_s"] / arrays
        benchmark.extra_info[f"backtest_vs_objects@{n}"] = (
            rows[f"backtest@{n}"]["ticks_per_s"] / objects
        )
        benchmark.extra_info[f"per_event_vs_objects@{n}"] = (
            rows[f"per_event@{n}"]["ticks_per_s"] / objects
        )
    print(json.dumps(benchmark.extra_info, indent=1))
    assert rows[f"batch@{N}"]["fills"] == rows[f"objects@{N}"]["fills"]
    for mode in ("batch", "per_event", "backtest"):
        assert rows[f"{mode}@{10 * N}"]["peak_rss_mb"] < 2 * rows[f"{mode}@{N}"]["peak_rss_mb"]
        assert rows[f"{mode}@{10 * N}"]["fills"] == rows[f"objects@{10 * N}"]["fills"]
