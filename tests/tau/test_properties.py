"""Property tests over random DAGs and random replays."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.tau import HistoricNetworkScheduler, MutableSignal, Network, Signal
from serenity.tau.event import Do
from serenity.tau.signal import Function

MOD = 1_000_003


class Node(Function[int]):
    """value = (index + sum of parents * weights) mod MOD, counting its evaluations."""

    def __init__(self, network: Network, parents: list[Signal[int]], index: int) -> None:
        super().__init__(network, parents)
        self.index = index
        self.evaluations: list[int] = []

    def _call(self) -> bool:
        self.evaluations.append(self.network.cycle)
        if not all(p.is_valid() for p in self.parameters):  # type: ignore[attr-defined]
            return False
        total = self.index
        for w, p in enumerate(self.parameters, start=1):
            total += w * p._value  # type: ignore[attr-defined]
        self._update(total % MOD)
        return True


@st.composite
def dags(draw: Any) -> tuple[int, list[list[int]], list[tuple[int, int]]]:
    n_sources = draw(st.integers(1, 3))
    n_nodes = draw(st.integers(1, 12))
    parents: list[list[int]] = []
    for i in range(n_nodes):
        pool = n_sources + i
        k = draw(st.integers(1, min(3, pool)))
        parents.append(
            draw(st.lists(st.integers(0, pool - 1), min_size=k, max_size=k, unique=True))
        )
    updates = draw(
        st.lists(
            st.tuples(st.integers(0, n_sources - 1), st.integers(0, 1000)), min_size=1, max_size=30
        )
    )
    return n_sources, parents, updates


@settings(max_examples=150, deadline=None)
@given(dags())
def test_every_node_equals_recomputation_after_each_cycle(
    case: tuple[int, list[list[int]], list[tuple[int, int]]],
) -> None:
    n_sources, parents, updates = case
    net = Network()
    sources = [MutableSignal(0) for _ in range(n_sources)]
    everything: list[Signal[int]] = list(sources)
    nodes: list[Node] = []
    for i, ps in enumerate(parents):
        node = Node(net, [everything[p] for p in ps], i)
        nodes.append(node)
        everything.append(node)
    for s in sources:  # make every node valid
        net.activate(s)

    def recompute() -> list[int]:
        values = [s.get_value() for s in sources]
        for i, ps in enumerate(parents):
            total = i + sum(w * values[p] for w, p in enumerate(ps, start=1))
            values.append(total % MOD)
        return values

    for src_index, value in updates:
        sources[src_index].set_value(value)
        net.activate(sources[src_index])
        assert [n.get_value() for n in everything] == recompute()
        for node in nodes:  # at most once per cycle
            assert node.evaluations.count(net.cycle) <= 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 50), max_size=30), min_size=1, max_size=6))
def test_historic_merge_comes_out_time_sorted_and_stable(gaps: list[list[int]]) -> None:
    sched = HistoricNetworkScheduler(0, 10**9)
    out: list[tuple[int, int, int]] = []
    expected: list[tuple[int, int, int]] = []
    for k, steps in enumerate(gaps):
        sig: MutableSignal[tuple[int, int]] = MutableSignal()
        t, events = 0, []
        for j, step in enumerate(steps):
            t += step
            events.append((t, (k, j)))
            expected.append((t, k, j))
        Do(sched.network, sig, lambda s=sig: out.append((sched.get_time(), *s.get_value())))
        sched.replay(sig, events)
    sched.run()
    assert [t for t, _, _ in out] == sorted(t for t, _, _ in expected)
    assert sorted(out) == sorted(expected)
    for k in range(len(gaps)):  # each source's own order is kept
        mine = [j for _, kk, j in out if kk == k]
        assert mine == sorted(mine)
