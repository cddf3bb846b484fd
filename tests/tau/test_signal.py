"""Operators of serenity.tau.signal, each with its exact semantics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from serenity.errors import InvalidValueError
from serenity.tau import HistoricNetworkScheduler, MutableSignal, Network, Signal
from serenity.tau.event import Do
from serenity.tau.signal import (
    AllActivated,
    AnyActivated,
    BufferWithCount,
    BufferWithTime,
    Filter,
    FlatMap,
    From,
    Just,
    Map,
    Merge,
    Pipe,
    Scan,
    WindowWithCount,
    WindowWithTime,
)

T0 = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z, a 5-minute boundary
S = 10**9
MIN = 60 * S


def emissions(sched: HistoricNetworkScheduler, sig: Signal[Any]) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    Do(sched.network, sig, lambda: out.append((sched.get_time(), sig.get_value())))
    return out


def run_values(build: Any, values: list[Any], step: int = S) -> list[tuple[int, Any]]:
    sched = HistoricNetworkScheduler(T0, T0 + 10**6 * S)
    src: MutableSignal[Any] = MutableSignal()
    out = emissions(sched, build(sched, src))
    sched.replay(src, [(T0 + i * step, v) for i, v in enumerate(values)])
    sched.run()
    return out


def values_of(out: list[tuple[int, Any]]) -> list[Any]:
    return [v for _, v in out]


def test_map_filter_scan() -> None:
    assert values_of(run_values(lambda s, x: Map(s.network, x, str), [1, 2])) == ["1", "2"]
    evens = run_values(lambda s, x: Filter(s.network, x, lambda v: v % 2 == 0), [1, 2, 3, 4])
    assert values_of(evens) == [2, 4]
    scan = run_values(lambda s, x: Scan(s.network, x, lambda acc, v: acc + [v], []), [1, 2, 3])
    assert values_of(scan) == [[1], [1, 2], [1, 2, 3]]


def test_buffer_with_count_emits_full_lists_only() -> None:
    out = run_values(lambda s, x: BufferWithCount(s.network, x, 3), list(range(8)))
    assert values_of(out) == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(InvalidValueError, match="count must be an int >= 1"):
        BufferWithCount(Network(), MutableSignal(), 0)


def test_window_with_count_slides_once_full() -> None:
    out = run_values(lambda s, x: WindowWithCount(s.network, x, 3), [1, 2, 3, 4, 5])
    assert values_of(out) == [(1, 2, 3), (2, 3, 4), (3, 4, 5)]


def test_window_with_time_keeps_the_trailing_duration() -> None:
    out = run_values(lambda s, x: WindowWithTime(s, x, 3 * S), [1, 2, 3, 4, 5])
    assert values_of(out) == [(1,), (1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5)]


def test_buffer_with_time_buckets_align_to_boundaries_and_emit_on_time() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + 60 * MIN)
    src: MutableSignal[str] = MutableSignal()
    buf = BufferWithTime(sched, src, dt.timedelta(minutes=5))
    out = emissions(sched, buf)
    sched.replay(
        src,
        [
            (T0 + 1 * MIN, "a"),
            (T0 + 4 * MIN + 59 * S, "b"),
            (T0 + 5 * MIN, "c"),  # exactly on a boundary: starts the next bucket
            (T0 + 7 * MIN, "d"),
            # nothing in [10, 20) min: no empty buckets
            (T0 + 21 * MIN, "e"),
            (T0 + 23 * MIN, "f"),  # last partial bucket, flushed at the end of the run
        ],
    )
    sched.run()
    assert out == [
        (T0 + 5 * MIN, ["a", "b"]),
        (T0 + 10 * MIN, ["c", "d"]),  # by the timer: no later value arrived before 10:00
        (T0 + 25 * MIN, ["e", "f"]),  # by the timer at its boundary, within the run
    ]


def test_buffer_with_time_flushes_partial_bucket_at_end_and_keeps_one_timer() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + 12 * MIN)
    src: MutableSignal[int] = MutableSignal()
    buf = BufferWithTime(sched, src, 5 * MIN)
    out = emissions(sched, buf)
    pending: list[int] = []
    Do(sched.network, src, lambda: pending.append(len(sched._heap)))
    sched.replay(src, [(T0 + i * S, i) for i in range(0, 11 * 60, 7)])
    stats = sched.run()
    assert [t for t, _ in out] == [T0 + 5 * MIN, T0 + 10 * MIN, T0 + 12 * MIN]
    flat = [v for _, bucket in out for v in bucket]
    assert flat == list(range(0, 11 * 60, 7))
    assert max(pending) <= 2  # one bucket timer (plus a cancelled one at most), never a pile
    assert stats.after_end == 0  # the partial bucket's timer was cancelled by the flush


def test_buffer_with_time_origin_shifts_boundaries() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + 10 * MIN)
    src: MutableSignal[int] = MutableSignal()
    buf = BufferWithTime(sched, src, 5 * MIN, origin=T0 + MIN)
    out = emissions(sched, buf)
    sched.replay(src, [(T0 + 30 * S, 1), (T0 + 2 * MIN, 2)])
    sched.run()
    assert out == [(T0 + MIN, [1]), (T0 + 6 * MIN, [2])]


def test_merge_emits_whichever_input_fired() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + MIN)
    a: MutableSignal[str] = MutableSignal()
    b: MutableSignal[str] = MutableSignal()
    out = emissions(sched, Merge(sched.network, [a, b]))
    sched.replay(a, [(T0 + 1, "a")])
    sched.replay(b, [(T0 + 2, "b")])
    sched.run()
    assert values_of(out) == ["a", "b"]
    with pytest.raises(InvalidValueError):
        Merge(Network(), [])


def test_merge_in_one_cycle_takes_the_last_input_that_fired() -> None:
    net = Network()
    src: MutableSignal[int] = MutableSignal()
    m = Merge(net, [Map(net, src, lambda x: x + 1), Map(net, src, lambda x: x * 10)])
    src.set_value(2)
    net.activate(src)
    assert m.get_value() == 20


def test_flat_map_emits_each_element_in_its_own_cycle() -> None:
    out = run_values(lambda s, x: FlatMap(s, x, lambda v: range(v)), [2, 3])
    assert out == [(T0, 0), (T0, 1), (T0 + S, 0), (T0 + S, 1), (T0 + S, 2)]
    out2 = run_values(lambda s, x: FlatMap(s, x), [["a", "b"]])
    assert values_of(out2) == ["a", "b"]


def test_pipe_feeds_back_without_a_cycle() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + MIN)
    ticks: MutableSignal[int] = MutableSignal()
    position: MutableSignal[int] = MutableSignal(0)
    # the order decision reads the current position; the fill updates it through a pipe
    decision = AnyActivated(sched.network, [ticks])
    new_position = Map(sched.network, decision, lambda _: position.get_value() + 1)
    Pipe(sched, new_position, position)
    seen = emissions(sched, position)
    sched.replay(ticks, [(T0 + 1, 0), (T0 + 2, 0), (T0 + 3, 0)])
    sched.run()
    assert seen == [(T0 + 1, 1), (T0 + 2, 2), (T0 + 3, 3)]


def test_just_and_from() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + MIN)
    j = Just(sched, 42)
    f = From(sched, ["x", "y", "z"])
    out_j, out_f = emissions(sched, j), emissions(sched, f)
    constant = Just(sched.network, 7)
    sched.run()
    assert out_j == [(T0, 42)]
    assert out_f == [(T0, "x"), (T0, "y"), (T0, "z")]
    assert constant.get_value() == 7 and constant.is_valid()


def test_all_and_any_activated() -> None:
    net = Network()
    a: MutableSignal[int] = MutableSignal()
    b: MutableSignal[int] = MutableSignal()
    both = AllActivated(net, [a, Map(net, a, lambda x: -x)])
    either = AnyActivated(net, [a, b])
    only_ab = AllActivated(net, [a, b])
    a.set_value(3)
    net.activate(a)
    assert both.get_value() == (3, -3)
    assert either.get_value() == (3, None)
    assert not only_ab.is_valid()  # b did not activate in that cycle
    b.set_value(5)
    net.activate(b)
    assert either.get_value() == (3, 5)
    assert not net.has_activated(only_ab)
