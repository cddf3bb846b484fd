"""Fixtures for the signal tests: price series of several shapes, a runner that streams
values through a node, and the comparisons used against TA-Lib (``checks``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from serenity.signal.bars import OHLC
from serenity.tau import HistoricNetworkScheduler, MutableSignal, Network, Signal
from serenity.tau.event import Lambda

Factory = Callable[[Network, Signal[Any]], Signal[Any]]
Stream = Callable[[Factory, Sequence[Any]], tuple[list[int], list[Any]]]

SERIES_LENGTH = 1200
KINDS = ["random_walk", "gaps", "flat_stretches", "tiny_prices", "large_prices"]


def make_series(kind: str, seed: int = 7, n: int = SERIES_LENGTH) -> np.ndarray:
    """Return a positive price series: a random walk, with jumps, with runs of one value,
    or at a very small or very large price level."""
    rng = np.random.default_rng(seed)
    scale = {"tiny_prices": 1e-6, "large_prices": 5e4}.get(kind, 100.0)
    x = 1.0 + 0.01 * np.cumsum(rng.normal(size=n))
    if kind == "gaps":
        for j in rng.integers(20, n - 20, size=6):
            x[j:] += 0.15 * rng.choice([-1.0, 1.0])
    if kind == "flat_stretches":
        for j, length in zip(rng.integers(10, n - 350, size=4), (40, 120, 200, 330), strict=True):
            x[j : j + length] = x[j]
    x = np.abs(x) + 0.05
    return scale * x


def make_bars(kind: str, seed: int = 7, n: int = SERIES_LENGTH) -> tuple[np.ndarray, ...]:
    """Return high, low, close and volume arrays around :func:`make_series`; bars in a flat
    stretch have high == low == close."""
    rng = np.random.default_rng(seed + 1)
    close = make_series(kind, seed, n)
    spread = 0.01 * np.abs(close)
    high = close + rng.random(n) * spread
    low = close - rng.random(n) * spread
    flat = np.r_[False, np.diff(close) == 0.0]
    high[flat] = low[flat] = close[flat]
    volume = np.round(rng.random(n) * 10.0, 3)
    return high, low, close, volume


def to_bars(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> list[OHLC]:
    """Return one OHLC per row (open = close), one second apart."""
    return [
        OHLC(open=c, high=h, low=lo, close=c, volume=v, vwap=c, trade_count=1, start=i, end=i + 1)
        for i, (h, lo, c, v) in enumerate(
            zip(high.tolist(), low.tolist(), close.tolist(), volume.tolist(), strict=True)
        )
    ]


@pytest.fixture(params=KINDS)
def prices(request: pytest.FixtureRequest) -> np.ndarray:
    """A price series of each shape in KINDS."""
    return make_series(request.param)


@pytest.fixture(params=KINDS)
def bar_arrays(request: pytest.FixtureRequest) -> tuple[np.ndarray, ...]:
    """High, low, close and volume of bars of each shape in KINDS."""
    return make_bars(request.param)


@pytest.fixture(scope="session")
def stream() -> Stream:
    """Return ``run(factory, values)``: replay ``values`` one per ns into a source, through
    ``factory(network, source)``, and return the indices and values the node emitted."""

    def run(factory: Factory, values: Sequence[Any]) -> tuple[list[int], list[Any]]:
        scheduler = HistoricNetworkScheduler(0, len(values) + 1)
        source: MutableSignal[Any] = MutableSignal()
        node = factory(scheduler.network, source)
        at: list[int] = []
        out: list[Any] = []

        def record(value: Any) -> None:
            at.append(scheduler.get_time())
            out.append(value)

        Lambda(scheduler.network, [node], record)
        scheduler.replay(source, list(enumerate(values)))
        scheduler.run()
        return at, out

    return run


def assert_close(
    actual: Any, expected: Any, *, scale: float, exact: bool = False, what: str = ""
) -> None:
    """Assert equal NaN positions and values within 1e-9 relative (or bit for bit).

    ``scale`` is the size of the inputs: an output that is a difference of such quantities
    (a MACD line crossing zero) may be off by 1e-12 of it where a relative error means
    nothing.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, what
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg=f"{what}: NaN positions")
    if exact:
        np.testing.assert_array_equal(a, e, err_msg=f"{what}: not bit for bit")
    else:
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-12 * scale, err_msg=what)


def placed(n: int, at: list[int], values: list[float]) -> np.ndarray:
    """Return an array of ``n`` NaN with ``values`` at indices ``at``."""
    out = np.full(n, np.nan)
    out[at] = values
    return out


def assert_emits_from(at: list[int], reference: np.ndarray) -> None:
    """Assert the node emitted exactly at the indices where ``reference`` is not NaN."""
    assert at == np.flatnonzero(~np.isnan(reference)).tolist()


class Checks:
    """The comparisons and data builders above, handed to tests by the ``checks`` fixture
    (test modules cannot import a conftest)."""

    make_series = staticmethod(make_series)
    make_bars = staticmethod(make_bars)
    to_bars = staticmethod(to_bars)
    assert_close = staticmethod(assert_close)
    placed = staticmethod(placed)
    assert_emits_from = staticmethod(assert_emits_from)


@pytest.fixture(scope="session")
def checks() -> type[Checks]:
    """The shared comparisons and data builders."""
    return Checks
