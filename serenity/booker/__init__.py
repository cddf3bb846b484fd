"""Booking: orders, fills, positions and marks written to the database, idempotently.

:class:`DatabaseTradeBookingService` subscribes to an order manager's ``order_events`` and
books every order state and fill into the ``order`` and ``fill`` tables, off the hot path:
the tau callback only queues a plain record (:class:`OrderRecord`), and a
:class:`BookingWriter` writes batches in one transaction each, in a worker thread when live.
A replayed exec id is never booked twice; orders carry a version counter. Records are
journaled (:class:`BookingJournal`) before they are written, so a booking failure is retried
and a restart books what was left. :meth:`DatabaseTradeBookingService.snapshot` writes
positions and marks to the ``position`` and ``instrument_mark`` tables.
"""

from __future__ import annotations

from serenity.booker.journal import BookingJournal
from serenity.booker.records import (
    BookingRecord,
    FillRecord,
    MarkRecord,
    OrderRecord,
    PositionRecord,
    order_record,
    record_from_dict,
    record_to_dict,
)
from serenity.booker.service import BookingStats, DatabaseTradeBookingService
from serenity.booker.writer import BookingWriter, FlushResult, utc

__all__ = [
    "BookingJournal",
    "BookingRecord",
    "BookingStats",
    "BookingWriter",
    "DatabaseTradeBookingService",
    "FillRecord",
    "FlushResult",
    "MarkRecord",
    "OrderRecord",
    "PositionRecord",
    "order_record",
    "record_from_dict",
    "record_to_dict",
    "utc",
]
