"""BinanceFeedHandler against the loopback Binance venue, sans-I/O, and on the 2021 capture."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry

from serenity.errors import ConfigError, DataError, UnknownSymbolError, VenueError
from serenity.exchange import binance
from serenity.marketdata import (
    BookUpdate,
    DataQualityEvent,
    DataQualityKind,
    JournalReader,
    JournalWriter,
    Trade,
)
from serenity.marketdata.batch import splay_day
from serenity.marketdata.fh import Backoff, FeedConfig, FeedMetrics, FeedState, JournalSink
from serenity.marketdata.fh.binance import BinanceFeedHandler
from serenity.marketdata.fh.registry import handler_class
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import Side
from tests.marketdata.fh.toy import ListSink as BaseSink
from tests.polling import until
from tests.venues import payload, read_capture

from .binance_server import BinanceServer, random_change

SYMBOLS = ("BTCUSDT", "ETHBTC")


class ListSink(BaseSink):
    """The shared sink; ``kinds(symbol)`` takes the symbol first."""


def feed(
    server: BinanceServer,
    sinks: Sequence[Any],
    *,
    symbols: tuple[str, ...] = SYMBOLS,
    **config: Any,
) -> BinanceFeedHandler:
    settings: dict[str, Any] = {"heartbeat_s": 0.5, "stall_timeout_s": 2.0} | config
    handler = BinanceFeedHandler(
        FeedConfig(
            venue="binance",
            symbols=symbols,
            ws_url=server.ws_url,
            rest_url=server.rest_url,
            **settings,
        ),
        sinks=sinks,
        metrics=FeedMetrics(CollectorRegistry()),
        backoff=Backoff(initial_s=0.01, max_s=0.05),
    )
    handler.snapshot_delay_s = 0.02
    return handler


@contextlib.asynccontextmanager
async def running(handler: BinanceFeedHandler) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(handler.run())
    try:
        yield task
    finally:
        handler.stop()
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def server() -> AsyncIterator[BinanceServer]:
    async with BinanceServer(SYMBOLS, ping_interval_s=0.05) as venue:
        yield venue


def books_match(handler: BinanceFeedHandler, server: BinanceServer) -> bool:
    """Return True when every book is live and equal to the server's, level for level."""
    for symbol, sync in handler.books.items():
        truth = server.books[symbol]
        if not sync.is_live or sync.book.seq != truth.last_update_id:
            return False
        if sync.book.depth(10_000) != truth.levels():
            return False
    return True


async def churn(server: BinanceServer, rng: random.Random, n: int, *, trades: bool = True) -> None:
    """Send ``n`` depth updates (some covering several ids) and a trade every third one."""
    for i in range(n):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        await server.update(symbol, *random_change(rng), span=rng.randint(1, 3))
        if trades and i % 3 == 0:
            price = round(100 + rng.randint(-20, 20) * 0.01, 2)
            await server.trade(symbol, price, rng.randint(1, 900) / 100, is_buyer_maker=i % 2 == 0)


async def synced(handler: BinanceFeedHandler, server: BinanceServer, connections: int = 1) -> None:
    await until(lambda: server.connections == connections, what=f"connection {connections}")
    await until(lambda: len(server.subscribed()) == 2 * len(handler.books), what="subscriptions")
    await until(handler.is_synced, what="books in sync")


async def test_normal_stream_records_what_the_server_sent(
    server: BinanceServer, tmp_path: Path
) -> None:
    sink = ListSink()
    rng = random.Random(1)
    with JournalWriter(tmp_path / "journal") as journal:
        handler = feed(server, [sink, JournalSink(journal)])
        async with running(handler):
            await until(lambda: len(server.subscribed()) == 4, what="subscriptions")
            await churn(server, rng, 20, trades=False)  # buffered until the snapshots
            await until(handler.is_synced, what="books in sync")
            await churn(server, rng, 300)
            await until(
                lambda: (
                    books_match(handler, server) and len(sink.trades) == len(server.sent_trades)
                ),
                what="every update and trade",
            )
            assert handler.state is FeedState.LIVE
        assert handler.state is FeedState.STOPPED

    sent = [
        (e["s"], str(e["t"]), float(e["p"]), float(e["q"]), e["T"] * 1_000_000)
        for e in server.sent_trades
    ]
    got = [(t.instrument.symbol, t.trade_id, t.price, t.qty, t.ts) for t in sink.trades]
    assert got == sent
    assert sink.quality == [] and sink.raw == [] and sink.crossed == 0
    assert handler.parse_errors == 0 and handler.snapshots == 2
    assert handler.metrics is not None
    sample = handler.metrics.registry.get_sample_value
    per_symbol = [
        sample("serenity_fh_trades_total", {"venue": "binance", "symbol": s}) for s in SYMBOLS
    ]
    assert sum(per_symbol) == len(sent)
    lag_count = sample("serenity_fh_receive_lag_seconds_count", {"venue": "binance"})
    assert lag_count == len(sent)
    records = list(JournalReader(tmp_path / "journal"))
    assert sum(isinstance(r, Trade) for r in records) == len(sent)
    assert sum(isinstance(r, BookUpdate) for r in records) == handler.book_updates
    assert sum(isinstance(r, BookUpdate) and r.is_snapshot for r in records) == 2


