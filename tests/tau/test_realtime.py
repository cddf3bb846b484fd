"""RealtimeNetworkScheduler: one loop thread, thread-safe updates, errors counted not fatal."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from serenity.tau import MutableSignal, RealtimeNetworkScheduler
from serenity.tau.event import Do, RepeatingTimer
from serenity.tau.signal import Map
from tests.polling import until


async def test_updates_from_other_threads_run_on_the_loop_thread() -> None:
    sched = RealtimeNetworkScheduler()
    sig: MutableSignal[int] = MutableSignal()
    doubled = Map(sched.network, sig, lambda x: x * 2)
    threads: list[int] = []
    values: list[int] = []

    def record() -> None:
        threads.append(threading.get_ident())
        values.append(doubled.get_value())

    Do(sched.network, doubled, record)
    runner = asyncio.create_task(sched.run())
    await until(sched.is_running)
    loop_thread = threading.get_ident()

    def producer(base: int) -> None:
        for i in range(100):
            sched.schedule_update(sig, base + i)

    workers = [threading.Thread(target=producer, args=(k * 1000,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    await until(lambda: len(values) == 400)
    sched.shutdown()
    await asyncio.wait_for(runner, 5)
    assert set(threads) == {loop_thread}
    assert sorted(values) == sorted(2 * (k * 1000 + i) for k in range(4) for i in range(100))


async def test_updates_scheduled_before_run_wait_for_it() -> None:
    sched = RealtimeNetworkScheduler()
    sig: MutableSignal[str] = MutableSignal()
    got: list[str] = []
    Do(sched.network, sig, lambda: got.append(sig.get_value()))
    sched.schedule_update(sig, "early")
    runner = asyncio.create_task(sched.run())
    await until(lambda: got == ["early"])
    sched.shutdown()
    await runner


async def test_node_error_is_logged_and_counted_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sched = RealtimeNetworkScheduler()
    sig: MutableSignal[float] = MutableSignal()
    inv = Map(sched.network, sig, lambda x: 1 / x, name="inverse")
    runner = asyncio.create_task(sched.run())
    sched.schedule_update(sig, 0.0)
    sched.schedule_update(sig, 4.0)
    await until(lambda: inv.get_value() == 0.25)
    sched.shutdown()
    await runner
    assert sched.error_count == 1
    assert "inverse" in str(sched.last_error)
    assert any(r.getMessage() == "tau.node_error" for r in caplog.records)


async def test_timers_fire_on_wall_clock_and_shutdown_from_another_thread() -> None:
    sched = RealtimeNetworkScheduler()
    timer = RepeatingTimer(sched, 20_000_000)  # every 20 ms
    ticks: list[int] = []
    Do(sched.network, timer, lambda: ticks.append(timer.get_value()))
    runner = asyncio.create_task(sched.run())
    await until(lambda: len(ticks) >= 3)
    threading.Thread(target=sched.shutdown).start()
    await asyncio.wait_for(runner, 5)
    assert all(b - a == 20_000_000 for a, b in zip(ticks, ticks[1:], strict=False))
    assert abs(ticks[0] - time.time_ns()) < 5 * 10**9


async def test_shutdown_before_run_returns_at_once() -> None:
    sched = RealtimeNetworkScheduler()
    sched.shutdown()
    await asyncio.wait_for(sched.run(), 1)


async def test_publish_on_the_loop_thread_propagates_at_once_and_counts_errors() -> None:
    sched = RealtimeNetworkScheduler()
    sig: MutableSignal[float] = MutableSignal()
    inv = Map(sched.network, sig, lambda x: 1 / x)
    runner = asyncio.create_task(sched.run())
    await until(sched.is_running)
    sched.publish(sig, 4.0)
    assert inv.get_value() == 0.25  # synchronously, within the call
    sched.publish(sig, 0.0)
    assert sched.error_count == 1
    seen: list[float] = []

    def from_thread() -> None:
        sched.publish(sig, 2.0)

    Do(sched.network, inv, lambda: seen.append(inv.get_value()))
    worker = threading.Thread(target=from_thread)
    worker.start()
    worker.join()
    await until(lambda: seen == [0.5])
    sched.shutdown()
    await runner
