"""Backtests end to end: the tick store through the engine into outputs, reruns, records."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from serenity.algo import (
    BacktestResult,
    Mode,
    Strategy,
    StrategyContext,
    backtest,
    compare_runs,
    load_config,
    rerun,
)
from serenity.analytics import RunOutputs
from serenity.db import create_engine_from_url
from serenity.db.migrations import upgrade
from serenity.errors import ConfigError, UnknownSymbolError
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import StrategyRun
from tests.algo.conftest import DAYS, day_trades

START, END = "2024-01-02", "2024-01-04"


def reference(examples_dir: Path) -> Any:
    return load_config(examples_dir / "reference_bbands.yaml")


def run_backtest(config: Any, store: str, out: Path, **options: Any) -> BacktestResult:
    """Backtest ``config`` over START..END from ``store`` into ``out``: not recorded and
    without a report unless ``options`` say otherwise."""
    options = {"record": False, "report": False, **options}
    return backtest(config, start=START, end=END, store=store, out=out, **options)


def test_a_backtest_writes_every_output(store_url: str, examples_dir: Path, tmp_path: Path) -> None:
    result = run_backtest(reference(examples_dir), store_url, tmp_path / "run", report=True)
    out = result.outputs
    assert (
        result.ticks == 2 * 20_000 and result.stats.batched + result.stats.per_event == result.ticks
    )
    fills = out.fills
    assert len(fills) >= 4 and set(fills.side) <= {"BUY", "SELL"}
    assert {
        "ts",
        "order_id",
        "cl_ord_id",
        "instrument",
        "side",
        "qty",
        "price",
        "fee",
        "liquidity",
    } <= set(fills.columns)
    assert fills.ts.dtype == "int64" and (fills.instrument == "BTC-USD@coinbase").all()
    # 7.5 bps of every fill's notional
    assert fills.fee.to_numpy() == pytest.approx(
        fills.qty.to_numpy() * fills.price.to_numpy() * 0.00075
    )
    pnl = out.pnl
    assert pnl.ts.diff().dropna().max() <= 60 * 10**9  # equity at least every minute
    summary = out.summary
    for key in (
        "ticks",
        "wall_seconds",
        "ticks_per_second",
        "orders",
        "fills",
        "realised_pnl",
        "fees",
        "net_pnl",
        "total_return",
        "sharpe",
        "sortino",
        "max_drawdown",
        "turnover",
        "win_rate",
        "exposure_time",
    ):
        assert key in summary, key
    assert summary["fills"] == len(fills) and summary["ticks"] == result.ticks
    # Net P&L is the last equity point's net, and matches the positions' realised less fees.
    assert summary["net_pnl"] == pytest.approx(float(pnl.net.iloc[-1]))
    assert (result.folder / "report.html").stat().st_size > 100_000
    assert (result.folder / "config.yaml").read_text() == reference(examples_dir).text
    run = json.loads((result.folder / "run.json").read_text())
    assert run["data_versions"]["tables"]["COINBASE_TRADES"]["BTC-USD"] == {
        "2024-01-02": 1,
        "2024-01-03": 1,
    }


def test_batch_and_per_event_backtests_give_identical_outputs(
    store_url: str, examples_dir: Path, tmp_path: Path
) -> None:
    for name in ("reference_bbands", "bbands1"):
        cfg = load_config(examples_dir / f"{name}.yaml")
        fast = run_backtest(cfg, store_url, tmp_path / f"{name}-b")
        slow = run_backtest(cfg, store_url, tmp_path / f"{name}-e", batch=False)
        assert slow.stats.batched == 0 and fast.stats.batched > 0.9 * fast.ticks
        assert compare_runs(fast.folder, slow.folder) == []
        assert len(RunOutputs(fast.folder).fills) > 0, name


def peg_store(tmp_path: Path) -> str:
    """A rising market: the touch moves up a cent a second for 200 s while trades print at
    the ask, then one trade prints through the bid."""
    day = DAYS[0]
    t0 = pd.Timestamp(day, tz="UTC").value
    rows = [(t0, 1, True, 1, 100.00, 5.0), (t0, 1, True, -1, 100.02, 5.0)]
    for k in range(1, 200):
        ts = t0 + k * 10**9
        rows += [
            (ts, k + 1, False, 1, round(100.00 + (k - 1) * 0.01, 2), 0.0),
            (ts, k + 1, False, 1, round(100.00 + k * 0.01, 2), 5.0),
            (ts, k + 1, False, -1, round(100.02 + (k - 1) * 0.01, 2), 0.0),
            (ts, k + 1, False, -1, round(100.02 + k * 0.01, 2), 5.0),
        ]
    books = pd.DataFrame(rows, columns=["ts", "seq", "is_snapshot", "side", "price", "qty"])
    books.insert(1, "ts_recv", books["ts"])
    trade_ts = [t0 + k * 10**9 + 500 for k in range(5, 200, 10)] + [t0 + 205 * 10**9]
    trade_px = [round(100.02 + k * 0.01, 2) for k in range(5, 200, 10)] + [99.0]
    trades = pd.DataFrame(
        {
            "ts": trade_ts,
            "ts_recv": trade_ts,
            "trade_id": [str(i) for i in range(len(trade_ts))],
            "side": [1] * (len(trade_ts) - 1) + [-1],
            "price": trade_px,
            "qty": 1.0,
            "seq": range(len(trade_ts)),
        }
    )
    url = f"file://{tmp_path / 'peg-ticks'}"
    open_tickstore(url, "COINBASE_TRADES").insert("BTC-USD", day, trades.astype({"side": "int8"}))
    open_tickstore(url, "COINBASE_BOOKS").insert("BTC-USD", day, books.astype({"side": "int8"}))
    return url


def test_the_peg_example_follows_the_touch_and_fills_as_maker(
    examples_dir: Path, tmp_path: Path
) -> None:
    url = peg_store(tmp_path)
    result = run_backtest(load_config(examples_dir / "peg.yaml"), url, tmp_path / "peg")
    out = result.outputs
    pegs = out.capture("peg")
    # One order, re-pegged each second to the new best bid (100.00, 100.01, ...).
    assert list(pegs.action[:3]) == ["new", "replace", "replace"]
    assert (pegs.action == "replace").sum() >= 150
    assert list(pegs.price[:3]) == pytest.approx([100.00, 100.01, 100.02])
    [fill] = out.fills.itertuples()
    # The print at 99 goes through the bid where the order last rested: 100.00 + 199 * 0.01.
    assert (fill.liquidity, fill.qty, fill.price) == (
        "MAKER",
        pytest.approx(0.05),
        pytest.approx(101.99),
    )


def test_rerun_reproduces_a_run_after_the_data_was_corrected(
    store_url: str, examples_dir: Path, tmp_path: Path
) -> None:
    first = run_backtest(reference(examples_dir), store_url, tmp_path / "first")
    # A correction of day 2 arrives later: a new version with other prices.
    open_tickstore(store_url, "COINBASE_TRADES").insert(
        "BTC-USD", DAYS[1], day_trades(DAYS[1], seed=99)
    )
    again, differences = rerun(first.folder, out=tmp_path / "again")
    assert differences == []
    fresh = run_backtest(reference(examples_dir), store_url, tmp_path / "fresh")
    assert compare_runs(first.folder, fresh.folder) != []
    assert (
        json.loads((again.folder / "run.json").read_text())["as_of"]
        == json.loads((first.folder / "run.json").read_text())["as_of"]
    )


def test_runs_are_recorded_in_the_database(
    store_url: str, examples_dir: Path, tmp_path: Path, db_url: str
) -> None:
    upgrade(db_url)
    result = run_backtest(
        reference(examples_dir), store_url, tmp_path / "rec", record=None, db_url=db_url
    )
    engine = create_engine_from_url(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(StrategyRun).where(StrategyRun.id == result.run_id)).one()
    engine.dispose()
    assert (
        row.status == "completed" and row.strategy == "reference_bbands" and row.kind == "backtest"
    )
    assert row.statistics["fills"] == result.statistics.fills
    assert row.data_versions["tables"]["COINBASE_TRADES"]["BTC-USD"]["2024-01-03"] == 1
    assert Path(row.output_uri) == result.folder.resolve()


def test_unknown_instruments_and_bad_windows_are_refused(
    store_url: str, examples_dir: Path, tmp_path: Path
) -> None:
    cfg = reference(examples_dir)
    with pytest.raises(UnknownSymbolError, match="no PHEMEX_TRADES table"):
        other = dataclasses.replace(
            cfg,
            instruments=(
                load_config(
                    "strategy: {name: a, module: m, class: C}\ninstruments: [PHEMEX:BTCUSD]\n"
                ).instruments[0],
            ),
        )
        run_backtest(other, store_url, tmp_path / "x")
    with pytest.raises(ConfigError, match="--end must be after --start"):
        backtest(cfg, start=END, end=START, store=store_url, out=tmp_path / "y", record=False)


class _Two(Strategy):
    seen: dict[str, Any] = {}

    def init(self, ctx: StrategyContext) -> None:
        _Two.seen[ctx.name] = (
            dict(ctx.params),
            ctx.mode,
            ctx.get_scheduler() is ctx.scheduler,
            ctx.get_order_manager_service() is ctx.oms,
        )
        ctx.capture("hello", x=1)


def test_each_strategy_sees_only_its_own_params(store_url: str, tmp_path: Path) -> None:
    text = f"""\
