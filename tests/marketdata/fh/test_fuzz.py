"""Fuzz each venue's feedhandler: hostile frames interleaved with a venue's valid ones (issue 9).

Each test plays a venue (the loopback servers' own models of the books and trades) into a
handler's sans-I/O side, and after valid frames sends hostile variants of frames already sent
(:mod:`tests.marketdata.fh.mutations`: truncated JSON, wrong types, missing fields, huge and
negative numbers, NaN strings, unknown types, binary garbage, deep nesting). When a book asks
for a snapshot the venue gives one, as the handler's I/O side would fetch or resubscribe.
Whatever the garbage: no exception escapes, every valid trade is recorded exactly once, every
malformed frame is counted and journalled raw, and the books end equal to the venue's.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from serenity.exchange import binance, coinbase, phemex
from serenity.marketdata import JournalReader, JournalWriter, RawFrame
from serenity.marketdata.fh import FeedConfig, JournalSink
from serenity.marketdata.fh.binance import BinanceFeedHandler
from serenity.marketdata.fh.coinbase import CoinbaseFeedHandler
from serenity.marketdata.fh.handler import FeedHandler
from serenity.marketdata.fh.phemex import PhemexFeedHandler
from serenity.model import Side
from tests.marketdata.fh.toy import ListSink
from tests.venues import payload

from .binance_server import fmt, random_change, seeded_book
from .coinbase_server import CoinbaseServer
from .mutations import Garbage, mutate
from .mutations import Path as FieldPath
from .phemex_server import Conn, PhemexServer

SEEDS = (1, 2, 3, 4)
VALID = 1_000
"""Valid frames per run; each is followed by hostile ones with probability 1/2, repeatedly."""
T0_MS = 1_704_164_400_000


class Run:
    """Send valid and hostile frames to a handler; keep what was sent."""

    def __init__(self, handler: FeedHandler, sink: ListSink, seed: int, journal: Path) -> None:
        self.journal = JournalWriter(journal).open()
        handler.sinks.append(JournalSink(self.journal))  # a real journal: it must take it all
        self.handler = handler
        self.sink = sink
        self.rng = random.Random(seed)
        self.sent: list[dict[str, Any]] = []
        self.garbage: list[Garbage] = []
        self.clock = T0_MS * 1_000_000

    def valid(self, msg: dict[str, Any]) -> None:
        self.clock += 1_000
        self.handler.on_frame(json.dumps(msg), self.clock)
        self.sent.append(msg)

    def hostile(self, schema: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Send hostile variants of past frames while a coin lands heads."""
        while self.rng.random() < 0.5:
            past = self.rng.choice(self.sent)
            garbage = mutate(self.rng, past, **schema(past))
            self.clock += 1_000
            self.handler.on_frame(garbage.frame, self.clock)  # must never raise
            self.garbage.append(garbage)

    def assert_malformed_counted(self) -> None:
        self.journal.close()
        raw = [r for r in JournalReader(self.journal.root) if isinstance(r, RawFrame)]
        assert len(raw) == self.handler.parse_errors  # every refused frame is kept
        malformed = sum(g.malformed for g in self.garbage)
        assert malformed > 50 and self.handler.parse_errors >= malformed
        assert len(self.sink.raw) == self.handler.parse_errors
        kinds = {g.kind for g in self.garbage}
        assert len(kinds) == 9, kinds


def levels(prefix: FieldPath, rows: list[Any], width: int) -> list[FieldPath]:
    return [(*prefix, i, j) for i in range(len(rows)) for j in range(width)]


# -- Binance ---------------------------------------------------------------------------------


def binance_schema(msg: dict[str, Any]) -> dict[str, Any]:
    data = msg["data"]
    if data["e"] == "trade":
        keys = ("s", "t", "p", "q", "T", "m")
        numbers = [("data", k) for k in ("t", "p", "q", "T")]
    else:
        keys = ("s", "U", "u", "E", "b", "a")
        numbers = [("data", k) for k in ("U", "u", "E")]
        numbers += levels(("data", "b"), data["b"], 2) + levels(("data", "a"), data["a"], 2)
    fields = [("data", k) for k in keys] + [p for p in numbers if len(p) > 2]
    return {"fields": fields, "numbers": numbers, "type_field": ("data", "e")}