async def test_trade_side_is_the_aggressors_per_binances_buyer_is_maker_flag(
    server: BinanceServer,
) -> None:
    sink = ListSink()
    handler = feed(server, [sink], channels=("trades",))
    async with running(handler):
        await until(lambda: len(server.subscribed()) == 2, what="subscriptions")
        await server.trade("BTCUSDT", 100.5, 1.0, is_buyer_maker=True)  # a seller hit the bid
        await server.trade("BTCUSDT", 100.6, 2.0, is_buyer_maker=False)  # a buyer lifted the ask
        await until(lambda: len(sink.trades) == 2, what="two trades")

    assert [(t.side, t.price) for t in sink.trades] == [(Side.SELL, 100.5), (Side.BUY, 100.6)]
    assert server.snapshot_requests == 0  # trades only: no books, no snapshots


async def test_sequence_gap_records_gap_and_resync_and_rebuilds_the_book(
    server: BinanceServer,
) -> None:
    sink = ListSink()
    rng = random.Random(2)
    handler = feed(server, [sink])
    async with running(handler):
        await synced(handler, server)
        await churn(server, rng, 50)
        server.skip_updates("BTCUSDT")
        await churn(server, rng, 100)
        await until(lambda: books_match(handler, server), what="books resynced and equal")

    assert sink.kinds("BTCUSDT") == [DataQualityKind.GAP, DataQualityKind.RESYNC]
    assert sink.kinds("ETHBTC") == []
    gap = sink.quality[0]
    assert gap.channel == "book" and gap.details["seen"] > gap.details["expected"]
    assert handler.books["BTCUSDT"].resyncs == 1 and server.snapshot_requests == 3
    assert sink.crossed == 0


async def test_dropped_connection_reconnects_resubscribes_and_resyncs(
    server: BinanceServer,
) -> None:
    sink = ListSink()
    rng = random.Random(3)
    handler = feed(server, [sink])
    async with running(handler):
        await synced(handler, server)
        await churn(server, rng, 60)
        await until(lambda: len(sink.trades) == len(server.sent_trades), what="trades")
        await server.drop()
        await churn(server, rng, 30)  # lost on the wire; the snapshot will cover the book
        await synced(handler, server, connections=2)
        await churn(server, rng, 60)
        await until(lambda: books_match(handler, server), what="books resynced and equal")
        await until(
            lambda: len(sink.trades) == len(server.sent_trades),
            what="every trade, those lost in the drop backfilled",
        )

    got = sorted((t.instrument.symbol, int(t.trade_id)) for t in sink.trades)
    assert got == sorted((e["s"], e["t"]) for e in server.sent_trades)  # each once

    reconnects = {
        (e.symbol, e.channel) for e in sink.quality if e.kind is DataQualityKind.RECONNECT
    }
    assert reconnects == {(s, c) for s in SYMBOLS for c in ("trades", "book")}
    assert sink.kinds(channel="book").count(DataQualityKind.RESYNC) == 2
    assert set(sink.kinds()) == {
        DataQualityKind.RECONNECT,
        DataQualityKind.RESYNC,
        DataQualityKind.GAP,
    }
    assert backfills(sink) and all(e.channel == "trades" for e in backfills(sink))
    subscribes = [r for r in server.requests if r["method"] == "SUBSCRIBE"]
    assert len(subscribes) == 2 and subscribes[0]["params"] == subscribes[1]["params"]
    assert handler.connection.connects == 2


async def test_stalled_connection_is_closed_and_reopened(server: BinanceServer) -> None:
    sink = ListSink()
    handler = feed(server, [sink], heartbeat_s=0.1, stall_timeout_s=2.0)
    async with running(handler):
        await synced(handler, server)
        server.stall()  # no events, no replies to keepalives, no pongs
        await synced(handler, server, connections=2)

    reasons = {e.details["reason"] for e in sink.quality if e.kind is DataQualityKind.RECONNECT}
    assert sink.kinds().count(DataQualityKind.RECONNECT) == 4
    assert len(reasons) == 1 and "No PONG received" in reasons.pop()
    assert sink.kinds(channel="book").count(DataQualityKind.RESYNC) == 2


