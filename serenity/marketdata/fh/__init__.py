"""The venue-independent feedhandler framework.

Sans-I/O pieces that every venue's feedhandler shares: :class:`SequenceTracker` (gap
detection per channel), :class:`BookSynchroniser` (snapshot + delta sync with resync on a
gap), :class:`Backoff` (exponential reconnect delays with jitter), the :class:`FeedState`
lifecycle, and :class:`FeedMetrics` (Prometheus); and the thin async shell,
:class:`WebsocketConnection`, that keeps a websocket open for a :class:`FeedSession`
(subscribe, ping, stall detection, reconnect with backoff and resubscription). Venue handlers
live beside them as ``serenity.marketdata.fh.<venue>``.
"""

from __future__ import annotations

from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.book_sync import BookSynchroniser, SyncState
from serenity.marketdata.fh.connection import ConnectionConfig, FeedSession, WebsocketConnection
from serenity.marketdata.fh.handler import (
    CHANNELS,
    FeedConfig,
    FeedHandler,
    FeedSink,
    JournalSink,
    check_symbols,
)
from serenity.marketdata.fh.metrics import FeedMetrics
from serenity.marketdata.fh.sequence import SequenceCheck, SequenceTracker
from serenity.marketdata.fh.state import FeedState

__all__ = [
    "CHANNELS",
    "Backoff",
    "FeedConfig",
    "FeedHandler",
    "FeedSink",
    "JournalSink",
    "check_symbols",
    "BookSynchroniser",
    "ConnectionConfig",
    "FeedSession",
    "FeedMetrics",
    "FeedState",
    "SequenceCheck",
    "SequenceTracker",
    "SyncState",
    "WebsocketConnection",
]
