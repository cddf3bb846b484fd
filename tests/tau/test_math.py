"""Streaming statistics against known values and pandas."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from serenity.errors import InvalidValueError
from serenity.tau import MutableSignal, Network, Signal
from serenity.tau.math import ExponentialMovingAverage, Max, Mean, Min, RunningSum, Stddev, Variance

DATA = [0, 3.2, 2.1, 2.9, 8.3, 5.7]


def feed(values: list[float], make: object) -> list[float]:
    net = Network()
    src: MutableSignal[float] = MutableSignal()
    node: Signal[float] = make(net, src)  # type: ignore[operator]
    out = []
    for v in values:
        src.set_value(v)
        net.activate(src)
        if net.has_activated(node):
            out.append(node.get_value())
    return out


def test_stddev_of_the_issue_example() -> None:
    assert feed(DATA, lambda n, s: Stddev(n, s))[-1] == pytest.approx(2.6552, abs=1e-4)
    assert feed(DATA, lambda n, s: Stddev(n, s, ddof=1))[-1] == pytest.approx(2.9087, abs=1e-4)


def test_variance_matches_pandas_at_every_step() -> None:
    rng = random.Random(3)
    xs = [rng.gauss(100, 5) for _ in range(500)]
    pop = feed(xs, lambda n, s: Variance(n, s))
    sample = feed(xs, lambda n, s: Variance(n, s, ddof=1))
    series = pd.Series(xs)
    assert pop == pytest.approx(series.expanding().var(ddof=0).tolist(), rel=1e-9)
    assert sample == pytest.approx(series.expanding().var(ddof=1).tolist()[1:], rel=1e-9)
    assert len(sample) == len(xs) - 1  # nothing until more than ddof values


def test_running_sum_mean_min_max() -> None:
    assert feed([1, 2, 3], lambda n, s: RunningSum(n, s)) == [1, 3, 6]
    assert feed([1, 2, 6], lambda n, s: Mean(n, s)) == [1, 1.5, 3]
    assert feed([3, 1, 2], lambda n, s: Min(n, s)) == [3, 1, 1]
    assert feed([3, 1, 4], lambda n, s: Max(n, s)) == [3, 3, 4]
    net = Network()
    src: MutableSignal[float] = MutableSignal()
    assert Min(net, src).get_value() == math.inf and Max(net, src).get_value() == -math.inf


def test_ema_uses_alpha_two_over_span_plus_one() -> None:
    rng = random.Random(5)
    xs = [rng.uniform(1, 2) for _ in range(200)]
    got = feed(xs, lambda n, s: ExponentialMovingAverage(n, s, span=10))
    want = pd.Series(xs).ewm(span=10, adjust=False).mean().tolist()
    assert got == pytest.approx(want, rel=1e-12)


def test_bad_parameters() -> None:
    net = Network()
    src: MutableSignal[float] = MutableSignal()
    with pytest.raises(InvalidValueError, match="ddof"):
        Variance(net, src, ddof=-1)
    with pytest.raises(InvalidValueError, match="span"):
        ExponentialMovingAverage(net, src, span=0)