async def test_a_quiet_connection_is_kept_alive_by_keepalive_replies(
    server: BinanceServer,
) -> None:
    handler = feed(server, [ListSink()], heartbeat_s=0.05, stall_timeout_s=0.3)
    async with running(handler):
        await synced(handler, server)
        await until(lambda: handler.replies >= 15, what="keepalive replies over ~0.75 s")
        await until(lambda: server.pongs >= 3, what="pongs to the server's pings")
        assert server.connections == 1 and handler.connection.connects == 1

    keepalives = [r for r in server.requests if r["method"] == "GET_PROPERTY"]
    assert keepalives and all(r["id"] == 0 for r in keepalives)


async def test_malformed_and_unknown_frames_are_kept_counted_and_not_fatal(
    server: BinanceServer,
) -> None:
    sink = ListSink()
    handler = feed(server, [sink])
    bad = [
        "{not json",
        '{"stream": "btcusdt@mystery", "data": {"e": "mystery", "E": 1}}',
        "[1, 2]",
        '{"stream": "btcusdt@trade", "data": {"e": "trade", "s": "BTCUSDT", "p": "x"}}',
    ]
    kline = {"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": 1, "s": "BTCUSDT"}}
    async with running(handler):
        await synced(handler, server)
        for text in bad:
            await server.send_raw(text)
        await server.send_raw(json.dumps(kline))  # a stream we do not record: ignored
        await server.trade("BTCUSDT", 100.1, 1.0, is_buyer_maker=False)
        await until(lambda: len(sink.trades) == 1, what="the trade after the bad frames")
        assert handler.state is FeedState.LIVE

    assert handler.parse_errors == len(bad) and handler.ignored == 1
    assert [r.data for r in sink.raw] == [text.encode() for text in bad]
    assert sink.kinds() == [DataQualityKind.PARSE_ERROR] * len(bad)
    assert "unknown event type 'mystery'" in sink.quality[1].details["error"]
    assert "trade field" in sink.quality[3].details["error"]
    metrics = handler.metrics
    assert metrics is not None
    assert metrics.registry.get_sample_value(
        "serenity_fh_parse_errors_total", {"venue": "binance"}
    ) == len(bad)


async def test_refused_subscription_ends_run_with_the_venues_code_and_text(
    server: BinanceServer,
) -> None:
    server.refuse(2, "Invalid request: invalid stream")
    handler = feed(server, [ListSink()])

    with pytest.raises(VenueError) as refused:
        await asyncio.wait_for(handler.run(), 3)

    assert refused.value.code == 2
    assert str(refused.value) == (
        "binance refused the subscription to btcusdt@trade, btcusdt@depth@100ms, "
        "ethbtc@trade, ethbtc@depth@100ms (request 1): code 2: Invalid request: invalid stream"
    )
    assert handler.state is FeedState.STOPPED


async def test_a_symbol_the_venue_does_not_list_is_refused_by_the_server(
    server: BinanceServer,
) -> None:
    handler = feed(server, [ListSink()], symbols=("XRPUSDT",), channels=("trades",))

    with pytest.raises(VenueError, match="xrpusdt@trade .*code 2: Invalid request: invalid stream"):
        await asyncio.wait_for(handler.run(), 3)


async def test_unknown_symbol_is_rejected_from_the_catalog_before_connecting(
    server: BinanceServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.rest_url + binance.EXCHANGE_INFO_PATH) as resp:
            catalog = binance.parse_exchange_info(await resp.json())
    config = FeedConfig(
        venue="binance", symbols=("BTCUSDD",), ws_url=server.ws_url, rest_url=server.rest_url
    )

    with pytest.raises(UnknownSymbolError, match="'BTCUSDD' on binance; did you mean BTCUSDT"):
        BinanceFeedHandler(config, catalog=catalog)
    assert server.connections == 0
    lower = FeedConfig(
        venue="binance", symbols=("btcusdt",), ws_url=server.ws_url, rest_url=server.rest_url
    )
    handler = handler_class("binance")(lower, catalog=catalog)  # upper-cased, then checked
    assert isinstance(handler, BinanceFeedHandler) and handler.config.symbols == ("BTCUSDT",)


async def test_rest_snapshot_errors_are_retried_without_stopping_the_feed(
    server: BinanceServer,
) -> None:
    sink = ListSink()
    server.fail_snapshots(2, status=500)
    server.fail_snapshots(1, status=429, body={"code": -1003, "msg": "Too many requests."})
    server.fail_snapshots(1, status=200, body=b'{"lastUpdateId": "x"}')
    handler = feed(server, [sink])
    async with running(handler):
        await synced(handler, server)
        await churn(server, random.Random(4), 40)
        await until(lambda: books_match(handler, server), what="books equal")

    assert handler.snapshot_errors == 4 and server.snapshot_requests == 6
    assert handler.parse_errors == 1 and sink.raw[0].data == b'{"lastUpdateId": "x"}'


