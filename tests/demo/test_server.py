"""The demo's Coinbase: its frames are Coinbase's, as the real feedhandler's parsers read them."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.demo import DemoCoinbaseServer
from serenity.demo.run import _bundled
from serenity.errors import ConfigError
from serenity.exchange import coinbase
from serenity.marketdata import Trade
from serenity.marketdata.fh import FeedConfig
from serenity.marketdata.fh.coinbase import CoinbaseFeedHandler, subscribe_frame
from serenity.marketdata.synthetic import SyntheticMarket
from serenity.model import InstrumentId, Side
from tests.marketdata.fh.toy import ListSink
from tests.polling import until

DAY_NS = 1_704_153_600 * 1_000_000_000  # 2024-01-02T00:00:00Z
PRODUCTS = _bundled("coinbase_products.json")
CURRENCIES = _bundled("coinbase_currencies.json")


def markets(events: int = 600) -> list[SyntheticMarket]:
    return [
        SyntheticMarket(
            instrument=InstrumentId("coinbase", symbol),
            start_ns=DAY_NS,
            end_ns=DAY_NS + 86_400 * 10**9 - 1,
            events=events,
            price=price,
            tick_size=tick,
            seed=seed,
        )
        for symbol, price, tick, seed in (
            ("BTC-USD", 42_000.0, 0.5, 1),
            ("ETH-USD", 2_350.0, 0.05, 2),
        )
    ]


async def test_streamed_day_parses_into_the_generated_trades_and_books() -> None:
    generated = markets()
    sink = ListSink()
    async with DemoCoinbaseServer(generated, products=PRODUCTS, currencies=CURRENCIES) as server:
        config = FeedConfig(venue="coinbase", symbols=("BTC-USD", "ETH-USD"), ws_url=server.ws_url)
        handler = CoinbaseFeedHandler(config, sinks=[sink])
        task = asyncio.create_task(handler.run())
        try:
            await until(
                lambda: server.finished.is_set() and handler.connection.frames >= server.frames
            )
        finally:
            handler.stop()
            await task
        books = {s: server.books[s] for s in ("BTC-USD", "ETH-USD")}
    expected = [m for market in generated for m in market.messages() if isinstance(m, Trade)]
    assert handler.parse_errors == 0 and not sink.raw and sink.crossed == 0
    assert len(sink.trades) == len(expected) == server.sent["match"]
    assert not [e for e in sink.quality if e.kind != "reconnect"]
    by_key = {(t.instrument.symbol, t.trade_id): t for t in sink.trades}
    for want in expected:
        got = by_key[want.instrument.symbol, want.trade_id]
        assert (got.side, got.price, got.qty) == (want.side, pytest.approx(want.price), want.qty)
        assert got.ts == want.ts - want.ts % 1_000  # Coinbase times carry microseconds
    assert len(sink.books) == server.market_messages - server.sent["match"]
    for symbol, (bids, asks) in books.items():
        got_bids, got_asks = handler.books[symbol].book.depth(1_000)
        for got, want in (
            (got_bids, sorted(bids.items(), reverse=True)),
            (got_asks, sorted(asks.items())),
        ):
            assert len(got) == len(want) > 0
            assert [p for p, _ in got] == pytest.approx([p for p, _ in want])
            assert [q for _, q in got] == [q for _, q in want]


async def test_rest_serves_the_bundled_catalog_and_unknown_products_are_refused() -> None:
    async with DemoCoinbaseServer(markets(), products=PRODUCTS, currencies=CURRENCIES) as server:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.rest_url + coinbase.PRODUCTS_PATH) as response:
                products = await response.json()
            async with http.get(server.rest_url + coinbase.CURRENCIES_PATH) as response:
                currencies = await response.json()
            async with http.ws_connect(server.ws_url) as ws:
                await ws.send_str(subscribe_frame(["BTC-USDD"], ["matches"]))
                refusal = orjson.loads((await ws.receive()).data)
    catalog = coinbase.parse_products(products, currencies)
    assert {p.symbol for p in catalog.products} >= {"BTC-USD", "ETH-USD"}
    assert coinbase.parse_error(refusal) == (
        coinbase.SUBSCRIBE_FAILED,
        "BTC-USDD is not a valid product",
    )
    assert server.sent == {}  # a refused subscription starts nothing


def test_server_refuses_products_missing_from_its_catalog() -> None:
    with pytest.raises(ConfigError, match="does not list"):
        DemoCoinbaseServer(markets(), products=PRODUCTS[:1], currencies=CURRENCIES)


prices = st.decimals(min_value="0.01", max_value="100000", places=2).map(float)
sizes = st.decimals(min_value="0.00000001", max_value="1000", places=8).map(float)
times = st.integers(min_value=0, max_value=4_102_444_800 * 10**9 - 1)  # before 2100


@given(times, st.integers(1, 2**53), st.sampled_from(Side), prices, sizes)
def test_match_round_trips_through_the_parser(
    ts: int, trade_id: int, side: Side, price: float, size: float
) -> None:
    msg = orjson.loads(
        orjson.dumps(coinbase.format_match("ETH-USD", trade_id, ts, side, price, size))
    )
    assert coinbase.parse_match(msg) == ("ETH-USD", trade_id, ts - ts % 1_000, side, price, size)


@given(times, st.lists(st.tuples(prices, sizes), max_size=5), st.lists(st.tuples(prices, sizes)))
def test_book_messages_round_trip_through_the_parsers(
    ts: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> None:
    update = orjson.loads(orjson.dumps(coinbase.format_l2update("BTC-USD", ts, bids, asks)))
    snapshot = orjson.loads(orjson.dumps(coinbase.format_snapshot("BTC-USD", bids, asks, ts)))
    micros = ts - ts % 1_000
    assert coinbase.parse_l2update(update) == ("BTC-USD", micros, bids, asks)
    assert coinbase.parse_snapshot(snapshot) == ("BTC-USD", micros, bids, asks)


def test_heartbeat_and_acknowledgement_parse() -> None:
    beat = coinbase.format_heartbeat("BTC-USD", 90, 20, DAY_NS + 1_500)
    ack = coinbase.format_subscriptions({"matches": ["BTC-USD"], "heartbeat": ["BTC-USD"]})
    assert coinbase.parse_heartbeat(beat) == ("BTC-USD", 90, 20, DAY_NS + 1_000)
    assert coinbase.parse_subscriptions(ack) == {"matches": ("BTC-USD",), "heartbeat": ("BTC-USD",)}
    assert beat["time"] == "2024-01-02T00:00:00.000001Z"
