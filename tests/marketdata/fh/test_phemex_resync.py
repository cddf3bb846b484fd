"""Phemex books resynced by resubscription after a gap, against a loopback Phemex."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from serenity.marketdata import DataQualityKind
from serenity.marketdata.fh import FeedState
from serenity.marketdata.fh._phemex_resync import NEVER, SPACING_NS, Resubscriber
from serenity.marketdata.fh.phemex import PhemexFeedHandler
from tests.polling import until

from .phemex_server import PhemexServer
from .test_phemex import (
    ALL,
    ListSink,
    assert_books_equal,
    client_trades,
    feed,
    recording,
    server_trades,
    subscribed,
)

GAP, RESYNC, VENUE_ERROR = DataQualityKind.GAP, DataQualityKind.RESYNC, DataQualityKind.VENUE_ERROR
SCALED = ("BTCUSD", "sBTCUSDT")  # both on orderbook.subscribe: one unsubscribe ends both
ROUND = [
    ("orderbook.unsubscribe", []),
    ("orderbook.subscribe", ["BTCUSD", True]),
    ("orderbook.subscribe", ["sBTCUSDT", True]),
]


@pytest.fixture
async def slow_venue() -> AsyncIterator[PhemexServer]:
    """Phemex with its own 60 s periodic snapshots: none comes during a test."""
    async with PhemexServer() as server:
        yield server


def after_subscribing(venue: PhemexServer, symbols: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Return the first connection's requests after its subscriptions, pings left out."""
    requests = [(r["method"], r["params"]) for r in venue.requests[0]]
    return [r for r in requests if r[0] != "server.ping"][2 * len(symbols) :]


def books_match(handler: PhemexFeedHandler, venue: PhemexServer) -> bool:
    """Return True when every book is live and equals the server's.

    Unlike ``test_phemex.in_sync`` this holds even when the server's last change of a symbol sent no
    update (a level set to the size it had): with 60 s snapshots nothing brings that number.
    """
    return all(
        sync.is_live
        and sync.book.depth(10_000)
        == venue.markets[s].levels(0 if venue.markets[s].is_scaled else 30)
        for s, sync in handler.books.items()
    )


async def test_a_gap_resubscribes_and_the_snapshot_answering_it_resyncs_the_book(
    slow_venue: PhemexServer,
) -> None:
    venue, sink = slow_venue, ListSink()
    handler = feed(venue, [sink])
    async with recording(handler):
        await until(lambda: subscribed(venue) and handler.is_synced())
        conn = venue.conns[0]
        since = {s: len(venue.markets[s].trades) for s in ALL}
        venue.step(100, ALL)
        await until(lambda: books_match(handler, venue))
        venue.out_of_order("BTCUSD", 1)
        venue.step(100, ALL)  # every symbol trades and changes while BTCUSD resyncs
        await until(lambda: sink.kinds("BTCUSD") == [GAP, RESYNC])
        venue.step(100, ALL)
        want = server_trades(venue, since)
        await until(lambda: books_match(handler, venue) and client_trades(sink) == want)
        assert_books_equal(handler, venue)
    gap, resync = sink.quality  # the other symbols and the trades: no event
    assert gap.details["reason"] == "sequence went back" and gap.symbol == "BTCUSD"
    assert after_subscribing(venue, ALL) == ROUND  # the orderbook_p family is left alone
    # on the wire: the success reply to the resubscription, then the snapshot that resynced
    # the book, the only one since the subscription's (no 60 s snapshot came)
    rid = [r["id"] for r in venue.requests[0] if r["params"] == ["BTCUSD", True]][-1]
    sent = [json.loads(text) for text in conn.sent]
    reply = sent.index({"error": None, "id": rid, "result": {"status": "success"}})
    snapshots = [
        i
        for i, m in enumerate(sent)
        if m.get("symbol") == "BTCUSD" and m.get("book") is not None and m["type"] == "snapshot"
    ]
    assert len(snapshots) == 2 and snapshots[0] < reply < snapshots[1]
    assert resync.details["seq"] == sent[snapshots[1]]["sequence"]


async def test_repeated_gaps_send_one_resubscription_until_it_is_answered(
    slow_venue: PhemexServer,
) -> None:
    venue, sink = slow_venue, ListSink()
    handler = feed(venue, [sink], symbols=SCALED)
    async with recording(handler):
        await until(lambda: subscribed(venue, SCALED) and handler.is_synced())
        for seq in (50, 40, 30, 20, 10):  # each older than the one before: five gaps a book
            venue.out_of_order("BTCUSD", seq)
            venue.out_of_order("sBTCUSDT", seq + 5)
        await until(lambda: all(sink.kinds(s)[-1:] == [RESYNC] for s in SCALED))
        first = after_subscribing(venue, SCALED)
        venue.out_of_order("BTCUSD", 5)  # a gap after the answer: a new round (1 s later)
        await until(lambda: sink.kinds("BTCUSD").count(RESYNC) == 2)
        venue.step(50, SCALED)
        await until(lambda: books_match(handler, venue))
        assert_books_equal(handler, venue)
    assert first == ROUND  # one request per symbol for the ten gaps
    assert after_subscribing(venue, SCALED) == ROUND * 2
    assert sink.kinds("BTCUSD") == [GAP] * 5 + [RESYNC, GAP, RESYNC]
    assert sink.kinds("sBTCUSDT") == [GAP] * 5 + [RESYNC]