def test_config_points_at_the_combined_stream_and_the_deployments_rest_api() -> None:
    handler = BinanceFeedHandler(
        FeedConfig(venue="binance", symbols=("btcusdt",), ws_url=binance.PROD.ws)
    )

    assert handler.config.ws_url == "wss://stream.binance.com:9443/stream"
    assert handler.config.rest_url == "https://api.binance.com"
    assert handler.config.symbols == ("BTCUSDT",)
    with pytest.raises(ConfigError, match="give rest_url"):
        BinanceFeedHandler(FeedConfig(venue="binance", symbols=("A",), ws_url="ws://10.0.0.1"))
    with pytest.raises(ConfigError, match="rest_url must be an http"):
        BinanceFeedHandler(
            FeedConfig(venue="binance", symbols=("A",), ws_url="ws://h", rest_url="ftp://h")
        )
    trades_only = FeedConfig(
        venue="binance", symbols=("A",), ws_url="ws://10.0.0.1", channels=("trades",)
    )
    assert BinanceFeedHandler(trades_only).subscriptions() == [
        binance.subscribe_request(["a@trade"], 1)
    ]


# -- sans-I/O: Binance's local-book procedure, step by step ------------------------------------


def offline(sink: ListSink) -> BinanceFeedHandler:
    config = FeedConfig(venue="binance", symbols=("BNBBTC",), ws_url=binance.PROD.ws)
    handler = BinanceFeedHandler(config, sinks=[sink])
    handler.on_connected(0)
    return handler


def depth(first: int, last: int, bids: list[list[str]] | None = None) -> str:
    data = {"e": "depthUpdate", "E": 1, "s": "BNBBTC", "U": first, "u": last}
    data |= {"b": bids or [], "a": []}
    return orjson.dumps({"stream": "bnbbtc@depth@100ms", "data": data}).decode()


def snapshot(last_update_id: int) -> dict[str, Any]:
    return {"lastUpdateId": last_update_id, "bids": [["1.0", "5"]], "asks": [["2.0", "5"]]}


def test_buffered_events_the_snapshot_covers_are_dropped_and_the_next_must_straddle_it() -> None:
    sink = ListSink()
    handler = offline(sink)
    for first, last in [(150, 156), (157, 160), (161, 165)]:
        handler.on_frame(depth(first, last, [["1.0", str(first)]]), first)

    assert handler.on_snapshot("BNBBTC", snapshot(158), 170)  # 157..160 covers 159

    assert [(u.seq, u.is_snapshot) for u in sink.books] == [(158, True), (160, False), (165, False)]
    handler.on_frame(depth(166, 170), 171)  # U == previous u + 1: applied
    handler.on_frame(depth(160, 166), 172)  # u <= the book's id: dropped
    assert sink.books[-1].seq == 170 and sink.quality == []
    assert handler.books["BNBBTC"].book.best_bid() == (1.0, 161.0)


def test_a_snapshot_older_than_the_buffer_is_refused_and_a_gap_asks_for_another() -> None:
    sink = ListSink()
    handler = offline(sink)
    handler.on_frame(depth(200, 205), 1)

    assert not handler.on_snapshot("BNBBTC", snapshot(190), 2)  # 191..199 are missing
    assert handler.on_snapshot("BNBBTC", snapshot(201), 3)
    handler.on_frame(depth(207, 208), 4)  # 206 is missing

    assert sink.kinds() == [DataQualityKind.GAP, DataQualityKind.GAP]
    assert sink.quality[1].details == {"expected": 206, "seen": 207}
    assert handler.books["BNBBTC"].needs_snapshot


def test_frames_of_odd_shapes_are_parse_errors_not_crashes() -> None:
    sink = ListSink()
    handler = offline(sink)
    odd = [
        '{"stream": 5, "data": {"e": ["x"]}}',
        '{"stream": 5, "data": {"s": "BNBBTC"}}',
        '{"stream": "bnbbtc@trade", "data": [1]}',
        '{"error": "nope", "id": 1}',
        '"text"',
        b"\xff\xfe",
        '{"stream": "bnbbtc@trade", "data": {"e": "trade", "s": "XRPUSDT", "t": 1, "p": "1",'
        ' "q": "1", "T": 1, "m": true}}',
    ]
    for frame in odd:
        handler.on_frame(frame, 1)

    assert handler.parse_errors == len(odd)
    assert "unsubscribed symbol 'XRPUSDT'" in sink.quality[-1].details["error"]


def test_server_shutdown_notices_and_acks_are_not_errors() -> None:
    sink = ListSink()
    handler = offline(sink)
    handler.subscriptions()
    handler.on_frame(json.dumps({"result": None, "id": 1}), 1)
    handler.on_frame(json.dumps({"result": True, "id": 0}), 2)
    handler.on_frame(json.dumps(payload("binance", "ws/server_shutdown")), 3)

    assert handler.parse_errors == 0 and handler.replies == 2 and handler.ignored == 1


