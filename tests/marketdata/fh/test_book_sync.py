from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import InvalidValueError
from serenity.marketdata import BookUpdate, DataQualityKind, OrderBook
from serenity.marketdata.fh import BookSynchroniser, SyncState
from serenity.model import InstrumentId

INST = InstrumentId("coinbase", "BTC-USD")


def delta(seq: int, bids=(), asks=()) -> BookUpdate:
    return BookUpdate(INST, seq, seq + 1, seq, list(bids), list(asks), False)


def snapshot(book: OrderBook, seq: int) -> BookUpdate:
    snap = book.to_snapshot()
    snap.seq = seq
    snap.ts_recv = seq + 1
    return snap


def kinds(sync: BookSynchroniser) -> list[DataQualityKind]:
    return [e.kind for e in sync.drain_events()]


def test_deltas_wait_for_the_snapshot_then_replay_in_order() -> None:
    sync = BookSynchroniser(INST)
    assert sync.needs_snapshot and sync.state is SyncState.AWAITING_SNAPSHOT
    assert not sync.on_delta(delta(10, [(100.0, 1.0)]))
    assert not sync.on_delta(delta(11, [(101.0, 1.0)]))
    assert not sync.on_delta(delta(12, [(102.0, 1.0)]))
    server = OrderBook(INST)
    server.apply(BookUpdate(INST, 0, 0, 10, [(100.0, 1.0), (99.0, 5.0)], [(110.0, 1.0)], True))
    applied = sync.on_snapshot(snapshot(server, 10))
    assert [u.seq for u in applied] == [10, 11, 12]
    assert sync.is_live and not sync.needs_snapshot
    assert sync.book.depth(5)[0] == [(102.0, 1.0), (101.0, 1.0), (100.0, 1.0), (99.0, 5.0)]
    assert kinds(sync) == []


def test_gap_clears_the_book_requests_a_snapshot_and_resyncs() -> None:
    sync = BookSynchroniser(INST)
    server = OrderBook(INST)
    server.apply(BookUpdate(INST, 0, 0, 1, [(100.0, 1.0)], [(101.0, 1.0)], True))
    sync.on_snapshot(snapshot(server, 1))
    assert sync.on_delta(delta(2, [(100.0, 2.0)]))
    assert not sync.on_delta(delta(2, [(100.0, 9.0)]))  # duplicate: dropped
    assert not sync.on_delta(delta(5, [(100.0, 3.0)]))  # 3 and 4 lost
    assert sync.needs_snapshot and not sync.is_live and sync.book.bid_count() == 0
    gap = sync.drain_events()
    assert [e.kind for e in gap] == [DataQualityKind.GAP]
    assert gap[0].details == {"expected": 3, "seen": 5} and gap[0].symbol == "BTC-USD"
    sync.on_delta(delta(6, [(99.0, 1.0)]))
    for update in (delta(2, [(100.0, 2.0)]), delta(3), delta(4), delta(5, [(100.0, 3.0)])):
        server.apply(update)
    applied = sync.on_snapshot(snapshot(server, 5))
    assert [u.seq for u in applied] == [5, 6] and sync.is_live
    assert sync.book.depth(5) == ([(100.0, 3.0), (99.0, 1.0)], [(101.0, 1.0)])
    [resync] = sync.drain_events()
    assert resync.kind is DataQualityKind.RESYNC and resync.details["seq"] == 5
    assert sync.resyncs == 1


def test_stale_snapshot_is_refused_and_another_requested() -> None:
    sync = BookSynchroniser(INST)
    sync.on_delta(delta(20))
    assert sync.on_snapshot(BookUpdate(INST, 0, 0, 15, [(1.0, 1.0)], [], True)) == []
    assert sync.needs_snapshot and not sync.is_live
    [event] = sync.drain_events()
    assert event.details["reason"] == "stale snapshot"
    assert [u.seq for u in sync.on_snapshot(BookUpdate(INST, 0, 0, 19, [], [], True))] == [19, 20]


def test_binance_ranges_drop_covered_events_and_check_continuity() -> None:
    sync = BookSynchroniser(InstrumentId("binance", "BTCUSDT"))
    sync.on_delta(delta(105), first_seq=101)  # covers 101..105: already in the snapshot
    sync.on_delta(delta(112), first_seq=106)  # straddles lastUpdateId 110 + 1
    sync.on_delta(delta(115), first_seq=113)
    applied = sync.on_snapshot(BookUpdate(INST, 0, 0, 110, [], [], True))
    assert [u.seq for u in applied] == [110, 112, 115]
    assert not sync.on_delta(delta(120), first_seq=117)
    assert sync.needs_snapshot