api-version: v1
strategies:
  - {{name: a, module: {__name__}, class: _Two, params: {{alpha: 1}}}}
  - {{name: b, module: {__name__}, class: _Two, params: {{beta: 2}}}}
instruments: [COINBASE:BTC-USD]
"""
    result = run_backtest(load_config(text), store_url, tmp_path / "two")
    assert _Two.seen == {
        "a": ({"alpha": 1}, Mode.BACKTEST, True, True),
        "b": ({"beta": 2}, Mode.BACKTEST, True, True),
    }
    assert set(result.outputs.channels) == {"a.hello", "b.hello"}
    assert isinstance(result.outputs.capture("a.hello"), pd.DataFrame)


def test_a_recorded_backtest_books_its_fills_for_the_tax_report(
    store_url: str, examples_dir: Path, tmp_path: Path, db_url: str
) -> None:
    import json as _json
    import subprocess
    import sys
    from importlib.resources import files

    from serenity.db.refdata import load_catalog
    from serenity.exchange import coinbase

    upgrade(db_url)
    engine = create_engine_from_url(db_url)
    data = files("serenity.demo") / "data"
    payloads = (
        _json.loads((data / f"coinbase_{n}.json").read_text()) for n in ("products", "currencies")
    )
    load_catalog(engine, coinbase.parse_products(*payloads), name=coinbase.NAME)
    result = run_backtest(
        reference(examples_dir), store_url, tmp_path / "book", record=None, db_url=db_url
    )
    with engine.connect() as conn:
        booked = conn.execute(
            sa.text(
                'SELECT count(*) FROM fill JOIN "order" o ON o.id = fill.order_id'
                " WHERE o.strategy_run_id = :r"
            ),
            {"r": result.run_id},
        ).scalar()
        positions = conn.execute(sa.text("SELECT count(*) FROM position")).scalar()
    engine.dispose()
    assert booked == result.statistics.fills > 0 and positions >= 1
    # The booked fills of this run feed the tax report (quote USD: no marks needed).
    out = tmp_path / "summary.txt"
    cli = [
        sys.executable,
        "-m",
        "serenity",
        "tax",
        "report",
        "--year",
        "2024",
        "--run",
        str(result.run_id),
        "--format",
        "summary",
        "--out",
        str(out),
        "--db-url",
        db_url,
    ]
    done = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "BTC" in out.read_text()
