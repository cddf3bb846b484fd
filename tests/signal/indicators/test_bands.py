"""Bollinger bands against TA-Lib and Donchian channels against pandas, streaming and
vectorised."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib

from serenity import InvalidValueError
from serenity.signal import vectorized
from serenity.signal.indicators import Bands, BollingerBands, ComputeBollingerBands, Donchian
from serenity.tau import MutableSignal, Network


@pytest.mark.parametrize(("window", "num_std"), [(2, 2.0), (5, 1.0), (20, 2.0), (30, 2.5)])
def test_streaming_bollinger_bands_equal_talib_bit_for_bit(
    window: int, num_std: float, prices: Any, stream: Any, checks: Any
) -> None:
    upper, middle, lower = talib.BBANDS(prices, window, num_std, num_std, 0)
    at, out = stream(lambda net, src: BollingerBands(net, src, window, num_std), prices.tolist())
    checks.assert_emits_from(at, middle)
    for line, expected in (("upper", upper), ("middle", middle), ("lower", lower)):
        got = checks.placed(prices.size, at, [getattr(b, line) for b in out])
        checks.assert_close(got, expected, scale=prices.max(), exact=True, what=line)


@pytest.mark.parametrize(("window", "num_std"), [(2, 2.0), (5, 1.0), (20, 2.0), (30, 2.5)])
def test_vectorized_bbands_equal_talib(
    window: int, num_std: float, prices: Any, checks: Any
) -> None:
    expected = talib.BBANDS(prices, window, num_std, num_std, 0)
    got = vectorized.bbands(prices, window, num_std)
    for line, e in zip(got, expected, strict=True):
        checks.assert_close(line, e, scale=prices.max())
    checks.assert_close(got.middle, expected[1], scale=prices.max(), exact=True)


def test_compute_bollinger_bands_keeps_upstream_signature_and_sma(stream: Any, checks: Any) -> None:
    x = checks.make_series("random_walk")[:100]
    at, out = stream(lambda net, src: ComputeBollingerBands(net, src, 20, 2), x.tolist())
    _, middle, _ = talib.BBANDS(x, 20, 2.0, 2.0, 0)
    assert at[0] == 19
    assert [b.sma for b in out] == middle[19:].tolist()


@pytest.mark.parametrize("window", [1, 3, 20])
def test_donchian_over_bars_equals_pandas(
    window: int, bar_arrays: Any, stream: Any, checks: Any
) -> None:
    high, low, close, volume = bar_arrays
    upper = pd.Series(high).rolling(window).max().to_numpy()
    lower = pd.Series(low).rolling(window).min().to_numpy()
    middle = (upper + lower) / 2.0
    at, out = stream(lambda net, src: Donchian(net, src, window), checks.to_bars(*bar_arrays))
    checks.assert_emits_from(at, upper)
    twin = vectorized.donchian(high, low, window)
    for line, expected in (("upper", upper), ("middle", middle), ("lower", lower)):
        got = checks.placed(close.size, at, [getattr(b, line) for b in out])
        checks.assert_close(got, expected, scale=high.max(), exact=True, what=line)
        checks.assert_close(getattr(twin, line), expected, scale=high.max(), exact=True)


def test_donchian_over_floats_is_the_channel_of_the_values(stream: Any) -> None:
    at, out = stream(lambda net, src: Donchian(net, src, 3), [5.0, 1.0, 4.0, 2.0, 8.0])
    assert at == [2, 3, 4]
    assert out == [
        Bands(upper=5.0, middle=3.0, lower=1.0),
        Bands(upper=4.0, middle=2.5, lower=1.0),
        Bands(upper=8.0, middle=5.0, lower=2.0),
    ]


@pytest.mark.parametrize("window", [0, 1, 2.0])
def test_bollinger_bands_reject_a_window_below_two(window: Any) -> None:
    with pytest.raises(InvalidValueError, match=f"window must be an int >= 2, was {window!r}"):
        BollingerBands(Network(), MutableSignal(), window)


def test_bollinger_bands_reject_a_non_finite_width() -> None:
    with pytest.raises(InvalidValueError, match="num_std must be a finite number, was nan"):
        BollingerBands(Network(), MutableSignal(), 20, float("nan"))
    with pytest.raises(InvalidValueError, match="num_std"):
        vectorized.bbands(np.ones(30), 20, float("inf"))
