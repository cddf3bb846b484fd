"""Market data: normalised trades and L2 books, the service port, and the journal.

``Trade`` and ``BookUpdate`` are what feedhandlers emit and what strategies consume;
``OrderBook`` is an incrementally sorted L2 book; ``MarketdataService`` is the port through
which strategies get tau signals of them, live or historic, and ``RoutingMarketdataService``
routes instruments to one service per venue. ``JournalWriter`` and ``JournalReader`` record
and replay everything a feed delivered, with ``DataQualityEvent`` s marking where it is
incomplete.
"""

from __future__ import annotations

from serenity.marketdata._layout import Segment, StreamKey
from serenity.marketdata.book import OrderBook
from serenity.marketdata.journal import BOOK, TRADES, JournalWriter
from serenity.marketdata.journal_reader import JournalDefect, JournalReader, load_manifest
from serenity.marketdata.manifest import SegmentManifest
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind, RawFrame
from serenity.marketdata.service import MarketdataService, RoutingMarketdataService
from serenity.marketdata.types import BookLevel, BookUpdate, Trade

__all__ = [
    "BOOK",
    "TRADES",
    "BookLevel",
    "BookUpdate",
    "DataQualityEvent",
    "DataQualityKind",
    "JournalDefect",
    "JournalReader",
    "JournalWriter",
    "MarketdataService",
    "OrderBook",
    "RawFrame",
    "RoutingMarketdataService",
    "Segment",
    "SegmentManifest",
    "StreamKey",
    "Trade",
    "load_manifest",
]
