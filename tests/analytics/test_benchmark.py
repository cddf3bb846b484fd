"""Benchmark comparison: buy-and-hold returns, alpha and beta against empyrical."""

from __future__ import annotations

import json
from pathlib import Path

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from serenity.analytics import (
    RunOutputs,
    buy_and_hold_returns,
    compare_with_benchmark,
    summarize_run,
)
from serenity.errors import DataError

from .conftest import INSTRUMENT, T0, tiny_price

DAY = 86_400 * 1_000_000_000


def marks_frame(instrument: str, prices: list[float], *, step: int = DAY) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": [T0 + i * step for i in range(len(prices))],
            "instrument": instrument,
            "price": prices,
        }
    )


def test_buy_and_hold_returns_start_from_the_first_price() -> None:
    marks = pd.concat(
        [marks_frame("A", [100.0, 110.0, 99.0]), marks_frame("B", [1.0, 2.0, 3.0])],
        ignore_index=True,
    )

    got = buy_and_hold_returns(marks, "A", frequency="1D")

    assert got.tolist() == pytest.approx([0.0, 0.1, -0.1])
    assert list(got.index) == list(pd.to_datetime([T0, T0 + DAY, T0 + 2 * DAY], utc=True))


def test_alpha_beta_and_correlation_match_empyrical() -> None:
    rng = np.random.default_rng(5)
    index = pd.date_range("2024-01-01", periods=200, freq="D", tz="UTC")
    bench = pd.Series(rng.normal(0.001, 0.03, 200), index=index)
    strategy = 0.0005 + 0.6 * bench + pd.Series(rng.normal(0, 0.01, 200), index=index)

    got = compare_with_benchmark(strategy, bench, periods_per_year=365, name="held")

    alpha, beta = ep.alpha_beta(strategy, bench, annualization=365)
    assert got.beta == pytest.approx(beta, rel=1e-9)
    assert got.alpha == pytest.approx(alpha, rel=1e-9)
    assert got.correlation == pytest.approx(np.corrcoef(strategy, bench)[0, 1], rel=1e-12)
    assert got.total_return == pytest.approx(ep.cum_returns_final(strategy), rel=1e-9)
    assert got.benchmark_return == pytest.approx(ep.cum_returns_final(bench), rel=1e-9)
    assert got.excess_return == pytest.approx(got.total_return - got.benchmark_return)
    assert got.periods == 200 and got.name == "held"


def test_only_bars_both_have_are_compared() -> None:
    index = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    strategy = pd.Series([0.01, 0.02, -0.01, 0.03], index=index)
    bench = pd.Series([0.02, -0.01, 0.01], index=index[1:])

    got = compare_with_benchmark(strategy, bench, periods_per_year=365)

    assert got.periods == 3
    assert got.total_return == pytest.approx(1.02 * 0.99 * 1.03 - 1)


def test_holding_the_benchmark_itself_has_beta_one_and_no_alpha() -> None:
    index = pd.date_range("2024-01-01", periods=30, freq="D", tz="UTC")
    r = pd.Series(np.random.default_rng(1).normal(0, 0.02, 30), index=index)

    got = compare_with_benchmark(r, r, periods_per_year=365)

    assert got.beta == pytest.approx(1.0) and got.alpha == pytest.approx(0.0, abs=1e-12)
    assert got.correlation == pytest.approx(1.0) and got.excess_return == 0.0


def test_a_flat_benchmark_leaves_beta_undefined() -> None:
    index = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    got = compare_with_benchmark(
        pd.Series([0.01, 0.0, 0.02, 0.0, 0.01], index=index),
        pd.Series(0.0, index=index),
        periods_per_year=365,
    )

    assert got.beta is None and got.alpha is None and got.correlation is None
    assert got.benchmark_return == 0.0
    json.dumps(got.to_dict(), allow_nan=False)


def test_an_instrument_without_marks_is_named() -> None:
    with pytest.raises(DataError, match=r"no marks of 'ETH-USD' .*have \['A'\]"):
        buy_and_hold_returns(marks_frame("A", [1.0]), "ETH-USD", frequency="1D")


def test_summarize_run_compares_with_buying_and_holding_an_instrument(tiny_run: Path) -> None:
    stats = summarize_run(tiny_run, benchmark=INSTRUMENT, report=False)

    summary = RunOutputs(tiny_run).summary
    assert stats.benchmark is not None
    assert summary["benchmark"]["name"] == f"buy and hold {INSTRUMENT}"
    assert summary["benchmark"]["benchmark_return"] == pytest.approx(
        tiny_price(119) / tiny_price(0) - 1
    )
    assert summary["benchmark"]["periods"] == 120
    assert summary["net_pnl"] == 2.0 and not (tiny_run / "report.html").exists()
