"""The booking journal and the records it holds: round trips, torn tails, bad lines."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from serenity.booker import (
    BookingJournal,
    BookingRecord,
    BookingWriter,
    FillRecord,
    MarkRecord,
    OrderRecord,
    PositionRecord,
    record_from_dict,
    record_to_dict,
)
from serenity.errors import DataError
from serenity.model import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from tests.trading.harness import T0

amounts = st.decimals(
    allow_nan=False, allow_infinity=False, places=18, min_value=-(10**19), max_value=10**19
)
texts = st.text(min_size=1, max_size=20)
ns = st.integers(min_value=0, max_value=2**62)
fills = st.builds(
    FillRecord,
    exec_id=texts,
    qty=amounts,
    price=amounts,
    fee=amounts,
    fee_currency=st.sampled_from(["", "USD", "BTC"]),
    liquidity=st.none() | st.sampled_from(Liquidity),
    ts=ns,
)
orders = st.builds(
    OrderRecord,
    venue=texts,
    symbol=texts,
    account=texts,
    cl_ord_id=texts,
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    time_in_force=st.sampled_from(TimeInForce),
    qty=amounts,
    price=st.none() | amounts,
    stop_price=st.none() | amounts,
    is_post_only=st.booleans(),
    is_reduce_only=st.booleans(),
    status=st.sampled_from(OrderStatus),
    cum_qty=amounts,
    avg_price=st.none() | amounts,
    venue_order_id=st.none() | texts,
    reason=st.none() | texts,
    created_ts=ns,
    ts=ns,
    run_id=st.none() | st.integers(min_value=1, max_value=2**31),
    fill=st.none() | fills,
)
records = st.one_of(
    orders,
    st.builds(
        PositionRecord,
        venue=texts,
        symbol=texts,
        account=texts,
        ts=ns,
        qty=amounts,
        avg_price=st.none() | amounts,
    ),
    st.builds(MarkRecord, venue=texts, symbol=texts, source=texts, ts=ns, price=amounts),
)


@given(records)
def test_records_round_trip_through_json_exactly(record: BookingRecord) -> None:
    back = record_from_dict(orjson.loads(orjson.dumps(record_to_dict(record))))

    assert back == record and type(back) is type(record)


def _mark(i: int) -> MarkRecord:
    return MarkRecord(venue="coinbase", symbol="BTC-USD", source="test", ts=i, price=D(i) / 7)


def test_unbooked_records_come_back_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "j" / "booking.journal"
    journal = BookingJournal(path, fsync=False)
    journal.append([_mark(1), _mark(2)])
    journal.append([_mark(3)])
    journal.mark_booked(2)
    journal.append([_mark(4)])

    restarted = BookingJournal(path)
    pending = restarted.load()
    restarted.mark_booked(4)

    assert pending == [(3, _mark(3)), (4, _mark(4))]
    assert restarted.pending_count == 0 and path.stat().st_size == 0
    assert BookingJournal(path).load() == []


def test_a_torn_last_line_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "booking.journal"
    BookingJournal(path).append([_mark(1), _mark(2)])
    with open(path, "ab") as fh:
        fh.write(b'{"seq": 3, "kind": "mark", "ven')  # the crash cut this write short

    journal = BookingJournal(path)
    pending = journal.load()
    journal.append([_mark(5)])

    assert [seq for seq, _ in pending] == [1, 2]
    assert [seq for seq, _ in BookingJournal(path).load()] == [1, 2, 3]


def test_a_bad_line_inside_the_journal_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "booking.journal"
    journal = BookingJournal(path)
    journal.append([_mark(1)])
    with open(path, "ab") as fh:
        fh.write(b"not json\n")
    journal.append([_mark(2)])

    with pytest.raises(DataError, match=r"booking.journal line 2 is not a journal line"):
        BookingJournal(path).load()


def test_a_damaged_journal_stops_booking_without_losing_new_records(
    booking_engine: sa.Engine, tmp_path: Path
) -> None:
    path = tmp_path / "booking.journal"
    path.write_bytes(b"not json\n")
    writer = BookingWriter(booking_engine, journal=BookingJournal(path))
    mark = MarkRecord(venue="coinbase", symbol="BTC-USD", source="test", ts=T0, price=D(7))

    refused = writer.write([mark])
    path.write_bytes(b"")  # someone repaired the file
    repaired = writer.write([])

    assert refused.is_permanent and "line 1 is not a journal line" in (refused.error or "")
    assert refused.pending == 1
    assert repaired.ok and repaired.snapshots == 1