@pytest.mark.parametrize("seed", SEEDS)
def test_binance_survives_hostile_frames_and_keeps_the_venues_book(
    seed: int, tmp_path: Path
) -> None:
    sink = ListSink()
    catalog = binance.parse_exchange_info(payload("binance", "exchange_info"))
    config = FeedConfig(venue="binance", symbols=("BTCUSDT",), ws_url=binance.PROD.ws)
    handler = BinanceFeedHandler(config, sinks=[sink], catalog=catalog)
    run = Run(handler, sink, seed, tmp_path)
    venue = seeded_book()
    sync = handler.books["BTCUSDT"]
    trades: list[tuple[str, float, float, Side]] = []

    def snapshot_when_asked() -> None:
        if sync.needs_snapshot:
            bids, asks = venue.levels()
            body = {"lastUpdateId": venue.last_update_id}
            body |= {"bids": [[fmt(p), fmt(q)] for p, q in bids]}
            body |= {"asks": [[fmt(p), fmt(q)] for p, q in asks]}
            assert handler.on_snapshot("BTCUSDT", body, run.clock)

    handler.on_connected(0)
    snapshot_when_asked()
    for i in range(VALID):
        if run.rng.random() < 0.4:
            price, qty = round(100 + run.rng.randint(-20, 20) * 0.01, 2), i + 1
            maker = run.rng.random() < 0.5
            data = {"e": "trade", "E": T0_MS + i, "s": "BTCUSDT", "t": 5_000 + len(trades)}
            data |= {"p": fmt(price), "q": fmt(qty / 100), "T": T0_MS + i, "m": maker}
            run.valid({"stream": "btcusdt@trade", "data": data | {"M": True}})
            trades.append((str(data["t"]), price, qty / 100, Side.SELL if maker else Side.BUY))
        else:
            bids, asks = random_change(run.rng)
            venue.apply(bids, asks)
            first = venue.last_update_id + 1
            venue.last_update_id += run.rng.randint(1, 3)
            data = {"e": "depthUpdate", "E": T0_MS + i, "s": "BTCUSDT", "U": first}
            data |= {"u": venue.last_update_id, "b": [[fmt(p), fmt(q)] for p, q in bids]}
            run.valid(
                {
                    "stream": "btcusdt@depth@100ms",
                    "data": data | {"a": [[fmt(p), fmt(q)] for p, q in asks]},
                }
            )
        snapshot_when_asked()
        run.hostile(binance_schema)
        snapshot_when_asked()

    assert [(t.trade_id, t.price, t.qty, t.side) for t in sink.trades] == trades
    assert sync.is_live and sync.book.seq == venue.last_update_id
    assert sync.book.depth(1_000) == venue.levels()
    run.assert_malformed_counted()


# -- Coinbase --------------------------------------------------------------------------------


def coinbase_schema(msg: dict[str, Any]) -> dict[str, Any]:
    if msg["type"] == "heartbeat":
        fields: list[FieldPath] = [("product_id",), ("sequence",), ("last_trade_id",), ("time",)]
        numbers: list[FieldPath] = [("sequence",), ("last_trade_id",)]
    elif msg["type"] == "match":
        fields = [(k,) for k in ("trade_id", "product_id", "side", "price", "size", "time")]
        numbers = [("trade_id",), ("price",), ("size",)]
    else:
        fields = [("product_id",), ("changes",), ("time",)]
        numbers = [(*p, 1) for p in {("changes", i) for i in range(len(msg["changes"]))}]
        numbers += [("changes", i, 2) for i in range(len(msg["changes"]))]
        fields += [("changes", i, j) for i in range(len(msg["changes"])) for j in range(3)]
    return {"fields": fields, "numbers": numbers, "type_field": ("type",)}


