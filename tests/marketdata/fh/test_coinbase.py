"""The Coinbase feedhandler against a loopback Coinbase Exchange, and on the 2021 capture."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from serenity.db.fetch import fetch_catalog
from serenity.errors import DataError, UnknownSymbolError, VenueError
from serenity.exchange import coinbase
from serenity.marketdata import (
    BookUpdate,
    DataQualityEvent,
    DataQualityKind,
    JournalReader,
    JournalWriter,
    RawFrame,
    Trade,
)
from serenity.marketdata.batch import splay_day
from serenity.marketdata.fh import Backoff, FeedConfig, FeedMetrics, FeedState, JournalSink
from serenity.marketdata.fh.coinbase import (
    CoinbaseFeedHandler,
    subscribe_frame,
    unsubscribe_frame,
)
from serenity.marketdata.fh.registry import handler_class
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import Side
from tests.marketdata.fh.toy import ListSink as BaseSink
from tests.polling import until
from tests.venues import payload, read_capture

from .coinbase_server import DATA as COINBASE_DATA
from .coinbase_server import CoinbaseServer

SYMBOLS = ("BTC-USD", "ETH-USD")
GAP, RESYNC, RECONNECT = DataQualityKind.GAP, DataQualityKind.RESYNC, DataQualityKind.RECONNECT


class ListSink(BaseSink):
    """The shared sink; ``kinds(channel, symbol)`` takes the channel first, BTC-USD by default."""

    def kinds(  # type: ignore[override]  # the channel-first order these tests read best in
        self, channel: str | None = None, symbol: str | None = "BTC-USD"
    ) -> list[DataQualityKind]:
        return super().kinds(symbol, channel)


def make_handler(
    server: CoinbaseServer, sink: ListSink, symbols: tuple[str, ...] = SYMBOLS, **kw: Any
) -> CoinbaseFeedHandler:
    config = FeedConfig(venue="coinbase", symbols=symbols, ws_url=server.ws_url, **kw)
    return CoinbaseFeedHandler(config, sinks=[sink], backoff=Backoff(initial_s=0.01, max_s=0.05))


@asynccontextmanager
async def running(
    handler: CoinbaseFeedHandler, server: CoinbaseServer
) -> AsyncIterator[asyncio.Task[None]]:
    """Run the handler until the block ends; enter once it is live and the server subscribed it."""
    task = asyncio.create_task(handler.run())
    try:
        await until(
            lambda: (
                task.done()
                or (handler.state is FeedState.LIVE and any(c.subs for c in server.clients))
            )
        )
        yield task
    finally:
        handler.stop()
        await asyncio.wait_for(task, 4.0)


def book_of(handler: CoinbaseFeedHandler, symbol: str) -> tuple[list[Any], list[Any]]:
    book = handler.books[symbol].book
    return book.depth(book.bid_count() + book.ask_count())


def wire_trade(trade: Trade) -> tuple[str, str, float, float, int]:
    return trade.trade_id, trade.side.value, trade.price, trade.qty, trade.ts


def sent_trade(msg: dict[str, Any]) -> tuple[str, str, float, float, int]:
    aggressor = "buy" if msg["side"] == "sell" else "sell"
    ts = coinbase.parse_time(msg["time"])
    return str(msg["trade_id"]), aggressor, float(msg["price"]), float(msg["size"]), ts


async def test_normal_stream_records_what_the_server_sent(tmp_path: Path) -> None:
    rng = random.Random(3)
    sink = ListSink()
    async with CoinbaseServer(heartbeat_interval_s=0.05) as server:
        before = server.make_trade("BTC-USD")  # comes back as last_match
        with JournalWriter(tmp_path) as journal:
            handler = make_handler(server, sink)
            handler.sinks.append(JournalSink(journal))
            async with running(handler, server):
                sent = [before]
                for i in range(120):
                    symbol = SYMBOLS[i % 2]
                    await server.random_update(symbol, rng)
                    if i % 3 == 0:
                        taker = rng.choice(("buy", "sell"))
                        sent.append(await server.trade(symbol, taker_side=taker, size=i + 1))
                await until(lambda: len(sink.trades) == len(sent) and len(sink.books) == 122)
                await until(lambda: handler.heartbeats >= 4)
                books = {s: book_of(handler, s) for s in SYMBOLS}
        assert {s: server.book(s) for s in SYMBOLS} == books
    assert [wire_trade(t) for t in sink.trades] == [sent_trade(m) for m in sent]
    assert [t.instrument.symbol for t in sink.trades] == [m["product_id"] for m in sent]
    assert sink.quality == [] and handler.parse_errors == 0
    assert sink.crossed == 0
    for symbol in SYMBOLS:
        seqs = [u.seq for u in sink.books if u.instrument.symbol == symbol]
        assert seqs == list(range(1, 62))  # numbered here: snapshot 1, then each delta
    records = list(JournalReader(tmp_path))
    assert sum(isinstance(r, Trade) for r in records) == len(sent)
    assert sum(isinstance(r, BookUpdate) for r in records) == 122
    assert server.requests[0]["channels"] == ["matches", "level2_batch", "heartbeat"]


async def test_aggressor_side_is_the_opposite_of_the_makers_side() -> None:
    sink = ListSink()
    async with CoinbaseServer() as server:
        handler = make_handler(server, sink, symbols=("BTC-USD",), channels=("trades",))
        async with running(handler, server):
            bought = await server.trade("BTC-USD", taker_side="buy")
            sold = await server.trade("BTC-USD", taker_side="sell")
            await until(lambda: len(sink.trades) == 2)
    assert (bought["side"], sold["side"]) == ("sell", "buy")  # Coinbase sends the maker's
    assert [t.side for t in sink.trades] == [Side.BUY, Side.SELL]
    assert server.requests[0]["channels"] == ["matches", "heartbeat"]
    assert handler.books == {}


async def test_lost_match_is_a_gap_on_the_trades_stream() -> None:
    sink = ListSink()
    async with CoinbaseServer() as server:
        handler = make_handler(server, sink)
        async with running(handler, server):
            first = await server.trade("BTC-USD")
            await server.trade("BTC-USD", lose=True)
            await server.trade("BTC-USD", lose=True)
            last = await server.trade("BTC-USD")
            await until(lambda: len(sink.trades) == 2)
    assert [t.trade_id for t in sink.trades] == [str(first["trade_id"]), str(last["trade_id"])]
    [gap] = sink.quality
    assert (gap.channel, gap.symbol, gap.kind) == ("trades", "BTC-USD", GAP)
    expected = first["trade_id"] + 1
    assert gap.details == {"expected": expected, "seen": last["trade_id"], "missing": 2}


async def test_lost_book_update_is_a_gap_and_the_book_resyncs() -> None:
    sink = ListSink()
    registry = CollectorRegistry()
    async with CoinbaseServer() as server:
        config = FeedConfig(venue="coinbase", symbols=SYMBOLS, ws_url=server.ws_url)
        handler = CoinbaseFeedHandler(
            config,
            sinks=[sink],
            metrics=FeedMetrics(registry),
            backoff=Backoff(initial_s=0.01, max_s=0.05),
        )
        async with running(handler, server):
            best_ask = server.book("BTC-USD")[1][0][0]
            await server.update("BTC-USD", asks=[(best_ask, 0)], lose=True)
            await server.update("BTC-USD", bids=[(best_ask, 1.5)])  # crosses the stale book
            await until(lambda: RESYNC in sink.kinds("book"))
            await server.update("BTC-USD", asks=[(best_ask + 7, 2)])
            await server.update("ETH-USD", bids=[(1.0, 1)])
            await until(lambda: book_of(handler, "BTC-USD") == server.book("BTC-USD"))
            await until(lambda: book_of(handler, "ETH-USD") == server.book("ETH-USD"))
    kinds = sink.kinds("book")
    assert kinds == [DataQualityKind.CROSSED_BOOK, GAP, RESYNC]
    assert sink.kinds("book", "ETH-USD") == []  # only the crossed product resynced
    assert [(r["type"], r["product_ids"], r["channels"]) for r in server.requests[1:]] == [
        ("unsubscribe", ["BTC-USD"], ["level2_batch"]),
        ("subscribe", ["BTC-USD"], ["level2_batch"]),
    ]
    assert server.connections == 1
    labels = {"venue": "coinbase", "channel": "book", "symbol": "BTC-USD"}
    assert registry.get_sample_value("serenity_fh_gaps_total", labels) == 1


async def test_dropped_connection_reconnects_resubscribes_and_resyncs() -> None:
    rng = random.Random(9)
    sink = ListSink()
    async with CoinbaseServer() as server:
        handler = make_handler(server, sink)
        async with running(handler, server):
            seen = await server.trade("BTC-USD")
            await until(lambda: len(sink.trades) == 1)
            await server.drop()
            for _ in range(5):
                server.make_random_update("BTC-USD", rng)  # while we are away
            server.make_trade("BTC-USD")
            missed = server.make_trade("BTC-USD")
            await until(lambda: server.connections == 2 and handler.state is FeedState.LIVE)
            await server.random_update("BTC-USD", rng)
            await until(lambda: book_of(handler, "BTC-USD") == server.book("BTC-USD"))
    assert [r["type"] for r in server.requests] == ["subscribe", "subscribe"]
    reconnects = sorted((e.channel, e.symbol) for e in sink.quality if e.kind is RECONNECT)
    assert reconnects == sorted((c, s) for c in ("trades", "book") for s in SYMBOLS)
    assert all(
        e.details["reason"].startswith("closed") for e in sink.quality if e.kind is RECONNECT
    )
    assert sink.kinds("book") == [RECONNECT, RESYNC]
    assert sink.kinds("trades") == [RECONNECT, GAP]  # the last_match told us what we missed
    gap = next(e for e in sink.quality if e.kind is GAP)
    assert gap.details == {
        "expected": seen["trade_id"] + 1,
        "seen": missed["trade_id"],
        "missing": 1,
    }
    assert sink.trades[-1].trade_id == str(missed["trade_id"])


async def test_stalled_connection_is_closed_and_reopened() -> None:
    sink = ListSink()
    async with CoinbaseServer(heartbeat_interval_s=0.05) as server:
        handler = make_handler(server, sink, stall_timeout_s=0.3, heartbeat_s=5.0)
        async with running(handler, server):
            await until(lambda: handler.heartbeats >= 2)
            server.stall()
            await until(lambda: server.connections == 2 and handler.state is FeedState.LIVE)
            await server.update("BTC-USD", bids=[(1.0, 3)])
            await until(lambda: book_of(handler, "BTC-USD") == server.book("BTC-USD"))
    reasons = {e.details["reason"] for e in sink.quality if e.kind is RECONNECT}
    assert reasons == {"stalled: no frame for 0.3 s"}
    assert sink.kinds("book") == [RECONNECT, RESYNC]


async def test_peer_that_stops_answering_pings_is_reconnected() -> None:
    sink = ListSink()
    async with CoinbaseServer(heartbeat_interval_s=10.0) as server:
        handler = make_handler(server, sink, stall_timeout_s=30.0, heartbeat_s=0.1)
        async with running(handler, server):
            server.stall()
            await until(lambda: server.connections == 2 and handler.state is FeedState.LIVE)
    reasons = {e.details["reason"] for e in sink.quality if e.kind is RECONNECT}
    assert len(reasons) == 1 and reasons.pop().startswith("error: No PONG")


async def test_malformed_json_and_unknown_types_are_kept_counted_and_skipped(
    tmp_path: Path,
) -> None:
    sink = ListSink()
    bad = ["{not json", '{"type": "mystery", "product_id": "BTC-USD"}', "[1, 2]"]
    async with CoinbaseServer() as server:
        with JournalWriter(tmp_path) as journal:
            handler = make_handler(server, sink)
            handler.sinks.append(JournalSink(journal))
            async with running(handler, server):
                for text in bad:
                    await server.send_raw(text)
                ticker = json.loads((COINBASE_DATA / "ws" / "ticker.json").read_text())
                await server.send_raw(json.dumps(ticker))
                trade = await server.trade("ETH-USD")
                await until(lambda: len(sink.trades) == 1)
    assert handler.parse_errors == 3 and handler.ignored >= 2  # the ack and the ticker
    assert [r.data for r in sink.raw] == [t.encode() for t in bad]
    assert [e.kind for e in sink.quality] == [DataQualityKind.PARSE_ERROR] * 3
    assert "unknown message type 'mystery'" in sink.quality[1].details["error"]
    assert sink.trades[0].trade_id == str(trade["trade_id"])
    raw = list(JournalReader(tmp_path, channel="raw"))
    assert [r.data for r in raw if isinstance(r, RawFrame)] == [t.encode() for t in bad]


async def test_refused_subscription_ends_run_with_the_venues_reason() -> None:
    async with CoinbaseServer() as server:
        handler = make_handler(server, ListSink(), symbols=("BTC-USDD",))
        with pytest.raises(VenueError) as caught:
            await asyncio.wait_for(handler.run(), 4.0)
    assert str(caught.value) == (
        "coinbase: subscription refused: Failed to subscribe: BTC-USDD is not a valid product"
    )
    assert caught.value.code == "Failed to subscribe"
    assert handler.state is FeedState.STOPPED


async def test_server_refusal_of_a_channel_is_a_venue_error() -> None:
    async with CoinbaseServer() as server:
        server.refusal = "level2_batch is paused"
        with pytest.raises(VenueError, match="coinbase: .*level2_batch is paused"):
            await asyncio.wait_for(make_handler(server, ListSink()).run(), 4.0)


async def test_unknown_symbol_is_refused_before_connecting() -> None:
    async with CoinbaseServer() as server:
        catalog = await fetch_catalog("coinbase", base_url=server.rest_url)
        config = FeedConfig(venue="coinbase", symbols=("BTC-USDD",), ws_url=server.ws_url)
        with pytest.raises(
            UnknownSymbolError, match="'BTC-USDD' on coinbase; did you mean BTC-USD"
        ):
            handler_class("coinbase")(config, catalog=catalog)
        assert server.connections == 0
        handler_class("coinbase")(
            FeedConfig(venue="coinbase", symbols=SYMBOLS, ws_url=server.ws_url), catalog=catalog
        )


# -- sans-I/O ------------------------------------------------------------------------------


def offline(channels: tuple[str, ...] = ("trades", "book")) -> tuple[CoinbaseFeedHandler, ListSink]:
    sink = ListSink()
    config = FeedConfig(
        venue="coinbase", symbols=SYMBOLS, ws_url="ws://127.0.0.1:1", channels=channels
    )
    return CoinbaseFeedHandler(config, sinks=[sink]), sink


def test_subscription_names_the_channels_of_the_config() -> None:
    assert offline(("book",))[0].subscriptions() == [
        subscribe_frame(SYMBOLS, ["level2_batch", "heartbeat"])
    ]
    assert json.loads(offline()[0].subscriptions()[0]) == {
        "type": "subscribe",
        "product_ids": list(SYMBOLS),
        "channels": ["matches", "level2_batch", "heartbeat"],
    }


def test_subscription_has_the_documented_shape() -> None:
    documented = json.loads((COINBASE_DATA / "ws" / "subscribe.json").read_text())
    ours = json.loads(offline()[0].subscriptions()[0])

    assert ours.keys() == documented.keys() and ours["type"] == documented["type"]
    assert all(isinstance(c, str) for c in ours["channels"])  # the documented name form


def test_errors_after_the_acknowledgement_are_not_fatal() -> None:
    handler, sink = offline()
    handler.on_connected(1)
    handler.on_frame('{"type": "subscriptions", "channels": []}', 2)
    handler.on_frame('{"type": "error", "message": "ErrSlowConsume", "reason": "too slow"}', 3)
    handler.on_disconnected(4, "closed (code 1000)")

    reasons = {e.details["reason"] for e in sink.quality}
    assert reasons == {"closed (code 1000); venue said: ErrSlowConsume: too slow"}
    with pytest.raises(VenueError, match="Failed to subscribe: nope"):
        handler.on_frame('{"type": "error", "message": "Failed to subscribe", "reason": "nope"}', 5)


def test_duplicate_matches_are_dropped_and_stray_products_refused() -> None:
    handler, sink = offline(("trades",))
    match = {
        "type": "match",
        "trade_id": 7,
        "product_id": "BTC-USD",
        "side": "buy",
        "price": "1",
        "size": "2",
        "time": "2024-01-02T03:04:05.000006Z",
    }
    handler.on_frame(json.dumps(match), 1)
    handler.on_frame(json.dumps(match | {"type": "last_match"}), 2)
    handler.on_frame(json.dumps(match | {"product_id": "SOL-USD"}), 3)
    handler.on_frame(
        json.dumps({"type": "snapshot", "product_id": "BTC-USD", "bids": [], "asks": []}), 4
    )

    assert [t.trade_id for t in sink.trades] == ["7"] and handler.duplicate_trades == 1
    assert sink.trades[0].ts == 1_704_164_645_000_006_000
    assert handler.parse_errors == 2
    assert "whose book is not recorded" in sink.quality[-1].details["error"]


def test_a_crossed_snapshot_is_taken_as_the_venues_book() -> None:
    handler, sink = offline(("book",))
    snapshot = {
        "type": "snapshot",
        "product_id": "BTC-USD",
        "bids": [["101", "1"]],
        "asks": [["100", "1"]],
    }
    handler.on_frame(json.dumps(snapshot), 1)  # e.g. auction mode
    handler.on_frame(
        json.dumps(
            {
                "type": "l2update",
                "product_id": "BTC-USD",
                "time": "2024-01-02T03:04:05.1Z",
                "changes": [["buy", "102", "1"]],
            }
        ),
        2,
    )

    assert handler.take_resubscriptions() == [] and handler.is_synced() is False  # ETH waits
    assert sink.kinds("book") == [DataQualityKind.CROSSED_BOOK]


def test_frames_for_the_wrong_shape_are_data_errors() -> None:
    handler, _ = offline()
    with pytest.raises(DataError, match="unknown message type None"):
        handler.handle("[]", 1)
    with pytest.raises(DataError, match="unknown match side"):
        handler.handle(
            json.dumps(
                {
                    "type": "match",
                    "trade_id": 1,
                    "product_id": "BTC-USD",
                    "side": "x",
                    "price": "1",
                    "size": "1",
                    "time": "2024-01-02T03:04:05.1Z",
                }
            ),
            1,
        )


# -- the 2021 capture ------------------------------------------------------------------------


@pytest.mark.captures
def test_2021_capture_replays_through_the_handler(captures_dir: Path) -> None:
    lines = (captures_dir / "COINBASE.ws.28.0").read_text().splitlines()
    sent = next(json.loads(line.split(": ", 1)[1]) for line in lines if " <- " in line)
    sink = ListSink()
    config = FeedConfig(venue="coinbase", symbols=tuple(sent["product_ids"]), ws_url="wss://x")
    catalog = coinbase.parse_products(read_capture(captures_dir, "COINBASE.0"))
    handler = CoinbaseFeedHandler(config, sinks=[sink], catalog=catalog)  # checks every price
    handler.on_connected(0)
    for line in lines:
        head, sep, body = line.partition(": ")
        if sep and " " not in head:
            handler.on_frame(body, int(float(head) * 1e9))

    assert handler.parse_errors == 0 and sink.raw == [] and handler.implausible == 0
    assert handler.trades == 107 and handler.book_updates == 10 + 9719
    assert handler.ignored == 107 + 3  # tickers and acknowledgements
    assert handler.is_synced()
    assert sink.quality == [] and sink.crossed == 0
    assert all(t.price > 0 and t.qty > 0 for t in sink.trades)
    assert all(p > 0 and q >= 0 for u in sink.books for p, q in (*u.bids, *u.asks))
    assert {t.side for t in sink.trades} == {Side.BUY, Side.SELL}


# -- hostile input (issue 9) --------------------------------------------------------------------


def match(trade_id: int, *, kind: str = "match", price: str = "100.0") -> str:
    msg = {"type": kind, "trade_id": trade_id, "product_id": "BTC-USD", "side": "buy"}
    msg |= {"price": price, "size": "1", "time": "2024-01-02T03:04:05.000006Z"}
    return json.dumps(msg)


def heartbeat(last_trade_id: int) -> str:
    msg = {"type": "heartbeat", "product_id": "BTC-USD", "sequence": 1}
    msg |= {"last_trade_id": last_trade_id, "time": "2024-01-02T03:04:05.1Z"}
    return json.dumps(msg)


def test_a_trade_id_near_the_integer_limit_does_not_silence_later_trades() -> None:
    # defect 1: trade_id 2**64 - 1 was accepted and every later trade dropped as a duplicate
    handler, sink = offline(("trades",))
    for frame in [match(1001), match(1002), match(2**64 - 1), match(1003), match(1004)]:
        handler.on_frame(frame, 1)

    assert [t.trade_id for t in sink.trades] == ["1001", "1002", "1003", "1004"]
    assert handler.duplicate_trades == 0 and handler.parse_errors == 1
    assert "implausible trade id 18446744073709551615" in sink.quality[0].details["error"]


def test_trades_dropped_as_duplicates_in_a_row_are_a_stuck_stream_and_are_republished() -> None:
    handler, sink = offline(("trades",))
    handler.on_frame(match(1001), 1)
    handler.on_frame(match(6001), 2)  # plausible, but wrong: a gap of 4,999
    for trade_id in range(1002, 1002 + 50):  # the real trades, all "duplicates"
        handler.on_frame(match(trade_id), 3)
    handler.on_frame(match(1052), 4)

    assert [t.trade_id for t in sink.trades] == ["1001", "6001", *map(str, range(1002, 1053))]
    assert sink.kinds("trades") == [GAP, DataQualityKind.STUCK]
    assert sink.quality[1].details["republished"] == 50


def test_the_venues_heartbeat_and_last_match_restart_a_tracker_that_ran_ahead() -> None:
    handler, sink = offline(("trades",))
    handler.on_frame(match(1001), 1)
    handler.on_frame(match(9001), 2)  # ran ahead
    handler.on_frame(heartbeat(1001), 3)  # the venue: its last trade is 1001
    handler.on_frame(match(1002), 4)
    handler.on_frame(match(9500), 5)  # ran ahead again
    handler.on_disconnected(6, "closed (code 1006)")
    handler.on_connected(7)
    handler.on_frame(match(1002, kind="last_match"), 8)  # after resubscribing
    handler.on_frame(match(1003), 9)

    ids = [t.trade_id for t in sink.trades]
    assert ids == ["1001", "9001", "1002", "9500", "1002", "1003"]
    resyncs = [e for e in sink.quality if e.kind is RESYNC]
    assert [(e.details["last"], e.details["seen"]) for e in resyncs] == [(9001, 1001), (9500, 1002)]


def test_absurd_prices_are_journalled_raw_and_not_recorded() -> None:
    handler, sink = offline(("trades",))
    handler.on_frame(match(1001, price="42000.00"), 1)
    handler.on_frame(match(1002, price="1e308"), 2)
    handler.on_frame(match(1003, price="0.0001"), 3)
    handler.on_frame(match(1004, price="42001.00"), 4)

    assert [t.price for t in sink.trades] == [42000.0, 42001.0]
    assert handler.implausible == 2 and len(sink.raw) == 2
    assert sink.kinds("trades") == [GAP]  # 1002 and 1003 are not in the recorded data


def test_an_implausible_level_resubscribes_the_book_and_is_kept_raw() -> None:
    sink = ListSink()
    config = FeedConfig(venue="coinbase", symbols=("BTC-USD",), ws_url="ws://127.0.0.1:1")
    catalog = coinbase.parse_products(payload("coinbase", "products"))  # tick 0.01
    handler = CoinbaseFeedHandler(config, sinks=[sink], catalog=catalog)
    snap = coinbase.format_snapshot("BTC-USD", [("100.00", "1")], [("100.50", "1")])
    handler.on_frame(json.dumps(snap), 1)
    bad = coinbase.format_l2update("BTC-USD", 2, bids=[("99.99501", "3")])
    handler.on_frame(json.dumps(bad), 2)

    assert sink.kinds("book") == [GAP] and sink.quality[0].details["reason"] == (
        "implausible book update"
    )
    assert "not on the tick grid" in sink.quality[1].details["error"] and len(sink.raw) == 1
    assert handler.take_resubscriptions() == [
        unsubscribe_frame(["BTC-USD"], ["level2_batch"]),
        subscribe_frame(["BTC-USD"], ["level2_batch"]),
    ]


# -- trade-id gaps backfilled from GET /products/{id}/trades ------------------------------------


def backfilling(server: CoinbaseServer, sink: ListSink, **kw: Any) -> CoinbaseFeedHandler:
    handler = make_handler(
        server, sink, symbols=("BTC-USD",), channels=("trades",), rest_url=server.rest_url, **kw
    )
    if handler.backfill is not None:
        handler.backfill.interval_s = 0.0
        handler.backfill.retry_delay_s = 0.0
    return handler


def backfills(sink: ListSink) -> list[DataQualityEvent]:
    """Return the ``resync`` events that report trades backfilled from REST."""
    return [e for e in sink.quality if e.kind is RESYNC and e.details.get("source") == "rest"]


def gaps(sink: ListSink) -> list[DataQualityEvent]:
    return [e for e in sink.quality if e.kind is GAP]


async def test_trade_ids_skipped_over_a_reconnect_are_backfilled_once_and_splay_in_order(
    tmp_path: Path,
) -> None:
    sink = ListSink()
    async with CoinbaseServer(heartbeat_interval_s=0.05) as server:
        with JournalWriter(tmp_path / "journal") as journal:
            handler = backfilling(server, sink)
            handler.sinks.append(JournalSink(journal))
            async with running(handler, server):
                for taker in ("buy", "sell", "buy"):
                    await server.trade("BTC-USD", taker_side=taker)
                await until(lambda: len(sink.trades) == 3)
                await server.drop()
                for taker in ("sell", "buy", "sell", "buy"):  # while we are away
                    server.make_trade("BTC-USD", taker_side=taker, size=0.02)
                await until(lambda: server.connections == 2 and handler.state is FeedState.LIVE)
                for _ in range(2):
                    await server.trade("BTC-USD", taker_side="sell")
                await until(lambda: len(sink.trades) == 9 and backfills(sink))
                await server.trade("BTC-USD")  # the stream goes on after the backfill
                await until(lambda: len(sink.trades) == 10)

    sent = {m["trade_id"]: m for m in server.history["BTC-USD"]}
    assert sorted(int(t.trade_id) for t in sink.trades) == sorted(sent)  # each id once
    for t in sink.trades:  # a backfilled trade equals the streamed one, aggressor side too
        assert wire_trade(t) == sent_trade(sent[int(t.trade_id)])
    first_lost = min(sent) + 3
    # the last_match after subscribing was the newest lost trade: the three before it are a gap
    (gap,) = gaps(sink)
    assert gap.details == {"expected": first_lost, "seen": first_lost + 3, "missing": 3}
    (backfill,) = backfills(sink)
    assert (backfill.channel, backfill.symbol) == ("trades", "BTC-USD")
    assert backfill.details == {
        "first": first_lost,
        "last": first_lost + 2,
        "count": 3,
        "source": "rest",
        "reason": "backfill",
    }
    assert server.history_requests == [{"after": str(first_lost + 3), "limit": "3"}]

    day = dt.datetime.fromtimestamp(sink.trades[0].ts / 1e9, dt.UTC).date()
    store = f"file://{tmp_path / 'store'}"
    splay_day(tmp_path / "journal", store, day)
    frame = open_tickstore(store, "COINBASE_TRADES").select("BTC-USD", 0, 2**62)
    assert frame["trade_id"].tolist() == [str(i) for i in sorted(sent)]


async def test_a_rest_error_leaves_a_gap_naming_the_missing_ids_and_the_stream_goes_on() -> None:
    sink = ListSink()
    async with CoinbaseServer() as server:
        # a 5XX is retried twice: three failures in a row leave the ids missing
        server.fail_history(3, status=503, body={"message": "Service Unavailable"})
        handler = backfilling(server, sink)
        async with running(handler, server):
            first = await server.trade("BTC-USD")
            for _ in range(2):
                await server.trade("BTC-USD", lose=True)
            await server.trade("BTC-USD")
            await until(lambda: len(gaps(sink)) == 2)
            last = await server.trade("BTC-USD")
            await until(lambda: sink.trades[-1].trade_id == str(last["trade_id"]))

    detected, lost = gaps(sink)
    assert detected.details["missing"] == 2
    lo = first["trade_id"] + 1
    assert (lost.symbol, lost.details["first"], lost.details["last"]) == ("BTC-USD", lo, lo + 1)
    assert lost.details["missing"] == 2
    assert "503" in lost.details["reason"] and "Service Unavailable" in lost.details["reason"]
    assert backfills(sink) == [] and handler.backfill is not None
    assert handler.backfill.errors == handler.backfill.requests == 3
    assert [int(t.trade_id) for t in sink.trades] == [lo - 1, lo + 2, lo + 3]


async def test_a_gap_larger_than_the_cap_is_backfilled_up_to_the_cap() -> None:
    sink = ListSink()
    async with CoinbaseServer() as server:
        handler = backfilling(server, sink, backfill_max_ids=2)
        async with running(handler, server):
            first = await server.trade("BTC-USD")
            for _ in range(4):
                await server.trade("BTC-USD", lose=True)
            await server.trade("BTC-USD")
            await until(lambda: backfills(sink))

    lo = first["trade_id"] + 1
    assert [int(t.trade_id) for t in sink.trades] == [lo - 1, lo + 4, lo, lo + 1]  # in id order
    detected, beyond_cap = gaps(sink)
    assert detected.details["missing"] == 4
    assert (beyond_cap.details["first"], beyond_cap.details["last"]) == (lo + 2, lo + 3)
    assert "more than 2 ids" in beyond_cap.details["reason"]
    assert backfills(sink)[0].details["count"] == 2


async def test_backfill_off_only_records_the_gap() -> None:
    sink = ListSink()
    async with CoinbaseServer() as server:
        handler = backfilling(server, sink, backfill=False)
        assert handler.backfill is None
        async with running(handler, server):
            await server.trade("BTC-USD")
            await server.trade("BTC-USD", lose=True)
            await server.trade("BTC-USD")
            await until(lambda: len(sink.trades) == 2)
    assert [e.kind for e in sink.quality] == [GAP] and server.history_requests == []


def test_a_product_trade_parses_as_the_streamed_match_of_the_same_id() -> None:
    match = {
        "type": "match",
        "trade_id": 74,
        "sequence": 50,
        "maker_order_id": "a",
        "taker_order_id": "b",
        "time": "2014-11-07T22:19:28.578544Z",
        "product_id": "BTC-USD",
        "size": "0.01000000",
        "price": "10.00000000",
        "side": "buy",
    }
    rest = {k: match[k] for k in ("time", "trade_id", "price", "size", "side")}

    assert coinbase.parse_product_trade("BTC-USD", rest) == coinbase.parse_match(match)
    assert coinbase.parse_product_trade("BTC-USD", rest)[3] is Side.SELL  # the maker bought
    with pytest.raises(DataError):
        coinbase.parse_product_trade("BTC-USD", {**rest, "side": "up"})
