"""Snapshot + delta book synchronisation with gap detection and resync (sans-I/O).

The synchroniser is fed every delta as it arrives and every snapshot the feedhandler
fetches; it never does I/O. It buffers deltas until a snapshot, drops those the snapshot
already covers, checks that the rest continue it, and then keeps checking each delta's
sequence. On a break it clears the book, asks for a new snapshot (:attr:`needs_snapshot`)
and records the fault as :class:`~serenity.marketdata.DataQualityEvent` s for the caller to
publish and journal. The rules are Binance's documented ones for its diff-depth stream,
which reduce to plain ``seq == last + 1`` for venues that number each message.
"""

from __future__ import annotations

import logging
from collections import deque
from enum import StrEnum, unique

from serenity.errors import InvalidValueError
from serenity.marketdata.book import OrderBook
from serenity.marketdata.fh.sequence import SequenceCheck, SequenceTracker
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind
from serenity.marketdata.types import BookUpdate
from serenity.model import InstrumentId

__all__ = ["BookSynchroniser", "SyncState"]

log = logging.getLogger(__name__)


@unique
class SyncState(StrEnum):
    """Whether a book can be trusted."""

    AWAITING_SNAPSHOT = "awaiting_snapshot"
    LIVE = "live"


class BookSynchroniser:
    """Keep one instrument's :class:`OrderBook` in sync from a snapshot and deltas.

    Parameters
    ----------
    instrument
        The book's instrument.
    channel
        The channel named in data-quality events.
    max_buffer
        Deltas kept while waiting for a snapshot; the oldest are dropped past it (the
        continuity check then asks for a newer snapshot if they mattered).

    Raises
    ------
    InvalidValueError
        When ``max_buffer`` is < 1.
    """

    def __init__(
        self, instrument: InstrumentId, *, channel: str = "book", max_buffer: int = 10_000
    ) -> None:
        if max_buffer < 1:
            raise InvalidValueError(f"max_buffer must be >= 1, was {max_buffer!r}")
        self.instrument = instrument
        self.channel = channel
        self.book = OrderBook(instrument)
        self.state = SyncState.AWAITING_SNAPSHOT
        self.needs_snapshot = True
        self._buffer: deque[tuple[int, BookUpdate]] = deque(maxlen=max_buffer)
        self._seq = SequenceTracker(f"{instrument} {channel}")
        self._events: list[DataQualityEvent] = []
        self._is_crossed = False
        self._after_gap = False
        self.resyncs = 0

    @property
    def is_live(self) -> bool:
        """Return True while the book is in sync."""
        return self.state is SyncState.LIVE

    def on_delta(self, update: BookUpdate, first_seq: int | None = None) -> bool:
        """Take a delta; return True when it was applied to the book.

        Parameters
        ----------
        update
            The delta; ``update.seq`` is the last sequence number it covers.
        first_seq
            The first number it covers, for venues whose messages cover a range
            (Binance's ``U``); ``update.seq`` when omitted.
        """
        first = update.seq if first_seq is None else first_seq
        if self.state is not SyncState.LIVE:
            self._buffer.append((first, update))
            return False
        check = self._seq.check(first, update.seq)
        if check is SequenceCheck.STALE:
            return False
        if check is SequenceCheck.GAP:
            self._gap(update, first)
            self._buffer.append((first, update))
            return False
        self.book.apply(update)
        self._check_crossed(update)
        return True

    def on_snapshot(self, snapshot: BookUpdate) -> list[BookUpdate]:
        """Take a snapshot; return the updates applied, the snapshot first.

        Buffered deltas the snapshot covers are dropped; the rest are applied when they
        continue it. When the first of them starts after ``snapshot.seq + 1`` the snapshot
        is too old: it is not applied, a gap is recorded and :attr:`needs_snapshot` stays
        set. An empty list means nothing was applied.
        """
        if not snapshot.is_snapshot:
            raise InvalidValueError(f"on_snapshot needs a snapshot, was a delta seq={snapshot.seq}")
        pending = [(f, u) for f, u in self._buffer if u.seq > snapshot.seq]
        if pending and pending[0][0] > snapshot.seq + 1:
            self._emit(
                DataQualityKind.GAP,
                snapshot.ts_recv,
                {"expected": snapshot.seq + 1, "seen": pending[0][0], "reason": "stale snapshot"},
            )
            self._buffer = deque(pending, maxlen=self._buffer.maxlen)
            self.needs_snapshot = True
            return []
        self._buffer.clear()
        self.book.apply(snapshot)
        self._seq.reset(snapshot.seq)
        self.state = SyncState.LIVE
        self.needs_snapshot = False
        if self._after_gap:
            self.resyncs += 1
            self._after_gap = False
            self._emit(
                DataQualityKind.RESYNC,
                snapshot.ts_recv,
                {"seq": snapshot.seq, "replayed": len(pending)},
            )
        log.info("fh.book_synced", extra={"instrument": str(self.instrument), "seq": snapshot.seq})
        applied = [snapshot]
        self._check_crossed(snapshot)
        for first, update in pending:
            if self.on_delta(update, first):
                applied.append(update)
            elif not self.is_live:  # a gap inside the buffer: the rest waits for a snapshot
                self._buffer.extend(p for p in pending if p[1].seq > update.seq)
                break
        return applied

    def request_resync(self, reason: str) -> None:
        """Drop the book and wait for a new snapshot (e.g. after a reconnect)."""
        self.book.clear()
        self._buffer.clear()
        self._seq.reset()
        self.state = SyncState.AWAITING_SNAPSHOT
        self.needs_snapshot = True
        self._after_gap = True
        log.warning("fh.resync", extra={"instrument": str(self.instrument), "reason": reason})

    def drain_events(self) -> list[DataQualityEvent]:
        """Return the data-quality events recorded since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _gap(self, update: BookUpdate, first: int) -> None:
        expected = self.book.seq + 1 if self.book.seq is not None else first
        self._emit(DataQualityKind.GAP, update.ts_recv, {"expected": expected, "seen": first})
        log.warning(
            "fh.gap",
            extra={"instrument": str(self.instrument), "expected": expected, "seen": first},
        )
        self.request_resync("sequence gap")

    def _check_crossed(self, update: BookUpdate) -> None:
        crossed = self.book.is_crossed()
        if crossed and not self._is_crossed:
            bid, ask = self.book.best_bid(), self.book.best_ask()
            self._emit(
                DataQualityKind.CROSSED_BOOK,
                update.ts_recv,
                {
                    "seq": update.seq,
                    "bid": bid[0] if bid else None,
                    "ask": ask[0] if ask else None,
                },
            )
        self._is_crossed = crossed

    def _emit(self, kind: DataQualityKind, ts: int, details: dict[str, object]) -> None:
        self._events.append(
            DataQualityEvent(
                venue=self.instrument.venue,
                channel=self.channel,
                symbol=self.instrument.symbol,
                ts=ts,
                kind=kind,
                details=details,
            )
        )
