"""Prometheus metrics of the feedhandlers: one set per registry, labelled by venue."""

from __future__ import annotations

from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import Enum as EnumMetric

from serenity.marketdata.fh.state import FeedState
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind

__all__ = ["FeedMetrics", "LAG_BUCKETS_S"]

LAG_BUCKETS_S: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
"""Receive-lag histogram buckets, in seconds (venue timestamp to our receive time)."""


class FeedMetrics:
    """The counters, histogram and state of every feedhandler in a process.

    Create one per registry and share it between feedhandlers; each labels its samples with
    its venue (and symbol or channel where that helps).

    Parameters
    ----------
    registry
        Where the metrics are registered; Prometheus' default registry when omitted. Tests
        pass a fresh :class:`prometheus_client.CollectorRegistry`.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = REGISTRY if registry is None else registry
        self.registry = reg
        self.messages = Counter("serenity_fh_messages", "Frames received.", ["venue"], registry=reg)
        self.trades = Counter(
            "serenity_fh_trades", "Trades published.", ["venue", "symbol"], registry=reg
        )
        self.book_updates = Counter(
            "serenity_fh_book_updates",
            "Book snapshots and deltas applied.",
            ["venue", "symbol"],
            registry=reg,
        )
        self.gaps = Counter(
            "serenity_fh_gaps", "Sequence gaps.", ["venue", "channel", "symbol"], registry=reg
        )
        self.resyncs = Counter(
            "serenity_fh_resyncs", "Book resyncs.", ["venue", "symbol"], registry=reg
        )
        self.crossed_books = Counter(
            "serenity_fh_crossed_books", "Crossed books seen.", ["venue", "symbol"], registry=reg
        )
        self.reconnects = Counter(
            "serenity_fh_reconnects", "Reconnects after a drop or stall.", ["venue"], registry=reg
        )
        self.parse_errors = Counter(
            "serenity_fh_parse_errors",
            "Frames that could not be parsed or held implausible values.",
            ["venue"],
            registry=reg,
        )
        self.stuck = Counter(
            "serenity_fh_stuck",
            "Streams found stuck (dropping every message) and resynced.",
            ["venue", "channel", "symbol"],
            registry=reg,
        )
        self.venue_errors = Counter(
            "serenity_fh_venue_errors",
            "Venue errors that refused nothing of ours.",
            ["venue"],
            registry=reg,
        )
        self.receive_lag = Histogram(
            "serenity_fh_receive_lag_seconds",
            "Venue timestamp to receive time.",
            ["venue"],
            buckets=LAG_BUCKETS_S,
            registry=reg,
        )
        self.state = EnumMetric(
            "serenity_fh_state",
            "Feedhandler state.",
            ["venue"],
            states=[s.value for s in FeedState],
            registry=reg,
        )

    def set_state(self, venue: str, state: FeedState) -> None:
        """Publish a feedhandler's state."""
        self.state.labels(venue=venue).state(state.value)

    def observe_lag(self, venue: str, ts: int, ts_recv: int) -> None:
        """Record the lag of a message stamped ``ts`` by the venue and received at ``ts_recv``."""
        self.receive_lag.labels(venue=venue).observe((ts_recv - ts) / 1e9)

    def observe_data_quality(self, event: DataQualityEvent) -> None:
        """Count a data-quality event under its kind."""
        venue, symbol = event.venue, event.symbol
        kind = event.kind
        if kind is DataQualityKind.GAP:
            self.gaps.labels(venue=venue, channel=event.channel, symbol=symbol).inc()
        elif kind is DataQualityKind.RESYNC:
            self.resyncs.labels(venue=venue, symbol=symbol).inc()
        elif kind is DataQualityKind.CROSSED_BOOK:
            self.crossed_books.labels(venue=venue, symbol=symbol).inc()
        elif kind is DataQualityKind.RECONNECT:
            self.reconnects.labels(venue=venue).inc()
        elif kind is DataQualityKind.STUCK:
            self.stuck.labels(venue=venue, channel=event.channel, symbol=symbol).inc()
        elif kind is DataQualityKind.VENUE_ERROR:
            self.venue_errors.labels(venue=venue).inc()
        else:
            self.parse_errors.labels(venue=venue).inc()
