"""PhemexFeedHandler against a loopback Phemex, and over the 2021 capture."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from serenity.errors import ConfigError, UnknownSymbolError, VenueError
from serenity.exchange import phemex
from serenity.marketdata import (
    BookUpdate,
    DataQualityKind,
    JournalReader,
    JournalWriter,
    OrderBook,
    RawFrame,
    Trade,
)
from serenity.marketdata.fh import Backoff, FeedConfig, FeedState, JournalSink
from serenity.marketdata.fh.phemex import PhemexFeedHandler
from serenity.marketdata.fh.registry import handler_class
from serenity.marketdata.quality import DataQualityEvent
from serenity.model import Side
from tests.marketdata.fh.toy import ListSink as BaseSink
from tests.polling import until
from tests.venues import payload, read_capture

from .phemex_server import PhemexServer

CATALOG = phemex.parse_products(payload("phemex", "products"))
ALL = ("BTCUSD", "sBTCUSDT", "BTCUSDT")  # a coin-margined contract, a spot pair, a V2 contract


class ListSink(BaseSink):
    """The shared sink; ``kinds(symbol)`` looks at the book stream unless told otherwise."""

    def kinds(
        self, symbol: str | None = None, channel: str | None = "book"
    ) -> list[DataQualityKind]:
        return super().kinds(symbol, channel)


def feed(
    venue: PhemexServer, sinks: list[Any], symbols: tuple[str, ...] = ALL, **kw: Any
) -> PhemexFeedHandler:
    config = FeedConfig(
        venue="phemex",
        symbols=symbols,
        ws_url=venue.ws_url,
        heartbeat_s=kw.pop("heartbeat_s", 1.0),
        stall_timeout_s=kw.pop("stall_timeout_s", 5.0),
    )
    backoff = Backoff(initial_s=0.01, max_s=0.05)
    return PhemexFeedHandler(config, sinks=sinks, catalog=CATALOG, backoff=backoff, **kw)


@contextlib.asynccontextmanager
async def recording(handler: PhemexFeedHandler) -> AsyncIterator[None]:
    async with asyncio.TaskGroup() as tg:
        tg.create_task(handler.run())
        try:
            yield
        finally:
            handler.stop()


@pytest.fixture
async def venue() -> AsyncIterator[PhemexServer]:
    async with PhemexServer(snapshot_interval_s=0.25) as server:
        yield server


def subscribed(venue: PhemexServer, symbols: tuple[str, ...] = ALL, connects: int = 1) -> bool:
    """Return True once the server has taken every subscription of connection ``connects``."""
    return venue.connects == connects and any(
        set(c.trades) == set(symbols) == set(c.books) for c in venue.conns
    )


def in_sync(handler: PhemexFeedHandler, venue: PhemexServer) -> bool:
    """Return True when every book is live at the server's last sequence."""
    return all(
        sync.is_live and sync.book.seq == venue.markets[s].last_seq
        for s, sync in handler.books.items()
    )


def assert_books_equal(handler: PhemexFeedHandler, venue: PhemexServer) -> None:
    for symbol, sync in handler.books.items():
        market = venue.markets[symbol]
        depth = 0 if market.is_scaled else 30
        assert sync.book.depth(10_000) == market.levels(depth), symbol


def server_trades(venue: PhemexServer, since: dict[str, int]) -> dict[str, list[tuple[Any, ...]]]:
    """Return each symbol's trades after ``since`` as the client should read them."""
    out = {}
    for symbol, start in since.items():
        m = venue.markets[symbol]
        out[symbol] = [
            (ts, Side(side.lower()), m.read(p, m.price_places), m.read(q, m.qty_places))
            for ts, side, p, q in m.trades[start:]
        ]
    return out


def client_trades(sink: ListSink) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for t in sink.trades:
        out.setdefault(t.instrument.symbol, []).append((t.ts, t.side, t.price, t.qty))
    return out


