"""Bar builders: hand-written trades around boundaries, splits at thresholds, and time bars
against a pandas computation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serenity import InvalidValueError
from serenity.signal.bars import OHLC, ComputeOHLC, DollarBars, TickBars, TimeBars, VolumeBars
from serenity.tau import HistoricNetworkScheduler, MutableSignal, Signal
from serenity.tau.event import Lambda
from serenity.tau.signal import BufferWithTime

S = 10**9
MINUTE = 60 * S


@dataclass(slots=True)
class Fill:
    """A trade as the bar builders see it (the market-data Trade has more fields)."""

    ts: int
    price: float
    qty: float
    side: str = "buy"


def run_bars(
    build: Any, fills: list[Fill], *, end: int, times: list[int] | None = None
) -> tuple[list[tuple[int, OHLC]], Any]:
    """Replay ``fills`` (at their ``ts``, or at ``times``) through ``build(scheduler, src)``;
    return (emission time, bar) pairs and the node."""
    scheduler = HistoricNetworkScheduler(0, end)
    source: MutableSignal[Fill] = MutableSignal()
    node = build(scheduler, source)
    out: list[tuple[int, OHLC]] = []
    Lambda(scheduler.network, [node], lambda bar: out.append((scheduler.get_time(), bar)))
    at = times if times is not None else [f.ts for f in fills]
    scheduler.replay(source, list(zip(at, fills, strict=True)))
    scheduler.run()
    return out, node


def bar(
    o: float, h: float, lo: float, c: float, v: float, vwap: float, n: int, start: int, end: int
) -> OHLC:
    return OHLC(
        open=o, high=h, low=lo, close=c, volume=v, vwap=vwap, trade_count=n, start=start, end=end
    )


AROUND_BOUNDARIES = [
    Fill(5 * S, 100.0, 1.0),
    Fill(MINUTE - 1, 101.0, 2.0),  # the last nanosecond of the first minute
    Fill(MINUTE, 99.0, 1.0),  # exactly on the boundary: opens the second bar
    Fill(61 * S, 102.0, 1.0),
    Fill(185 * S, 98.0, 3.0),  # after an empty minute
]


def test_time_bars_close_at_boundaries_by_timer_and_flush_the_partial_bar_at_the_end() -> None:
    out, node = run_bars(lambda s, src: TimeBars(s, src, 60 * S), AROUND_BOUNDARIES, end=200 * S)
    assert out == [
        (60 * S, bar(100.0, 101.0, 100.0, 101.0, 3.0, 302.0 / 3.0, 2, 0, 60 * S)),
        (120 * S, bar(99.0, 102.0, 99.0, 102.0, 2.0, 100.5, 2, 60 * S, 120 * S)),
        (200 * S, bar(98.0, 98.0, 98.0, 98.0, 3.0, 98.0, 1, 180 * S, 240 * S)),
    ]
    assert node.late_trades == 0


def test_time_bars_can_fill_empty_intervals_with_the_previous_close() -> None:
    out, _ = run_bars(
        lambda s, src: TimeBars(s, src, timedelta(minutes=1), fill_empty=True),
        AROUND_BOUNDARIES,
        end=200 * S,
    )
    assert [(t // S, b.start // S, b.end // S, b.volume, b.trade_count) for t, b in out] == [
        (60, 0, 60, 3.0, 2),
        (120, 60, 120, 2.0, 2),
        (180, 120, 180, 0.0, 0),
        (200, 180, 240, 3.0, 1),
    ]
    empty = out[2][1]
    assert (empty.open, empty.high, empty.low, empty.close, empty.vwap) == (102.0,) * 5


def test_time_bars_fill_every_empty_interval_until_the_run_ends() -> None:
    out, _ = run_bars(
        lambda s, src: TimeBars(s, src, MINUTE, fill_empty=True),
        [Fill(30 * S, 10.0, 1.0)],
        end=4 * MINUTE,
    )
    assert [(t // S, b.volume, b.close) for t, b in out] == [
        (60, 1.0, 10.0),
        (120, 0.0, 10.0),
        (180, 0.0, 10.0),
        (240, 0.0, 10.0),
    ]


def test_time_bars_emit_nothing_without_trades_even_when_filling() -> None:
    out, _ = run_bars(lambda s, src: TimeBars(s, src, MINUTE, fill_empty=True), [], end=10 * MINUTE)
    assert out == []


def test_a_trade_from_a_later_bar_emits_the_open_bar_when_venue_time_runs_ahead() -> None:
    fills = [Fill(10 * S, 1.0, 1.0), Fill(61 * S, 2.0, 1.0)]
    out, _ = run_bars(
        lambda s, src: TimeBars(s, src, MINUTE), fills, end=100 * S, times=[10 * S, 50 * S]
    )
    assert [(t // S, b.start // S, b.close) for t, b in out] == [(50, 0, 1.0), (100, 60, 2.0)]


def test_a_late_trade_joins_the_open_bar_and_is_counted() -> None:
    fills = [Fill(10 * S, 1.0, 1.0), Fill(58 * S, 2.0, 1.0), Fill(70 * S, 3.0, 1.0)]
    times = [10 * S, 65 * S, 70 * S]
    out, node = run_bars(lambda s, src: TimeBars(s, src, MINUTE), fills, end=200 * S, times=times)
    assert [(t // S, b.start // S, b.volume, b.open, b.close) for t, b in out] == [
        (60, 0, 1.0, 1.0, 1.0),
        (120, 60, 2.0, 2.0, 3.0),
    ]
    assert node.late_trades == 1


def test_the_partial_time_bar_spans_its_interval() -> None:
    scheduler = HistoricNetworkScheduler(0, 200 * S)
    trades: MutableSignal[Fill] = MutableSignal()
    probe: MutableSignal[int] = MutableSignal()
    node = TimeBars(scheduler, trades, MINUTE)
    seen: list[OHLC | None] = []
    Lambda(scheduler.network, [probe], lambda _: seen.append(node.partial_bar()))
    scheduler.replay(trades, [(70 * S, Fill(70 * S, 5.0, 2.0))])
    scheduler.replay(probe, [(50 * S, 0), (80 * S, 0), (130 * S, 0)])
    scheduler.run()
    assert seen == [None, bar(5.0, 5.0, 5.0, 5.0, 2.0, 5.0, 1, 60 * S, 120 * S), None]


def test_volume_bars_split_a_trade_that_crosses_the_threshold() -> None:
    fills = [Fill(1, 10.0, 1.0), Fill(2, 12.0, 2.0), Fill(3, 11.0, 1.0), Fill(4, 9.0, 1.0)]
    out, node = run_bars(lambda s, src: VolumeBars(s.network, src, 1.5), fills, end=10)
    assert out == [
        (2, bar(10.0, 12.0, 10.0, 12.0, 1.5, 16.0 / 1.5, 2, 1, 2)),
        (2, bar(12.0, 12.0, 12.0, 12.0, 1.5, 12.0, 1, 2, 2)),
        (4, bar(11.0, 11.0, 9.0, 9.0, 1.5, 15.5 / 1.5, 2, 3, 4)),
    ]
    assert node.partial_bar() == bar(9.0, 9.0, 9.0, 9.0, 0.5, 9.0, 1, 4, 4)


def test_one_large_trade_fills_several_volume_bars_in_successive_cycles() -> None:
    out, node = run_bars(
        lambda s, src: VolumeBars(s.network, src, 1.5), [Fill(7, 5.0, 5.0)], end=10
    )
    assert [(t, b.volume, b.trade_count) for t, b in out] == [(7, 1.5, 1)] * 3
    assert node.partial_bar().volume == pytest.approx(0.5)


def test_a_trade_worth_thousands_of_bars_emits_them_all_in_order() -> None:
    out, node = run_bars(
        lambda s, src: VolumeBars(s.network, src, 1.0), [Fill(3, 2.0, 5000.5)], end=9
    )
    assert len(out) == 5000
    assert {(t, b.volume, b.trade_count) for t, b in out} == {(3, 1.0, 1)}
    assert node.partial_bar().volume == pytest.approx(0.5)


def test_volume_bars_absorb_rounding_instead_of_leaving_a_sliver() -> None:
    fills = [Fill(i, 1.0, 0.1) for i in range(1, 11)]
    out, node = run_bars(lambda s, src: VolumeBars(s.network, src, 1.0), fills, end=20)
    assert [(t, b.trade_count) for t, b in out] == [(10, 10)]
    assert node.partial_bar() is None


def test_dollar_bars_split_by_notional() -> None:
    fills = [Fill(1, 100.0, 5.0), Fill(2, 100.0, 10.0), Fill(3, 50.0, 30.0)]
    out, node = run_bars(lambda s, src: DollarBars(s.network, src, 1000.0), fills, end=10)
    assert out == [
        (2, bar(100.0, 100.0, 100.0, 100.0, 10.0, 100.0, 2, 1, 2)),
        (3, bar(100.0, 100.0, 50.0, 50.0, 15.0, 1000.0 / 15.0, 2, 2, 3)),
        (3, bar(50.0, 50.0, 50.0, 50.0, 20.0, 50.0, 1, 3, 3)),  # the rest is exactly 1000
    ]
    assert node.partial_bar() is None


def test_tick_bars_close_every_count_trades() -> None:
    fills = [Fill(i, float(i), 1.0) for i in range(1, 6)]
    out, node = run_bars(lambda s, src: TickBars(s.network, src, 2), fills, end=10)
    assert out == [
        (2, bar(1.0, 2.0, 1.0, 2.0, 2.0, 1.5, 2, 1, 2)),
        (4, bar(3.0, 4.0, 3.0, 4.0, 2.0, 3.5, 2, 3, 4)),
    ]
    assert node.partial_bar() == bar(5.0, 5.0, 5.0, 5.0, 1.0, 5.0, 1, 5, 5)


def test_compute_ohlc_over_buffer_with_time_matches_time_bars_prices() -> None:
    def build(s: HistoricNetworkScheduler, src: Signal[Fill]) -> ComputeOHLC:
        return ComputeOHLC(s.network, BufferWithTime(s, src, MINUTE))

    out, _ = run_bars(build, AROUND_BOUNDARIES, end=200 * S)
    assert [(t // S, b.open_px, b.high_px, b.low_px, b.close_px, b.volume) for t, b in out] == [
        (60, 100.0, 101.0, 100.0, 101.0, 3.0),
        (120, 99.0, 102.0, 99.0, 102.0, 2.0),
        (200, 98.0, 98.0, 98.0, 98.0, 3.0),
    ]
    assert (out[0][1].start, out[0][1].end) == (5 * S, MINUTE - 1)


def test_ohlc_rejects_prices_out_of_order() -> None:
    with pytest.raises(InvalidValueError, match="OHLC prices out of order: open=5.0 high=4.0"):
        bar(5.0, 4.0, 1.0, 2.0, 1.0, 2.0, 1, 0, 1)
    with pytest.raises(InvalidValueError, match="OHLC volume must be >= 0, was -1.0"):
        bar(1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1, 0, 1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s, src: TimeBars(s, src, 0), "interval must be > 0, was 0"),
        (lambda s, src: TimeBars(s, src, 1.5), "interval must be a timedelta or int"),
        (lambda s, src: VolumeBars(s.network, src, 0.0), "volume must be a finite number > 0"),
        (lambda s, src: DollarBars(s.network, src, "1"), "notional must be a number > 0"),
        (lambda s, src: TickBars(s.network, src, 0), "count must be an int >= 1, was 0"),
    ],
)
def test_bar_builders_reject_bad_sizes(build: Any, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        build(HistoricNetworkScheduler(0, 1), MutableSignal())


trades_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10 * MINUTE),
        st.floats(min_value=1.0, max_value=1000.0, allow_nan=False),
        st.floats(min_value=0.001, max_value=50.0, allow_nan=False),
    ),
    min_size=1,
    max_size=200,
)


def _fills(raw: list[tuple[int, float, float]]) -> list[Fill]:
    return [Fill(t, p, q) for t, p, q in sorted(raw, key=lambda r: r[0])]


@settings(max_examples=60, deadline=None)
@given(trades_strategy, st.sampled_from([S, 7 * S, MINUTE, 5 * MINUTE]))
def test_time_bars_equal_a_pandas_resample(
    raw: list[tuple[int, float, float]], interval: int
) -> None:
    fills = _fills(raw)
    end = 11 * MINUTE
    out, _ = run_bars(lambda s, src: TimeBars(s, src, interval), fills, end=end)
    frame = pd.DataFrame(
        {
            "ts": [f.ts for f in fills],
            "price": [f.price for f in fills],
            "qty": [f.qty for f in fills],
        }
    )
    frame["start"] = frame.ts // interval * interval
    frame["notional"] = frame.price * frame.qty
    expected = frame.groupby("start").agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("qty", "sum"),
        notional=("notional", "sum"),
        count=("price", "size"),
    )
    assert [b.start for _, b in out] == expected.index.tolist()
    assert [t for t, _ in out] == [min(s + interval, end) for s in expected.index.tolist()]
    got = pd.DataFrame([(b.open, b.high, b.low, b.close, b.trade_count) for _, b in out])
    assert (
        got.to_numpy().tolist()
        == expected[["open", "high", "low", "close", "count"]].to_numpy().tolist()
    )
    np.testing.assert_allclose([b.volume for _, b in out], expected.volume, rtol=1e-12)
    np.testing.assert_allclose(
        [b.vwap for _, b in out], expected.notional / expected.volume, rtol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(trades_strategy, st.floats(min_value=0.5, max_value=80.0), st.booleans())
def test_volume_and_dollar_bars_conserve_quantity_and_bound_prices(
    raw: list[tuple[int, float, float]], size: float, by_notional: bool
) -> None:
    fills = _fills(raw)
    threshold = size * 100.0 if by_notional else size
    node_type = DollarBars if by_notional else VolumeBars
    out, node = run_bars(
        lambda s, src: node_type(s.network, src, threshold), fills, end=11 * MINUTE
    )
    bars = [b for _, b in out]
    partial = node.partial_bar()
    total = sum(b.volume for b in bars) + (partial.volume if partial else 0.0)
    assert total == pytest.approx(sum(f.qty for f in fills), rel=1e-9)
    for b in bars:
        measure = b.vwap * b.volume if by_notional else b.volume
        assert measure == pytest.approx(threshold, rel=1e-6)
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.low <= b.vwap * (1 + 1e-12) and b.vwap <= b.high * (1 + 1e-12)
    if partial is not None:
        assert (partial.vwap * partial.volume if by_notional else partial.volume) < threshold
