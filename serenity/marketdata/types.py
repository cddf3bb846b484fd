"""Normalised per-tick market data: trades and L2 book updates.

Both are ``@dataclass(slots=True)`` without ``frozen``: they are built once per venue message
on the hot path, where a frozen dataclass costs several times more to construct (see the house
style). Treat them as immutable by convention. Feedhandler parsers validate the venue's input;
these constructors do not re-check it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serenity.model import InstrumentId, Side

__all__ = ["BookLevel", "BookUpdate", "Trade"]

BookLevel = tuple[float, float]
"""One price level, ``(price, qty)``; in a :class:`BookUpdate` a qty of 0 deletes the level."""


@dataclass(slots=True)
class Trade:
    """One trade printed by a venue.

    Attributes
    ----------
    instrument
        The venue's instrument.
    ts
        The venue's timestamp of the trade, int ns since the epoch, UTC.
    ts_recv
        When we received it, int ns since the epoch, UTC.
    trade_id
        The venue's trade id as text (empty when the venue gives none).
    side
        Always the aggressor's (taker's) side, whatever the venue's own convention.
    price
        Trade price.
    qty
        Traded quantity, > 0.
    """

    instrument: InstrumentId
    ts: int
    ts_recv: int
    trade_id: str
    side: Side
    price: float
    qty: float


@dataclass(slots=True)
class BookUpdate:
    """A full-depth (L2) order book snapshot or delta.

    Attributes
    ----------
    instrument
        The venue's instrument.
    ts
        The venue's timestamp, int ns since the epoch, UTC.
    ts_recv
        When we received it, int ns since the epoch, UTC.
    seq
        The venue's sequence number of this update (for ranged ids such as Binance's, the
        last id it covers). Venues without one get a counter from their feedhandler.
    bids, asks
        Levels as ``(price, qty)``. In a delta a qty of 0 deletes the level; a snapshot
        lists every level and replaces the whole book.
    is_snapshot
        True for a snapshot, False for a delta.
    """

    instrument: InstrumentId
    ts: int
    ts_recv: int
    seq: int
    bids: Sequence[BookLevel]
    asks: Sequence[BookLevel]
    is_snapshot: bool = False