@pytest.mark.captures
def test_the_2021_capture_replays_into_uncrossed_books(captures_dir: Path) -> None:
    events: list[tuple[float, str | None, str]] = []
    for line in (captures_dir / "BINANCE.ws.1.0").read_text().splitlines():
        if line.strip() and " <-> " not in line:
            ts, body = line.split(": ", 1)
            events.append((float(ts), None, body))
    for line in (captures_dir / "BINANCE.http.0.0").read_text().splitlines():
        if " -> " in line:
            url, rest = line.split(" -> ", 1)
            ts, body = rest.split(": ", 1)
            events.append((float(ts), url.split("symbol=")[1].split("&")[0], body))
    events.sort(key=lambda e: e[0])
    sink = ListSink()
    symbols = ("NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR")
    catalog = binance.parse_exchange_info(read_capture(captures_dir, "BINANCE.0"))
    handler = BinanceFeedHandler(  # with the catalog: every real price passes the tick grid
        FeedConfig(venue="binance", symbols=symbols, ws_url=binance.PROD.ws),
        sinks=[sink],
        catalog=catalog,
    )

    for ts, symbol, body in events:
        if symbol is None:
            handler.on_frame(body, int(ts * 1e9))
        else:
            assert handler.on_snapshot(symbol, body, int(ts * 1e9))

    assert handler.parse_errors == 0 and sink.quality == [] and sink.crossed == 0
    assert handler.implausible == 0
    assert (handler.trades, handler.book_updates, handler.ignored) == (2, 176, 86)
    assert handler.is_synced()
    for sync in handler.books.values():
        bid, ask = sync.book.best_bid(), sync.book.best_ask()
        assert bid is not None and ask is not None and 0 < bid[0] < ask[0]


# -- hostile input (issue 9) --------------------------------------------------------------------


async def test_an_absurd_final_update_id_does_not_freeze_the_book(server: BinanceServer) -> None:
    # defect 2: one depthUpdate with U = previous u + 1 and u = 2**63 - 1 made every later
    # diff stale while the feed kept reporting LIVE
    sink = ListSink()
    rng = random.Random(9)
    handler = feed(server, [sink], symbols=("BTCUSDT",), channels=("book",))
    async with running(handler):
        await until(lambda: len(server.subscribed()) == 1, what="subscription")
        await until(handler.is_synced, what="book in sync")
        book = server.books["BTCUSDT"]
        absurd = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": book.last_update_id + 1}
        absurd |= {"u": 2**63 - 1, "b": [], "a": []}
        await server.send_raw(json.dumps({"stream": "btcusdt@depth@100ms", "data": absurd}))
        for _ in range(100):
            await server.update("BTCUSDT", *random_change(rng))
        await until(lambda: books_match(handler, server), what="the book after the absurd id")
        await until(lambda: handler.state is FeedState.LIVE, what="LIVE again")

    gap = next(e for e in sink.quality if e.kind is DataQualityKind.GAP)
    assert gap.details["reason"] == "implausible update id" and gap.details["last"] == 2**63 - 1
    assert DataQualityKind.RESYNC in sink.kinds("BTCUSDT")


def test_an_absurd_final_update_id_is_a_gap_not_the_books_new_state() -> None:
    sink = ListSink()
    handler = offline(sink)
    handler.on_frame(depth(150, 156), 1)
    assert handler.on_snapshot("BNBBTC", snapshot(155), 2)

    handler.on_frame(depth(157, 2**63 - 1, [["1.5", "9"]]), 3)

    sync = handler.books["BNBBTC"]
    assert not handler.is_synced() and sync.needs_snapshot and sync.book.best_bid() is None
    assert sink.kinds() == [DataQualityKind.GAP]
    for i in range(157, 257):
        handler.on_frame(depth(i, i, [["1.0", str(i)]]), 4)  # buffered until the snapshot
    assert handler.on_snapshot("BNBBTC", snapshot(200), 5)
    assert sync.book.seq == 256 and sync.book.best_bid() == (1.0, 256.0)
    assert sink.kinds() == [DataQualityKind.GAP, DataQualityKind.RESYNC]


def test_a_book_dropping_every_delta_as_stale_is_stuck_and_resyncs() -> None:
    sink = ListSink()
    handler = offline(sink)
    assert handler.on_snapshot("BNBBTC", snapshot(155), 1)
    handler.on_frame(depth(156, 10_156), 2)  # plausible, but 10,000 ids too far: applied

    for i in range(157, 157 + 50):  # the venue's real next updates: all "stale"
        handler.on_frame(depth(i, i), 3)

    assert sink.kinds() == [DataQualityKind.STUCK]
    assert sink.quality[0].details["dropped"] == 50
    assert handler.books["BNBBTC"].needs_snapshot and not handler.is_synced()