@pytest.mark.parametrize("seed", SEEDS)
def test_coinbase_survives_hostile_frames_and_keeps_the_venues_book(
    seed: int, tmp_path: Path
) -> None:
    sink = ListSink()
    config = FeedConfig(venue="coinbase", symbols=("BTC-USD",), ws_url="ws://127.0.0.1:1")
    catalog = coinbase.parse_products(payload("coinbase", "products"))
    handler = CoinbaseFeedHandler(config, sinks=[sink], catalog=catalog)
    venue = CoinbaseServer(seed=seed)  # its models only: it is not started
    run = Run(handler, sink, seed, tmp_path)
    sync = handler.books["BTC-USD"]
    trades: list[dict[str, Any]] = []

    def snapshot_when_asked() -> None:
        if handler.take_resubscriptions() or not sync.is_live:
            bids, asks = venue.book("BTC-USD")
            handler.on_frame(json.dumps(coinbase.format_snapshot("BTC-USD", bids, asks)), 1)

    handler.on_connected(0)
    snapshot_when_asked()
    for _ in range(VALID):
        roll = run.rng.random()
        if roll < 0.1:
            last = venue.trade_ids["BTC-USD"]
            msg = coinbase.format_heartbeat("BTC-USD", 1, last, run.clock + 1_000)
        elif roll < 0.4:
            msg = venue.make_trade("BTC-USD", taker_side=run.rng.choice(("buy", "sell")))
            trades.append(msg)
        else:
            msg = venue.make_random_update("BTC-USD", run.rng)
        run.valid(msg)
        snapshot_when_asked()
        run.hostile(coinbase_schema)
        snapshot_when_asked()

    assert [int(t.trade_id) for t in sink.trades] == [m["trade_id"] for m in trades]
    assert [t.price for t in sink.trades] == [float(m["price"]) for m in trades]
    book = sync.book
    assert sync.is_live and book.depth(1_000) == venue.book("BTC-USD")
    run.assert_malformed_counted()


# -- Phemex ----------------------------------------------------------------------------------


def phemex_schema(msg: dict[str, Any]) -> dict[str, Any]:
    numbers: list[FieldPath] = [("sequence",)]
    fields: list[FieldPath] = [("symbol",), ("sequence",), ("type",)]
    key = next(k for k in ("trades", "trades_p", "book", "orderbook_p") if k in msg)
    if key.startswith("trades"):
        fields.append((key,))
        rows = msg[key]
        numbers += [(key, i, j) for i in range(len(rows)) for j in (0, 2, 3)]
        fields += levels((key,), rows, 4)
    else:
        fields.append((key,))
        for side in ("bids", "asks"):
            numbers += levels((key, side), msg[key][side], 2)
        fields += [p for p in numbers if len(p) > 1]
    return {"fields": fields, "numbers": numbers, "type_field": ("type",)}


@pytest.mark.parametrize("seed", SEEDS)
def test_phemex_survives_hostile_frames_and_keeps_the_venues_books(
    seed: int, tmp_path: Path
) -> None:
    sink = ListSink()
    symbols = ("BTCUSD", "BTCUSDT")  # scaled integers, and decimal strings
    config = FeedConfig(venue="phemex", symbols=symbols, ws_url="ws://127.0.0.1:1")
    catalog = phemex.parse_products(payload("phemex", "products"))
    handler = PhemexFeedHandler(config, sinks=[sink], catalog=catalog)
    venue = PhemexServer(seed=seed)  # its models only: it is not started
    conn = Conn(ws=None, transport=None)  # type: ignore[arg-type]  # a subscriber, no socket
    venue.conns.append(conn)
    run = Run(handler, sink, seed, tmp_path)
    for symbol in symbols:
        conn.trades.add(symbol)
        conn.books[symbol] = [0 if venue.markets[symbol].is_scaled else 30, {}, {}]

    def deliver() -> None:
        while not conn.outbox.empty():
            run.valid(json.loads(conn.outbox.get_nowait()))

    def snapshot_when_asked() -> None:
        for symbol in symbols:
            if handler.books[symbol].needs_snapshot:
                venue._send_snapshot(conn, venue.markets[symbol])
        deliver()

    handler.on_connected(0)
    snapshot_when_asked()
    for _ in range(VALID):
        venue.step(1, symbols)
        deliver()
        snapshot_when_asked()
        run.hostile(phemex_schema)
        snapshot_when_asked()

    for symbol in symbols:
        market = venue.markets[symbol]
        pp, qp = market.price_places, market.qty_places
        want = [
            (ts, Side(side.lower()), market.read(p, pp), market.read(q, qp))
            for ts, side, p, q in market.trades
        ]
        got = [(t.ts, t.side, t.price, t.qty) for t in sink.trades if t.instrument.symbol == symbol]
        assert got == want, symbol
        sync = handler.books[symbol]
        depth = 0 if market.is_scaled else 30
        assert sync.is_live and sync.book.depth(10_000) == market.levels(depth), symbol
    run.assert_malformed_counted()
