"""Property tests: for random inputs and windows, each streaming node emits exactly the
non-NaN tail of its NumPy twin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.signal import indicators as ind
from serenity.signal import vectorized as vec
from serenity.signal.bars import OHLC

PROPERTY = settings(max_examples=25, deadline=None)

values = st.lists(
    st.floats(min_value=0.01, max_value=1e4, allow_nan=False, allow_infinity=False),
    min_size=0,
    max_size=120,
)
# many repeats, so that flat windows and exact ties are common
repeats = st.lists(st.sampled_from([1.0, 1.5, 2.0, 2.5, 100.0]), min_size=0, max_size=120)
windows = st.integers(min_value=1, max_value=40)


def _compare(run: Any, node: Callable[..., Any], twin: np.ndarray, inputs: list[Any]) -> None:
    at, out = run(node, inputs)
    assert at == np.flatnonzero(~np.isnan(twin)).tolist()
    scale = max([abs(float(v)) for v in np.ravel(twin[~np.isnan(twin)])] + [1.0])
    np.testing.assert_allclose(np.array(out, dtype=float), twin[at], rtol=1e-9, atol=1e-12 * scale)


SIMPLE: list[Any] = [
    pytest.param(ind.SMA, vec.sma, 1, id="SMA"),
    pytest.param(ind.EMA, vec.ema, 1, id="EMA"),
    pytest.param(ind.WMA, vec.wma, 1, id="WMA"),
    pytest.param(ind.DEMA, vec.dema, 1, id="DEMA"),
    pytest.param(ind.TEMA, vec.tema, 1, id="TEMA"),
    pytest.param(ind.Stddev, vec.stddev, 2, id="Stddev"),
    pytest.param(ind.ZScore, vec.zscore, 2, id="ZScore"),
    pytest.param(ind.RSI, vec.rsi, 2, id="RSI"),
    pytest.param(ind.ROC, vec.roc, 1, id="ROC"),
    pytest.param(ind.Momentum, vec.momentum, 1, id="Momentum"),
    pytest.param(ind.LogReturn, vec.log_return, 1, id="LogReturn"),
]


@pytest.mark.parametrize(("node", "twin", "least"), SIMPLE)
@PROPERTY
@given(data=st.one_of(values, repeats), window=windows)
def test_streaming_equals_vectorized(
    node: Any, twin: Any, least: int, data: list[float], window: int, stream: Any
) -> None:
    window = max(window, least)
    _compare(stream, lambda net, src: node(net, src, window), twin(np.array(data), window), data)


@PROPERTY
@given(data=st.one_of(values, repeats), window=st.integers(2, 40), width=st.floats(0.5, 3.0))
def test_streaming_bollinger_equals_vectorized(
    data: list[float], window: int, width: float, stream: Any
) -> None:
    twin = vec.bbands(np.array(data), window, width)
    at, out = stream(lambda net, src: ind.BollingerBands(net, src, window, width), data)
    assert at == np.flatnonzero(~np.isnan(twin.middle)).tolist()
    for i, line in enumerate(("upper", "middle", "lower")):
        got = np.array([getattr(b, line) for b in out], dtype=float)
        np.testing.assert_allclose(got, twin[i][at], rtol=1e-9, atol=1e-12 * max(data + [1.0]))


@PROPERTY
@given(
    data=st.one_of(values, repeats),
    spans=st.tuples(st.integers(2, 15), st.integers(2, 30), st.integers(1, 10)),
)
def test_streaming_macd_equals_vectorized(
    data: list[float], spans: tuple[int, int, int], stream: Any
) -> None:
    fast, slow, signal = min(spans[:2]), max(spans[:2]), spans[2]
    twin = vec.macd(np.array(data), fast, slow, signal)
    at, out = stream(lambda net, src: ind.MACD(net, src, fast, slow, signal), data)
    assert at == np.flatnonzero(~np.isnan(twin.macd)).tolist()
    for i, line in enumerate(("macd", "signal", "hist")):
        got = np.array([getattr(m, line) for m in out], dtype=float)
        np.testing.assert_allclose(got, twin[i][at], rtol=1e-9, atol=1e-12 * max(data + [1.0]))


bar_rows = st.lists(
    st.tuples(
        st.floats(min_value=1.0, max_value=1e3),
        st.floats(min_value=0.0, max_value=5.0),
        st.floats(min_value=0.0, max_value=5.0),
        st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.5]),
    ),
    min_size=0,
    max_size=100,
)


def _bars(rows: list[tuple[float, float, float, float]]) -> tuple[list[OHLC], Any]:
    close = np.array([r[0] for r in rows])
    high = close + np.array([r[1] for r in rows])
    low = close - np.array([r[2] for r in rows])
    volume = np.array([r[3] for r in rows])
    bars = [
        OHLC(open=c, high=h, low=lo, close=c, volume=v, vwap=c, trade_count=1, start=i, end=i)
        for i, (h, lo, c, v) in enumerate(zip(high, low, close, volume, strict=True))
    ]
    return bars, (high, low, close, volume)


@PROPERTY
@given(rows=bar_rows, period=st.integers(1, 30))
def test_streaming_bar_indicators_equal_vectorized(
    rows: list[tuple[float, float, float, float]], period: int, stream: Any
) -> None:
    bars, (high, low, close, volume) = _bars(rows)
    _compare(
        stream, lambda net, src: ind.ATR(net, src, period), vec.atr(high, low, close, period), bars
    )
    _compare(
        stream,
        lambda net, src: ind.NATR(net, src, period),
        vec.natr(high, low, close, period),
        bars,
    )
    _compare(stream, lambda net, src: ind.OBV(net, src), vec.obv(close, volume), bars)
    channel = vec.donchian(high, low, period)
    at, out = stream(lambda net, src: ind.Donchian(net, src, period), bars)
    assert [b.upper for b in out] == channel.upper[at].tolist()
    assert [b.lower for b in out] == channel.lower[at].tolist()
    ts = np.arange(len(rows), dtype=np.int64) * 3_600_000_000_000
    vwap = vec.vwap(ts, close, volume)
    at, out = stream(
        lambda net, src: ind.VWAP(net, src),
        [
            OHLC(
                open=b.open,
                high=b.high,
                low=b.low,
                close=b.close,
                volume=b.volume,
                vwap=b.vwap,
                trade_count=1,
                start=int(t),
                end=int(t),
            )
            for b, t in zip(bars, ts, strict=True)
        ],
    )
    assert at == np.flatnonzero(~np.isnan(vwap)).tolist()
    assert out == vwap[at].tolist()


@PROPERTY
@given(rows=bar_rows, periods=st.tuples(st.integers(1, 10), st.integers(1, 5), st.integers(1, 5)))
def test_streaming_stochastic_equals_vectorized(
    rows: list[tuple[float, float, float, float]], periods: tuple[int, int, int], stream: Any
) -> None:
    bars, (high, low, close, _) = _bars(rows)
    twin = vec.stochastic(high, low, close, *periods)
    at, out = stream(lambda net, src: ind.Stochastic(net, src, *periods), bars)
    assert at == np.flatnonzero(~np.isnan(twin.k)).tolist()
    assert [s.k for s in out] == twin.k[at].tolist()
    assert [s.d for s in out] == twin.d[at].tolist()


@settings(max_examples=40, deadline=None)
@given(
    u=st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=300),
    a=st.floats(0.0, 0.999),
    y0=st.floats(-1e3, 1e3),
)
def test_block_recurrence_equals_the_plain_loop(u: list[float], a: float, y0: float) -> None:
    from serenity.signal._kernels import _recurrence_loop, recurrence

    x = np.array(u, dtype=float)
    np.testing.assert_allclose(
        recurrence(x, a, y0), _recurrence_loop(x, a, y0), rtol=1e-9, atol=1e-9
    )


def test_block_recurrence_keeps_nan_where_the_loop_puts_it() -> None:
    from serenity.signal._kernels import recurrence

    x = np.ones(200)
    x[150] = np.nan
    y = recurrence(x, 0.5, 0.0)
    assert np.isfinite(y[:150]).all() and np.isnan(y[150:]).all()
