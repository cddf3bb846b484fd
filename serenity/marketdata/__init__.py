"""Market data: normalised trades and L2 books, the service port, and the journal.

``Trade`` and ``BookUpdate`` are what feedhandlers emit and what strategies consume;
``OrderBook`` is an incrementally sorted L2 book; ``MarketdataService`` is the port through
which strategies get tau signals of them, live or historic, and ``RoutingMarketdataService``
routes instruments to one service per venue; ``HistoricMarketdataService`` replays the tick
store for backtests and research. ``JournalWriter`` and ``JournalReader`` record and replay
everything a feed delivered, with ``DataQualityEvent`` s marking where it is incomplete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from serenity.marketdata._layout import Segment, StreamKey
from serenity.marketdata.book import OrderBook
from serenity.marketdata.journal import BOOK, TRADES, JournalWriter
from serenity.marketdata.journal_reader import JournalDefect, JournalReader, load_manifest
from serenity.marketdata.manifest import SegmentManifest
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind, RawFrame
from serenity.marketdata.service import MarketdataService, RoutingMarketdataService
from serenity.marketdata.types import BookLevel, BookUpdate, Trade

if TYPE_CHECKING:
    from serenity.marketdata.historic import HistoricMarketdataService

__all__ = [
    "BOOK",
    "TRADES",
    "BookLevel",
    "BookUpdate",
    "DataQualityEvent",
    "DataQualityKind",
    "HistoricMarketdataService",
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


def __getattr__(name: str) -> Any:
    """Import ``HistoricMarketdataService`` on first use: it brings the tick store (pyarrow,
    pandas), which recorders and the CLI's help never need."""
    if name == "HistoricMarketdataService":
        from serenity.marketdata.historic import HistoricMarketdataService

        return HistoricMarketdataService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
