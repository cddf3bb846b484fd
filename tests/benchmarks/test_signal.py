"""Throughput of the signal nodes: each indicator fed 1M values by a historic replay, and
1M trades through one-minute bars into Bollinger bands.

Run with ``python -m pytest tests/benchmarks/test_signal.py --benchmark-only``; each
benchmark records its rate in ``extra_info``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from serenity.signal import indicators as ind
from serenity.signal import vectorized as vec
from serenity.signal.bars import OHLC, TimeBars
from serenity.tau import HistoricNetworkScheduler, MutableSignal, Network, Signal
from serenity.tau.signal import Map

N = 1_000_000
NS_PER_MS = 1_000_000


@dataclass(slots=True)
class Fill:
    """A trade as the bar builders see it."""

    ts: int
    price: float
    qty: float


@pytest.fixture(scope="session")
def closes() -> list[tuple[int, float]]:
    """1M (t_ns, price) pairs of a random walk, one per ns."""
    rng = np.random.default_rng(1)
    prices = 100.0 + np.cumsum(rng.normal(0.0, 0.1, N))
    return list(zip(range(N), np.abs(prices).tolist(), strict=True))


@pytest.fixture(scope="session")
def bars(closes: list[tuple[int, float]]) -> list[tuple[int, OHLC]]:
    """1M (t_ns, OHLC) pairs around the same random walk."""
    rng = np.random.default_rng(2)
    up, down, volume = rng.random(N), rng.random(N), rng.random(N) * 10.0
    return [
        (
            t,
            OHLC(
                open=c,
                high=c + u,
                low=c - d,
                close=c,
                volume=v,
                vwap=c,
                trade_count=1,
                start=t,
                end=t,
            ),
        )
        for (t, c), u, d, v in zip(closes, up.tolist(), down.tolist(), volume.tolist(), strict=True)
    ]


@pytest.fixture(scope="session")
def trades() -> list[tuple[int, Fill]]:
    """1M (t_ns, trade) pairs 60 ms apart (about 16.7 hours: 1000 one-minute bars)."""
    rng = np.random.default_rng(3)
    prices = (40_000.0 + np.cumsum(rng.normal(0.0, 1.0, N))).tolist()
    qty = (rng.random(N) * 0.5).tolist()
    return [
        (i * 60 * NS_PER_MS, Fill(i * 60 * NS_PER_MS, p, q))
        for i, (p, q) in enumerate(zip(prices, qty, strict=True))
    ]


Build = Callable[[Network, Signal[Any]], Any]

ON_VALUES: list[Any] = [
    pytest.param(lambda net, src: src, id="replay-only"),
    pytest.param(lambda net, src: ind.SMA(net, src, 20), id="SMA"),
    pytest.param(lambda net, src: ind.EMA(net, src, 20), id="EMA"),
    pytest.param(lambda net, src: ind.WMA(net, src, 20), id="WMA"),
    pytest.param(lambda net, src: ind.DEMA(net, src, 20), id="DEMA"),
    pytest.param(lambda net, src: ind.TEMA(net, src, 20), id="TEMA"),
    pytest.param(lambda net, src: ind.Stddev(net, src, 20), id="Stddev"),
    pytest.param(lambda net, src: ind.BollingerBands(net, src, 20, 2.0), id="BollingerBands"),
    pytest.param(lambda net, src: ind.RSI(net, src, 14), id="RSI"),
    pytest.param(lambda net, src: ind.MACD(net, src, 12, 26, 9), id="MACD"),
    pytest.param(lambda net, src: ind.ROC(net, src, 10), id="ROC"),
    pytest.param(lambda net, src: ind.Momentum(net, src, 10), id="Momentum"),
    pytest.param(lambda net, src: ind.ZScore(net, src, 20), id="ZScore"),
    pytest.param(lambda net, src: ind.LogReturn(net, src, 1), id="LogReturn"),
    pytest.param(lambda net, src: ind.Donchian(net, src, 20), id="Donchian"),
]

ON_BARS: list[Any] = [
    pytest.param(lambda net, src: ind.ATR(net, src, 14), id="ATR"),
    pytest.param(lambda net, src: ind.NATR(net, src, 14), id="NATR"),
    pytest.param(lambda net, src: ind.Stochastic(net, src, 5, 3, 3), id="Stochastic"),
    pytest.param(lambda net, src: ind.OBV(net, src), id="OBV"),
    pytest.param(lambda net, src: ind.VWAP(net, src), id="VWAP"),
]


def _replay_rate(benchmark: Any, build: Build, source: list[tuple[int, Any]]) -> None:
    def setup() -> tuple[tuple[HistoricNetworkScheduler], dict[str, Any]]:
        scheduler = HistoricNetworkScheduler(0, N)
        src: MutableSignal[Any] = MutableSignal()
        build(scheduler.network, src)
        scheduler.replay(src, source)
        return (scheduler,), {}

    stats = benchmark.pedantic(lambda s: s.run(), setup=setup, rounds=3, iterations=1)
    assert stats.events == N
    benchmark.extra_info["updates_per_s"] = round(N / benchmark.stats["mean"])


@pytest.mark.parametrize("build", ON_VALUES)
def test_indicator_updates_per_second(benchmark: Any, build: Build, closes: Any) -> None:
    _replay_rate(benchmark, build, closes)


@pytest.mark.parametrize("build", ON_BARS)
def test_bar_indicator_updates_per_second(benchmark: Any, build: Build, bars: Any) -> None:
    _replay_rate(benchmark, build, bars)


def test_trades_to_minute_bars_to_bollinger_bands(benchmark: Any, trades: Any) -> None:
    outputs: list[int] = []

    def setup() -> tuple[tuple[HistoricNetworkScheduler], dict[str, Any]]:
        scheduler = HistoricNetworkScheduler(0, trades[-1][0] + 60_000 * NS_PER_MS)
        net = scheduler.network
        src: MutableSignal[Fill] = MutableSignal()
        bars = TimeBars(scheduler, src, 60_000 * NS_PER_MS)
        bands = ind.BollingerBands(net, Map(net, bars, lambda b: b.close), 20, 2.0)
        outputs.clear()
        Map(net, bands, lambda b: outputs.append(1))
        scheduler.replay(src, trades)
        return (scheduler,), {}

    benchmark.pedantic(lambda s: s.run(), setup=setup, rounds=3, iterations=1)
    assert len(outputs) == 1000 - 19
    benchmark.extra_info["trades_per_s"] = round(N / benchmark.stats["mean"])


@pytest.mark.parametrize(
    "twin",
    [
        pytest.param(lambda x: vec.sma(x, 20), id="sma"),
        pytest.param(lambda x: vec.ema(x, 20), id="ema"),
        pytest.param(lambda x: vec.bbands(x, 20, 2.0), id="bbands"),
        pytest.param(lambda x: vec.rsi(x, 14), id="rsi"),
        pytest.param(lambda x: vec.macd(x), id="macd"),
    ],
)
def test_vectorized_values_per_second(benchmark: Any, twin: Any, closes: Any) -> None:
    x = np.array([c for _, c in closes])
    benchmark.pedantic(twin, args=(x,), rounds=3, iterations=1)
    benchmark.extra_info["values_per_s"] = round(N / benchmark.stats["mean"])