async def test_normal_stream_records_every_trade_and_the_servers_books(
    venue: PhemexServer, tmp_path: Path
) -> None:
    sink = ListSink()
    states: list[FeedState] = []
    with JournalWriter(tmp_path) as journal:
        handler = feed(venue, [JournalSink(journal), sink], on_state=states.append)
        async with recording(handler):
            await until(lambda: subscribed(venue) and handler.is_synced())
            since = {s: len(venue.markets[s].trades) for s in ALL}
            venue.step(400, ALL)
            want = server_trades(venue, since)
            await until(lambda: in_sync(handler, venue) and len(sink.trades) >= 100)
            await until(lambda: client_trades(sink) == want)
            assert_books_equal(handler, venue)
    assert all(len(rows) > 20 for rows in want.values())
    assert handler.parse_errors == 0 and sink.quality == []
    assert states[:3] == [FeedState.CONNECTING, FeedState.SYNCING, FeedState.LIVE]
    assert states[-1] is FeedState.STOPPED
    requests = [(r["method"], r["params"]) for conn in venue.requests for r in conn]
    assert ("trade.subscribe", ["BTCUSD"]) in requests
    assert ("orderbook.subscribe", ["sBTCUSDT", True]) in requests  # the full book
    assert ("orderbook_p.subscribe", ["BTCUSDT"]) in requests
    journaled = list(JournalReader(tmp_path))  # stream by stream, each in order
    assert [r for r in journaled if isinstance(r, Trade)] == sorted(sink.trades, key=by_symbol)
    assert [r for r in journaled if isinstance(r, BookUpdate)] == sorted(sink.books, key=by_symbol)


def by_symbol(record: Trade | BookUpdate) -> str:
    return record.instrument.symbol


async def test_lost_update_is_caught_by_the_periodic_snapshot_and_resynced(
    venue: PhemexServer,
) -> None:
    sink = ListSink()
    handler = feed(venue, [sink], symbols=("BTCUSD", "BTCUSDT"))
    async with recording(handler):
        await until(lambda: subscribed(venue, ("BTCUSD", "BTCUSDT")) and handler.is_synced())
        venue.step(30, ["BTCUSD", "BTCUSDT"])
        venue.skip_next_delta("BTCUSD")
        venue.take("BTCUSD", "Buy")  # changes the book; the delta is never sent
        await until(lambda: sink.kinds("BTCUSD") == [DataQualityKind.GAP, DataQualityKind.RESYNC])
        venue.step(30, ["BTCUSD", "BTCUSDT"])
        await until(lambda: in_sync(handler, venue))
        assert_books_equal(handler, venue)
    gap = sink.quality[0]
    assert gap.details["reason"] == "snapshot differs"
    assert sink.kinds("BTCUSDT") == []  # the other book verified clean every 0.25 s
    assert handler.books["BTCUSD"].resyncs == 1


async def test_sequence_going_back_is_a_gap_and_the_book_resyncs(venue: PhemexServer) -> None:
    sink = ListSink()
    handler = feed(venue, [sink], symbols=("sBTCUSDT",))
    async with recording(handler):
        await until(lambda: subscribed(venue, ("sBTCUSDT",)) and handler.is_synced())
        venue.rewind(50_000)
        venue.step(20, ["sBTCUSDT"])
        await until(lambda: sink.kinds("sBTCUSDT")[-1:] == [DataQualityKind.RESYNC])
        await until(lambda: in_sync(handler, venue))
        assert_books_equal(handler, venue)
    gap = next(e for e in sink.quality if e.kind is DataQualityKind.GAP)
    assert gap.details["reason"] == "sequence went back"
    assert gap.details["seen"] < gap.details["expected"]


async def test_dropped_connection_reconnects_resubscribes_and_loses_no_trade(
    venue: PhemexServer,
) -> None:
    sink = ListSink()
    handler = feed(venue, [sink])
    async with recording(handler):
        await until(lambda: subscribed(venue) and handler.is_synced())
        since = {s: len(venue.markets[s].trades) for s in ALL}
        venue.step(100, ALL)
        await until(lambda: in_sync(handler, venue))
        await venue.drop()
        venue.step(100, ALL)  # trades while the client is away come back in the trade snapshot
        await until(lambda: subscribed(venue, connects=2) and handler.is_synced())
        venue.step(100, ALL)
        want = server_trades(venue, since)
        await until(lambda: in_sync(handler, venue) and client_trades(sink) == want)
        assert_books_equal(handler, venue)
    dropped = next(e.ts for e in sink.quality if e.kind is DataQualityKind.RECONNECT)
    assert any(t.ts < dropped < t.ts_recv for t in sink.trades)  # recovered from the snapshot
    for symbol in ALL:
        assert sink.kinds(symbol, "trades") == [DataQualityKind.RECONNECT]
        assert sink.kinds(symbol) == [DataQualityKind.RECONNECT, DataQualityKind.RESYNC]
    assert handler.connection.connects == 2
    subscribes = [[r for r in conn if r["method"] != "server.ping"] for conn in venue.requests]
    assert [len(c) for c in subscribes] == [6, 6] and subscribes[0] == subscribes[1]


