"""A database that goes away: bookings are retried, journaled, and booked once it is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from serenity.booker import BookingJournal, BookingRecord, order_record, utc
from serenity.errors import BookingError, NodeError
from serenity.model import Fill, Order
from serenity.trading import ExecutionReport, Reject
from tests.booker.helpers import Outage, booked_fills, booked_orders, booker_for, count
from tests.booker.test_service import _market
from tests.trading.harness import Market


@pytest.fixture
def outage(booking_engine: sa.Engine, db_url: str) -> Iterator[Outage]:
    """Return the booking database behind a switch the test can turn off and on."""
    out = Outage(db_url)
    yield out
    out.close()


def _fills_of(m: Market) -> list[tuple[str, str, object, object]]:
    return [(e.cl_ord_id, e.exec_id, e.last_qty, utc(e.ts)) for e in m.fills()]


def _booked(engine: sa.Engine) -> list[tuple[str, str, object, object]]:
    return [(f.cl_ord_id, f.exec_id, f.qty, f.ts) for f in booked_fills(engine)]


def test_fills_are_booked_once_the_database_is_back_mid_run(
    outage: Outage, booking_engine: sa.Engine, tmp_path: Path
) -> None:
    m = _market()
    booker = booker_for(m, outage.engine, journal=tmp_path / "booking.journal", batch_size=2)
    m.at(2.5, outage.begin)  # after the first flushes went through
    m.at(35, outage.end)
    m.run()

    assert booker.stats.failures >= 1 and booker.stats.last_error is None
    assert booker.stats.pending == 0 and (tmp_path / "booking.journal").stat().st_size == 0
    assert _booked(booking_engine) == _fills_of(m)  # each fill once, in order
    assert len(booked_orders(booking_engine)) == 6


def test_records_left_when_the_database_went_away_are_booked_after_a_restart(
    outage: Outage, booking_engine: sa.Engine, tmp_path: Path
) -> None:
    journal = tmp_path / "booking.journal"
    m = _market()
    booker_for(m, outage.engine, journal=journal, batch_size=2, give_up_after_s=0.05)
    m.at(2.5, outage.begin)  # gone for good: the run ends with records unbooked
    with pytest.raises(NodeError) as failed:
        m.run()
    waiting = BookingJournal(journal).load()

    outage.end()
    booked_before = count(booking_engine, Fill)
    restarted = Market()  # a new process: nothing traded yet, the same journal
    again = booker_for(restarted, outage.engine, journal=journal)
    restarted.run()
    once_more = Market()
    third = booker_for(once_more, outage.engine, journal=journal)
    once_more.run()

    assert isinstance(failed.value.__cause__, BookingError)
    assert f"kept in the journal {journal}" in str(failed.value.__cause__)
    assert booked_before < 4 and waiting
    assert again.stats.fills == 4 - booked_before and again.stats.pending == 0
    assert _booked(booking_engine) == _fills_of(m)
    assert {c: o.status for c, o in booked_orders(booking_engine).items()} == {
        o.cl_ord_id: o.status for o in m.oms.all_orders()
    }
    assert third.stats.orders == third.stats.fills == 0 and journal.stat().st_size == 0


def test_a_crash_after_commit_but_before_the_mark_books_nothing_twice(
    booking_engine: sa.Engine, tmp_path: Path
) -> None:
    journal = tmp_path / "booking.journal"
    m = _market()
    booker = booker_for(m, booking_engine, journal=journal)
    m.run()
    # The process died after the last commit and before marking it: every record is back.
    assert booker.stats.pending == 0
    BookingJournal(journal).append(_records_of(m))

    restarted = Market()
    again = booker_for(restarted, booking_engine, journal=journal)
    restarted.run()

    assert again.stats.duplicates == 4 and again.stats.fills == 0
    assert _booked(booking_engine) == _fills_of(m) and count(booking_engine, Order) == 6


def test_a_stale_copy_of_a_booked_order_cannot_overwrite_the_booker(
    booking_engine: sa.Engine,
) -> None:
    m = _market()
    booker = booker_for(m, booking_engine, batch_size=10_000)
    with Session(booking_engine) as other:
        t2 = sa.select(Order).where(Order.cl_ord_id == "t2")
        m.at(2.5, booker.flush)  # t2 is booked as resting ...
        copies: list[Order] = []
        m.at(2.6, lambda: copies.append(other.scalars(t2).one()))  # ... read by another writer
        m.run()  # the booker moves t2 on to filled
        [stale] = copies
        assert stale.status == "new"
        stale.reason = "manual note"
        with pytest.raises(StaleDataError):
            other.commit()

    assert booked_orders(booking_engine)["t2"].status == "filled"


@pytest.mark.postgres
def test_the_booker_retries_when_another_writer_updates_an_order_under_it(
    pg_schema_url: str, tmp_path: Path
) -> None:
    from serenity.db import create_engine_from_url, load_catalog, migrations
    from serenity.exchange.product import ProductCatalog
    from tests.booker.helpers import T_LOAD
    from tests.trading.harness import product

    migrations.upgrade(pg_schema_url)
    engine = create_engine_from_url(pg_schema_url)
    load_catalog(engine, ProductCatalog.of("coinbase", [product()]), as_of=T_LOAD)
    m = _market()
    booker = booker_for(m, engine, batch_size=10_000, give_up_after_s=10.0)
    m.at(2.5, booker.flush)  # t2 booked as resting
    interfered: list[int] = []

    def interfere(conn: object, cursor: object, statement: str, *args: object) -> None:
        # Right after the booker read t2's version, another writer commits a change to it.
        if not interfered and statement.lstrip().startswith('SELECT "order".id'):
            with engine.begin() as other:
                other.execute(
                    sa.text('UPDATE "order" SET version_id = version_id + 1, reason = :r'),
                    {"r": "changed meanwhile"},
                )
            interfered.append(1)

    m.at(2.6, lambda: sa.event.listen(engine, "after_cursor_execute", interfere))
    try:
        m.run()
    finally:
        sa.event.remove(engine, "after_cursor_execute", interfere)
        rows = booked_orders(engine)
        engine.dispose()

    assert interfered and booker.stats.failures == 1  # the stale update, then a retry
    assert "StaleDataError" in (booker.stats.last_failure or "")
    assert rows["t2"].status == "filled" and rows["t2"].reason is None
    assert booker.stats.pending == 0


def _records_of(m: Market) -> list[BookingRecord]:
    return [
        r
        for e in m.events
        if isinstance(e, ExecutionReport | Reject)
        and (r := order_record(e, m.oms.get(e.order_id))) is not None
    ]
