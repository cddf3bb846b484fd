"""HistoricNetworkScheduler: lazy time-ordered merge, window edges, tables, errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pytest

from serenity.errors import DataError, InvalidValueError, NodeError
from serenity.tau import HistoricNetworkScheduler, MutableSignal
from serenity.tau.event import Do
from serenity.tau.signal import Map, Merge

T0 = 1_700_000_000 * 10**9
S = 10**9


def collect(
    scheduler: HistoricNetworkScheduler, signal: MutableSignal[object]
) -> list[tuple[int, object]]:
    out: list[tuple[int, object]] = []
    Do(scheduler.network, signal, lambda: out.append((scheduler.get_time(), signal.get_value())))
    return out


def test_sources_merge_in_time_order_with_ties_in_insertion_order() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + 100 * S)
    a: MutableSignal[str] = MutableSignal(name="a")
    b: MutableSignal[str] = MutableSignal(name="b")
    merged = Merge(sched.network, [a, b])
    out: list[tuple[int, str]] = []
    Do(sched.network, merged, lambda: out.append((sched.get_time(), merged.get_value())))
    sched.replay(a, [(T0 + 1, "a1"), (T0 + 3, "a3"), (T0 + 5, "a5")])
    sched.replay(b, [(T0 + 2, "b2"), (T0 + 3, "b3"), (T0 + 4, "b4")])
    stats = sched.run()
    assert out == [
        (T0 + 1, "a1"),
        (T0 + 2, "b2"),
        (T0 + 3, "a3"),
        (T0 + 3, "b3"),
        (T0 + 4, "b4"),
        (T0 + 5, "a5"),
    ]
    assert stats.events == 6


def test_events_before_start_are_skipped_and_run_ends_at_end() -> None:
    sched = HistoricNetworkScheduler(T0 + 10, T0 + 20)
    sig: MutableSignal[int] = MutableSignal()
    out = collect(sched, sig)  # type: ignore[arg-type]
    sched.replay(sig, [(T0 + t, t) for t in (1, 5, 10, 15, 20, 21, 30)])
    late: list[int] = []
    sched.schedule_at(lambda: late.append(1), T0 + 25)
    stats = sched.run()
    assert [v for _, v in out] == [10, 15, 20]
    assert stats.before_start == 2
    assert stats.after_end == 2  # the source's first event past the end, and the timer
    assert late == []
    assert sched.get_time() == T0 + 20


def test_schedule_update_with_offsets_and_callable_values() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + 10 * S)
    sig: MutableSignal[object] = MutableSignal()
    out = collect(sched, sig)
    counter = iter(range(100))
    sched.schedule_update(sig, "first", dt.timedelta(seconds=2))
    sched.schedule_update(sig, lambda: next(counter), 3 * S)
    sched.schedule_update_at(sig, "at", dt.datetime.fromtimestamp(T0 // S + 1, tz=dt.UTC))
    sched.schedule_update(sig, "same-instant-later", 2 * S)
    sched.run()
    assert out == [
        (T0 + S, "at"),
        (T0 + 2 * S, "first"),
        (T0 + 2 * S, "same-instant-later"),
        (T0 + 3 * S, 0),
    ]


def test_replay_of_dataframe_rows_and_columns() -> None:
    df = pd.DataFrame(
        {
            "ts": pd.to_datetime([T0 + 1, T0 + 2, T0 + 3], unit="ns", utc=True),
            "price": [10.0, 11.0, 12.0],
            "qty": [1.0, 2.0, 3.0],
        }
    )
    sched = HistoricNetworkScheduler(T0, T0 + S)
    rows: MutableSignal[object] = MutableSignal()
    prices: MutableSignal[float] = MutableSignal()
    notional = Map(sched.network, rows, lambda r: r.price * r.qty)  # type: ignore[attr-defined]
    got: list[float] = []
    Do(sched.network, notional, lambda: got.append(notional.get_value()))
    price_seen = collect(sched, prices)  # type: ignore[arg-type]
    sched.replay(rows, df)
    sched.replay(prices, df, value_column="price")
    sched.run()
    assert got == [10.0, 22.0, 36.0]
    assert price_seen == [(T0 + 1, 10.0), (T0 + 2, 11.0), (T0 + 3, 12.0)]


def test_replay_of_arrow_batches_is_lazy() -> None:
    pulled: list[int] = []

    def batches() -> Iterator[pa.RecordBatch]:
        for k in range(5):
            pulled.append(k)
            yield pa.record_batch(
                {"ts": [T0 + 10 * k + i for i in range(10)], "v": list(range(10))}
            )

    sched = HistoricNetworkScheduler(T0, T0 + S)
    sig: MutableSignal[int] = MutableSignal()
    seen_batches: list[int] = []
    Do(sched.network, sig, lambda: seen_batches.append(len(pulled)))
    sched.replay(sig, batches(), value_column="v")
    assert pulled == [0]  # only the first batch read before the run
    stats = sched.run()
    assert stats.events == 50
    assert seen_batches[0] == 1 and seen_batches[-1] == 5


def test_naive_timestamps_and_missing_columns_are_refused() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + S)
    sig: MutableSignal[object] = MutableSignal()
    naive = pd.DataFrame({"ts": pd.to_datetime([T0], unit="ns"), "v": [1]})
    with pytest.raises(InvalidValueError, match="naive timestamps"):
        sched.replay(sig, naive)
    with pytest.raises(InvalidValueError, match="no time column 'time'"):
        sched.replay(sig, pa.table({"ts": [T0]}), time_column="time")
    with pytest.raises(InvalidValueError):
        HistoricNetworkScheduler(dt.datetime(2024, 1, 1), T0)
    with pytest.raises(InvalidValueError, match="end must not be before start"):
        HistoricNetworkScheduler(T0, T0 - 1)


def test_out_of_order_source_fails_with_a_data_error() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + S)
    sig: MutableSignal[int] = MutableSignal(name="trades")
    sched.replay(sig, [(T0 + 5, 1), (T0 + 4, 2)])
    with pytest.raises(DataError, match="trades.*went back in time"):
        sched.run()


def test_node_error_names_node_and_virtual_time() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + S)
    sig: MutableSignal[float] = MutableSignal()
    Map(sched.network, sig, lambda x: 1 / x, name="inverse")
    sched.replay(sig, [(T0 + 1, 1.0), (T0 + 2, 0.0), (T0 + 3, 1.0)])
    with pytest.raises(
        NodeError, match=r"inverse.*ZeroDivisionError.*2023-11-14T22:13:20.000000002Z"
    ) as info:
        sched.run()
    assert info.value.time_ns == T0 + 2


def test_failing_action_stops_the_run() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + S)

    def boom() -> None:
        raise RuntimeError("kaput")

    sched.schedule(boom, 5)
    with pytest.raises(NodeError, match="kaput") as info:
        sched.run()
    assert info.value.time_ns == T0 + 5


def test_cannot_schedule_in_the_past_during_a_run() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + S)
    errors: list[Exception] = []

    def late() -> None:
        try:
            sched.schedule_at(lambda: None, T0)
        except InvalidValueError as exc:
            errors.append(exc)

    sched.schedule(late, 10)
    sched.run()
    assert len(errors) == 1 and "in the past" in str(errors[0])


def test_cancelled_timer_does_not_run() -> None:
    sched = HistoricNetworkScheduler(T0, T0 + S)
    ran: list[int] = []
    handle = sched.schedule(lambda: ran.append(1), 5)
    sched.schedule(lambda: ran.append(2), 6)
    handle.cancel()
    stats = sched.run()
    assert ran == [2] and stats.events == 1


def test_each_scheduler_owns_its_network_unless_shared() -> None:
    s1 = HistoricNetworkScheduler(T0, T0 + 1)
    s2 = HistoricNetworkScheduler(T0, T0 + 1)
    assert s1.network is not s2.network
    s3 = HistoricNetworkScheduler(T0, T0 + 1, network=s1.network)
    assert s3.get_network() is s1.network