async def test_stalled_connection_is_closed_and_reopened(venue: PhemexServer) -> None:
    sink = ListSink()
    handler = feed(venue, [sink], symbols=("BTCUSD",), heartbeat_s=1.0, stall_timeout_s=0.6)
    async with recording(handler):
        await until(lambda: subscribed(venue, ("BTCUSD",)) and handler.is_synced())
        # three 0.25 s snapshots later (longer than the stall timeout): the first connection still,
        # as the periodic snapshots and the pongs keep a quiet feed alive
        await until(lambda: sum(u.is_snapshot for u in sink.books) >= 4)
        assert venue.connects == 1 and sink.quality == []
        venue.stall()
        await until(lambda: subscribed(venue, ("BTCUSD",), connects=2) and handler.is_synced())
        venue.step(20, ["BTCUSD"])
        await until(lambda: in_sync(handler, venue))
    reconnect = next(e for e in sink.quality if e.kind is DataQualityKind.RECONNECT)
    assert reconnect.details["reason"].startswith("stalled")
    assert sink.kinds("BTCUSD") == [DataQualityKind.RECONNECT, DataQualityKind.RESYNC]


async def test_malformed_json_and_unknown_messages_are_kept_counted_and_skipped(
    venue: PhemexServer, tmp_path: Path
) -> None:
    sink = ListSink()
    ticker = json.dumps({"market24h": {"symbol": "BTCUSD", "close": 87425000}, "timestamp": 1})
    bad_side = json.dumps(
        {"sequence": 1, "symbol": "BTCUSD", "trades": [[1, "Bid", 1, 1]], "type": "incremental"}
    )
    with JournalWriter(tmp_path) as journal:
        handler = feed(venue, [JournalSink(journal), sink], symbols=("BTCUSD",))
        async with recording(handler):
            await until(lambda: subscribed(venue, ("BTCUSD",)) and handler.is_synced())
            for text in ("{not json", ticker, bad_side, "[1, 2]"):
                venue.send_raw(text)
            venue.take("BTCUSD", "Sell")
            await until(lambda: len(sink.trades) == 1 and in_sync(handler, venue))
    assert handler.parse_errors == 4
    assert [r.data for r in sink.raw] == [
        b"{not json",
        ticker.encode(),
        bad_side.encode(),
        b"[1, 2]",
    ]
    errors = [e for e in sink.quality if e.kind is DataQualityKind.PARSE_ERROR]
    assert "unknown message type with keys ['market24h'" in errors[1].details["error"]
    assert "unknown side 'Bid'" in errors[2].details["error"]
    assert [r.data for r in JournalReader(tmp_path) if isinstance(r, RawFrame)][0] == b"{not json"
    assert handler.state is FeedState.STOPPED


async def test_refused_subscription_ends_run_with_the_venues_error(venue: PhemexServer) -> None:
    venue.refused.add(("orderbook.subscribe", "sBTCUSDT"))
    handler = feed(venue, [ListSink()])
    with pytest.raises(VenueError) as info:
        async with asyncio.timeout(4):
            await handler.run()
    assert (
        str(info.value)
        == "phemex refused orderbook.subscribe sBTCUSDT: invalid argument (code 6001)"
    )
    assert info.value.code == 6001
    assert handler.state is FeedState.STOPPED


async def test_taker_side_is_the_aggressor_side(venue: PhemexServer) -> None:
    sink = ListSink()
    handler = feed(venue, [sink], symbols=("BTCUSD", "BTCUSDT"))
    async with recording(handler):
        await until(lambda: subscribed(venue, ("BTCUSD", "BTCUSDT")) and handler.is_synced())
        asks = {s: handler.books[s].book.best_ask() for s in ("BTCUSD", "BTCUSDT")}
        venue.take("BTCUSD", "Buy")  # lifts the offer
        venue.take("BTCUSDT", "Buy")
        await until(lambda: len(sink.trades) == 2 and in_sync(handler, venue))
        bids = {s: handler.books[s].book.best_bid() for s in ("BTCUSD", "BTCUSDT")}
        venue.take("BTCUSD", "Sell")  # hits the bid
        venue.take("BTCUSDT", "Sell")
        await until(lambda: len(sink.trades) == 4)
    buys, sells = sink.trades[:2], sink.trades[2:]
    assert [t.side for t in buys] == [Side.BUY, Side.BUY]
    assert [t.price for t in buys] == [asks[t.instrument.symbol][0] for t in buys]  # type: ignore[index]
    assert [t.side for t in sells] == [Side.SELL, Side.SELL]
    assert [t.price for t in sells] == [bids[t.instrument.symbol][0] for t in sells]  # type: ignore[index]