async def test_an_error_reply_to_a_request_we_never_sent_is_not_a_refusal(
    server: BinanceServer,
) -> None:
    # defect 5: it stopped the feed as "refused the subscription ... (request 424242)"
    sink = ListSink()
    handler = feed(server, [sink], channels=("trades",))
    async with running(handler) as task:
        await until(lambda: len(server.subscribed()) == 2, what="subscriptions")
        await server.send_raw('{"error": {"code": -1, "msg": "no such request"}, "id": 424242}')
        await server.send_raw('{"code": 3, "msg": "Invalid JSON: stray"}')
        await server.trade("BTCUSDT", 100.5, 1.0, is_buyer_maker=True)
        await until(lambda: len(sink.trades) == 1, what="the trade after the stray errors")
        assert not task.done()

    errors = [e for e in sink.quality if e.kind is DataQualityKind.VENUE_ERROR]
    assert [e.details["request"] for e in errors] == [424242, None]
    assert errors[0].details["code"] == -1 and errors[0].channel == "raw"


def with_catalog(sink: ListSink, **config: Any) -> BinanceFeedHandler:
    catalog = binance.parse_exchange_info(payload("binance", "exchange_info"))
    settings = {"venue": "binance", "symbols": ("BTCUSDT",), "ws_url": binance.PROD.ws} | config
    handler = BinanceFeedHandler(FeedConfig(**settings), sinks=[sink], catalog=catalog)
    handler.on_connected(0)
    return handler


def trade(price: str, qty: str = "1.0", tid: int = 1) -> str:
    data = {"e": "trade", "E": 1, "s": "BTCUSDT", "t": tid, "p": price, "q": qty, "T": 1}
    return json.dumps({"stream": "btcusdt@trade", "data": data | {"m": True, "M": True}})


def test_prices_that_cannot_be_true_are_journalled_raw_not_recorded() -> None:
    # defect 7: 1e308 and 0.0001 on a BTC book were recorded as trades
    sink = ListSink()
    handler = with_catalog(sink, backfill=False)  # the refused ids would be a gap
    handler.on_frame(trade("42000.00", tid=1), 1)
    absurd = ["1e308", "0.0001", "42000.00001", "4200000.00", "0.02", "42000.00000001"]
    for tid, price in enumerate(absurd, start=2):
        handler.on_frame(trade(price, tid=tid), 2)
    handler.on_frame(trade("42000.01", qty="1e300", tid=8), 3)  # no lot of 0.00001 is so large
    handler.on_frame(trade("42100.50", tid=9), 4)

    assert [t.price for t in sink.trades] == [42000.0, 42100.5]
    assert handler.parse_errors == handler.implausible == len(absurd) + 1
    assert [r.data for r in sink.raw][:2] == [
        trade("1e308", tid=2).encode(),
        trade("0.0001", tid=3).encode(),
    ]
    assert all(k is DataQualityKind.PARSE_ERROR for k in sink.kinds())


def test_a_level_off_the_tick_grid_is_kept_raw_and_the_next_delta_resyncs_the_book() -> None:
    sink = ListSink()
    handler = with_catalog(sink, channels=("book",))
    good = {"lastUpdateId": 10, "bids": [["41999.99", "1"]], "asks": [["42000.01", "1"]]}
    assert handler.on_snapshot("BTCUSDT", good, 1)

    def delta(first: int, bid: str) -> str:
        data = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first, "u": first}
        return json.dumps(
            {"stream": "btcusdt@depth@100ms", "data": data | {"b": [[bid, "5"]], "a": []}}
        )

    handler.on_frame(delta(11, "41999.00001"), 2)  # checked as it is parsed: refused
    assert sink.kinds() == [DataQualityKind.PARSE_ERROR] and sink.raw
    assert "'b'[0] is implausible for the instrument" in sink.quality[0].details["error"]
    assert [u.seq for u in sink.books] == [10]
    handler.on_frame(delta(12, "41999.98"), 3)  # 11 is missing: were it real, it was lost
    assert sink.kinds() == [DataQualityKind.PARSE_ERROR, DataQualityKind.GAP]
    assert handler.books["BTCUSDT"].needs_snapshot
    with pytest.raises(DataError, match="implausible book snapshot"):
        handler.on_snapshot("BTCUSDT", good | {"asks": [["1e300", "1"]]}, 4)


def test_a_market_that_moved_past_the_band_is_followed_after_stuck_after_trades() -> None:
    sink = ListSink()
    handler = with_catalog(sink, stuck_after=5, price_band=10.0)
    handler.on_frame(trade("100.00", tid=1), 1)
    for i in range(5):  # the reference was an outlier, or the market jumped while away
        handler.on_frame(trade(f"{5000 + i}.00", tid=2 + i), 2)
    handler.on_frame(trade("5010.00", tid=9), 3)

    assert [t.price for t in sink.trades] == [100.0, 5010.0]
    assert sink.kinds().count(DataQualityKind.STUCK) == 1
    assert sink.raw and len(sink.raw) == 5  # the five refused trades are kept raw


