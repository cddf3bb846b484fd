"""Statistics against hand-computed cases and against empyrical (an independent library)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.analytics import (
    RunOutputs,
    choose_frequency,
    compute_statistics,
    equity_curve,
    exposure_intervals,
    fill_roles,
    max_drawdown,
    period_returns,
    periods_per_year,
    round_trips,
    run_statistics,
)
from serenity.errors import InvalidValueError

from .conftest import ENTRY, EXIT, MIN, T0

HOUR = 60 * MIN
DAY = 24 * HOUR


def pnl_frame(points: list[tuple[int, float]], capital: float) -> pd.DataFrame:
    """Return a pnl table whose equity passes through ``points`` (all P&L unrealised)."""
    ts = [t for t, _ in points]
    equity = [e for _, e in points]
    net = [e - capital for e in equity]
    return pd.DataFrame(
        {
            "ts": ts,
            "realised": 0.0,
            "unrealised": net,
            "fees": 0.0,
            "net": net,
            "equity": equity,
            "currency": "USD",
        }
    )


def fills_frame(rows: list[tuple[int, str, float, float, float]], **common: str) -> pd.DataFrame:
    """Return a fills table from (ts, side, qty, price, fee) rows."""
    frame = pd.DataFrame(rows, columns=["ts", "side", "qty", "price", "fee"])
    frame["account"] = common.get("account", "sim")
    frame["instrument"] = common.get("instrument", "BTC-USD@coinbase")
    return frame


NO_FILLS = fills_frame([])

# Three days: the close of each day is the last sample in it; 120 at noon on day 0 is the peak.
HAND_PNL = pnl_frame(
    [
        (T0, 100.0),
        (T0 + 12 * HOUR, 120.0),
        (T0 + 23 * HOUR, 110.0),
        (T0 + DAY + 6 * HOUR, 104.0),
        (T0 + DAY + 20 * HOUR, 99.0),
        (T0 + 2 * DAY + 1 * HOUR, 108.9),
    ],
    capital=100.0,
)


def test_hand_case_daily_returns_sharpe_sortino_and_drawdown() -> None:
    stats = compute_statistics(HAND_PNL, NO_FILLS, frequency="1D")

    r = [0.1, -0.1, 0.1]  # 100 -> 110 -> 99 -> 108.9
    mean = sum(r) / 3
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    assert stats.periods == 3 and stats.return_frequency == "1D"
    assert stats.periods_per_year == 365.0
    assert stats.sharpe == pytest.approx(mean / std * math.sqrt(365))
    assert stats.sortino == pytest.approx(mean * math.sqrt(365) / math.sqrt(0.01 / 3))
    assert stats.volatility == pytest.approx(std * math.sqrt(365))
    assert stats.annual_return == pytest.approx(1.089 ** (365 / 3) - 1)
    assert stats.max_drawdown == pytest.approx(99 / 120 - 1)  # every sample, not only closes
    assert stats.total_return == pytest.approx(0.089)
    assert stats.net_pnl == pytest.approx(8.9) and stats.ending_equity == pytest.approx(108.9)
    assert stats.starting_capital == 100.0 and stats.currency == "USD"
    assert stats.start_ns == T0 and stats.end_ns == T0 + 2 * DAY + HOUR


def test_period_returns_are_pandas_resampled_closes_from_the_starting_capital() -> None:
    rng = np.random.default_rng(3)
    ts = np.sort(rng.integers(T0, T0 + 40 * DAY, size=3_000))
    equity = 1_000 * np.exp(np.cumsum(rng.normal(0, 0.002, ts.size)))
    curve = pd.Series(equity, index=pd.Index(ts))

    for frequency, rule in (("1D", "1D"), ("1h", "1h"), ("1min", "1min")):
        got = period_returns(curve, frequency=frequency, initial=1_000.0)
        timed = pd.Series(equity, index=pd.to_datetime(ts, utc=True))
        closes = timed.resample(rule).last().dropna()
        expected = pd.concat([pd.Series([1_000.0]), pd.Series(closes.to_numpy())]).pct_change()
        assert list(got.index) == list(closes.index)
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy()[1:], rtol=1e-12)


def test_bars_without_samples_are_skipped_not_filled() -> None:
    # Friday and Monday closes of an equity: the weekend is one return, not three.
    curve = pd.Series([100.0, 101.0, 99.0], index=pd.Index([T0, T0 + DAY, T0 + 4 * DAY]))

    got = period_returns(curve, frequency="1D", initial=100.0)

    assert got.tolist() == pytest.approx([0.0, 0.01, 99 / 101 - 1])


@pytest.mark.parametrize(
    ("span", "expected"),
    [(30 * DAY, "1D"), (30 * DAY - 1, "1h"), (30 * HOUR, "1h"), (29 * HOUR, "1min"), (0, "1min")],
)
def test_frequency_is_the_coarsest_with_thirty_bars(span: int, expected: str) -> None:
    assert choose_frequency(span) == expected


def test_periods_per_year_follow_the_days_in_a_year() -> None:
    assert periods_per_year("1D") == 365
    assert periods_per_year("1h") == 365 * 24
    assert periods_per_year("1min") == 365 * 24 * 60
    assert periods_per_year("1D", days_per_year=252) == 252
    with pytest.raises(InvalidValueError, match="return frequency '1W' is not one of"):
        periods_per_year("1W")
    with pytest.raises(InvalidValueError, match="days_per_year must be > 0"):
        periods_per_year("1D", days_per_year=0)


equity_paths = st.lists(
    st.floats(min_value=-0.2, max_value=0.25, allow_nan=False), min_size=3, max_size=80
)


@settings(max_examples=60, deadline=None)
@given(steps=equity_paths, equities=st.booleans())
def test_return_statistics_match_empyrical(steps: list[float], equities: bool) -> None:
    capital = 10_000.0
    equity = capital * np.cumprod(1.0 + np.asarray(steps))
    pnl = pnl_frame([(T0 + i * DAY, e) for i, e in enumerate(equity)], capital)
    days = 252.0 if equities else 365.0

    stats = compute_statistics(pnl, NO_FILLS, frequency="1D", days_per_year=days)

    r = pd.Series(np.concatenate(([capital], equity))).pct_change().dropna()
    assert stats.periods == len(steps)

    def same(ours: float | None, theirs: float) -> None:
        if math.isfinite(theirs):
            assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
        else:
            assert ours is None

    same(stats.sharpe, ep.sharpe_ratio(r, annualization=days))
    same(stats.sortino, ep.sortino_ratio(r, annualization=days))
    same(stats.volatility, ep.annual_volatility(r, annualization=days))
    same(stats.annual_return, ep.annual_return(r, annualization=days))
    same(stats.max_drawdown, ep.max_drawdown(r))
    assert stats.total_return == pytest.approx(ep.cum_returns_final(r), rel=1e-9, abs=1e-12)


def test_intraday_statistics_match_empyrical_on_the_same_bars() -> None:
    rng = np.random.default_rng(11)
    ts = T0 + np.arange(0, 3 * DAY, MIN)  # three days of minute samples: hourly returns
    equity = 50_000 * np.exp(np.cumsum(rng.normal(0, 0.0005, ts.size)))
    pnl = pnl_frame(list(zip(ts.tolist(), equity.tolist(), strict=True)), 50_000.0)

    stats = compute_statistics(pnl, NO_FILLS)

    hourly = pd.Series(equity, index=pd.to_datetime(ts, utc=True)).resample("1h").last()
    r = pd.concat([pd.Series([50_000.0]), pd.Series(hourly.to_numpy())]).pct_change().dropna()
    samples = pd.concat([pd.Series([50_000.0]), pd.Series(equity)]).pct_change().dropna()
    assert stats.return_frequency == "1h" and stats.periods == 72
    assert stats.sharpe == pytest.approx(ep.sharpe_ratio(r, annualization=8760), rel=1e-9)
    assert stats.sortino == pytest.approx(ep.sortino_ratio(r, annualization=8760), rel=1e-9)
    assert stats.max_drawdown == pytest.approx(ep.max_drawdown(samples), rel=1e-9)


def test_round_trips_hand_case_with_partial_exits_and_a_reversal() -> None:
    fills = fills_frame(
        [
            (1, "BUY", 1.0, 100.0, 1.0),  # trip 1 long: +10 - 2 fees = 8
            (2, "SELL", 1.0, 110.0, 1.0),
            (3, "BUY", 2.0, 100.0, 2.0),  # trip 2 long: -200 + 2 * 90, fees 2 + 2 = -24
            (4, "SELL", 3.0, 90.0, 3.0),  # ...reverses: trip 3 short 1 @ 90 with fee 1
            (5, "BUY", 1.0, 80.0, 1.0),  # trip 3: +10 - 2 = 8
            (6, "buy", 2.0, 10.0, 0.0),  # trip 4 long, two exits: -20 + 12 + 13 = 5
            (7, "SELL", 1.0, 12.0, 0.0),
            (8, "SELL", 1.0, 13.0, 0.0),
            (9, "SELL", 0.5, 50.0, 0.1),  # trip 5 short, still open at the end
        ]
    )

    trips = round_trips(fills)
    roles = fill_roles(fills)

    assert [(t.direction, t.open_ts, t.close_ts) for t in trips] == [
        ("LONG", 1, 2),
        ("LONG", 3, 4),
        ("SHORT", 4, 5),
        ("LONG", 6, 8),
        ("SHORT", 9, None),
    ]
    assert [t.pnl for t in trips[:4]] == pytest.approx([8.0, -24.0, 8.0, 5.0])
    assert trips[4].pnl is None and [t.fills for t in trips] == [2, 2, 2, 3, 1]
    assert roles.tolist() == [
        "entry",
        "exit",
        "entry",
        "reverse",
        "exit",
        "entry",
        "exit",
        "exit",
        "entry",
    ]
    pnl = pnl_frame([(0, 1_000.0), (10, 1_000.0)], 1_000.0)
    stats = compute_statistics(pnl, fills)
    assert stats.round_trips == 4 and stats.win_rate == 0.75
    assert stats.traded_notional == pytest.approx(100 + 110 + 200 + 270 + 80 + 20 + 12 + 13 + 25)
    assert stats.turnover == pytest.approx(stats.traded_notional / 1_000)


def test_round_trips_are_per_account_and_instrument_and_flat_within_rounding() -> None:
    a = fills_frame([(1, "BUY", 0.1, 10.0, 0.0), (3, "BUY", 0.2, 10.0, 0.0)], instrument="A")
    b = fills_frame([(2, "SELL", 1.0, 5.0, 0.0), (5, "BUY", 1.0, 4.0, 0.0)], instrument="B")
    a_out = fills_frame([(4, "SELL", 0.3, 11.0, 0.0)], instrument="A")  # 0.1 + 0.2 - 0.3 != 0
    other = fills_frame([(6, "SELL", 1.0, 4.0, 0.0)], account="other", instrument="A")

    trips = round_trips(pd.concat([a, b, a_out, other], ignore_index=True))

    assert [(t.account, t.instrument, t.open_ts, t.close_ts) for t in trips] == [
        ("sim", "A", 1, 4),
        ("sim", "B", 2, 5),
        ("other", "A", 6, None),
    ]
    assert trips[0].pnl == pytest.approx(0.3) and trips[1].pnl == pytest.approx(1.0)


def test_exposure_is_the_share_of_the_span_with_a_position_open() -> None:
    fills = pd.concat(
        [
            fills_frame([(10, "BUY", 1.0, 1.0, 0.0), (30, "SELL", 1.0, 1.0, 0.0)], instrument="A"),
            fills_frame([(20, "BUY", 1.0, 1.0, 0.0), (40, "SELL", 1.0, 1.0, 0.0)], instrument="B"),
            fills_frame([(90, "SELL", 1.0, 1.0, 0.0)], instrument="C"),
        ],
        ignore_index=True,
    )
    pnl = pnl_frame([(0, 100.0), (50, 100.0), (100, 100.0)], 100.0)

    stats = compute_statistics(pnl, fills)

    assert exposure_intervals(round_trips(fills), end_ns=100) == [(10, 40), (90, 100)]
    assert stats.exposure_time == pytest.approx(0.4)


def test_the_tiny_run_statistics(tiny_run: Path) -> None:
    stats = run_statistics(RunOutputs(tiny_run), ticks=5_000, wall_seconds=2.0)

    assert stats.orders == 2 and stats.fills == 2 and stats.round_trips == 1
    assert stats.win_rate == 1.0 and stats.net_pnl == 2.0 and stats.fees == 2.0
    assert stats.realised_pnl == 4.0 and stats.unrealised_pnl == 0.0
    assert stats.exposure_time == pytest.approx((EXIT - ENTRY) / 119)
    assert stats.ticks_per_second == 2_500.0
    assert stats.return_frequency == "1min" and stats.periods == 120
    assert stats.start_ns == T0 and stats.to_dict()["start"] == "2024-01-01T00:00:00.000000000Z"


def test_undefined_statistics_are_none_and_the_summary_is_strict_json() -> None:
    flat = compute_statistics(pnl_frame([(T0, 100.0), (T0 + DAY, 100.0)], 100.0), NO_FILLS)
    empty = compute_statistics(pnl_frame([], 0.0), NO_FILLS)
    no_capital = compute_statistics(pnl_frame([(T0, 5.0), (T0 + MIN, 7.0)], 0.0), NO_FILLS)
    gains_only = compute_statistics(
        pnl_frame([(T0 + i * MIN, 100.0 + i) for i in range(5)], 100.0), NO_FILLS
    )

    assert flat.sharpe is None and flat.sortino is None and flat.max_drawdown == 0.0
    assert flat.total_return == 0.0 and flat.win_rate is None and flat.exposure_time == 0.0
    assert empty.start_ns is None and empty.sharpe is None and empty.exposure_time is None
    assert empty.periods == 0 and empty.net_pnl == 0.0
    assert no_capital.total_return is None and no_capital.sharpe is None
    assert no_capital.max_drawdown is None and no_capital.return_frequency is None
    assert no_capital.net_pnl == 7.0
    assert gains_only.sortino is None and gains_only.sharpe is not None
    for stats in (flat, empty, no_capital, gains_only):
        json.dumps(stats.to_dict(), allow_nan=False)


def test_equity_curve_keeps_the_last_row_of_a_time() -> None:
    pnl = pnl_frame([(5, 101.0), (1, 100.0), (5, 102.0)], 100.0)

    curve = equity_curve(pnl)

    assert curve.index.tolist() == [1, 5] and curve.tolist() == [100.0, 102.0]


def test_max_drawdown_counts_the_starting_capital_as_a_peak() -> None:
    assert max_drawdown([90.0, 95.0], initial=100.0) == pytest.approx(-0.1)
    assert max_drawdown([90.0, 95.0]) == 0.0
    assert max_drawdown([]) is None
