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
