"""Throughput of the run-output writer (rows per second through RunWriter to Parquet, flushes,
journal and close included) and of the statistics and report over a long run.

Run with ``python -m pytest tests/benchmarks/test_analytics.py --benchmark-only``; each
benchmark records its rate in ``extra_info``.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from serenity.analytics import RunOutputs, RunWriter, build_report, run_statistics

N = 200_000
T0 = 1_704_067_200_000_000_000
MIN = 60_000_000_000
INSTRUMENT = "BTC-USD@coinbase"
_runs = itertools.count()


@pytest.fixture(scope="module")
def walk() -> list[tuple[int, float, float]]:
    """N (ts, price, qty) rows of a random walk, one a minute."""
    rng = np.random.default_rng(1)
    prices = 40_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0005, N)))
    qty = rng.integers(1, 100, N) / 100.0
    return list(zip((T0 + np.arange(N) * MIN).tolist(), prices.tolist(), qty.tolist(), strict=True))


def write_fills(folder: Path, rows: list[tuple[int, float, float]]) -> None:
    with RunWriter(folder, starting_capital=1e6) as out:
        fill = out.fill
        for i, (ts, price, qty) in enumerate(rows):
            fill(
                ts,
                i,
                cl_ord_id="c",
                exec_id="x",
                account="sim",
                instrument=INSTRUMENT,
                side="BUY" if i & 1 else "SELL",
                qty=qty,
                price=price,
                fee=price * qty * 0.00075,
                fee_currency="USD",
                liquidity="TAKER",
            )


def write_pnl(folder: Path, rows: list[tuple[int, float, float]]) -> None:
    with RunWriter(folder, starting_capital=1e6) as out:
        pnl = out.pnl
        for ts, price, qty in rows:
            pnl(ts, realised=price, unrealised=qty, fees=1.0)


@pytest.mark.parametrize("table", ["fills", "pnl"])
def test_writer_throughput(
    benchmark: Any, walk: list[tuple[int, float, float]], tmp_path: Path, table: str
) -> None:
    write = write_fills if table == "fills" else write_pnl

    def run() -> Path:
        folder = tmp_path / f"run{next(_runs)}"
        write(folder, walk)
        return folder

    folder = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["rows"] = N
    benchmark.extra_info["rows_per_s"] = N / benchmark.stats["mean"]
    assert len(RunOutputs(folder).table(table)) == N


@pytest.fixture(scope="module")
def long_run(
    walk: list[tuple[int, float, float]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A run of N minutes (about 139 days) with marks, P&L and a fill every 100 minutes."""
    folder = tmp_path_factory.mktemp("long") / "run"
    with RunWriter(folder, starting_capital=1e6) as out:
        position = 0.0
        for i, (ts, price, _) in enumerate(walk):
            out.mark(ts, INSTRUMENT, price=price)
            if i % 100 == 0:
                side = "BUY" if position <= 0 else "SELL"
                out.fill(ts, i, cl_ord_id="c", exec_id=str(i), account="sim",
                         instrument=INSTRUMENT, side=side, qty=1.0, price=price, fee=1.0,
                         fee_currency="USD", liquidity="TAKER")  # fmt: skip
                position += 1.0 if side == "BUY" else -1.0
            out.pnl(ts, realised=0.0, unrealised=position * (price - 40_000.0), fees=i / 100)
    return folder


def test_statistics_of_a_long_run(benchmark: Any, long_run: Path) -> None:
    stats = benchmark(lambda: run_statistics(RunOutputs(long_run)))
    benchmark.extra_info["pnl_rows_per_s"] = N / benchmark.stats["mean"]
    assert stats.return_frequency == "1D" and stats.fills == N // 100


def test_report_of_a_long_run(benchmark: Any, long_run: Path) -> None:
    path = benchmark.pedantic(lambda: build_report(long_run), rounds=3, iterations=1)
    benchmark.extra_info["report_bytes"] = path.stat().st_size
    assert path.stat().st_size < 8_000_000
