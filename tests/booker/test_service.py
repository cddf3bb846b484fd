"""Booking a simulated market's orders and fills: round trips, replays, runs, snapshots."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from serenity.booker import utc
from serenity.db import create_engine_from_url, migrations
from serenity.errors import BookingError, NodeError
from serenity.model import (
    ExchangeAccount,
    Fill,
    InstrumentMark,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
    TradingAccount,
)
from serenity.pnl import MarketdataMarkService
from serenity.trading import OrderFactory, SimulatorConfig
from tests.booker.helpers import booked_fills, booked_orders, booker_for, count, new_run
from tests.trading.harness import BTC, Market, book, product

BOOK = book(0, bids=[(99.0, 5.0), (98.0, 10.0)], asks=[(100.0, 1.0), (101.0, 2.0), (102.0, 5.0)])
TRADES = [(10, 99.5, 3.0, -1), (20, 98.5, 0.2, -1), (40, 104.5, 1.0, 1), (50, 100.0, 0.5, 1)]


def _market(prefix: str = "t", account: str = "acct") -> Market:
    m = Market(
        TRADES,
        [BOOK],
        config=SimulatorConfig(maker_fee_bps=-1, taker_fee_bps=10),
        products={BTC: product()},
    )
    m.factory = OrderFactory(account, prefix=prefix)
    f = m.factory
    walk = m.submit_at(1, f.market(BTC, "BUY", 2.5))  # two taker fills over two levels
    m.submit_at(2, f.limit(BTC, "BUY", 2, 99))  # rests, then a trade through 99 fills it
    cancel = m.submit_at(3, f.limit(BTC, "SELL", 1, 105))
    m.at(30, lambda: m.oms.cancel(cancel))
    m.submit_at(4, f.limit(BTC, "BUY", 1, 101, post_only=True))  # would take: rejected
    m.submit_at(5, f.limit(BTC, "BUY", 1, "100.005"))  # off the tick: refused locally
    amend = m.submit_at(6, f.limit(BTC, "SELL", 1, 110, TimeInForce.DAY))
    m.at(15, lambda: m.oms.replace(amend, price=104))  # then 104.5 prints through it
    assert walk.qty == D("2.5")
    return m


def test_orders_and_fills_round_trip_through_the_database(booking_engine: sa.Engine) -> None:
    run_id = new_run(booking_engine)
    m = _market()
    booker = booker_for(m, booking_engine, run_id=run_id, batch_size=3)
    m.run()

    orders = booked_orders(booking_engine)
    fills = booked_fills(booking_engine)
    expected_fills = [
        (
            e.cl_ord_id,
            e.exec_id,
            str(e.side),
            e.last_qty,
            e.last_px,
            e.fee,
            e.fee_currency,
            str(e.liquidity),
            utc(e.ts),
        )
        for e in m.fills()
    ]
    assert [tuple(vars(f).values()) for f in fills] == expected_fills
    assert len(fills) == 4 and {f.liquidity for f in fills} == {"maker", "taker"}
    assert booker.stats.flushes > 2 and booker.stats.fills == 4 and booker.queued == 0
    assert set(orders) == {o.cl_ord_id for o in m.oms.all_orders()}
    for order in m.oms.all_orders():
        row = orders[order.cl_ord_id]
        assert (row.status, row.qty, row.price, row.cum_qty, row.avg_price) == (
            order.status,
            order.qty,
            order.price,
            order.cum_qty,
            order.avg_px,
        ), order
        assert (row.side, row.order_type, row.time_in_force, row.is_post_only) == (
            order.side,
            order.order_type,
            order.tif,
            order.post_only,
        )
        assert row.created_at == utc(order.created_ts) and row.updated_at == utc(order.updated_ts)
        assert row.venue_order_id == order.venue_order_id and row.strategy_run_id == run_id
        assert row.instrument.code == "BTC/USD" and row.exchange_account.code == "acct"
        assert row.exchange_account.exchange.code == "coinbase"
        assert row.exchange_account.trading_account is not None
        assert row.exchange_account.trading_account.code == "acct"
    assert [orders[c].status for c in ("t1", "t2", "t3", "t4", "t5", "t6")] == [
        OrderStatus.FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
    ]
    assert "post-only" in (orders["t4"].reason or "") and "tick" in (orders["t5"].reason or "")
    assert orders["t6"].price == D(104) and orders["t1"].avg_price == D("100.6")
    assert orders["t1"].order_type is OrderType.MARKET and orders["t6"].time_in_force == "day"
    assert orders["t2"].version_id > 1  # updated in place as its state moved on


def test_replayed_exec_ids_are_booked_once(booking_engine: sa.Engine) -> None:
    m = _market()
    booker_for(m, booking_engine)
    m.run()
    before = booked_fills(booking_engine)
    states = {c: (o.status, o.cum_qty) for c, o in booked_orders(booking_engine).items()}

    # A restarted booker is handed every event again (a venue replaying its reports).
    again = Market(TRADES, [BOOK])
    replayer = booker_for(again, booking_engine)
    replayer.oms = m.oms  # the orders' types and instructions come from their manager
    for event in m.events:
        replayer.add(event)
    result = replayer.flush()

    assert result.ok and result.fills == 0 and result.duplicates == len(before) == 4
    assert booked_fills(booking_engine) == before
    after = {c: (o.status, o.cum_qty) for c, o in booked_orders(booking_engine).items()}
    assert after == states


def test_two_runs_book_into_the_same_database(booking_engine: sa.Engine) -> None:
    first, second = new_run(booking_engine, "a"), new_run(booking_engine, "b")
    a, b = _market("a", account="bt-a"), _market("b", account="bt-b")
    booker_for(a, booking_engine, run_id=first)
    booker_for(b, booking_engine, run_id=second)
    a.run()
    b.run()

    orders = booked_orders(booking_engine)
    by_run = {r: sorted(c for c, o in orders.items() if o.strategy_run_id == r) for r in (1, 2)}
    assert by_run == {first: [f"a{i}" for i in range(1, 7)], second: [f"b{i}" for i in range(1, 7)]}
    assert count(booking_engine, Fill) == 8
    with Session(booking_engine) as session:
        accounts = session.execute(sa.select(ExchangeAccount.code)).scalars().all()
        trading = session.execute(sa.select(TradingAccount.code)).scalars().all()
    assert sorted(accounts) == ["bt-a", "bt-b"] and sorted(trading) == ["bt-a", "bt-b"]


def test_a_run_reusing_another_runs_client_order_ids_fails_naming_both(
    booking_engine: sa.Engine,
) -> None:
    first, second = new_run(booking_engine, "a"), new_run(booking_engine, "b")
    a, again = _market(), _market()
    booker_for(a, booking_engine, run_id=first)
    booker_for(again, booking_engine, run_id=second)
    a.run()

    with pytest.raises(NodeError) as failed:
        again.run()

    cause = failed.value.__cause__
    assert isinstance(cause, BookingError)
    assert f"order 't1' of account 'acct' on coinbase is booked for run {first}" in str(cause)
    assert f"not run {second}" in str(cause) and "prefix" in str(cause)
    assert {o.strategy_run_id for o in booked_orders(booking_engine).values()} == {first}


def test_unknown_listing_fails_naming_the_instrument_and_the_refdata_command(
    db_url: str,
) -> None:
    migrations.upgrade(db_url)  # no reference data loaded
    engine = create_engine_from_url(db_url)
    m = _market()
    booker_for(m, engine)
    try:
        with pytest.raises(NodeError) as failed:
            m.run()
    finally:
        engine.dispose()

    text = str(failed.value.__cause__)
    assert "cannot book BTC-USD@coinbase" in text
    assert "`serenity refdata load --venue coinbase`" in text


def test_positions_and_marks_snapshot_idempotently(booking_engine: sa.Engine) -> None:
    m = _market()
    booker = booker_for(m, booking_engine)
    marks = MarketdataMarkService(m.md, [BTC])
    m.at(45, lambda: booker.snapshot(m.positions, marks))
    m.at(45, lambda: booker.snapshot(m.positions, marks))  # same instant: same rows
    m.sched.at_end(lambda: booker.snapshot(m.positions, marks))  # queued by a later hook
    m.run()

    with Session(booking_engine) as session:
        positions = session.execute(
            sa.select(Position.ts, Position.qty, Position.avg_price).order_by(Position.ts)
        ).all()
        marked = session.execute(
            sa.select(InstrumentMark.ts, InstrumentMark.source, InstrumentMark.price).order_by(
                InstrumentMark.ts
            )
        ).all()
    end = m.sched.end
    held = m.positions.position("acct", BTC)
    assert held.qty == D("3.5") and held.avg_price is not None
    assert [(ts, qty) for ts, qty, _ in positions] == [
        (utc(m.sched.start + 45 * 10**9), D("3.5")),
        (utc(end), D("3.5")),
    ]
    # Bought 2.5 at 100.6 and 2 at 99: (251.5 + 198) / 4.5 has no end; SQLite keeps 15 digits.
    assert all(abs(avg - held.avg_price) < D("1e-12") for *_, avg in positions)
    # At 45 s the book's mid (99 + 100) / 2; at the end the same book is still there.
    assert [tuple(x) for x in marked] == [
        (utc(m.sched.start + 45 * 10**9), "marketdata", D("99.5")),
        (utc(end), "marketdata", D("99.5")),
    ]


def test_fill_amounts_are_exact_decimals(booking_engine: sa.Engine) -> None:
    m = _market()
    booker_for(m, booking_engine)
    m.run()

    fees = [f.fee for f in booked_fills(booking_engine)]
    assert fees == [D("0.1"), D("0.1515"), D("-0.0198"), D("-0.0104")]
    assert all(isinstance(f, D) for f in fees)
    assert {f.liquidity for f in booked_fills(booking_engine)} == {
        str(Liquidity.MAKER),
        str(Liquidity.TAKER),
    }
    assert booked_fills(booking_engine)[0].ts.tzinfo is dt.UTC
    assert count(booking_engine, Order) == 6


def test_a_refused_amend_books_the_order_back_as_working(booking_engine: sa.Engine) -> None:
    m = Market([], [BOOK])
    booker = booker_for(m, booking_engine)
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 99, post_only=True))
    m.at(2, lambda: m.oms.replace(order, price=100.5))  # would take the 100 ask: refused
    m.run()

    row = booked_orders(booking_engine)["t1"]
    assert order.status is OrderStatus.NEW and booker.stats.pending == 0
    assert (row.status, row.price) == (OrderStatus.NEW, D(99))
