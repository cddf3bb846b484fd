"""Stddev, ATR and NATR against TA-Lib and ZScore against pandas, streaming and vectorised."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib

from serenity import InvalidValueError
from serenity.signal import vectorized
from serenity.signal.indicators import ATR, NATR, Stddev, ZScore
from serenity.tau import MutableSignal, Network


@pytest.mark.parametrize(("window", "num_std"), [(2, 1.0), (5, 1.0), (14, 2.0), (30, 0.5)])
def test_stddev_equals_talib(
    window: int, num_std: float, prices: Any, stream: Any, checks: Any
) -> None:
    expected = talib.STDDEV(prices, window, num_std)
    at, out = stream(lambda net, src: Stddev(net, src, window, num_std), prices.tolist())
    checks.assert_emits_from(at, expected)
    got = checks.placed(prices.size, at, out)
    checks.assert_close(got, expected, scale=prices.max(), exact=True)
    checks.assert_close(vectorized.stddev(prices, window, num_std), expected, scale=prices.max())


@pytest.mark.parametrize("period", [1, 2, 5, 14, 30])
@pytest.mark.parametrize(
    ("node", "twin", "reference"),
    [
        pytest.param(ATR, vectorized.atr, talib.ATR, id="ATR"),
        pytest.param(NATR, vectorized.natr, talib.NATR, id="NATR"),
    ],
)
def test_average_true_range_equals_talib(
    node: Any, twin: Any, reference: Any, period: int, bar_arrays: Any, stream: Any, checks: Any
) -> None:
    high, low, close, _ = bar_arrays
    expected = reference(high, low, close, period)
    at, out = stream(lambda net, src: node(net, src, period), checks.to_bars(*bar_arrays))
    checks.assert_emits_from(at, expected)
    checks.assert_close(checks.placed(close.size, at, out), expected, scale=high.max())
    checks.assert_close(twin(high, low, close, period), expected, scale=high.max())


def _pandas_zscore(x: np.ndarray, window: int) -> np.ndarray:
    s = pd.Series(x)
    std = s.rolling(window).std(ddof=0)
    z = (s - s.rolling(window).mean()) / std
    return z.where(std != 0.0, 0.0).where(std.notna()).to_numpy()


@pytest.mark.parametrize("window", [2, 5, 20, 50])
def test_zscore_equals_pandas(window: int, prices: Any, stream: Any, checks: Any) -> None:
    expected = _pandas_zscore(prices, window)
    at, out = stream(lambda net, src: ZScore(net, src, window), prices.tolist())
    checks.assert_emits_from(at, expected)
    checks.assert_close(checks.placed(prices.size, at, out), expected, scale=1e-3)
    checks.assert_close(vectorized.zscore(prices, window), expected, scale=1e-3)


def test_zscore_of_a_flat_window_is_zero(stream: Any) -> None:
    at, out = stream(lambda net, src: ZScore(net, src, 3), [0.1, 0.1, 0.1, 0.1, 0.4])
    assert at == [2, 3, 4]
    assert out[:2] == [0.0, 0.0]
    assert out[2] == pytest.approx(2**0.5)
    assert vectorized.zscore(np.array([0.1, 0.1, 0.1, 0.1]), 3)[2:].tolist() == [0.0, 0.0]


def test_natr_of_a_zero_close_is_zero(stream: Any, checks: Any) -> None:
    high, low, close = (
        np.array([2.0, 2.0, 1.0]),
        np.array([1.0, 1.0, 0.0]),
        np.array([1.5, 1.5, 0.0]),
    )
    bars = checks.to_bars(high, low, close, np.ones(3))
    _, out = stream(lambda net, src: NATR(net, src, 2), bars)
    assert out == [0.0] == talib.NATR(high, low, close, 2)[2:].tolist()
    assert vectorized.natr(high, low, close, 2)[2] == 0.0


@pytest.mark.parametrize("node", [Stddev, ZScore])
def test_window_statistics_reject_a_window_below_two(node: Any) -> None:
    with pytest.raises(InvalidValueError, match="window must be an int >= 2, was 1"):
        node(Network(), MutableSignal(), 1)


def test_atr_rejects_a_bad_period() -> None:
    with pytest.raises(InvalidValueError, match="period must be an int >= 1, was 0"):
        ATR(Network(), MutableSignal(), 0)
    with pytest.raises(InvalidValueError, match="high, low and close must have equal lengths"):
        vectorized.atr(np.ones(3), np.ones(2), np.ones(3), 2)
