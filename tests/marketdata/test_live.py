"""FeedHandlerMarketdataService: frames become tau signal activations on the loop thread."""

from __future__ import annotations

import asyncio
import json

import pytest

from serenity.errors import UnknownSymbolError
from serenity.marketdata import OrderBook, Trade
from serenity.marketdata.fh import FeedConfig
from serenity.marketdata.live import FeedHandlerMarketdataService
from serenity.model import InstrumentId
from serenity.tau import RealtimeNetworkScheduler
from serenity.tau.event import Do
from serenity.tau.signal import Map
from tests.marketdata.fh.toy import ToyHandler


async def test_trades_and_books_reach_strategies_synchronously() -> None:
    sched = RealtimeNetworkScheduler()
    handler = ToyHandler(FeedConfig(venue="toy", symbols=("AAA",), ws_url="ws://127.0.0.1:1"))
    service = FeedHandlerMarketdataService(sched, [handler])
    aaa = InstrumentId("toy", "AAA")
    trades = service.get_trades(aaa)
    mids: list[float | None] = []
    books = service.get_order_books(aaa)
    Do(sched.network, books, lambda: mids.append(books.get_value().mid()))
    notional = Map(sched.network, trades, lambda t: t.price * t.qty)
    runner = asyncio.create_task(sched.run())
    await asyncio.sleep(0)
    handler.on_frame(json.dumps({"trade": ["AAA", 1, "sell", 10.0, 3.0]}), 1)
    assert notional.get_value() == 30.0  # published within on_frame
    handler.on_frame(json.dumps({"book": ["AAA", 1, True, [[9, 1]], [[11, 1]]]}), 2)
    handler.on_frame(json.dumps({"book": ["AAA", 2, False, [[10, 1]], []]}), 3)
    assert mids == [10.0, 10.5]
    assert isinstance(books.get_value(), OrderBook)
    assert isinstance(trades.get_value(), Trade)
    assert service.get_subscribed_instruments().get_value() == frozenset({aaa})
    sched.shutdown()
    await runner


async def test_a_failing_strategy_node_does_not_break_the_feed() -> None:
    sched = RealtimeNetworkScheduler()
    handler = ToyHandler(FeedConfig(venue="toy", symbols=("AAA",), ws_url="ws://127.0.0.1:1"))
    service = FeedHandlerMarketdataService(sched, [handler])
    trades = service.get_trades(InstrumentId("toy", "AAA"))
    Map(sched.network, trades, lambda t: 1 / (t.qty - 1.0))
    runner = asyncio.create_task(sched.run())
    await asyncio.sleep(0)
    handler.on_frame(json.dumps({"trade": ["AAA", 1, "buy", 10.0, 1.0]}), 1)
    handler.on_frame(json.dumps({"trade": ["AAA", 2, "buy", 10.0, 2.0]}), 2)
    assert sched.error_count == 1 and handler.parse_errors == 0
    assert trades.get_value().trade_id == "2"
    sched.shutdown()
    await runner


def test_unknown_instrument_is_refused() -> None:
    handler = ToyHandler(FeedConfig(venue="toy", symbols=("AAA",), ws_url="ws://127.0.0.1:1"))
    service = FeedHandlerMarketdataService(RealtimeNetworkScheduler(), [handler])
    with pytest.raises(UnknownSymbolError, match="recorded: AAA@toy"):
        service.get_trades(InstrumentId("toy", "BBB"))


async def test_feed_state_is_a_signal() -> None:
    from serenity.marketdata.fh import FeedState

    sched = RealtimeNetworkScheduler()
    handler = ToyHandler(FeedConfig(venue="toy", symbols=("AAA",), ws_url="ws://127.0.0.1:1"))
    service = FeedHandlerMarketdataService(sched, [handler])
    state = service.get_feed_state("toy")
    seen: list[FeedState] = []
    Do(sched.network, state, lambda: seen.append(state.get_value()))
    assert state.get_value() is FeedState.INITIALIZING
    runner = asyncio.create_task(sched.run())
    await asyncio.sleep(0)
    handler.connection._set_state(FeedState.CONNECTING)
    handler.connection._set_state(FeedState.SYNCING)
    assert seen == [FeedState.CONNECTING, FeedState.SYNCING]
    with pytest.raises(UnknownSymbolError, match="no feed for venue 'x'"):
        service.get_feed_state("x")
    sched.shutdown()
    await runner
