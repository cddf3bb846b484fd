"""The writer alone: concurrent get-or-create of accounts, backlogs in several transactions."""

from __future__ import annotations

import threading
from decimal import Decimal as D
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from serenity.booker import BookingJournal, BookingWriter, FlushResult, OrderRecord
from serenity.model import (
    ExchangeAccount,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingAccount,
)
from tests.booker.helpers import count
from tests.trading.harness import T0


def _order(cl_ord_id: str, account: str = "shared") -> OrderRecord:
    return OrderRecord(
        venue="coinbase",
        symbol="BTC-USD",
        account=account,
        cl_ord_id=cl_ord_id,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        qty=D(1),
        price=D("100.25"),
        stop_price=None,
        is_post_only=False,
        is_reduce_only=False,
        status=OrderStatus.NEW,
        cum_qty=D(0),
        avg_price=None,
        venue_order_id=None,
        reason=None,
        created_ts=T0,
        ts=T0,
    )


def _until_booked(writer: BookingWriter, records: list[OrderRecord]) -> FlushResult:
    result = writer.write(records)
    for _ in range(50):  # SQLite may refuse the second of two writers at once: retry
        if result.ok:
            break
        assert not result.is_permanent, result.error
        result = writer.write([])
    return result


def test_two_writers_creating_the_same_account_at_once_agree(booking_engine: sa.Engine) -> None:
    results: dict[str, FlushResult] = {}
    for round_ in range(3):
        account = f"shared-{round_}"
        start = threading.Barrier(2)

        def book(prefix: str, account: str = account, start: threading.Barrier = start) -> None:
            writer = BookingWriter(booking_engine)
            records = [_order(f"{prefix}{i}", account) for i in range(20)]
            start.wait()
            results[f"{account}/{prefix}"] = _until_booked(writer, records)

        threads = [threading.Thread(target=book, args=(p,)) for p in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    with Session(booking_engine) as session:
        accounts = session.scalars(sa.select(ExchangeAccount.code)).all()
        trading = session.scalars(sa.select(TradingAccount.code)).all()
    assert all(r.ok and r.orders == 20 for r in results.values()) and len(results) == 6
    assert sorted(accounts) == sorted(trading) == ["shared-0", "shared-1", "shared-2"]
    assert count(booking_engine, Order) == 120


def test_a_backlog_is_booked_in_several_transactions_and_marked_as_it_goes(
    booking_engine: sa.Engine, tmp_path: Path
) -> None:
    journal = BookingJournal(tmp_path / "booking.journal")
    writer = BookingWriter(booking_engine, journal=journal, max_batch=2)
    committed: list[int] = []
    sa.event.listen(booking_engine, "commit", lambda _conn: committed.append(1))

    result = writer.write([_order(f"c{i}") for i in range(5)])

    assert result.ok and result.orders == 5 and len(committed) == 3
    assert journal.pending_count == 0 and journal.path.stat().st_size == 0