async def test_unknown_symbol_and_bad_settings_are_refused_before_connecting(
    venue: PhemexServer,
) -> None:
    with pytest.raises(UnknownSymbolError, match="'BTCUSDD' on phemex; did you mean BTCUSD"):
        feed(venue, [], symbols=("BTCUSDD",))
    config = FeedConfig(venue="phemex", symbols=("BTCUSD",), ws_url=venue.ws_url)
    with pytest.raises(ConfigError, match="a ProductCatalog is needed"):
        PhemexFeedHandler(config)
    with pytest.raises(ConfigError, match="heartbeat_s must be < 30"):
        feed(venue, [], symbols=("BTCUSD",), heartbeat_s=30.0)
    with pytest.warns(UserWarning, match="22 subscriptions on one connection, over the 20"):
        many = phemex.parse_products(_with_spot_pairs(11))
        PhemexFeedHandler(
            FeedConfig(
                venue="phemex", symbols=tuple(f"sC{i}USDT" for i in range(11)), ws_url="ws://x"
            ),
            catalog=many,
        )
    assert venue.connects == 0
    assert handler_class("phemex") is PhemexFeedHandler


async def test_the_servers_products_endpoint_gives_the_catalog_to_record_with(
    venue: PhemexServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{venue.rest_url}{phemex.PRODUCTS_PATH}") as response:
            catalog = phemex.parse_products(await response.json())
    sink = ListSink()
    config = FeedConfig(venue="phemex", symbols=("ETHUSDT",), ws_url=venue.ws_url)
    handler = PhemexFeedHandler(config, sinks=[sink], catalog=catalog)
    async with recording(handler):
        await until(lambda: subscribed(venue, ("ETHUSDT",)) and handler.is_synced())
        venue.take("ETHUSDT", "Sell")
        await until(lambda: len(sink.trades) == 1 and in_sync(handler, venue))
        assert_books_equal(handler, venue)
    assert sink.trades[0].side is Side.SELL


def _with_spot_pairs(n: int) -> Any:
    products = payload("phemex", "products")
    template = next(p for p in products["data"]["products"] if p["symbol"] == "sBTCUSDT")
    for i in range(n):
        products["data"]["products"].append(dict(template, symbol=f"sC{i}USDT"))
    return products


class SideCheck:
    """A sink that checks each trade against the book at that moment (taker side)."""

    def __init__(self) -> None:
        self.handler: PhemexFeedHandler | None = None
        self.checked = 0

    def on_trade(self, trade: Trade) -> None:
        assert self.handler is not None
        book = self.handler.books[trade.instrument.symbol].book
        if trade.side is Side.BUY:  # a taker buy lifts the offer
            assert trade.price >= book.best_ask()[0]  # type: ignore[index]
        else:  # a taker sell hits the bid
            assert trade.price <= book.best_bid()[0]  # type: ignore[index]
        self.checked += 1

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        pass

    def on_quality(self, event: DataQualityEvent) -> None:
        pass

    def on_raw(self, raw: RawFrame) -> None:
        pass


@pytest.mark.captures
def test_the_2021_capture_replays_with_matching_snapshots_and_taker_sides(
    captures_dir: Path,
) -> None:
    lines = (captures_dir / "PHEMEX.ws.1.0").read_bytes().splitlines()
    sent = [json.loads(line.split(b": ", 1)[1]) for line in lines if b" <- " in line]
    symbols = tuple(dict.fromkeys(r["params"][0] for r in sent))
    sink, sides = ListSink(), SideCheck()
    handler = PhemexFeedHandler(
        FeedConfig(venue="phemex", symbols=symbols, ws_url="wss://phemex.com/ws"),
        sinks=[sink, sides],
        catalog=phemex.parse_products(read_capture(captures_dir, "PHEMEX.0")),
    )
    sides.handler = handler
    handler.subscriptions()
    for line in lines:
        head, sep, body = line.partition(b": ")
        if sep and b" " not in head:
            handler.on_frame(body, int(float(head) * 1e9))
    assert len(symbols) == 10 and handler.parse_errors == 0
    assert sink.quality == []  # no gap, no crossed book: the 60 s snapshots matched
    assert len(sink.books) == 1337 and handler.is_synced()
    assert len(sink.trades) == 25 == sides.checked  # the 1,000-trade histories are not replayed
    assert all(t.trade_id == "" and t.ts < t.ts_recv for t in sink.trades)
    assert sum(b.is_snapshot for b in sink.books) == 13


# -- hostile input (issue 9) --------------------------------------------------------------------


async def test_an_error_reply_to_a_request_we_never_sent_is_not_a_refusal(
    venue: PhemexServer,
) -> None:
    # defect 5: it stopped the feed as "phemex refused a request *"
    sink = ListSink()
    handler = feed(venue, [sink], symbols=("BTCUSD",))
    async with recording(handler):
        await until(lambda: subscribed(venue, ("BTCUSD",)) and handler.is_synced())
        venue.send_raw('{"error": {"code": 6001, "message": "invalid argument"}, "id": 424242}')
        venue.send_raw('{"error": {"code": 6001, "message": "invalid argument"}, "id": null}')
        venue.take("BTCUSD", "Sell")
        await until(lambda: len(sink.trades) == 1 and in_sync(handler, venue))
        assert handler.state is FeedState.LIVE

    errors = [e for e in sink.quality if e.kind is DataQualityKind.VENUE_ERROR]
    assert [(e.details["request"], e.details["code"]) for e in errors] == [
        (424242, 6001),
        (None, 6001),
    ]


def offline(*symbols: str, **config: Any) -> tuple[PhemexFeedHandler, ListSink]:
    sink = ListSink()
    settings = {"venue": "phemex", "symbols": symbols, "ws_url": "ws://127.0.0.1:1"} | config
    handler = PhemexFeedHandler(FeedConfig(**settings), sinks=[sink], catalog=CATALOG)
    handler.on_connected(0)
    return handler, sink


def scaled_trades(*rows: list[Any], symbol: str = "BTCUSD") -> str:
    msg = {"sequence": 1, "symbol": symbol, "trades": list(rows), "type": "incremental"}
    return json.dumps(msg)


def test_scaled_prices_are_checked_on_the_tick_grid_after_unscaling() -> None:
    handler, sink = offline("BTCUSD")  # priceScale 4, tick 0.5: priceEp a multiple of 5000
    product = CATALOG.get("BTCUSD")
    assert product is not None and (product.price_scale, product.tick_size) == (4, 0.5)
    ts = 1_700_000_000_000_000_000
    handler.on_frame(scaled_trades([ts, "Buy", 300_005_000, 10]), 1)  # 30000.5
    handler.on_frame(scaled_trades([ts, "Buy", 300_001_234, 10]), 2)  # 30000.1234: off the grid
    handler.on_frame(scaled_trades([ts, "Buy", 2**63 - 1, 10]), 3)  # 9.2e14: far outside the band
    two = scaled_trades([ts, "Sell", 300_000_000, 5], [ts, "Sell", 300_000_001, 5])
    handler.on_frame(two, 4)  # one bad row: the message publishes neither

    assert [t.price for t in sink.trades] == [30000.5]
    assert handler.implausible == 3 and [r.data for r in sink.raw][-1] == two.encode()


def test_a_sequence_near_the_integer_limit_is_a_gap_not_the_books_state() -> None:
    handler, sink = offline("BTCUSD", channels=("book",))
    book = {"asks": [[300_005_000, 10]], "bids": [[299_995_000, 10]]}
    msg = {"book": book, "depth": 0, "symbol": "BTCUSD", "timestamp": 1, "type": "snapshot"}
    handler.on_frame(json.dumps(msg | {"sequence": 100}), 1)
    delta = {"book": {"asks": [], "bids": [[299_990_000, 3]]}, "type": "incremental"}
    handler.on_frame(json.dumps(msg | delta | {"sequence": 2**63 - 1}), 2)
    handler.on_frame(json.dumps(msg | {"sequence": 120}), 3)  # the next snapshot resyncs
    handler.on_frame(json.dumps(msg | delta | {"sequence": 121}), 4)

    assert sink.kinds("BTCUSD") == [DataQualityKind.GAP, DataQualityKind.RESYNC]
    assert sink.quality[0].details["reason"] == "implausible sequence"
    assert handler.books["BTCUSD"].book.seq == 121 and handler.is_synced()