def test_absurd_trade_ids_are_kept_raw_and_hold_no_state() -> None:
    sink = ListSink()
    handler = with_catalog(sink)
    for tid in (100, 2**63 - 1, 2**62, -1, 101):
        handler.on_frame(trade("42000.00", tid=tid), 1)

    assert [t.trade_id for t in sink.trades] == ["100", "101"]
    assert (
        handler.parse_errors == 3 and "an integer in [0, 2**62)" in sink.quality[0].details["error"]
    )


# -- trade-id gaps backfilled from GET /api/v3/historicalTrades ---------------------------------


def trades_feed(server: BinanceServer, sinks: Sequence[Any], **config: Any) -> BinanceFeedHandler:
    handler = feed(server, sinks, symbols=("BTCUSDT",), channels=("trades",), **config)
    if handler.backfill is not None:
        handler.backfill.interval_s = 0.0
        handler.backfill.retry_delay_s = 0.0
    return handler


async def print_trades(server: BinanceServer, n: int, *, lost: int = 0) -> None:
    """Print ``n`` trades on BTCUSDT; the ``lost`` first of them are not streamed."""
    server.lose_trades("BTCUSDT", lost)
    for i in range(n):
        await server.trade("BTCUSDT", 100 + i % 7 * 0.01, 1 + i % 3, is_buyer_maker=i % 2 == 0)


def events(sink: ListSink, kind: DataQualityKind) -> list[DataQualityEvent]:
    return [e for e in sink.quality if e.kind is kind]


def backfills(sink: ListSink) -> list[DataQualityEvent]:
    """Return the ``resync`` events that report trades backfilled from REST."""
    return [e for e in events(sink, DataQualityKind.RESYNC) if e.details.get("source") == "rest"]


async def test_trade_ids_lost_on_a_reconnect_are_backfilled_once_and_splay_in_order(
    server: BinanceServer, tmp_path: Path
) -> None:
    sink = ListSink()
    with JournalWriter(tmp_path / "journal") as journal:
        handler = trades_feed(server, [sink, JournalSink(journal)])
        async with running(handler):
            await until(lambda: server.subscribed() == {"btcusdt@trade"}, what="subscription")
            await print_trades(server, 5)
            await until(lambda: len(sink.trades) == 5, what="the first trades")
            await server.drop()
            await print_trades(server, 4)  # printed while we were away: lost on the wire
            await until(lambda: server.connections == 2 and server.subscribed(), what="reconnect")
            await print_trades(server, 6)
            await until(lambda: len(sink.trades) == 15, what="every trade")
            await print_trades(server, 2)  # the stream goes on after the backfill
            await until(lambda: len(sink.trades) == 17, what="the trades after the backfill")

    sent = {e["t"]: e for e in server.sent_trades}
    assert sorted(int(t.trade_id) for t in sink.trades) == sorted(sent)  # each id once
    for t in sink.trades:  # a backfilled trade equals the streamed one: time, side, price
        e = sent[int(t.trade_id)]
        assert (t.ts, t.price, t.qty) == (e["T"] * 1_000_000, float(e["p"]), float(e["q"]))
        assert t.side is (Side.SELL if e["m"] else Side.BUY)
    first_lost = min(sent) + 5
    (gap,) = events(sink, DataQualityKind.GAP)
    assert gap.details == {"expected": first_lost, "seen": first_lost + 4, "missing": 4}
    (backfill,) = backfills(sink)
    assert backfill.symbol == "BTCUSDT" and backfill.channel == "trades"
    assert backfill.details == {
        "reason": "backfill",
        "first": first_lost,
        "last": first_lost + 3,
        "count": 4,
        "source": "rest",
    }
    assert server.history_requests == [
        {"symbol": "BTCUSDT", "fromId": str(first_lost), "limit": "4"}
    ]

    day = dt.datetime.fromtimestamp(sink.trades[0].ts / 1e9, dt.UTC).date()
    store = f"file://{tmp_path / 'store'}"
    splay_day(tmp_path / "journal", store, day)
    frame = open_tickstore(store, "BINANCE_TRADES").select("BTCUSDT", 0, 2**62)
    assert frame["trade_id"].tolist() == [str(i) for i in sorted(sent)]


