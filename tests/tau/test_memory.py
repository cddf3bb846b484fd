"""Replay is lazy: memory stays flat over millions of events."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from serenity.tau import HistoricNetworkScheduler, MutableSignal
from serenity.tau.event import Do
from serenity.tau.signal import Map

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def events(n: int) -> Iterator[tuple[int, float]]:
    for i in range(n):
        yield i, float(i % 1000)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc for RSS")
def test_replaying_five_million_events_keeps_memory_flat() -> None:
    n = 5_000_000
    sched = HistoricNetworkScheduler(0, n)
    src: MutableSignal[float] = MutableSignal()
    doubled = Map(sched.network, src, lambda x: x * 2.0)
    samples: list[int] = []
    count = [0]

    def sample() -> None:
        count[0] += 1
        if count[0] % 250_000 == 0:
            samples.append(rss_bytes())

    Do(sched.network, doubled, sample)
    baseline = rss_bytes()
    sched.replay(src, events(n))
    stats = sched.run()
    assert stats.events == n
    assert len(samples) == 20
    # 5M materialised (t, value) pairs would take several hundred MB; a lazy merge keeps the
    # resident set within a few MB of where it started.
    growth = max(samples) - baseline
    assert growth < 16 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB"
