"""The compiled core (Cython) and its pure-Python fallback give the same results.

``pip install`` builds ``serenity.tau._native`` and ``serenity.signal.bars._native`` where a
C compiler is present; ``SERENITY_PURE_PYTHON=1`` (or a machine without a compiler) runs the
pure-Python definitions instead. These tests check that the compiled core is in use when
built, that the fallback passes the tau and signal tests, that both give the same bars and
backtest results bit for bit, and that the per-event replay's row view never reaches Python
code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from serenity.marketdata import Trade
from serenity.marketdata.historic import TradeRows
from serenity.model import InstrumentId
from serenity.signal.bars import TimeBars
from serenity.tau import HistoricNetworkScheduler, MutableSignal
from serenity.tau.batch import Batch
from serenity.tau.core import NATIVE, Event, Network
from serenity.tau.event import Do, Lambda
from tests.conftest import skip_missing_service

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_704_153_600 * 10**9
S = 10**9
BTC = InstrumentId("coinbase", "BTC-USD")


def _require_native() -> None:
    if not NATIVE:
        skip_missing_service(
            "the compiled core is not built (no C compiler when installed, or "
            "SERENITY_PURE_PYTHON is set)"
        )


def _pure_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SERENITY_PURE_PYTHON"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return env


GAPS_MS = [0, 0, 1, 250, 900, 30_000, 61_000, 300_000]


def trades_table(n: int, seed: int, gaps_ms: list[int] = GAPS_MS) -> pa.Table:
    """Trades with ties, bursts and gaps longer than a bar, so bars open, close and skip."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice(gaps_ms, n) * 10**6
    ts = T0 + np.cumsum(gaps).astype(np.int64)
    return pa.table(
        {
            "ts": ts,
            "ts_recv": ts,
            "trade_id": pa.array([str(i) for i in range(n)]),
            "side": np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
            "price": np.round(100 + np.cumsum(rng.normal(0, 0.05, n)), 2),
            "qty": np.round(rng.exponential(0.5, n) + 0.001, 4),
        }
    )


def bars_of(n: int, seed: int, batch: bool) -> list[list[Any]]:
    """The 1-minute bars of ``trades_table(n, seed)``, each with the time it came out."""
    table = trades_table(n, seed)
    end = int(table.column("ts")[-1].as_py()) + 3600 * S
    sched = HistoricNetworkScheduler(T0, end, batch=batch)
    trades: MutableSignal[Any] = MutableSignal()
    bars = TimeBars(sched, trades, 60 * S)
    out: list[list[Any]] = []

    def record() -> None:
        b = bars.get_value()
        fields = [b.open, b.high, b.low, b.close, b.volume, b.vwap, b.trade_count, b.start, b.end]
        out.append([sched.get_time(), *fields])

    Do(sched.network, bars, record)
    sched.replay(trades, table, rows=TradeRows(BTC))
    sched.run()
    return out


_PURE_SCRIPT = """
import json, sys
from tests.test_native_core import bars_of
from tests.benchmarks.reference import market, run_engine
from serenity.tau.core import NATIVE
assert not NATIVE, "SERENITY_PURE_PYTHON=1 must select the pure-Python core"
r = run_engine(market(60_000, seed=3), batch=False)
print(json.dumps({
    "bars": bars_of(3_000, 11, batch=False),
    "engine": [r.fills, r.pnl, r.fees, r.ticks],
}))
"""


def test_the_compiled_core_runs_when_built() -> None:
    _require_native()
    from serenity.signal.bars._native import OpenBar
    from serenity.tau._native import NetworkBase, NodeBase

    assert issubclass(Event, NodeBase) and issubclass(Network, NetworkBase)
    assert Network.activate is NetworkBase.activate
    sched = HistoricNetworkScheduler(T0, T0 + S)
    bars = TimeBars(sched, MutableSignal(), 60 * S)
    assert isinstance(bars._fast, OpenBar)


