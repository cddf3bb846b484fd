"""Event operators: Do, Lambda, RepeatingTimer and the DST-aware Alarm."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from serenity.errors import InvalidValueError
from serenity.tau import HistoricNetworkScheduler, MutableSignal, to_instant_ns
from serenity.tau.event import Alarm, Do, Lambda, RepeatingTimer
from serenity.tau.signal import Map

NY = ZoneInfo("America/New_York")
S = 10**9


def test_do_and_lambda() -> None:
    sched = HistoricNetworkScheduler(0, 100)
    a: MutableSignal[int] = MutableSignal()
    b: MutableSignal[int] = MutableSignal(10)
    calls: list[tuple[int, int]] = []
    gate = Lambda(sched.network, [a, b], lambda x, y: calls.append((x, y)) or x > 1)
    after: list[int] = []
    Do(sched.network, gate, lambda: after.append(a.get_value()))
    sched.replay(a, [(1, 1), (2, 2)])
    sched.run()
    assert calls == [(1, 10), (2, 10)]
    assert after == [2]  # the first call returned False and stopped propagation


def test_repeating_timer_fires_every_interval_and_cancels() -> None:
    sched = HistoricNetworkScheduler(0, 10 * S)
    timer = RepeatingTimer(sched, dt.timedelta(seconds=3))
    fired: list[int] = []
    Do(sched.network, timer, lambda: fired.append(timer.get_value()))
    sched.schedule(timer.cancel, 7 * S)
    sched.run()
    assert fired == [3 * S, 6 * S]


def test_alarm_fires_at_local_time_across_dst() -> None:
    start = dt.datetime(2024, 3, 8, 12, tzinfo=NY)  # DST starts Sunday 2024-03-10
    end = dt.datetime(2024, 3, 12, 12, tzinfo=NY)
    sched = HistoricNetworkScheduler(start, end)
    alarm = Alarm(sched, "16:00", "America/New_York")
    fired: list[dt.datetime] = []
    Do(sched.network, alarm, lambda: fired.append(sched.get_clock().get_time(NY)))
    sched.run()
    assert [f.strftime("%m-%d %H:%M %Z") for f in fired] == [
        "03-08 16:00 EST",
        "03-09 16:00 EST",
        "03-10 16:00 EDT",
        "03-11 16:00 EDT",
    ]
    utc_hours = [f.astimezone(dt.UTC).hour for f in fired]
    assert utc_hours == [21, 21, 20, 20]
    assert alarm.get_value() == to_instant_ns(fired[-1])


def test_alarm_rejects_bad_times_and_zones() -> None:
    sched = HistoricNetworkScheduler(0, 1)
    with pytest.raises(InvalidValueError, match="HH:MM"):
        Alarm(sched, "25:99")
    with pytest.raises(InvalidValueError, match="unknown time zone"):
        Alarm(sched, "16:00", "Mars/Olympus")


def test_timer_drives_computation() -> None:
    sched = HistoricNetworkScheduler(0, 5 * S)
    timer = RepeatingTimer(sched, S, start=S)
    seconds = Map(sched.network, timer, lambda t: t // S)
    seen: list[int] = []
    Do(sched.network, seconds, lambda: seen.append(seconds.get_value()))
    sched.run()
    assert seen == [1, 2, 3, 4, 5]
