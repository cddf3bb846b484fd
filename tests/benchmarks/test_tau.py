"""Throughput of the reactive core: replay into a Map chain, a diamond, 8 merged sources.

Run with ``python -m pytest tests/benchmarks/test_tau.py --benchmark-only``.
"""

from __future__ import annotations

from typing import Any

import pytest

from serenity.tau import HistoricNetworkScheduler, MutableSignal
from serenity.tau.signal import AnyActivated, Map, Merge

N = 1_000_000


def _events(n: int, sources: int = 1, k: int = 0) -> list[tuple[int, float]]:
    return [(i * sources + k, float(i)) for i in range(n)]


@pytest.fixture(scope="module")
def million() -> list[tuple[int, float]]:
    return _events(N)


@pytest.fixture(scope="module")
def eight_sources() -> list[list[tuple[int, float]]]:
    return [_events(N // 8, 8, k) for k in range(8)]


def _report(benchmark: Any, events: int) -> None:
    benchmark.extra_info["events_per_s"] = round(events / benchmark.stats["mean"])


def test_plain_loop_baseline(benchmark: Any, million: list[tuple[int, float]]) -> None:
    def run() -> float:
        last = 0.0
        for _, x in million:
            last = ((x + 1.0) * 2.0) - 3.0
        return last

    assert benchmark.pedantic(run, rounds=3, iterations=1) == (N - 1 + 1.0) * 2.0 - 3.0
    _report(benchmark, N)


def test_replay_into_three_map_chain(benchmark: Any, million: list[tuple[int, float]]) -> None:
    def run() -> float:
        sched = HistoricNetworkScheduler(0, 10**18)
        src: MutableSignal[float] = MutableSignal()
        a = Map(sched.network, src, lambda x: x + 1.0)
        b = Map(sched.network, a, lambda x: x * 2.0)
        c = Map(sched.network, b, lambda x: x - 3.0)
        sched.replay(src, million)
        assert sched.run().events == N
        return c.get_value()

    assert benchmark.pedantic(run, rounds=3, iterations=1) == (N - 1 + 1.0) * 2.0 - 3.0
    _report(benchmark, N)


def test_replay_into_diamond(benchmark: Any, million: list[tuple[int, float]]) -> None:
    def run() -> Any:
        sched = HistoricNetworkScheduler(0, 10**18)
        net = sched.network
        src: MutableSignal[float] = MutableSignal()
        left = Map(net, src, lambda x: x + 1.0)
        right = Map(net, src, lambda x: x * 2.0)
        both = AnyActivated(net, [left, right])
        total = Map(net, both, lambda pair: pair[0] + pair[1])
        sched.replay(src, million)
        sched.run()
        return total.get_value()

    assert benchmark.pedantic(run, rounds=3, iterations=1) == (N - 1 + 1.0) + (N - 1) * 2.0
    _report(benchmark, N)


def test_replay_eight_merged_sources(
    benchmark: Any, eight_sources: list[list[tuple[int, float]]]
) -> None:
    def run() -> int:
        sched = HistoricNetworkScheduler(0, 10**18)
        signals = [MutableSignal[float]() for _ in range(8)]
        merged = Merge(sched.network, signals)
        Map(sched.network, merged, lambda x: x * 2.0)
        for sig, events in zip(signals, eight_sources, strict=True):
            sched.replay(sig, events)
        return sched.run().events

    assert benchmark.pedantic(run, rounds=3, iterations=1) == N
    _report(benchmark, N)
