"""Where a feedhandler delivers what it takes in: the :class:`FeedSink` port and the
journal's adapter, :class:`JournalSink`."""

from __future__ import annotations

from typing import Protocol

from serenity.marketdata.book import OrderBook
from serenity.marketdata.journal import JournalWriter
from serenity.marketdata.quality import DataQualityEvent, RawFrame
from serenity.marketdata.types import BookUpdate, Trade

__all__ = ["FeedSink", "JournalSink"]


class FeedSink(Protocol):
    """Where a feedhandler delivers what it takes in (journal, live service, tests)."""

    def on_trade(self, trade: Trade) -> None:
        """Take a normalised trade."""
        ...

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        """Take a book update that was applied in sync, with the book after it."""
        ...

    def on_quality(self, event: DataQualityEvent) -> None:
        """Take a data-quality event (gap, resync, reconnect, crossed book, parse error)."""
        ...

    def on_raw(self, raw: RawFrame) -> None:
        """Take the bytes of a frame that could not be parsed."""
        ...


class JournalSink:
    """A :class:`FeedSink` that appends everything to a :class:`JournalWriter`."""

    def __init__(self, journal: JournalWriter) -> None:
        self.journal = journal

    def on_trade(self, trade: Trade) -> None:
        """Append the trade."""
        self.journal.append_trade(trade)

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        """Append the update (the book itself is rebuilt from updates on replay)."""
        self.journal.append_book(update)

    def on_quality(self, event: DataQualityEvent) -> None:
        """Append the event to its stream."""
        self.journal.append_event(event)

    def on_raw(self, raw: RawFrame) -> None:
        """Append the raw frame."""
        self.journal.append_raw(raw)