async def test_a_rest_error_leaves_a_gap_naming_the_missing_ids_and_the_stream_goes_on(
    server: BinanceServer,
) -> None:
    sink = ListSink()
    server.fail_history(1, status=429, body={"code": -1003, "msg": "Too many requests."})
    handler = trades_feed(server, [sink])
    async with running(handler):
        await until(lambda: server.subscribed(), what="subscription")
        await print_trades(server, 2)
        await print_trades(server, 5, lost=3)
        await until(lambda: len(events(sink, DataQualityKind.GAP)) == 2, what="the lost range")
        await print_trades(server, 3)
        await until(lambda: len(sink.trades) == 7, what="the trades after the error")

    first_lost = server.sent_trades[2]["t"]
    detected, lost = events(sink, DataQualityKind.GAP)
    assert detected.details["missing"] == 3
    assert lost.symbol == "BTCUSDT"
    assert (lost.details["first"], lost.details["last"], lost.details["missing"]) == (
        first_lost,
        first_lost + 2,
        3,
    )
    assert "-1003" in lost.details["reason"] and "Too many requests" in lost.details["reason"]
    assert backfills(sink) == []
    assert handler.backfill is not None and handler.backfill.errors == 1
    assert [int(t.trade_id) for t in sink.trades] == [
        e["t"] for e in server.sent_trades if not first_lost <= e["t"] <= first_lost + 2
    ]


@pytest.mark.parametrize("failures", [2, 3])
async def test_a_server_error_is_retried_twice_before_the_ids_stay_missing(
    server: BinanceServer, failures: int
) -> None:
    sink = ListSink()
    server.fail_history(failures, status=503)  # 5XX, no Binance code: transient
    handler = trades_feed(server, [sink])
    async with running(handler):
        await until(lambda: server.subscribed(), what="subscription")
        await print_trades(server, 2)
        await print_trades(server, 5, lost=3)
        await until(
            lambda: backfills(sink) or len(events(sink, DataQualityKind.GAP)) == 2,
            what="the backfill or the lost range",
        )

    assert handler.backfill is not None and handler.backfill.errors == failures
    assert handler.backfill.requests == min(failures + 1, 3)
    if failures == 2:  # the third request succeeds: every id recorded, nothing missing
        assert [e.details["count"] for e in backfills(sink)] == [3]
        assert len(events(sink, DataQualityKind.GAP)) == 1
        assert sorted(int(t.trade_id) for t in sink.trades) == [e["t"] for e in server.sent_trades]
    else:
        assert backfills(sink) == []
        assert "HTTP 503" in events(sink, DataQualityKind.GAP)[1].details["reason"]


async def test_a_gap_larger_than_the_cap_is_backfilled_up_to_the_cap(
    server: BinanceServer,
) -> None:
    sink = ListSink()
    handler = trades_feed(server, [sink], backfill_max_ids=3)
    async with running(handler):
        await until(lambda: server.subscribed(), what="subscription")
        await print_trades(server, 1)
        await print_trades(server, 6, lost=5)
        await until(lambda: backfills(sink), what="the backfill")

    first_lost = server.sent_trades[1]["t"]
    assert [int(t.trade_id) for t in sink.trades] == [
        first_lost - 1,
        first_lost + 5,
        first_lost,
        first_lost + 1,
        first_lost + 2,
    ]
    detected, beyond_cap = events(sink, DataQualityKind.GAP)
    assert detected.details["missing"] == 5
    assert (beyond_cap.details["first"], beyond_cap.details["last"]) == (
        first_lost + 3,
        first_lost + 4,
    )
    assert "more than 3 ids" in beyond_cap.details["reason"]
    (backfill,) = backfills(sink)
    assert backfill.details["count"] == 3


async def test_backfill_off_records_the_stream_as_it_comes(server: BinanceServer) -> None:
    sink = ListSink()
    handler = trades_feed(server, [sink], backfill=False)
    assert handler.backfill is None and handler.sequencer is None
    async with running(handler):
        await until(lambda: server.subscribed(), what="subscription")
        await print_trades(server, 2)
        await print_trades(server, 5, lost=3)
        await until(lambda: len(sink.trades) == 4, what="the streamed trades")

    assert [int(t.trade_id) for t in sink.trades] == [e["t"] for e in server.sent_trades[:2]] + [
        e["t"] for e in server.sent_trades[5:]
    ]
    assert sink.quality == [] and server.history_requests == []


def test_a_historical_trade_parses_as_the_streamed_trade_of_the_same_id() -> None:
    streamed = {
        "e": "trade",
        "s": "BTCUSDT",
        "t": 28457,
        "p": "4.00000100",
        "q": "12.00000000",
        "T": 1499865549590,
        "m": True,
        "M": True,
    }
    rest = {
        "id": 28457,
        "price": "4.00000100",
        "qty": "12.00000000",
        "quoteQty": "48.000012",
        "time": 1499865549590,
        "isBuyerMaker": True,
        "isBestMatch": True,
    }

    assert binance.parse_historical_trade("BTCUSDT", rest) == binance.parse_trade(streamed)
    assert binance.parse_historical_trade("BTCUSDT", rest)[3] is Side.SELL
    with pytest.raises(DataError, match="'m'"):
        binance.parse_historical_trade("BTCUSDT", {**rest, "isBuyerMaker": "yes"})