def test_pure_python_is_selected_by_the_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from serenity.tau import NATIVE; print(NATIVE)"],
        env=_pure_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_compiled_and_pure_python_give_identical_bars_and_backtests() -> None:
    _require_native()
    from tests.benchmarks.reference import market, run_engine

    done = subprocess.run(
        [sys.executable, "-c", _PURE_SCRIPT],
        env=_pure_env(),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    pure = json.loads(done.stdout.strip().splitlines()[-1])
    native_bars = bars_of(3_000, 11, batch=False)
    assert len(native_bars) > 20
    # JSON keeps floats exactly (repr round-trips), so this is bit for bit.
    assert json.loads(json.dumps(native_bars)) == pure["bars"]
    assert bars_of(3_000, 11, batch=True) == native_bars
    r = run_engine(market(60_000, seed=3), batch=False)
    assert [r.fills, r.pnl, r.fees, r.ticks] == pure["engine"]
    assert r.fills > 0


def test_the_pure_python_core_passes_the_tau_and_signal_tests() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "tests/tau",
            "tests/signal",
            "tests/trading/test_properties.py",
        ],
        env=_pure_env(),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


class CountingRows(TradeRows):
    """TradeRows that count the Trade objects they build."""

    built = 0

    def all(self, batch: Batch) -> Any:
        CountingRows.built += batch.size
        return super().all(batch)

    def one(self, batch: Batch, i: int) -> Trade:
        CountingRows.built += 1
        return super().one(batch, i)


def test_per_event_rows_go_as_a_view_that_python_code_never_sees() -> None:
    _require_native()
    n = 20_000
    table = trades_table(n, 5, [0, 1, 250, 900])  # about 50 bars
    end = int(table.column("ts")[-1].as_py()) + 3600 * S
    sched = HistoricNetworkScheduler(T0, end, batch=False)
    trades: MutableSignal[Any] = MutableSignal()
    bars = TimeBars(sched, trades, 60 * S)
    seen: list[Any] = []
    # Downstream of the bars, in the cycles where a trade finishes a bar, and in a timer.
    Lambda(sched.network, [bars], lambda _: seen.append(trades.get_value()))
    sched.schedule_at(lambda: seen.append(trades.get_value()), T0 + 90 * S)
    CountingRows.built = 0
    sched.replay(trades, table, rows=CountingRows(BTC))
    stats = sched.run()
    assert stats.per_event == n and stats.batched == 0
    assert len(seen) > 20 and all(type(t) is Trade for t in seen)
    assert type(trades.get_value()) is Trade and trades.get_value().trade_id == str(n - 1)
    # Only the rows some Python code looked at were built as objects.
    assert CountingRows.built < n // 10


def test_a_listener_without_fast_path_gets_trade_objects_for_every_row() -> None:
    table = trades_table(2_000, 9)
    end = int(table.column("ts")[-1].as_py()) + 3600 * S
    sched = HistoricNetworkScheduler(T0, end, batch=False)
    trades: MutableSignal[Any] = MutableSignal()
    TimeBars(sched, trades, 60 * S)
    seen: list[Any] = []
    Do(sched.network, trades, lambda: seen.append(trades.get_value()))
    sched.replay(trades, table, rows=TradeRows(BTC))
    sched.run()
    assert len(seen) == 2_000 and all(type(t) is Trade for t in seen)
    assert [t.trade_id for t in seen] == [str(i) for i in range(2_000)]
    assert len({id(t) for t in seen}) == 2_000  # objects, not one view reused


def test_a_node_raising_in_the_compiled_cycle_is_named() -> None:
    from serenity.errors import NodeError

    sched = HistoricNetworkScheduler(T0, T0 + 3600 * S, batch=False)
    trades: MutableSignal[Any] = MutableSignal()
    bars = TimeBars(sched, trades, 60 * S)

    def boom(_: Any) -> None:
        raise ValueError("bad bar")

    Lambda(sched.network, [bars], boom, name="boom")
    sched.replay(trades, trades_table(5_000, 1), rows=TradeRows(BTC))
    with pytest.raises(NodeError, match="boom.*bad bar"):
        sched.run()