async def test_a_refused_resubscription_is_recorded_and_asked_for_again_later(
    slow_venue: PhemexServer,
) -> None:
    """The refused subscription leaves the book unsubscribed (the unsubscribe before it ended
    the old one), so no periodic snapshot would come: the book is asked for again, 2 s later,
    and meanwhile trades and the other books are recorded."""
    venue, sink = slow_venue, ListSink()
    handler = feed(venue, [sink])
    async with recording(handler):
        await until(lambda: subscribed(venue) and handler.is_synced())
        since = {s: len(venue.markets[s].trades) for s in ALL}
        venue.refused |= {("orderbook.unsubscribe", "*"), ("orderbook.subscribe", "BTCUSD")}
        venue.out_of_order("BTCUSD", 1)
        await until(lambda: sink.kinds("BTCUSD") == [GAP, VENUE_ERROR, VENUE_ERROR])
        assert not handler.books["BTCUSD"].is_live and handler.state is FeedState.SYNCING
        venue.refused.clear()  # the venue takes the next round
        venue.step(100, ALL)  # trades and the other books are recorded meanwhile
        want = server_trades(venue, since)
        others = ("sBTCUSDT", "BTCUSDT")
        await until(
            lambda: (
                client_trades(sink) == want
                and all(
                    handler.books[s].book.depth(30) == venue.markets[s].levels(30) for s in others
                )
            )
        )
        await until(lambda: sink.kinds("BTCUSD")[-1:] == [RESYNC], what="the retry")
        venue.step(50, ALL)
        await until(lambda: books_match(handler, venue))
        assert_books_equal(handler, venue)
        assert handler.state is FeedState.LIVE
    errors = [e for e in sink.quality if e.kind is VENUE_ERROR]
    assert [(e.channel, e.symbol, e.details["method"], e.details["code"]) for e in errors] == [
        ("book", "BTCUSD", "orderbook.unsubscribe", 6001),
        ("book", "BTCUSD", "orderbook.subscribe", 6001),
    ]
    assert sink.kinds("BTCUSD") == [GAP, VENUE_ERROR, VENUE_ERROR, RESYNC]
    assert sink.kinds("sBTCUSDT") == sink.kinds("BTCUSDT") == []
    assert after_subscribing(venue, ALL) == 2 * ROUND  # the refused round and the retry


def test_resync_rounds_wait_for_their_answers_are_spaced_and_skipped_when_not_needed() -> None:
    sent: list[tuple[int, str, list[Any]]] = []
    waiting = {"A": True, "B": False}
    connected = True

    def send(frame: str) -> bool:
        msg = json.loads(frame)
        if connected:
            sent.append((msg["id"], msg["method"], msg["params"]))
        return connected

    books = {s: ("orderbook.subscribe", [s, True]) for s in ("A", "B")}
    resync = Resubscriber(books, send=send, waiting=waiting.__getitem__)
    resync.reset(next_id=5)
    resync.ask("A", 0)
    round_ = [
        ("orderbook.unsubscribe", []),
        ("orderbook.subscribe", ["A", True]),
        ("orderbook.subscribe", ["B", True]),
    ]
    assert sent == [(5 + i, *r) for i, r in enumerate(round_)]
    resync.ask("A", 1)  # outstanding: nothing more
    resync.ask("B", 1)
    assert resync.on_reply(5, refused=False, ts=2) == ("orderbook.unsubscribe", "A")
    resync.on_snapshot("A", 2)  # before the reply to its subscription: not the answer
    assert resync.expects("A") and len(sent) == 3
    assert resync.on_reply(6, refused=False, ts=3) == ("orderbook.subscribe", "A")
    assert resync.on_reply(7, refused=True, ts=3) == ("orderbook.subscribe", "B")
    assert not resync.expects("B")
    resync.on_snapshot("A", 4)
    # B's subscription was refused after the unsubscribe ended its old one: no periodic
    # snapshot will come, so it is asked for again, after twice the spacing
    assert not resync.expects("A") and not resync.owns(6) and resync.due == 2 * SPACING_NS
    resync.poll(SPACING_NS)  # too early
    assert len(sent) == 3
    resync.poll(2 * SPACING_NS)
    assert sent[3:] == [(8 + i, *r) for i, r in enumerate(round_)]
    for rid in (8, 9, 10):
        resync.on_reply(rid, refused=False, ts=2 * SPACING_NS)
    resync.on_snapshot("A", 2 * SPACING_NS)
    resync.on_snapshot("B", 2 * SPACING_NS)
    assert resync.due == NEVER  # a round without a refusal: the backoff is over
    resync.ask("A", 2 * SPACING_NS + 5)  # within 1 s of the last round: held back 1 s
    assert len(sent) == 6 and resync.due == 3 * SPACING_NS
    waiting["A"] = False  # e.g. the periodic snapshot came before the round could go
    resync.poll(3 * SPACING_NS)
    assert len(sent) == 6
    waiting["A"], connected = True, False  # no connection: nothing is outstanding
    resync.ask("A", 5 * SPACING_NS)
    assert not resync.expects("A") and len(sent) == 6


def test_a_subscription_refused_round_after_round_is_asked_for_ever_more_slowly() -> None:
    sent: list[int] = []

    def send(frame: str) -> bool:
        sent.append(json.loads(frame)["id"])
        return True

    resync = Resubscriber(
        {"A": ("orderbook.subscribe", ["A", True])}, send=send, waiting=lambda _: True
    )
    resync.reset(next_id=1)
    resync.ask("A", 0)
    waits, started = [], 0
    for _ in range(8):
        unsubscribe, subscribe = sent[-2:]
        resync.on_reply(unsubscribe, refused=False, ts=started)
        resync.on_reply(subscribe, refused=True, ts=started)
        waits.append((resync.due - started) // SPACING_NS)
        started = resync.due
        resync.poll(started)
    assert waits == [2, 4, 8, 16, 32, 64, 64, 64]
    assert len(sent) == 2 * 9  # every round went, one unsubscribe and one subscribe each
