from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import InvalidValueError
from serenity.marketdata import BookUpdate, OrderBook
from serenity.model import InstrumentId

INST = InstrumentId("binance", "BTCUSDT")


def update(seq: int, bids=(), asks=(), *, snapshot: bool = False) -> BookUpdate:
    return BookUpdate(INST, seq * 10, seq * 10 + 1, seq, list(bids), list(asks), snapshot)


def test_snapshot_then_deltas_keep_levels_sorted() -> None:
    book = OrderBook(INST)
    book.apply(update(1, [(99.0, 1.0), (100.0, 2.0)], [(101.0, 3.0), (102.0, 4.0)], snapshot=True))
    book.apply(update(2, [(100.5, 5.0), (99.0, 0.0)], [(101.0, 0.0), (103.0, 1.0)]))
    assert book.depth(10) == ([(100.5, 5.0), (100.0, 2.0)], [(102.0, 4.0), (103.0, 1.0)])
    assert book.best_bid() == (100.5, 5.0)
    assert book.best_ask() == (102.0, 4.0)
    assert book.mid() == pytest.approx(101.25)
    assert book.spread() == pytest.approx(1.5)
    assert (book.seq, book.ts, book.ts_recv) == (2, 20, 21)
    assert not book.is_crossed()


def test_empty_and_one_sided_books_have_no_mid_or_spread() -> None:
    book = OrderBook(INST)
    assert (book.best_bid(), book.best_ask(), book.mid(), book.spread()) == (None,) * 4
    book.apply(update(1, [(10.0, 1.0)]))
    assert book.best_bid() == (10.0, 1.0)
    assert book.mid() is None and book.spread() is None and not book.is_crossed()


def test_crossed_book_is_detected() -> None:
    book = OrderBook(INST)
    book.apply(update(1, [(100.0, 1.0)], [(101.0, 1.0)], snapshot=True))
    book.apply(update(2, [(101.0, 1.0)]))
    assert book.is_crossed()
    assert book.spread() == 0.0


def test_stale_delta_is_dropped_but_snapshot_always_applies() -> None:
    book = OrderBook(INST)
    book.apply(update(5, [(100.0, 1.0)], snapshot=True))
    assert not book.apply(update(5, [(100.0, 9.0)]))
    assert not book.apply(update(4, [(100.0, 9.0)]))
    assert book.best_bid() == (100.0, 1.0)
    assert book.apply(update(3, [(50.0, 1.0)], snapshot=True))
    assert book.depth(5) == ([(50.0, 1.0)], []) and book.seq == 3


def test_delete_of_missing_level_is_harmless_and_clear_resets() -> None:
    book = OrderBook(INST)
    book.apply(update(1, [(1.0, 0.0)], [(2.0, 0.0)]))
    assert book.bid_count() == book.ask_count() == 0
    book.apply(update(2, [(1.0, 1.0)]))
    book.clear()
    assert book.seq is None and book.bid_count() == 0


def test_depth_rejects_negative_n_and_to_snapshot_round_trips() -> None:
    book = OrderBook(INST)
    book.apply(update(1, [(1.0, 1.0), (2.0, 2.0)], [(3.0, 3.0)], snapshot=True))
    with pytest.raises(InvalidValueError, match="-1"):
        book.depth(-1)
    other = OrderBook(INST)
    other.apply(book.to_snapshot())
    assert other.depth(10) == book.depth(10) and other.seq == 1
    assert "BTCUSDT@binance" in repr(book)


prices = st.integers(min_value=1, max_value=60).map(lambda p: p * 0.5)
sides = st.lists(st.tuples(prices, st.sampled_from([0.0, 0.0, 1.0, 2.5])), max_size=8)


@given(st.lists(st.tuples(sides, sides), max_size=40), st.integers(0, 80))
def test_book_matches_a_dict_oracle(deltas, n: int) -> None:
    book = OrderBook(INST)
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for seq, (b, a) in enumerate(deltas, start=1):
        book.apply(update(seq, b, a))
        for side, levels in ((bids, b), (asks, a)):
            for price, qty in levels:
                if qty == 0.0:
                    side.pop(price, None)
                else:
                    side[price] = qty
    want_bids = sorted(bids.items(), reverse=True)[:n]
    want_asks = sorted(asks.items())[:n]
    assert book.depth(n) == (want_bids, want_asks)
    assert book.is_crossed() == bool(bids and asks and max(bids) >= min(asks))
