"""collect(): signals' values as a DataFrame indexed by UTC time, one row per cycle."""

from __future__ import annotations

import datetime as dt
import doctest
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import serenity.signal.frame
from serenity.errors import InvalidValueError
from serenity.signal import OHLC, BollingerBands, TimeBars, collect
from serenity.tau import HistoricNetworkScheduler, MutableSignal
from serenity.tau.signal import Map

START = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
T0 = int(START.timestamp()) * 10**9
MINUTE = 60 * 10**9


@dataclass(frozen=True, slots=True)
class Tick:
    ts: int
    price: float
    qty: float


def _ticks(n: int = 600, seed: int = 3) -> list[Tick]:
    rng = np.random.default_rng(seed)
    prices = 100 + np.cumsum(rng.normal(0, 0.2, n))
    return [Tick(T0 + i * 7_000_000_001, float(p), 1.0) for i, p in enumerate(prices)]


def _bars_and_bands(ticks: list[Tick], **options: bool) -> pd.DataFrame:
    scheduler = HistoricNetworkScheduler(START, START + dt.timedelta(hours=2))
    trades: MutableSignal[Tick] = MutableSignal()
    bars = TimeBars(scheduler, trades, dt.timedelta(minutes=1))
    closes = Map(scheduler.network, bars, lambda bar: bar.close)
    bands = BollingerBands(scheduler.network, closes, 5, 2.0)
    rows = collect(scheduler, bars=bars, bands=bands, **options)
    scheduler.replay(trades, [(t.ts, t) for t in ticks])
    scheduler.run()
    return rows.to_frame()


def test_bars_with_bands_are_one_row_per_bar_indexed_by_utc_time() -> None:
    ticks = _ticks()
    frame = _bars_and_bands(ticks)

    closes = pd.Series([t.price for t in ticks], index=[t.ts for t in ticks])
    minute = (closes.index - T0) // MINUTE
    expected_close = closes.groupby(minute).last().to_numpy()
    assert list(frame.columns) == [
        *(f.name for f in OHLC.__dataclass_fields__.values()),
        "upper",
        "middle",
        "lower",
    ]
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"
    assert (frame.index == frame["end"]).all()  # a bar is known when it closes
    assert frame["start"].dtype == "datetime64[ns, UTC]"
    np.testing.assert_allclose(frame["close"].to_numpy(), expected_close)
    assert frame["middle"].iloc[:4].isna().all()
    sma = pd.Series(expected_close).rolling(5).mean().to_numpy()
    np.testing.assert_allclose(frame["middle"].to_numpy()[4:], sma[4:], rtol=1e-12)


def test_columns_from_two_signals_may_not_clash_unless_prefixed() -> None:
    scheduler = HistoricNetworkScheduler(START, START + dt.timedelta(minutes=10))
    trades: MutableSignal[Tick] = MutableSignal()
    one = TimeBars(scheduler, trades, dt.timedelta(minutes=1))
    two = TimeBars(scheduler, trades, dt.timedelta(minutes=2))
    clashing = collect(scheduler, one=one, two=two)
    prefixed = collect(scheduler, one=one, two=two, prefix=True)
    scheduler.replay(trades, [(t.ts, t) for t in _ticks(60)])

    scheduler.run()

    with pytest.raises(InvalidValueError, match="'open' comes from signals 'one' and 'two'"):
        clashing.to_frame()
    frame = prefixed.to_frame()
    assert {"one.open", "two.open", "one.end", "two.end"} <= set(frame.columns)
    two_ends = frame["two.end"].dropna()
    assert len(two_ends) >= 3 and all(t.minute % 2 == 0 for t in two_ends)
    assert frame["one.open"].notna().sum() > len(two_ends)


def test_nanoseconds_survive_in_time_fields_and_the_index() -> None:
    scheduler = HistoricNetworkScheduler(START, START + dt.timedelta(minutes=1))
    trades: MutableSignal[Tick] = MutableSignal(name="trade")
    never: MutableSignal[float] = MutableSignal(name="never")
    rows = collect(scheduler, trades, never)
    stamps = [T0 + 123_456_789, T0 + 123_456_790]
    scheduler.replay(trades, [(t, Tick(t, 1.0, 2.0)) for t in stamps])
    scheduler.run()

    frame = rows.to_frame()

    assert [ts.value for ts in frame["ts"]] == stamps == [t.value for t in frame.index]
    assert list(frame.columns) == ["ts", "price", "qty", "never"]
    assert frame["never"].isna().all()


def test_collect_refuses_nothing_and_duplicate_keys() -> None:
    scheduler = HistoricNetworkScheduler(START, START + dt.timedelta(minutes=1))
    a, b = MutableSignal[float](name="x"), MutableSignal[float](name="x")

    with pytest.raises(InvalidValueError, match="at least one signal"):
        collect(scheduler)
    with pytest.raises(InvalidValueError, match="keyed 'x'"):
        collect(scheduler, a, b)


def test_the_docstring_example_runs() -> None:
    result = doctest.testmod(serenity.signal.frame)
    assert result.attempted > 0 and result.failed == 0
