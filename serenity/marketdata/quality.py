"""Data-quality events: every gap, resync, reconnect, crossed book, parse error, stuck stream
and stray venue error.

Feedhandlers publish one :class:`DataQualityEvent` per fault they detect and journal it in
the affected stream, so a recording says exactly where it is incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum, unique
from typing import Any

__all__ = ["DataQualityEvent", "DataQualityKind", "RawFrame"]


@unique
class DataQualityKind(StrEnum):
    """What went wrong with a feed."""

    GAP = "gap"
    """A sequence number skipped ahead or went backwards: updates were lost."""
    RESYNC = "resync"
    """The book was rebuilt from a fresh snapshot."""
    RECONNECT = "reconnect"
    """The connection dropped or stalled and was opened again."""
    CROSSED_BOOK = "crossed_book"
    """The best bid was at or above the best ask after an update."""
    PARSE_ERROR = "parse_error"
    """A frame could not be parsed, or held a value that cannot be true (an implausible price
    or id); its raw bytes are journalled beside it."""
    STUCK = "stuck"
    """Many valid-looking messages in a row were dropped as stale, duplicate or implausible:
    the stream's state (a sequence number, a trade id, a price reference) was wrong, so it
    was resynced."""
    VENUE_ERROR = "venue_error"
    """The venue sent an error that refused nothing of ours (e.g. a reply to a request id we
    never sent), or refused a request the feed can do without (a Phemex resubscription for a
    fresh book snapshot); recorded, not fatal."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataQualityEvent:
    """One data-quality fault in one stream.

    Attributes
    ----------
    venue, channel, symbol
        The stream affected, e.g. ``phemex``, ``trades``, ``BTCUSD``.
    ts
        When it was detected, int ns since the epoch, UTC (our clock).
    kind
        What happened.
    details
        JSON-able facts about it, e.g. ``{"expected": 101, "seen": 105}`` for a gap.
    """

    venue: str
    channel: str
    symbol: str
    ts: int
    kind: DataQualityKind
    details: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class RawFrame:
    """The bytes of a frame that could not be parsed, kept so that bad input loses nothing.

    Attributes
    ----------
    venue, channel, symbol
        The stream it was received for (the feedhandler's best guess for a frame it could
        not read; a connection-level channel such as ``raw`` is fine).
    ts_recv
        When it was received, int ns since the epoch, UTC.
    data
        The frame exactly as received.
    """

    venue: str
    channel: str
    symbol: str
    ts_recv: int
    data: bytes
