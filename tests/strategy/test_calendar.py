"""Sessions land on real trading days: holidays are skipped, half days close early."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import pytest

from serenity.errors import ConfigError
from serenity.strategy import Frequency, RebalanceSchedule, TradingCalendar
from tests.strategy.conftest import Runner, write_prices

XNYS = TradingCalendar("XNYS")


def utc(text: str) -> int:
    return int(pd.Timestamp(text).value)


def test_xnys_skips_independence_day_and_closes_early_the_day_before() -> None:
    days = XNYS.sessions(dt.date(2024, 7, 1), dt.date(2024, 7, 8))
    assert [s.date.isoformat() for s in days] == [
        "2024-07-01",
        "2024-07-02",
        "2024-07-03",
        "2024-07-05",
        "2024-07-08",
    ]
    half = days[2]
    assert half.half_day and not days[1].half_day
    assert half.close_ns == utc("2024-07-03T17:00Z")  # 13:00 in New York
    assert half.stamp_ns == half.close_ns
    assert days[3].open_ns == utc("2024-07-05T13:30Z") and days[3].close_ns == utc(
        "2024-07-05T20:00Z"
    )
    assert not XNYS.is_session(dt.date(2024, 7, 4))
    assert XNYS.next_session(dt.date(2024, 7, 4)) == dt.date(2024, 7, 5)


def test_the_window_takes_sessions_that_open_and_close_inside_it() -> None:
    days = XNYS.sessions_between(utc("2024-07-03T00:00Z"), utc("2024-07-08T00:00Z"))
    assert [s.date.day for s in days] == [3, 5]


def test_the_crypto_calendar_has_every_utc_day_stamped_before_midnight() -> None:
    always = TradingCalendar("24/7")
    days = always.sessions_between(utc("2024-01-01T00:00Z"), utc("2024-01-04T00:00Z"))
    assert [s.date.day for s in days] == [1, 2, 3]
    assert days[0].open_ns == utc("2024-01-01T00:00Z")
    assert days[0].close_ns == utc("2024-01-02T00:00Z")
    assert days[0].stamp_ns == utc("2024-01-02T00:00Z") - 1
    assert always.days_per_year == 365 and XNYS.days_per_year == 252


def test_an_unknown_calendar_names_the_close_ones() -> None:
    with pytest.raises(ConfigError, match="unknown exchange calendar 'XNYZ'.*XNYS"):
        TradingCalendar("XNYZ")


def schedule(every: Frequency, window: tuple[str, str], **kw: object) -> list[str]:
    first, last = dt.date.fromisoformat(window[0]), dt.date.fromisoformat(window[1])
    days = [s.date for s in XNYS.sessions(first, last)]
    chosen = RebalanceSchedule(every, **kw).dates(days, XNYS.period_sessions(days))  # type: ignore[arg-type]
    return [d.isoformat() for d in chosen]


def test_rebalances_land_on_the_periods_sessions() -> None:
    year = ("2024-01-01", "2024-12-31")
    assert schedule(Frequency.QUARTERLY, year) == [
        "2024-01-02",  # 1 January is a holiday
        "2024-04-01",
        "2024-07-01",
        "2024-10-01",
    ]
    assert schedule(Frequency.MONTHLY, ("2024-11-01", "2024-12-31"), on="last") == [
        "2024-11-01",  # the run's first session
        "2024-11-29",  # the half day after Thanksgiving
        "2024-12-31",
    ]
    assert schedule(Frequency.WEEKLY, ("2024-01-08", "2024-01-21"), at_start=False) == [
        "2024-01-08",
        "2024-01-16",  # Monday the 15th is Martin Luther King Jr. Day
    ]
    # A window that opens mid-quarter: the quarter's first session (2 April) is not in it.
    assert schedule(Frequency.QUARTERLY, ("2024-05-06", "2024-09-30"), at_start=False) == [
        "2024-07-01"
    ]
    assert schedule(Frequency.ONCE, year) == ["2024-01-02"]


def test_a_run_fills_on_a_half_day_at_its_early_close_and_ignores_holiday_rows(
    tmp_path: Path, run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        ("2024-07-02", "AAA", 10, 10, 100),
        ("2024-07-03", "AAA", 10, 11, 100),
        ("2024-07-04", "AAA", 11, 99, 100, 0.25),  # a holiday: the bar is ignored...
        ("2024-07-05", "AAA", 11, 12, 100),
    ]
    with caplog.at_level(logging.WARNING, logger="serenity.strategy"):
        result = run(
            write_prices(tmp_path, rows),
            start="2024-07-02",
            end="2024-07-06",
            orders={"2024-07-02": [["AAA", 100]], "2024-07-03": [["AAA", 10]]},
        )
    fills = result.outputs.fills
    assert fills.ts.tolist() == [utc("2024-07-02T20:00Z"), utc("2024-07-03T17:00Z")]
    assert result.outputs.marks.price.tolist() == [10.0, 11.0, 12.0]
    # ...and its dividend goes ex on the next session, 5 July: 110 x 0.25
    paid = result.outputs.capture("dividends").iloc[0]
    assert (paid.ts, paid.amount) == (utc("2024-07-05T20:00Z"), 27.5)
    assert any(r.message == "invest.prices.off_session" for r in caplog.records)
