"""Book what the order manager reports into the database, off the hot path and in batches.

Durability: a journal, not a synchronous booking at shutdown
------------------------------------------------------------
Booking synchronously at shutdown protects nothing from a crash, a kill or a database that
is down at the moment of shutdown. So the service journals instead: every flush first
appends its records to a :class:`~serenity.booker.BookingJournal` (a local JSON-lines file,
fsynced) and only then writes them to the database; records are marked booked once their
transaction commits. A booker started with the same journal books what the last one left
(booking is idempotent, so a record that reached the database just before a crash is not
booked twice). What is not yet journaled is what arrived since the last flush: at most
``interval_s`` of events live, ``batch_size`` events in a backtest. Without a journal the
records wait in memory only, and a backtest whose records could not be booked ends with a
:class:`~serenity.errors.BookingError`.

Failures are logged and retried with exponential backoff; nothing is dropped. While the
database is away the records keep being journaled at every flush, without touching it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Engine

from serenity.booker.journal import BookingJournal
from serenity.booker.records import BookingRecord, MarkRecord, PositionRecord, order_record
from serenity.booker.writer import BookingWriter, FlushResult
from serenity.errors import BookingError, ConfigError, InvalidValueError
from serenity.marketdata.fh.backoff import Backoff
from serenity.model import InstrumentId
from serenity.pnl import MarkService
from serenity.position import PositionService
from serenity.tau import HistoricNetworkScheduler, NetworkScheduler
from serenity.tau.event import Do
from serenity.trading import CancelReject, ExecutionReport, OrderManagerService, Reject
from serenity.trading.orders import to_decimal

__all__ = ["BookingStats", "DatabaseTradeBookingService"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BookingStats:
    """Counts of what the booking service did so far.

    Attributes
    ----------
    records
        Records queued (order states and snapshots).
    orders, fills, duplicates, snapshots
        Order rows written, fills inserted, replayed fills skipped, snapshot rows written.
    flushes, failures
        Flushes attempted, and how many of them failed.
    pending
        Records waiting to be booked after the last flush.
    last_error
        The reason of the last flush, when it failed; None after a success.
    last_failure
        The reason of the last failure, kept after later successes.
    """

    records: int = 0
    orders: int = 0
    fills: int = 0
    duplicates: int = 0
    snapshots: int = 0
    flushes: int = 0
    failures: int = 0
    pending: int = 0
    last_error: str | None = None
    last_failure: str | None = None


class DatabaseTradeBookingService:
    """Write the orders and fills an order manager reports to the ``order`` and ``fill`` tables.

    Each order event is turned into a plain record in its own cycle and queued; nothing else
    happens in the cycle. Under a :class:`~serenity.tau.HistoricNetworkScheduler` the queue is
    flushed by a timer action once ``batch_size`` records wait, and at the end of the run.
    Under a :class:`~serenity.tau.RealtimeNetworkScheduler` :meth:`run` flushes every
    ``interval_s`` (sooner when ``batch_size`` records wait) with the database work in a
    worker thread (``asyncio.to_thread``), and once more when the scheduler shuts down.

    Rows: an order is upserted by (exchange account, ``cl_ord_id``) with its latest state,
    version-checked; a fill is inserted once per (order, exec id). The exchange account is the
    order's account at the instrument's venue; it and its trading account (same code) are
    created when missing. Instruments are resolved from the venue's live listing: reference
    data must be loaded (``serenity refdata load``). A missing listing is a
    :class:`~serenity.errors.BookingError` naming the instrument and that command, never an
    invented instrument row.

    Parameters
    ----------
    scheduler
        The scheduler of the order manager's network.
    oms
        The order manager whose ``order_events`` are booked.
    engine
        The database, migrated (``serenity db upgrade``).
    run_id
        The ``strategy_run`` row the orders belong to, if any.
    journal
        Path of the journal file (see the module docstring), or a journal; None keeps
        waiting records in memory only.
    batch_size
        Records per flush in a backtest; also wakes the live flush early.
    interval_s
        Time between live flushes.
    backoff
        Delays between attempts after a failure (wall-clock seconds).
    give_up_after_s
        How long the final flush (end of run, shutdown) keeps retrying.

    Raises
    ------
    ConfigError
        When a size or interval is out of range.
    """

    def __init__(
        self,
        scheduler: NetworkScheduler,
        oms: OrderManagerService,
        engine: Engine,
        *,
        run_id: int | None = None,
        journal: BookingJournal | str | os.PathLike[str] | None = None,
        batch_size: int = 1_000,
        interval_s: float = 1.0,
        backoff: Backoff | None = None,
        give_up_after_s: float = 30.0,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"booker batch_size must be >= 1, was {batch_size!r}")
        if not interval_s > 0:
            raise ConfigError(f"booker interval_s must be > 0, was {interval_s!r}")
        if give_up_after_s < 0:
            raise ConfigError(f"booker give_up_after_s must be >= 0, was {give_up_after_s!r}")
        self.scheduler = scheduler
        self.oms = oms
        self.run_id = run_id
        if journal is not None and not isinstance(journal, BookingJournal):
            journal = BookingJournal(journal)
        self.journal: BookingJournal | None = journal
        self.writer = BookingWriter(engine, journal=journal)
        self.batch_size = int(batch_size)
        self.interval_s = float(interval_s)
        self.backoff = backoff or Backoff(initial_s=0.5, max_s=30.0, jitter=0.2)
        self.give_up_after_s = float(give_up_after_s)
        self.stats = BookingStats()
        self._queue: list[BookingRecord] = []
        self._historic = isinstance(scheduler, HistoricNetworkScheduler)
        self._flush_scheduled = False
        self._retry_at = 0.0
        self._delay = 0.0
        self._running = False
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        events = oms.order_events
        Do(scheduler.network, events, lambda: self.add(events._value), name="booker")
        scheduler.at_end(self._at_end)

    # -- the hot path: queue only --------------------------------------------------------

    def add(self, event: object) -> None:
        """Queue the booking of an order event (the ``order_events`` subscription calls this).

        Execution reports, rejects and cancel rejects of known orders are booked (see
        :func:`~serenity.booker.order_record`); reports the order manager refused
        (:class:`~serenity.trading.OrderError`) changed no order and are not.
        """
        if not isinstance(event, ExecutionReport | Reject | CancelReject):
            return
        record = order_record(event, self.oms.get(event.order_id), run_id=self.run_id)
        if record is not None:
            self._enqueue(record)

    def snapshot(
        self,
        positions: PositionService,
        marks: MarkService | None = None,
        *,
        ts: int | None = None,
        source: str = "marketdata",
        instruments: Iterable[InstrumentId] = (),
    ) -> int:
        """Queue a snapshot of every position (flat ones included) and of the marks.

        Rows are keyed by (account, instrument, ``ts``) and (instrument, ``source``, ``ts``),
        so snapshotting twice at one time writes each row once, with the latest values.

        Parameters
        ----------
        positions
            The positions to snapshot.
        marks
            Where mark prices come from; marks are skipped when None.
        ts
            The snapshot time (int ns); the scheduler's time by default.
        source
            The mark source stored with each mark (at most 32 characters).
        instruments
            Instruments to mark besides those with a position.

        Returns
        -------
        int
            How many rows were queued.

        Raises
        ------
        InvalidValueError
            When ``source`` is empty or too long.
        """
        if not source or len(source) > 32:
            raise InvalidValueError(f"mark source must be 1 to 32 characters, was {source!r}")
        now = self.scheduler.get_time() if ts is None else int(ts)
        queued = 0
        marked: dict[InstrumentId, None] = {}
        for p in positions.all():
            self._enqueue(
                PositionRecord(
                    venue=p.instrument.venue,
                    symbol=p.instrument.symbol,
                    account=p.account,
                    ts=now,
                    qty=p.qty,
                    avg_price=p.avg_price,
                )
            )
            marked[p.instrument] = None
            queued += 1
        if marks is not None:
            marked.update(dict.fromkeys(instruments))
            for instrument in marked:
                price = marks.mark(instrument)
                if price is None:
                    continue
                self._enqueue(
                    MarkRecord(
                        venue=instrument.venue,
                        symbol=instrument.symbol,
                        source=source,
                        ts=now,
                        price=_price(price),
                    )
                )
                queued += 1
        return queued

    @property
    def queued(self) -> int:
        """Return how many records wait in memory for the next flush."""
        return len(self._queue)

    def _enqueue(self, record: BookingRecord) -> None:
        self._queue.append(record)
        self.stats.records += 1
        if len(self._queue) < self.batch_size:
            return
        if self._historic:
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self.scheduler.schedule(self._flush_on_timer)
        elif self._wake is not None:
            self._wake.set()

    # -- backtests: flushes as timer actions ---------------------------------------------

    def _flush_on_timer(self) -> None:
        self._flush_scheduled = False
        batch = self._take()
        if time.monotonic() < self._retry_at:  # still backing off: journal only
            self._account(self.writer.hold(batch), held=True)
            return
        result = self._account(self.writer.write(batch))
        if result.is_permanent:
            raise BookingError(
                f"booking failed: {result.error}; {self._where_pending()}"
            ) from self.writer.last_exception

    def flush(self) -> FlushResult:
        """Book everything queued now, blocking; return what was done (see :class:`FlushResult`).

        For backtests, tests and synchronous shutdown code: not while :meth:`run` is active.

        Raises
        ------
        InvalidValueError
            When :meth:`run` is active (its flushes must not overlap).
        """
        if self._running:
            raise InvalidValueError("flush() while run() is active; stop() it first")
        return self._account(self.writer.write(self._take()))

    def close(self) -> None:
        """Flush until everything is booked or ``give_up_after_s`` has passed (blocking).

        A backtest calls it at the end of the run. Transient failures are retried with
        backoff; a permanent one (see :class:`FlushResult`) ends the attempts at once.

        Raises
        ------
        BookingError
            When records remain unbooked; they are in the journal when there is one.
        """
        deadline = time.monotonic() + self.give_up_after_s
        result = self.flush()
        while not result.ok and not result.is_permanent:
            if time.monotonic() + self._delay > deadline:
                break
            time.sleep(self._delay)
            result = self.flush()
        if not result.ok:
            raise BookingError(
                f"{result.pending} booking records not booked: {result.error}; "
                f"{self._where_pending()}"
            ) from self.writer.last_exception

    def _at_end(self) -> None:
        if self._historic:
            # After every end-of-run hook, so that a final snapshot queued by one is booked.
            self.scheduler.schedule(self.close)
        else:
            self.stop()

    # -- live: a flushing task -----------------------------------------------------------

    async def run(self) -> None:
        """Flush every ``interval_s`` in a worker thread until :meth:`stop`, then flush once more.

        The scheduler's end (``shutdown``) stops it too. The last flush retries for up to
        ``give_up_after_s``; what is still unbooked then stays in the journal and is logged.
        """
        if self._running:
            raise InvalidValueError("the booking service is already running")
        self._running = True
        self._wake, self._stop = asyncio.Event(), asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        log.info("booker.started", extra={"run_id": self.run_id})
        try:
            await self._flush_async()  # books what a previous run left in the journal
            while not self._stop.is_set():
                await self._sleep(self.interval_s)
                if self._stop.is_set():
                    break
                await self._flush_async()
        finally:
            try:
                await self._final_flush()
            finally:
                self._running = False
                log.info("booker.stopped", extra={**self._fields(), "run_id": self.run_id})

    def stop(self) -> None:
        """Make :meth:`run` flush what is left and return; safe before it starts."""
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    async def _flush_async(self, *, force: bool = False) -> FlushResult:
        batch = self._take()
        if not force and time.monotonic() < self._retry_at:
            held = await asyncio.to_thread(self.writer.hold, batch)
            return self._account(held, held=True)
        return self._account(await asyncio.to_thread(self.writer.write, batch))

    async def _final_flush(self) -> None:
        deadline = time.monotonic() + self.give_up_after_s
        result = await self._flush_async(force=True)
        while not result.ok:
            if time.monotonic() + self._delay > deadline:
                log.error("booker.unbooked", extra=self._fields())
                return
            await asyncio.sleep(self._delay)
            result = await self._flush_async(force=True)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None and self._stop is not None
        self._wake.clear()
        waits = [asyncio.ensure_future(e.wait()) for e in (self._wake, self._stop)]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    # -- shared ------------------------------------------------------------------------------

    def _take(self) -> list[BookingRecord]:
        batch, self._queue = self._queue, []
        return batch

    def _account(self, result: FlushResult, *, held: bool = False) -> FlushResult:
        stats = self.stats
        stats.orders += result.orders
        stats.fills += result.fills
        stats.duplicates += result.duplicates
        stats.snapshots += result.snapshots
        stats.pending = result.pending
        if held:
            return result
        stats.flushes += 1
        if result.error is None:
            stats.last_error = None
            self.backoff.reset()
            self._retry_at = 0.0
        else:
            stats.failures += 1
            stats.last_error = stats.last_failure = result.error
            self._delay = self.backoff.next_delay()
            self._retry_at = time.monotonic() + self._delay
            log.warning("booker.retry_scheduled", extra={**self._fields(), "delay_s": self._delay})
        return result

    def _fields(self) -> dict[str, object]:
        return {
            "pending": self.writer.pending,
            "journal": str(self.journal.path) if self.journal is not None else None,
            "error": self.stats.last_error,
        }

    def _where_pending(self) -> str:
        if self.journal is None:
            return "they are held in memory only (no journal)"
        return f"they are kept in the journal {self.journal.path} and booked by the next booker"


def _price(value: Decimal | float) -> Decimal:
    return to_decimal(value, what="mark price")
