"""Investment backtests end to end: outputs that add up, benchmarks, accounts, records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from serenity.analytics import RunOutputs
from serenity.db import create_engine_from_url
from serenity.db.migrations import upgrade
from serenity.errors import ConfigError
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import StrategyRun
from serenity.strategy import backtest
from tests.strategy.conftest import Runner, config, crypto_store, write_prices

EXAMPLES = Path(__file__).resolve().parents[2] / "serenity" / "examples" / "invest"
YEAR = {"start": "2024-01-01", "end": "2025-01-01"}


def test_equity_is_cash_plus_holdings_at_every_close(tmp_path: Path) -> None:
    """The equal-weight example: next-open fills, fees, a volume cap, dividends reinvested
    across the portfolio and a split, and still equity = cash + Σ units × close."""
    result = backtest(
        EXAMPLES / "equal_weight.yaml", **YEAR, out=tmp_path / "ew", record=False, report=False
    )
    out = result.outputs
    pnl = out.pnl.iloc[1:].set_index("ts")  # the first row is the opening capital
    cash = out.capture("cash").set_index("ts")["cash_main"]
    marks = out.marks.pivot(index="ts", columns="instrument", values="price").ffill()
    held = out.positions.pivot_table(index="ts", columns="instrument", values="qty", aggfunc="last")
    held = held.reindex(pnl.index).fillna(0.0)
    value = (held * marks.reindex(columns=held.columns)).sum(axis=1)
    np.testing.assert_allclose(pnl.equity.to_numpy(), (cash + value).to_numpy(), rtol=1e-12)
    assert len(pnl) == 252 and result.statistics.periods_per_year == 252.0
    assert set(out.capture("splits").instrument) == {"CCC"}
    assert result.statistics.fees > 0 and (out.capture("cash").cash_main >= 0).all()
    summary = out.summary
    assert summary["benchmark"]["name"] == "buy and hold AAA (dividends reinvested)"


def test_buying_and_holding_the_benchmark_tracks_it(tmp_path: Path) -> None:
    result = backtest(
        EXAMPLES / "buy_and_hold.yaml", **YEAR, out=tmp_path / "bh", benchmark="AAA", record=False
    )
    bench = result.statistics.benchmark
    assert bench is not None and bench.periods == 252
    assert bench.correlation == pytest.approx(1.0, abs=1e-3) and bench.beta == pytest.approx(
        1.0, abs=0.01
    )
    # Behind the benchmark by the cash left over and the costs only
    assert -0.01 < (bench.excess_return or 0) < 0
    assert (result.folder / "report.html").stat().st_size > 100_000


def test_each_account_is_traded_to_its_own_weights(tmp_path: Path, run: Runner) -> None:
    rows = [(d, "AAA", 10, 10, 10**6) for d in ("2024-01-02", "2024-01-03")]
    result = run(
        write_prices(tmp_path, rows),
        capital=None,
        portfolio={"currency": "USD", "accounts": {"taxable": 1_000, "pension": 3_000}},
        weights={"2024-01-02": {"AAA": 0.5}},
        end="2024-01-04",
    )
    fills = result.outputs.fills
    assert sorted(zip(fills.account, fills.qty, strict=True)) == [
        ("pension", 150.0),
        ("taxable", 50.0),
    ]
    assert result.statistics.starting_capital == 4_000.0


def test_a_failing_strategy_names_where_and_leaves_readable_outputs(tmp_path: Path) -> None:
    prices = write_prices(tmp_path, [("2024-01-02", "AAA", 1, 1, 1)])
    cfg = config(prices)
    cfg["strategy"]["class"] = "Failing"
    with pytest.raises(RuntimeError, match="the strategy broke") as caught:
        backtest(cfg, start="2024-01-02", end="2024-01-03", out=tmp_path / "run", record=False)
    assert "in scripted.rebalance at the close of 2024-01-02" in caught.value.__notes__
    assert RunOutputs(tmp_path / "run").is_sealed


def test_a_window_without_sessions_is_refused(tmp_path: Path) -> None:
    prices = write_prices(tmp_path, [("2024-01-02", "AAA", 1, 1, 1)])
    with pytest.raises(ConfigError, match="XNYS has no session between"):
        backtest(config(prices), start="2024-07-04", end="2024-07-05", out=tmp_path / "r")


def test_a_recorded_run_has_its_strategy_run_row(tmp_path: Path, db_url: str) -> None:
    upgrade(db_url)
    prices = write_prices(tmp_path, [(d, "AAA", 1, 1, 1) for d in ("2024-01-02", "2024-01-03")])
    result = backtest(
        config(prices, orders={"2024-01-02": [["AAA", 5]]}),
        start="2024-01-02",
        end="2024-01-04",
        out=tmp_path / "run",
        db_url=db_url,
        record=True,
        report=False,
    )
    engine = create_engine_from_url(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(StrategyRun).where(StrategyRun.id == result.run_id)).one()
    engine.dispose()
    assert (row.strategy, str(row.status), row.kind.value) == ("scripted", "completed", "backtest")
    assert row.statistics["fills"] == 1 and row.output_uri == str((tmp_path / "run").resolve())


def test_a_recorded_run_refuses_a_database_behind_the_newest_schema(
    tmp_path: Path, db_url: str
) -> None:
    """Recording needs the newest schema: record=True says which revision to upgrade from,
    record=None runs without recording (and writes its outputs all the same)."""
    upgrade(db_url, "0001")
    prices = write_prices(tmp_path, [(d, "AAA", 1, 1, 1) for d in ("2024-01-02", "2024-01-03")])
    cfg = config(prices, orders={"2024-01-02": [["AAA", 5]]})
    window = {"start": "2024-01-02", "end": "2024-01-04", "db_url": db_url, "report": False}
    with pytest.raises(ConfigError, match="is at revision 0001.*serenity db upgrade"):
        backtest(cfg, **window, out=tmp_path / "refused", record=True)
    result = backtest(cfg, **window, out=tmp_path / "unrecorded", record=None)
    assert result.run_id is None and len(result.outputs.fills) == 1


def test_crypto_runs_on_daily_bars_of_the_tick_store(tmp_path: Path) -> None:
    url = crypto_store(tmp_path)
    result = backtest(
        EXAMPLES / "crypto_60_40.yaml",
        start="2024-01-01",
        end="2024-01-04",
        store=url,
        out=tmp_path / "run",
        record=False,
        report=False,
    )
    out = result.outputs
    trades = open_tickstore(url, "COINBASE_TRADES").select("ETH-USD", "2024-01-01", "2024-01-04")
    last = trades.groupby(trades.ts // (86_400 * 10**9)).price.last().tolist()
    marks = out.marks[out.marks.instrument == "ETH-USD@coinbase"]
    assert marks.price.tolist() == last
    first = out.fills[out.fills.ts == out.fills.ts.min()]
    weights = (first.qty * first.price).to_numpy() / 10_000
    assert weights == pytest.approx([0.6, 0.4], abs=0.002)  # less the 10 bps fee
    assert result.statistics.periods_per_year == 365.0 and result.sessions == 3