def test_crossed_book_is_reported_once_per_episode() -> None:
    sync = BookSynchroniser(INST)
    sync.on_snapshot(BookUpdate(INST, 0, 0, 1, [(100.0, 1.0)], [(101.0, 1.0)], True))
    sync.on_delta(delta(2, [(101.5, 1.0)]))
    sync.on_delta(delta(3, [(102.0, 1.0)]))
    sync.on_delta(delta(4, [(101.5, 0.0), (102.0, 0.0)]))
    sync.on_delta(delta(5, [(101.0, 1.0)]))
    crossed = sync.drain_events()
    assert [e.kind for e in crossed] == [DataQualityKind.CROSSED_BOOK] * 2
    assert crossed[0].details == {"seq": 2, "bid": 101.5, "ask": 101.0}


def test_misuse_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        BookSynchroniser(INST, max_buffer=0)
    with pytest.raises(InvalidValueError, match="snapshot"):
        BookSynchroniser(INST).on_snapshot(delta(1))


@given(
    st.integers(0, 2**32),
    st.lists(st.integers(1, 149), max_size=6),  # a lost last delta shows only later
    st.integers(0, 5),
)
def test_book_ends_equal_to_the_servers_whatever_is_lost(seed: int, lost: list[int], lag: int):
    rng = random.Random(seed)
    server = OrderBook(INST)
    server.apply(BookUpdate(INST, 0, 0, 0, [(50.0, 1.0)], [(51.0, 1.0)], True))
    sync = BookSynchroniser(INST)
    waited = 0
    for seq in range(1, 151):
        bids = [(rng.randint(1, 50) * 1.0, rng.choice([0.0, 1.0, 2.0])) for _ in range(2)]
        asks = [(rng.randint(51, 100) * 1.0, rng.choice([0.0, 1.0, 2.0])) for _ in range(2)]
        update = delta(seq, bids, asks)
        server.apply(update)
        if seq not in lost:
            sync.on_delta(update)
        if sync.needs_snapshot:
            waited += 1
            if waited > lag:  # the snapshot arrives a few deltas after it was asked for
                sync.on_snapshot(snapshot(server, seq))
                waited = 0
    if sync.needs_snapshot:
        sync.on_snapshot(snapshot(server, 150))
    assert sync.is_live
    assert sync.book.depth(200) == server.depth(200)
    events = sync.drain_events()
    gaps = [e for e in events if e.kind is DataQualityKind.GAP]
    assert sync.resyncs == len([e for e in events if e.kind is DataQualityKind.RESYNC])
    assert len(gaps) <= len(set(lost))


def live(seq: int = 1, **kw: int | None) -> BookSynchroniser:
    sync = BookSynchroniser(INST, **kw)  # type: ignore[arg-type]
    server = OrderBook(INST)
    server.apply(BookUpdate(INST, 0, 0, seq, [(100.0, 1.0)], [(101.0, 1.0)], True))
    sync.on_snapshot(snapshot(server, seq))
    return sync


def test_an_implausible_delta_is_a_gap_and_is_neither_applied_nor_buffered() -> None:
    sync = live(max_jump=1_000)
    assert not sync.on_delta(delta(2**62, [(100.0, 7.0)]))
    events = sync.drain_events()
    assert [e.kind for e in events] == [DataQualityKind.GAP]
    assert events[0].details["reason"] == "implausible update id"
    assert sync.needs_snapshot and sync.book.bid_count() == 0
    sync.on_delta(delta(1_500))  # 1,499 ahead of the snapshot: dropped when it applies
    sync.on_delta(delta(2, [(100.0, 2.0)]))
    server = OrderBook(INST)
    server.apply(BookUpdate(INST, 0, 0, 1, [(100.0, 1.0)], [(101.0, 1.0)], True))
    assert [u.seq for u in sync.on_snapshot(snapshot(server, 1))] == [1, 2]
    assert sync.book.best_bid() == (100.0, 2.0) and sync.is_live


def test_an_implausible_snapshot_is_refused() -> None:
    sync = BookSynchroniser(INST)
    server = OrderBook(INST)
    server.apply(BookUpdate(INST, 0, 0, 1, [(100.0, 1.0)], [(101.0, 1.0)], True))
    assert sync.on_snapshot(snapshot(server, 2**63 - 1)) == []
    assert sync.needs_snapshot and kinds(sync) == [DataQualityKind.GAP]


def test_stale_deltas_in_a_row_make_a_stuck_book_resync() -> None:
    sync = live(seq=1, stuck_after=3)
    assert sync.on_delta(delta(500), first_seq=2)  # covers 2..500, and is applied
    for seq in (2, 3):
        assert not sync.on_delta(delta(seq))
    assert sync.is_live and kinds(sync) == []
    assert not sync.on_delta(delta(4))
    events = sync.drain_events()
    assert [e.kind for e in events] == [DataQualityKind.STUCK] and sync.stuck == 1
    assert events[0].details == {"dropped": 3, "book_seq": 500, "seen": 4}
    assert sync.needs_snapshot and not sync.is_live
