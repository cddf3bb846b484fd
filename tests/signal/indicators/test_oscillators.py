"""RSI, MACD, the stochastic, ROC, momentum and log return against TA-Lib, streaming and
vectorised."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import talib

from serenity import DataError, InvalidValueError, NodeError
from serenity.signal import vectorized
from serenity.signal.indicators import MACD, ROC, RSI, LogReturn, Momentum, Stochastic
from serenity.tau import MutableSignal, Network


@pytest.mark.parametrize("period", [2, 5, 14, 30])
def test_rsi_equals_talib_bit_for_bit(period: int, prices: Any, stream: Any, checks: Any) -> None:
    expected = talib.RSI(prices, period)
    at, out = stream(lambda net, src: RSI(net, src, period), prices.tolist())
    checks.assert_emits_from(at, expected)
    checks.assert_close(checks.placed(prices.size, at, out), expected, scale=100.0, exact=True)
    checks.assert_close(vectorized.rsi(prices, period), expected, scale=100.0)


def test_rsi_of_a_flat_series_is_zero_as_in_talib(stream: Any) -> None:
    x = np.full(20, 3.0)
    _, out = stream(lambda net, src: RSI(net, src, 14), x.tolist())
    assert out == [0.0] * 6 == talib.RSI(x, 14)[14:].tolist() == vectorized.rsi(x, 14)[14:].tolist()


@pytest.mark.parametrize("spans", [(12, 26, 9), (5, 5, 1), (3, 10, 4), (2, 2, 2), (8, 21, 5)])
def test_macd_equals_talib(
    spans: tuple[int, int, int], prices: Any, stream: Any, checks: Any
) -> None:
    expected = talib.MACD(prices, *spans)
    at, out = stream(lambda net, src: MACD(net, src, *spans), prices.tolist())
    checks.assert_emits_from(at, expected[0])
    twin = vectorized.macd(prices, *spans)
    for i, line in enumerate(("macd", "signal", "hist")):
        got = checks.placed(prices.size, at, [getattr(m, line) for m in out])
        checks.assert_close(got, expected[i], scale=prices.max(), what=line)
        checks.assert_close(twin[i], expected[i], scale=prices.max(), what=line)


def test_macd_refuses_a_fast_span_above_the_slow_one() -> None:
    with pytest.raises(InvalidValueError, match="fast must be <= slow, was fast=26 slow=12"):
        MACD(Network(), MutableSignal(), 26, 12)
    with pytest.raises(InvalidValueError, match="fast must be an int >= 2, was 1"):
        vectorized.macd(np.ones(40), 1, 12)


@pytest.mark.parametrize("periods", [(5, 3, 3), (14, 3, 5), (1, 1, 1), (3, 1, 4), (9, 6, 2)])
def test_stochastic_equals_talib_bit_for_bit(
    periods: tuple[int, int, int], bar_arrays: Any, stream: Any, checks: Any
) -> None:
    high, low, close, _ = bar_arrays
    expected = talib.STOCH(high, low, close, periods[0], periods[1], 0, periods[2], 0)
    at, out = stream(lambda net, src: Stochastic(net, src, *periods), checks.to_bars(*bar_arrays))
    checks.assert_emits_from(at, expected[0])
    twin = vectorized.stochastic(high, low, close, *periods)
    for i, line in enumerate(("k", "d")):
        got = checks.placed(close.size, at, [getattr(s, line) for s in out])
        checks.assert_close(got, expected[i], scale=100.0, exact=True, what=line)
        checks.assert_close(twin[i], expected[i], scale=100.0, exact=True, what=line)


@pytest.mark.parametrize("period", [1, 2, 10, 30])
@pytest.mark.parametrize(
    ("node", "twin", "reference"),
    [
        pytest.param(ROC, vectorized.roc, talib.ROC, id="ROC"),
        pytest.param(Momentum, vectorized.momentum, talib.MOM, id="Momentum"),
    ],
)
def test_change_equals_talib_bit_for_bit(
    node: Any, twin: Any, reference: Any, period: int, prices: Any, stream: Any, checks: Any
) -> None:
    expected = reference(prices, period)
    at, out = stream(lambda net, src: node(net, src, period), prices.tolist())
    checks.assert_emits_from(at, expected)
    got = checks.placed(prices.size, at, out)
    checks.assert_close(got, expected, scale=prices.max(), exact=True)
    checks.assert_close(twin(prices, period), expected, scale=prices.max(), exact=True)


@pytest.mark.parametrize("period", [1, 2, 10])
def test_log_return_equals_talib_ln_of_rocr(
    period: int, prices: Any, stream: Any, checks: Any
) -> None:
    expected = talib.LN(talib.ROCR(prices, period))
    at, out = stream(lambda net, src: LogReturn(net, src, period), prices.tolist())
    checks.assert_emits_from(at, expected)
    checks.assert_close(checks.placed(prices.size, at, out), expected, scale=1e-3)
    checks.assert_close(vectorized.log_return(prices, period), expected, scale=1e-3)


def test_roc_from_zero_is_zero_as_in_talib(stream: Any) -> None:
    x = np.array([0.0, 1.0, 2.0])
    _, out = stream(lambda net, src: ROC(net, src, 1), x.tolist())
    assert out == [0.0, 100.0] == talib.ROC(x, 1)[1:].tolist() == vectorized.roc(x, 1)[1:].tolist()


def test_log_return_stops_on_a_price_that_is_not_positive(stream: Any) -> None:
    with pytest.raises(NodeError, match="log return needs positive values, was 0.0") as info:
        stream(lambda net, src: LogReturn(net, src), [1.0, 2.0, 0.0])
    assert isinstance(info.value.__cause__, DataError)
    with pytest.raises(DataError, match=r"log return needs positive values, was x\[1\]=-1.0"):
        vectorized.log_return([1.0, -1.0, 2.0])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RSI(Network(), MutableSignal(), 1), "period must be an int >= 2, was 1"),
        (lambda: ROC(Network(), MutableSignal(), 0), "period must be an int >= 1, was 0"),
        (lambda: Stochastic(Network(), MutableSignal(), 0), "fastk_period must be an int >= 1"),
        (lambda: vectorized.rsi(np.ones((2, 3)), 14), "x must be 1-D, was 2-D"),
        (lambda: vectorized.momentum(["a"], 1), "x must be a 1-D array of numbers"),
    ],
)
def test_oscillators_reject_bad_arguments(build: Any, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        build()
