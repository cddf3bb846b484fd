"""Network propagation: rank order, glitch freedom, has_activated, deferred edits, errors."""

from __future__ import annotations

import pytest

from serenity.errors import InvalidValueError, NodeError
from serenity.tau import Event, MutableSignal, Network, Signal
from serenity.tau.signal import Filter, Function, Map


class Recorder(Event):
    def __init__(self, log: list[str], label: str, result: bool = True) -> None:
        super().__init__(name=label)
        self.log = log
        self.result = result

    def on_activate(self) -> bool:
        self.log.append(self.name or "")
        return self.result


class Sum(Function[float]):
    """d = b + c, recording every evaluation."""

    def __init__(
        self, network: Network, parents: list[Signal[float]], seen: list[tuple[float, ...]]
    ):
        super().__init__(network, parents)
        self.seen = seen

    def _call(self) -> bool:
        values = tuple(p.get_value() for p in self.parameters)  # type: ignore[attr-defined]
        self.seen.append(values)
        self._update(sum(values))
        return True


def test_diamond_sees_both_parents_from_the_same_cycle() -> None:
    net = Network()
    a: MutableSignal[float] = MutableSignal(0.0)
    b = Map(net, a, lambda x: x + 1)
    c = Map(net, a, lambda x: x * 10)
    seen: list[tuple[float, ...]] = []
    d = Sum(net, [b, c], seen)
    for x in (1.0, 2.0, 3.0):
        a.set_value(x)
        net.activate(a)
    assert seen == [(2.0, 10.0), (3.0, 20.0), (4.0, 30.0)]
    assert d.get_value() == 34.0


def test_each_node_evaluated_once_per_cycle_in_rank_order() -> None:
    net = Network()
    log: list[str] = []
    src = Recorder(log, "src")
    left, right = Recorder(log, "left"), Recorder(log, "right")
    deep = Recorder(log, "deep")
    sink = Recorder(log, "sink")
    net.connect(src, left)
    net.connect(src, right)
    net.connect(left, deep)
    net.connect(deep, sink)
    net.connect(right, sink)  # sink must wait for deep, two ranks down the left path
    net.activate(src)
    assert log.index("sink") == len(log) - 1
    assert sorted(log) == sorted(["src", "left", "right", "deep", "sink"])
    assert sink.rank == 3


def test_false_stops_propagation_and_has_activated_answers_per_cycle() -> None:
    net = Network()
    src: MutableSignal[int] = MutableSignal()
    evens = Filter(net, src, lambda x: x % 2 == 0)
    doubled = Map(net, evens, lambda x: x * 2)
    src.set_value(3)
    net.activate(src)
    assert net.has_activated(src) and not net.has_activated(evens)
    assert not doubled.is_valid()
    src.set_value(4)
    net.activate(src)
    assert net.has_activated(evens) and net.has_activated(doubled)
    assert doubled.get_value() == 8


def test_a_chain_of_only_children_runs_in_order_into_a_diamond() -> None:
    """src -> a -> b, then b -> c, b -> d, c -> e, d -> e: the chain runs directly, the
    diamond after it by rank; e sees c and d of the same cycle; a link that returns False
    ends the cycle there."""
    net = Network()
    src: MutableSignal[float] = MutableSignal(0.0)
    a = Filter(net, src, lambda x: x >= 0)
    b = Map(net, a, lambda x: x + 1)
    c = Map(net, b, lambda x: x * 2)
    d = Map(net, b, lambda x: x * 3)
    seen: list[tuple[float, ...]] = []
    e = Sum(net, [c, d], seen)
    stopped = []
    for x in (1.0, -5.0, 2.0):
        src.set_value(x)
        net.activate(src)
        stopped.append(not net.has_activated(a) and not net.has_activated(b))
    assert seen == [(4.0, 6.0), (6.0, 9.0)]  # nothing ran for -5: a stopped the chain
    assert stopped == [False, True, False] and e.get_value() == 15.0


def test_cycle_in_graph_is_refused() -> None:
    net = Network()
    a, b, c = Event(), Event(), Event()
    net.connect(a, b)
    net.connect(b, c)
    with pytest.raises(InvalidValueError, match="would create a cycle"):
        net.connect(c, a)
    with pytest.raises(InvalidValueError, match="would create a cycle"):
        net.connect(a, a)


def test_node_of_another_network_is_refused() -> None:
    n1, n2 = Network(), Network()
    a, b = Event(), Event()
    n1.connect(a, b)
    with pytest.raises(InvalidValueError, match="another network"):
        n2.connect(a, Event())


def test_edits_during_a_cycle_take_effect_after_it() -> None:
    net = Network()
    log: list[str] = []
    src = Event(name="src")
    late = Recorder(log, "late")

    class Connector(Event):
        def on_activate(self) -> bool:
            net.connect(src, late)
            return True

    net.connect(src, Connector())
    net.activate(src)
    assert log == []  # the new edge did not join the running cycle
    net.activate(src)
    assert log == ["late"]


def test_activation_requested_inside_a_cycle_runs_as_its_own_cycle_after() -> None:
    net = Network()
    log: list[str] = []
    other = Recorder(log, "other")
    first_cycle: list[int] = []

    class Kicker(Event):
        def on_activate(self) -> bool:
            first_cycle.append(net.cycle)
            assert net.activate(other) is False  # deferred
            log.append("kicker")
            return True

    kicker = Kicker()
    net.activate(kicker)
    assert log == ["kicker", "other"]
    assert net.cycle == first_cycle[0] + 1


def test_raising_node_is_named_and_network_stays_usable() -> None:
    net = Network()
    src: MutableSignal[float] = MutableSignal()
    bad = Map(net, src, lambda x: 1 / x, name="inverse")
    src.set_value(0.0)
    with pytest.raises(NodeError, match=r"<inverse#\d+> raised ZeroDivisionError") as info:
        net.activate(src)
    assert info.value.node is bad
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    src.set_value(4.0)
    net.activate(src)
    assert bad.get_value() == 0.25


def test_disconnect_stops_propagation() -> None:
    net = Network()
    src: MutableSignal[int] = MutableSignal()
    m = Map(net, src, lambda x: x)
    net.disconnect(src, m)
    src.set_value(1)
    net.activate(src)
    assert not m.is_valid()
    assert net.children(src) == ()


def test_long_chains_of_requested_activations_do_not_nest() -> None:
    net = Network()
    countdown = [5_000]

    class Again(Event):
        def on_activate(self) -> bool:
            if countdown[0] > 0:
                countdown[0] -= 1
                net.activate(self)
            return True

    start = net.cycle
    net.activate(Again())
    assert countdown[0] == 0
    assert net.cycle == start + 5_001


def test_negative_offset_is_refused() -> None:
    from serenity.tau import HistoricNetworkScheduler

    with pytest.raises(InvalidValueError, match="offset must be >= 0"):
        HistoricNetworkScheduler(0, 10).schedule(lambda: None, -1)
