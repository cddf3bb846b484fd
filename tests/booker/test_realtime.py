"""Booking live: flushes in a worker thread on a timer, retries while the database is away."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from serenity.booker import DatabaseTradeBookingService, utc
from serenity.errors import UnknownSymbolError
from serenity.marketdata import BookUpdate, OrderBook, Trade
from serenity.model import InstrumentId, Side
from serenity.tau import MutableSignal, RealtimeNetworkScheduler, Signal
from serenity.trading import (
    ExchangeSimulator,
    OrderFactory,
    OrderManagerService,
    OrderPlacerService,
)
from tests.booker.helpers import Outage, booked_fills, booked_orders, fast_backoff
from tests.polling import until
from tests.trading.harness import BTC


class PushMarketdata:
    """Trades pushed by the test into a realtime network; no books."""

    def __init__(self, instrument: InstrumentId) -> None:
        self.trades: MutableSignal[Trade] = MutableSignal(name=f"trades:{instrument}")
        self._subscribed: MutableSignal[frozenset[InstrumentId]] = MutableSignal(
            frozenset({instrument})
        )

    def get_subscribed_instruments(self) -> Signal[frozenset[InstrumentId]]:
        return self._subscribed

    def get_trades(self, instrument: InstrumentId) -> Signal[Trade]:
        return self.trades

    def get_order_book_events(self, instrument: InstrumentId) -> Signal[BookUpdate]:
        raise UnknownSymbolError(f"no books of {instrument}")

    def get_order_books(self, instrument: InstrumentId) -> Signal[OrderBook]:
        raise UnknownSymbolError(f"no books of {instrument}")


@pytest.fixture
def outage(booking_engine: sa.Engine, db_url: str) -> Iterator[Outage]:
    out = Outage(db_url)
    yield out
    out.close()


async def test_live_booking_retries_off_the_loop_and_books_every_fill_once(
    outage: Outage, booking_engine: sa.Engine, tmp_path: Path
) -> None:
    sched = RealtimeNetworkScheduler()
    md = PushMarketdata(BTC)
    placers = OrderPlacerService()
    placers.register("simulator:default", ExchangeSimulator(sched, md, [BTC]))
    oms = OrderManagerService(sched, placers)
    booker = DatabaseTradeBookingService(
        sched,
        oms,
        outage.engine,
        journal=tmp_path / "booking.journal",
        interval_s=0.01,
        backoff=fast_backoff(),
        give_up_after_s=5.0,
    )
    db_threads: set[int] = set()

    def note_thread(*_: Any) -> None:
        db_threads.add(threading.get_ident())

    sa.event.listen(outage.engine, "before_cursor_execute", note_thread)
    factory = OrderFactory("live", prefix="L")
    trade_ids = iter(range(1, 100))

    def trade(price: float) -> None:
        now = sched.get_time()
        sched.publish(md.trades, Trade(BTC, now, now, str(next(trade_ids)), Side.BUY, price, 5.0))

    async def buy(qty: str) -> None:
        sched.schedule(lambda: oms.submit(factory.market(BTC, "BUY", qty)))
        await until(lambda: len(oms.working_orders()) == 1, what="the order to work")
        trade(100.0)

    runner = asyncio.create_task(sched.run())
    booking = asyncio.create_task(booker.run())
    await until(sched.is_running)
    loop_thread = threading.get_ident()

    await buy("1")
    await until(lambda: booker.stats.fills == 1, what="the first fill booked")
    outage.begin()
    await buy("2")
    await buy("3")
    await until(lambda: booker.stats.failures >= 2, what="failed flushes")
    pending_while_out = booker.stats.pending
    outage.end()
    await until(lambda: booker.stats.fills == 3 and booker.stats.pending == 0, what="catch-up")
    sched.shutdown()
    await asyncio.wait_for(asyncio.gather(runner, booking), 10)

    reports = [e for e in oms.all_orders()]
    fills = booked_fills(booking_engine)
    assert pending_while_out > 0
    assert [(f.cl_ord_id, f.qty, f.price) for f in fills] == [
        ("L1", D(1), D(100)),
        ("L2", D(2), D(100)),
        ("L3", D(3), D(100)),
    ]
    assert all(f.ts == utc(o.updated_ts) for f, o in zip(fills, reports, strict=True))
    assert {o.status for o in booked_orders(booking_engine).values()} == {"filled"}
    assert db_threads and loop_thread not in db_threads  # no database call on the loop
    assert (tmp_path / "booking.journal").stat().st_size == 0


async def test_a_stopped_booker_books_what_was_queued_at_shutdown(
    booking_engine: sa.Engine,
) -> None:
    sched = RealtimeNetworkScheduler()
    md = PushMarketdata(BTC)
    placers = OrderPlacerService()
    placers.register("simulator:default", ExchangeSimulator(sched, md, [BTC]))
    oms = OrderManagerService(sched, placers)
    booker = DatabaseTradeBookingService(sched, oms, booking_engine, interval_s=3600.0)
    runner = asyncio.create_task(sched.run())
    booking = asyncio.create_task(booker.run())
    await until(sched.is_running)
    order = OrderFactory("live", prefix="S").limit(BTC, "SELL", 1, 120)
    sched.schedule(lambda: oms.submit(order))
    await until(lambda: booker.queued == 2, what="pending-new and new queued")

    sched.shutdown()  # its end stops the booker, which flushes once more
    await asyncio.wait_for(asyncio.gather(runner, booking), 10)

    assert booked_orders(booking_engine)["S1"].status == "new"
    assert booker.stats.orders == 1 and booker.queued == 0
