"""SMA, EMA, WMA, DEMA and TEMA: streaming nodes and NumPy twins against TA-Lib."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import talib

from serenity import InvalidValueError
from serenity.signal import vectorized
from serenity.signal.indicators import DEMA, EMA, SMA, TEMA, WMA
from serenity.tau import MutableSignal, Network

# (node, twin, TA-Lib function, bit for bit)
AVERAGES = [
    pytest.param(SMA, vectorized.sma, talib.SMA, True, id="SMA"),
    pytest.param(EMA, vectorized.ema, talib.EMA, False, id="EMA"),
    pytest.param(WMA, vectorized.wma, talib.WMA, True, id="WMA"),
    pytest.param(DEMA, vectorized.dema, talib.DEMA, False, id="DEMA"),
    pytest.param(TEMA, vectorized.tema, talib.TEMA, False, id="TEMA"),
]
WINDOWS = [1, 2, 5, 14, 30]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize(("node", "twin", "reference", "exact"), AVERAGES)
def test_streaming_average_equals_talib(
    node: Any,
    twin: Any,
    reference: Any,
    exact: bool,
    window: int,
    prices: Any,
    stream: Any,
    checks: Any,
) -> None:
    expected = reference(prices, window)
    at, out = stream(lambda net, src: node(net, src, window), prices.tolist())
    checks.assert_emits_from(at, expected)
    checks.assert_close(
        checks.placed(prices.size, at, out), expected, scale=prices.max(), exact=exact
    )


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize(("node", "twin", "reference", "exact"), AVERAGES)
def test_vectorized_average_equals_talib(
    node: Any, twin: Any, reference: Any, exact: bool, window: int, prices: Any, checks: Any
) -> None:
    checks.assert_close(
        twin(prices, window), reference(prices, window), scale=prices.max(), exact=node is SMA
    )


@pytest.mark.parametrize(("node", "twin", "reference", "exact"), AVERAGES)
def test_average_of_fewer_values_than_its_window_is_all_warm_up(
    node: Any, twin: Any, reference: Any, exact: bool, stream: Any
) -> None:
    x = np.array([1.0, 2.0, 3.0])
    at, _ = stream(lambda net, src: node(net, src, 4), x.tolist())
    assert at == []
    assert np.isnan(twin(x, 4)).all()
    assert np.isnan(reference(x, 4)).all()


@pytest.mark.parametrize("node", [SMA, EMA, WMA, DEMA, TEMA])
@pytest.mark.parametrize("window", [0, -3, 2.5, True, "5"])
def test_average_rejects_a_bad_window(node: Any, window: Any) -> None:
    with pytest.raises(InvalidValueError, match="window must be an int >= 1"):
        node(Network(), MutableSignal(), window)
