"""The lifecycle states every feedhandler reports."""

from __future__ import annotations

from enum import StrEnum, unique

__all__ = ["FeedState"]


@unique
class FeedState(StrEnum):
    """Where a feedhandler is in its life; published as a tau signal and a metric."""

    INITIALIZING = "initializing"
    """Built, not started."""
    CONNECTING = "connecting"
    """Opening (or reopening) the connection and subscribing."""
    SYNCING = "syncing"
    """Connected; waiting for book snapshots before the books can be trusted."""
    LIVE = "live"
    """Connected and every book in sync."""
    STOPPED = "stopped"
    """Stopped for good."""
