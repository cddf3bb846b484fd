"""Snapshot + delta book synchronisation with gap detection and resync (sans-I/O).

The synchroniser is fed every delta as it arrives and every snapshot the feedhandler
fetches; it never does I/O. It buffers deltas until a snapshot, drops those the snapshot
already covers, checks that the rest continue it, and then keeps checking each delta's
sequence. On a break it clears the book, asks for a new snapshot (:attr:`needs_snapshot`)
and records the fault as :class:`~serenity.marketdata.DataQualityEvent` s for the caller to
publish and journal. The rules are Binance's documented ones for its diff-depth stream,
which reduce to plain ``seq == last + 1`` for venues that number each message.

Sequence numbers are the venue's input, not truth. A delta whose numbers are implausible
(:class:`~serenity.marketdata.fh.SequenceTracker`: a jump past the bound or near the 64-bit
limit) is never applied: it is a gap and a resync, so it cannot move the book's sequence to
where every later delta looks stale. And if deltas are dropped as stale ``stuck_after`` times
in a row anyway, the book is stuck: a ``stuck`` event is recorded and the book resyncs.
"""

from __future__ import annotations

import logging
from collections import deque
from enum import StrEnum, unique

from serenity.errors import InvalidValueError
from serenity.marketdata.book import OrderBook
from serenity.marketdata.fh.sequence import (
    DEFAULT_MAX_JUMP,
    DEFAULT_STUCK_AFTER,
    SEQ_LIMIT,
    SequenceCheck,
    SequenceTracker,
)
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
    max_jump
        The largest forward jump of sequence numbers that is a gap; a larger one is
        implausible (see :class:`~serenity.marketdata.fh.SequenceTracker`). None for no bound.
    stuck_after
        Deltas dropped as stale in a row after which the book is resynced.

    Raises
    ------
    InvalidValueError
        When ``max_buffer`` or ``stuck_after`` is < 1.
    """

    def __init__(
        self,
        instrument: InstrumentId,
        *,
        channel: str = "book",
        max_buffer: int = 10_000,
        max_jump: int | None = DEFAULT_MAX_JUMP,
        stuck_after: int = DEFAULT_STUCK_AFTER,
    ) -> None:
        if max_buffer < 1:
            raise InvalidValueError(f"max_buffer must be >= 1, was {max_buffer!r}")
        if stuck_after < 1:
            raise InvalidValueError(f"stuck_after must be >= 1, was {stuck_after!r}")
        self.instrument = instrument
        self.channel = channel
        self.book = OrderBook(instrument)
        self.state = SyncState.AWAITING_SNAPSHOT
        self.needs_snapshot = True
        self._buffer: deque[tuple[int, BookUpdate]] = deque(maxlen=max_buffer)
        self._seq = SequenceTracker(
            f"{instrument} {channel}", max_jump=max_jump, stuck_after=stuck_after
        )
        self._events: list[DataQualityEvent] = []
        self._is_crossed = False
        self._after_gap = False
        self.resyncs = 0
        self.stuck = 0

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
        seq = self._seq
        check = seq.check(first, update.seq)
        if check is SequenceCheck.STALE:
            if seq.run >= seq.stuck_after:
                self._stuck(update)
            return False
        if check is SequenceCheck.GAP:
            self._gap(update, first)
            self._buffer.append((first, update))
            return False
        if check is SequenceCheck.IMPLAUSIBLE:
            self._gap(update, first, reason="implausible update id")
            return False  # not state: neither applied nor buffered
        self.book.apply(update)
        self._check_crossed(update)
        return True

    def on_snapshot(self, snapshot: BookUpdate) -> list[BookUpdate]:
        """Take a snapshot; return the updates applied, the snapshot first.

        Buffered deltas the snapshot covers are dropped, and so are those whose numbers are
        implausible after it; the rest are applied when they continue it. When the first of
        them starts after ``snapshot.seq + 1`` the snapshot is too old: it is not applied, a
        gap is recorded and :attr:`needs_snapshot` stays set. A snapshot numbered 2**62 or
        more is implausible and refused the same way. An empty list means nothing was
        applied.
        """
        if not snapshot.is_snapshot:
            raise InvalidValueError(f"on_snapshot needs a snapshot, was a delta seq={snapshot.seq}")
        if not 0 <= snapshot.seq < SEQ_LIMIT:
            self._emit(
                DataQualityKind.GAP,
                snapshot.ts_recv,
                {"seen": snapshot.seq, "reason": "implausible snapshot sequence"},
            )
            self.needs_snapshot = True
            return []
        ceiling = SEQ_LIMIT
        if self._seq.max_jump is not None:
            ceiling = min(ceiling, snapshot.seq + self._seq.max_jump + 1)
        # buffered deltas the snapshot covers are dropped, and so are implausible ones
        pending = [(f, u) for f, u in self._buffer if snapshot.seq < u.seq < ceiling]
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

    def _gap(self, update: BookUpdate, first: int, reason: str = "") -> None:
        expected = self.book.seq + 1 if self.book.seq is not None else first
        details: dict[str, object] = {"expected": expected, "seen": first}
        if reason:
            details |= {"last": update.seq, "reason": reason}
        self._emit(DataQualityKind.GAP, update.ts_recv, details)
        log.warning("fh.gap", extra={"instrument": str(self.instrument), **details})
        self.request_resync(reason or "sequence gap")

    def _stuck(self, update: BookUpdate) -> None:
        self.stuck += 1
        details: dict[str, object] = {
            "dropped": self._seq.run,
            "book_seq": self.book.seq,
            "seen": update.seq,
        }
        self._emit(DataQualityKind.STUCK, update.ts_recv, details)
        log.warning("fh.stuck", extra={"instrument": str(self.instrument), **details})
        self.request_resync("stuck: every delta was stale")

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
