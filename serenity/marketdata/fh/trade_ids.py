"""Trade ids per symbol: duplicates dropped, gaps recorded, implausible ids refused (sans-I/O).

Venues that number trades consecutively per symbol (Coinbase's ``trade_id``) let a
feedhandler drop a trade it has already recorded and see trades it has lost. The ids
are input, not truth: one of 2**62 or more, or further ahead than ``max_jump``, is refused
and never remembered (:class:`~serenity.marketdata.fh.SequenceTracker`), and a tracker that
rejects ``stuck_after`` trades in a row has run ahead of the venue: it restarts (a ``stuck``
event) and the trades it held back as duplicates are delivered after all.

A gap may be filled later (:mod:`~serenity.marketdata.fh.backfill`): ``on_gap`` is told the
missing ids, :meth:`TradeIdSequencer.open_hole` marks those to be filled, and each of them is
delivered once, by :meth:`TradeIdSequencer.fill` or by the stream, whichever brings it first.
Ids outside an open hole stay duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from serenity.errors import DataError
from serenity.marketdata.fh.sequence import (
    DEFAULT_MAX_JUMP,
    DEFAULT_STUCK_AFTER,
    SEQ_LIMIT,
    SequenceCheck,
    SequenceTracker,
)
from serenity.marketdata.journal import TRADES
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind
from serenity.marketdata.types import Trade

__all__ = ["TradeIdSequencer"]

log = logging.getLogger(__name__)

_STALE: Final = SequenceCheck.STALE
_GAP: Final = SequenceCheck.GAP
_IMPLAUSIBLE: Final = SequenceCheck.IMPLAUSIBLE


class TradeIdSequencer:
    """The trade-id trackers of one feed's symbols, and what becomes of each trade.

    Parameters
    ----------
    venue
        The venue, for events and messages.
    symbols
        The symbols whose trades are recorded.
    deliver
        Called with each trade to record.
    publish_quality
        Called with each data-quality event (gap, resync, stuck).
    max_jump, stuck_after
        As for :class:`~serenity.marketdata.fh.SequenceTracker`.
    report_gaps
        Record a ``gap`` event when ids skip ahead. Off for venues whose ids may skip
        without a loss.
    on_gap
        Called with ``(symbol, first, last, ts_recv)`` when the ids ``first..last`` were
        skipped (after the gap event), e.g. to schedule a backfill.

    Attributes
    ----------
    trackers
        Per symbol, the :class:`~serenity.marketdata.fh.SequenceTracker` of its trade ids.
    duplicates
        Trades dropped because their id was already seen.
    """

    def __init__(
        self,
        venue: str,
        symbols: Iterable[str],
        *,
        deliver: Callable[[Trade], object],
        publish_quality: Callable[[DataQualityEvent], object],
        max_jump: int = DEFAULT_MAX_JUMP,
        stuck_after: int = DEFAULT_STUCK_AFTER,
        report_gaps: bool = True,
        on_gap: Callable[[str, int, int, int], object] | None = None,
    ) -> None:
        self.venue = venue
        self.trackers = {
            s: SequenceTracker(f"{s} trades", max_jump=max_jump, stuck_after=stuck_after)
            for s in symbols
        }
        self.duplicates = 0
        self.report_gaps = report_gaps
        self._deliver = deliver
        self._publish_quality = publish_quality
        self._max_jump = max_jump
        self._held: dict[str, list[Trade]] = {s: [] for s in self.trackers}
        self._on_gap = on_gap
        self._holes: dict[str, list[tuple[int, int]]] = {s: [] for s in self.trackers}

    def take(self, trade_id: int, trade: Trade) -> None:
        """Deliver ``trade`` unless its id was already seen (then it is held and counted).

        Raises
        ------
        DataError
            When the id is implausible; the caller journals the frame raw.
        """
        tracker = self.trackers[trade.instrument.symbol]
        last = tracker.last
        if last is not None and (
            trade_id == last + 1
            or (not self.report_gaps and last < trade_id <= last + self._max_jump < SEQ_LIMIT)
        ):
            tracker.last = trade_id  # the usual case, as tracker.check would record it
            self._deliver(trade)
        else:
            self._sequence(tracker, trade_id, trade)

    def restart(self, symbol: str, ts_recv: int, details: Mapping[str, object]) -> None:
        """Forget a symbol's last id, which the venue showed to be wrong (a RESYNC event)."""
        tracker = self.trackers[symbol]
        facts = {"last": tracker.last, **details}
        log.warning("fh.trade_ids_resync", extra={"venue": self.venue, "symbol": symbol, **facts})
        self._event(symbol, ts_recv, DataQualityKind.RESYNC, facts)
        tracker.reset()
        self._held[symbol].clear()
        self._holes[symbol].clear()

    # -- holes: skipped ids that may still be filled -----------------------------------------

    def open_hole(self, symbol: str, first: int, last: int) -> None:
        """Let the ids ``first..last`` of ``symbol``, below the last id seen, be delivered once."""
        if first <= last:
            self._holes[symbol].append((first, last))

    def holes(self, symbol: str) -> list[tuple[int, int]]:
        """Return the open holes of ``symbol``: ``(first, last)`` id ranges not yet filled."""
        return list(self._holes[symbol])

    def fill(self, trade_id: int, trade: Trade) -> bool:
        """Deliver a trade whose id is in an open hole (and close it there); return True if so.

        A trade whose id is not in a hole (already recorded, or never missing) is dropped and
        counted as a duplicate.
        """
        if self._take_hole(trade.instrument.symbol, trade_id):
            self._deliver(trade)
            return True
        self.duplicates += 1
        return False

    def close_holes(self, symbol: str, first: int, last: int) -> list[tuple[int, int]]:
        """Close what is still open of ``first..last``; return those ranges (they stay lost)."""
        kept: list[tuple[int, int]] = []
        closed: list[tuple[int, int]] = []
        for lo, hi in self._holes[symbol]:
            if hi < first or lo > last:
                kept.append((lo, hi))
                continue
            if lo < first:
                kept.append((lo, first - 1))
            if hi > last:
                kept.append((last + 1, hi))
            closed.append((max(lo, first), min(hi, last)))
        self._holes[symbol] = kept
        return closed

    def _take_hole(self, symbol: str, trade_id: int) -> bool:
        holes = self._holes[symbol]
        for i, (lo, hi) in enumerate(holes):
            if lo <= trade_id <= hi:
                rest = [(a, b) for a, b in ((lo, trade_id - 1), (trade_id + 1, hi)) if a <= b]
                holes[i : i + 1] = rest
                return True
        return False

    def _sequence(self, tracker: SequenceTracker, trade_id: int, trade: Trade) -> None:
        last = tracker.last
        symbol, ts_recv = trade.instrument.symbol, trade.ts_recv
        if last is not None and trade_id <= last and self._take_hole(symbol, trade_id):
            self._deliver(trade)  # a skipped id the stream brought after all
            return
        check = tracker.check(trade_id)
        if check is _STALE or check is _IMPLAUSIBLE:
            held = self._held[symbol]
            if tracker.run == 1:
                held.clear()  # a new run of rejections
            if check is _STALE:
                self.duplicates += 1
                held.append(trade)
            if tracker.is_stuck:
                self._unstick(tracker, symbol, ts_recv)
            if check is _IMPLAUSIBLE:
                raise DataError(
                    f"{self.venue}: implausible trade id {trade_id} of {symbol} after {last} "
                    f"(at most {tracker.max_jump} ahead, below 2**62)"
                )
            return
        if check is _GAP and self.report_gaps:
            expected = (last or 0) + 1
            details = {"expected": expected, "seen": trade_id, "missing": trade_id - expected}
            log.warning("fh.gap", extra={"venue": self.venue, "symbol": symbol, **details})
            self._event(symbol, ts_recv, DataQualityKind.GAP, details)
            self._deliver(trade)
            if self._on_gap is not None:
                self._on_gap(symbol, expected, trade_id - 1, ts_recv)
            return
        self._deliver(trade)

    def _unstick(self, tracker: SequenceTracker, symbol: str, ts_recv: int) -> None:
        """Restart a tracker that rejected everything; deliver the trades it held."""
        held = self._held[symbol]
        details = {"dropped": tracker.run, "last": tracker.last, "republished": len(held)}
        log.warning("fh.stuck", extra={"venue": self.venue, "symbol": symbol, **details})
        self._event(symbol, ts_recv, DataQualityKind.STUCK, details)
        tracker.reset()
        self._holes[symbol].clear()
        replay, self._held[symbol] = held, []
        for trade in replay:
            self._sequence(tracker, int(trade.trade_id), trade)

    def _event(
        self, symbol: str, ts: int, kind: DataQualityKind, details: Mapping[str, object]
    ) -> None:
        self._publish_quality(
            DataQualityEvent(
                venue=self.venue,
                channel=TRADES,
                symbol=symbol,
                ts=ts,
                kind=kind,
                details=dict(details),
            )
        )
