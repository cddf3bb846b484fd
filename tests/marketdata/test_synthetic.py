"""The synthetic market is deterministic, time-ordered, sequenced and never crossed."""

from __future__ import annotations

import pytest

from serenity.errors import InvalidValueError
from serenity.marketdata import BookUpdate, OrderBook, Trade
from serenity.marketdata.synthetic import SyntheticMarket
from serenity.model import InstrumentId, Side

INST = InstrumentId("coinbase", "BTC-USD")


def market(**kw: object) -> SyntheticMarket:
    args: dict[str, object] = {
        "instrument": INST,
        "start_ns": 0,
        "end_ns": 3_600 * 10**9,
        "events": 5_000,
    }
    args.update(kw)
    return SyntheticMarket(**args)  # type: ignore[arg-type]


def test_messages_are_ordered_sequenced_and_books_stay_sane() -> None:
    book = OrderBook(INST)
    seqs: list[int] = []
    last_ts = -1
    trades = 0
    for msg in market().messages():
        assert msg.ts >= last_ts and 0 <= msg.ts <= 3_600 * 10**9
        last_ts = msg.ts
        if isinstance(msg, Trade):
            trades += 1
            best = book.best_ask() if msg.side is Side.BUY else book.best_bid()
            assert best is not None and msg.price == best[0]  # trades take the touch
            assert 0 < msg.qty <= best[1]
        else:
            assert isinstance(msg, BookUpdate)
            seqs.append(msg.seq)
            book.apply(msg)
            assert not book.is_crossed()
    assert seqs == list(range(1, len(seqs) + 1))
    assert 1_000 < trades < 2_500
    assert book.bid_count() >= 2 and book.ask_count() >= 2


def test_same_seed_same_messages_other_seed_other_messages() -> None:
    a = list(market(events=500).messages())
    b = list(market(events=500).messages())
    c = list(market(events=500, seed=8).messages())
    assert a == b and a != c


def test_bad_parameters() -> None:
    with pytest.raises(InvalidValueError, match="end_ns"):
        market(end_ns=0)
    with pytest.raises(InvalidValueError, match="trade_ratio"):
        market(trade_ratio=2)
