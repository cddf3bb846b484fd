from __future__ import annotations

from serenity.marketdata.fh import SequenceCheck, SequenceTracker


def test_single_numbers_next_gap_and_stale() -> None:
    tracker = SequenceTracker("BTCUSD book")
    assert tracker.expected is None
    assert [tracker.check(s) for s in (5, 6, 7, 9, 9, 8, 10)] == [
        SequenceCheck.FIRST,
        SequenceCheck.NEXT,
        SequenceCheck.NEXT,
        SequenceCheck.GAP,
        SequenceCheck.STALE,
        SequenceCheck.STALE,
        SequenceCheck.NEXT,
    ]
    assert (tracker.gaps, tracker.stale, tracker.expected) == (1, 2, 11)


def test_ranges_continue_when_they_cover_the_expected_number() -> None:
    tracker = SequenceTracker()
    tracker.reset(100)  # a snapshot's lastUpdateId
    assert tracker.check(95, 100) is SequenceCheck.STALE
    assert tracker.check(98, 104) is SequenceCheck.NEXT
    assert tracker.check(105, 110) is SequenceCheck.NEXT
    assert tracker.check(112, 115) is SequenceCheck.GAP
    assert tracker.check(116, 116) is SequenceCheck.NEXT
    tracker.reset()
    assert tracker.check(1) is SequenceCheck.FIRST


def test_implausible_numbers_are_never_remembered() -> None:
    tracker = SequenceTracker(max_jump=1_000, stuck_after=3)
    assert tracker.check(2**63 - 1) is SequenceCheck.IMPLAUSIBLE  # not even as the first
    assert tracker.check(100) is SequenceCheck.FIRST
    assert tracker.check(101, 2**62) is SequenceCheck.IMPLAUSIBLE  # continues, but ends absurd
    assert tracker.check(1_102) is SequenceCheck.IMPLAUSIBLE  # 1,002 ahead of 100
    assert tracker.check(1_100) is SequenceCheck.GAP  # 1,000 ahead: a gap
    assert (tracker.last, tracker.implausible, tracker.gaps) == (1_100, 3, 1)


def test_a_run_of_rejections_makes_the_tracker_stuck_until_one_is_accepted() -> None:
    tracker = SequenceTracker(max_jump=None, stuck_after=3)
    tracker.check(10**12)  # no bound on the jump: Phemex-like counters
    assert tracker.check(10**15) is SequenceCheck.GAP and tracker.last == 10**15
    for n in (5, 6):
        tracker.check(n)
    assert tracker.run == 2 and not tracker.is_stuck
    tracker.check(7)
    assert tracker.is_stuck
    tracker.reset()
    assert tracker.check(8) is SequenceCheck.FIRST and tracker.run == 0


def test_a_skipped_trade_id_is_delivered_once_from_rest_or_the_stream_never_twice() -> None:
    from serenity.marketdata import DataQualityEvent, Trade
    from serenity.marketdata.fh.trade_ids import TradeIdSequencer
    from serenity.model import InstrumentId, Side

    inst = InstrumentId("binance", "BTCUSDT")
    delivered: list[str] = []
    gaps: list[tuple[str, int, int]] = []
    events: list[DataQualityEvent] = []
    seq = TradeIdSequencer(
        "binance",
        ["BTCUSDT"],
        deliver=lambda t: delivered.append(t.trade_id),
        publish_quality=events.append,
        on_gap=lambda s, first, last, ts: gaps.append((s, first, last)),
    )

    def trade(tid: int) -> Trade:
        return Trade(inst, tid, tid, str(tid), Side.BUY, 1.0, 1.0)

    for tid in (1, 2, 6):
        seq.take(tid, trade(tid))
    assert gaps == [("BTCUSDT", 3, 5)]
    seq.open_hole("BTCUSDT", 3, 5)
    assert seq.fill(3, trade(3)) and seq.fill(5, trade(5))
    seq.take(3, trade(3))  # a late streamed duplicate of a backfilled id: dropped
    seq.take(4, trade(4))  # the stream brought a skipped id after all: recorded
    assert not seq.fill(4, trade(4))  # and REST cannot record it again
    assert seq.holes("BTCUSDT") == [] and seq.close_holes("BTCUSDT", 3, 5) == []
    assert delivered == ["1", "2", "6", "3", "5", "4"]
    assert seq.duplicates == 2
