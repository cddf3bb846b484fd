"""An L2 order book kept sorted incrementally.

Each side is a ``dict`` from price to qty plus a list of sort keys maintained with
:mod:`bisect`: an update to an existing level touches only the dict, and a new or deleted
level costs one binary search and one ``memmove`` of the key list. Bid keys are the prices,
ask keys the negated prices, so on both sides the best level is the last key and inserts near
the top of the book move little memory. Measured against ``sortedcontainers.SortedDict`` on
this machine this layout applied random deltas 1.7-2.4 times faster (8,500 and 130 levels a
side), and it needs no dependency.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, insort
from collections.abc import Iterable

from serenity.errors import InvalidValueError
from serenity.marketdata.types import BookLevel, BookUpdate
from serenity.model import InstrumentId

__all__ = ["OrderBook"]

log = logging.getLogger(__name__)


class _Side:
    """One side of the book: price -> qty, and sort keys with the best level last."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: float) -> None:
        self.sign = sign  # +1.0 for bids (key = price), -1.0 for asks (key = -price)
        self.levels: dict[float, float] = {}
        self.keys: list[float] = []

    def set(self, price: float, qty: float) -> None:
        levels = self.levels
        if qty == 0.0:
            if levels.pop(price, None) is not None:
                keys = self.keys
                del keys[bisect_left(keys, price * self.sign)]
        else:
            if price not in levels:
                insort(self.keys, price * self.sign)
            levels[price] = qty

    def load(self, entries: Iterable[BookLevel]) -> None:
        levels = {price: qty for price, qty in entries if qty != 0.0}
        self.levels = levels
        sign = self.sign
        self.keys = sorted(price * sign for price in levels)

    def top(self, n: int) -> list[BookLevel]:
        keys, levels, sign = self.keys, self.levels, self.sign
        start = max(len(keys) - n, 0)
        out = []
        for i in range(len(keys) - 1, start - 1, -1):
            price = keys[i] * sign
            out.append((price, levels[price]))
        return out


class OrderBook:
    """A full-depth book for one instrument, built from :class:`BookUpdate` s.

    A snapshot replaces the book; a delta sets each level's qty, and a qty of 0 deletes the
    level. The book keeps the sequence number and timestamps of the last update applied and
    drops a delta whose ``seq`` is not above it (already reflected, e.g. by a snapshot). Gap
    detection belongs to the feedhandler, which knows its venue's sequencing.

    Parameters
    ----------
    instrument
        The instrument this book is for.
    """

    __slots__ = ("_asks", "_bids", "instrument", "seq", "ts", "ts_recv")

    def __init__(self, instrument: InstrumentId) -> None:
        self.instrument = instrument
        self._bids = _Side(1.0)
        self._asks = _Side(-1.0)
        self.seq: int | None = None
        self.ts = 0
        self.ts_recv = 0

    def apply(self, update: BookUpdate) -> bool:
        """Apply a snapshot or delta; return False for a stale delta, which is dropped.

        Parameters
        ----------
        update
            A snapshot (replaces the book) or a delta (qty 0 deletes a level).

        Returns
        -------
        bool
            True when applied; False when ``update`` is a delta with ``seq`` at or below the
            book's current :attr:`seq`.
        """
        if update.is_snapshot:
            self._bids.load(update.bids)
            self._asks.load(update.asks)
        else:
            if self.seq is not None and update.seq <= self.seq:
                return False
            bid_set, ask_set = self._bids.set, self._asks.set
            for price, qty in update.bids:
                bid_set(price, qty)
            for price, qty in update.asks:
                ask_set(price, qty)
        self.seq = update.seq
        self.ts = update.ts
        self.ts_recv = update.ts_recv
        return True

    def clear(self) -> None:
        """Empty the book and forget its sequence number (e.g. before a resync)."""
        self._bids = _Side(1.0)
        self._asks = _Side(-1.0)
        self.seq = None

    def best_bid(self) -> BookLevel | None:
        """Return the best (highest) bid as ``(price, qty)``, or None when there is none."""
        keys = self._bids.keys
        if not keys:
            return None
        price = keys[-1]
        return price, self._bids.levels[price]

    def best_ask(self) -> BookLevel | None:
        """Return the best (lowest) ask as ``(price, qty)``, or None when there is none."""
        keys = self._asks.keys
        if not keys:
            return None
        price = -keys[-1]
        return price, self._asks.levels[price]

    def mid(self) -> float | None:
        """Return the mid price, or None unless both sides have a level."""
        if not self._bids.keys or not self._asks.keys:
            return None
        return (self._bids.keys[-1] - self._asks.keys[-1]) / 2.0

    def spread(self) -> float | None:
        """Return best ask minus best bid (negative when crossed), or None unless two-sided."""
        if not self._bids.keys or not self._asks.keys:
            return None
        return -self._asks.keys[-1] - self._bids.keys[-1]

    def is_crossed(self) -> bool:
        """Return True when the best bid is at or above the best ask (a bad book)."""
        bids, asks = self._bids.keys, self._asks.keys
        return bool(bids) and bool(asks) and bids[-1] >= -asks[-1]

    def depth(self, n: int) -> tuple[list[BookLevel], list[BookLevel]]:
        """Return the top ``n`` levels of each side, best first, as ``(bids, asks)``.

        Parameters
        ----------
        n
            Levels per side (>= 0); fewer are returned when the side is shorter.

        Raises
        ------
        InvalidValueError
            When ``n`` is negative or not an int.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidValueError(f"depth n must be an int >= 0, was {n!r}")
        return self._bids.top(n), self._asks.top(n)

    def bid_count(self) -> int:
        """Return the number of bid levels."""
        return len(self._bids.keys)

    def ask_count(self) -> int:
        """Return the number of ask levels."""
        return len(self._asks.keys)

    def to_snapshot(self) -> BookUpdate:
        """Return the whole book as a snapshot :class:`BookUpdate` (best levels first)."""
        bids, asks = self.depth(len(self._bids.keys) + len(self._asks.keys))
        return BookUpdate(
            self.instrument,
            self.ts,
            self.ts_recv,
            self.seq if self.seq is not None else 0,
            bids,
            asks,
            True,
        )

    def __repr__(self) -> str:
        return (
            f"<OrderBook {self.instrument} seq={self.seq} bid={self.best_bid()} "
            f"ask={self.best_ask()} levels={self.bid_count()}/{self.ask_count()}>"
        )
