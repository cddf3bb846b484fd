"""OBV against TA-Lib and the session VWAP against pandas, streaming and vectorised."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib

from serenity import InvalidValueError
from serenity.signal import OHLC, vectorized
from serenity.signal.indicators import OBV, VWAP
from serenity.tau import MutableSignal, Network

NS_PER_MIN = 60 * 10**9


@dataclass(slots=True)
class Fill:
    """A trade as the bar builders see it."""

    ts: int
    price: float
    qty: float


def test_obv_equals_talib_bit_for_bit(bar_arrays: Any, stream: Any, checks: Any) -> None:
    high, low, close, volume = bar_arrays
    expected = talib.OBV(close, volume)
    at, out = stream(lambda net, src: OBV(net, src), checks.to_bars(*bar_arrays))
    assert at == list(range(close.size))
    checks.assert_close(out, expected, scale=volume.sum(), exact=True)
    checks.assert_close(vectorized.obv(close, volume), expected, scale=volume.sum(), exact=True)


def _minute_bars(n: int, seed: int) -> tuple[np.ndarray, list[OHLC]]:
    """Bars 17 minutes apart from 2024-03-09 (over a US daylight-saving change), some empty."""
    rng = np.random.default_rng(seed)
    t0 = int(pd.Timestamp("2024-03-09T00:00:00Z").value)
    ts = t0 + np.arange(n, dtype=np.int64) * 17 * NS_PER_MIN
    price = 100.0 + np.cumsum(rng.normal(size=n))
    volume = np.where(rng.random(n) < 0.2, 0.0, rng.random(n) * 5.0)
    bars = [
        OHLC(open=p, high=p, low=p, close=p, volume=v, vwap=p, trade_count=1, start=t, end=t + 1)
        for t, p, v in zip(ts.tolist(), price.tolist(), volume.tolist(), strict=True)
    ]
    return ts, bars


def _pandas_vwap(ts: np.ndarray, price: np.ndarray, volume: np.ndarray, key: Any) -> np.ndarray:
    frame = pd.DataFrame({"pv": price * volume, "v": volume, "key": key})
    grouped = frame.groupby("key", sort=False)
    cum_v = grouped["v"].cumsum()
    return (grouped["pv"].cumsum() / cum_v).where(cum_v > 0.0).to_numpy()


@pytest.mark.parametrize(
    ("session_start", "tz"),
    [("00:00", "UTC"), ("08:00", "UTC"), ("09:30", "America/New_York"), ("17:00", "Asia/Tokyo")],
)
def test_session_vwap_equals_pandas(session_start: str, tz: str, stream: Any, checks: Any) -> None:
    ts, bars = _minute_bars(600, seed=3)
    price = np.array([b.vwap for b in bars])
    volume = np.array([b.volume for b in bars])
    wall = pd.to_datetime(ts, utc=True).tz_convert(tz).tz_localize(None)
    key = (wall - pd.Timedelta(session_start + ":00")).normalize()
    expected = _pandas_vwap(ts, price, volume, key)
    at, out = stream(lambda net, src: VWAP(net, src, session_start=session_start, tz=tz), bars)
    checks.assert_emits_from(at, expected)
    checks.assert_close(checks.placed(ts.size, at, out), expected, scale=price.max())
    twin = vectorized.vwap(ts, price, volume, session_start=session_start, tz=tz)
    checks.assert_close(twin, expected, scale=price.max())
    checks.assert_close(checks.placed(ts.size, at, out), twin, scale=1.0, exact=True)


def test_vwap_of_trades_weighs_prices_by_quantity_and_resets_each_utc_day(stream: Any) -> None:
    day = 24 * 60 * NS_PER_MIN
    fills = [Fill(10, 100.0, 1.0), Fill(20, 110.0, 3.0), Fill(day, 90.0, 2.0)]
    _, out = stream(lambda net, src: VWAP(net, src), fills)
    assert out == [100.0, 107.5, 90.0]


def test_vwap_accepts_a_time_of_day_and_rejects_bad_sessions() -> None:
    VWAP(Network(), MutableSignal(), session_start=dt.time(9, 30), tz=dt.UTC)
    with pytest.raises(InvalidValueError, match="session_start must be 'HH:MM"):
        VWAP(Network(), MutableSignal(), session_start="9h30")
    with pytest.raises(InvalidValueError, match="unknown time zone 'Mars/Olympus'"):
        VWAP(Network(), MutableSignal(), tz="Mars/Olympus")
    with pytest.raises(InvalidValueError, match="whole seconds"):
        vectorized.vwap([0], [1.0], [1.0], session_start=dt.time(9, 30, 0, 5))
