"""Prices and sizes that can be true for an instrument (sans-I/O).

A venue's prices are input, not truth. :class:`PriceGuard` holds what one instrument's
prices and sizes must satisfy before a feedhandler records them:

- **finite and in range**: a price in ``(0, max_price)`` and a size below ``max_qty``. With
  a catalog these are the tick and lot sizes times 2**52 (past that a float cannot tell
  the grid apart); without one, :data:`MAX_PRICE` and no size bound.
- **on the tick grid** when the catalog gives the tick size (in real units, so venues that
  send scaled integers, such as Phemex, are checked after unscaling).
- **trades within a band around the market**: at most ``band`` times above or below the
  reference price, which follows every accepted trade and the book's mid (at each snapshot
  and every :data:`BOOK_REFERENCE_EVERY` deltas). Before any reference there is no band.
- **book levels within** :data:`LEVEL_BAND` **of the reference**: much wider than the trade
  band, because real books rest orders far from the market (the 2021 Coinbase capture has
  bids at a 600,000th of the mid and an ask at 270 million times it).

A reference can be wrong too (a plausible outlier, or a market that really moved by more
than the band while the feed was away). When ``stuck_after`` trades in a row fall outside the
band and agree with one another, the guard takes their median as the new reference and says
so, so the caller records a ``stuck`` event; those trades were journalled raw, not lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from serenity.marketdata.types import BookLevel

__all__ = [
    "BOOK_REFERENCE_EVERY",
    "DEFAULT_PRICE_BAND",
    "LEVEL_BAND",
    "MAX_PRICE",
    "PriceGuard",
]

DEFAULT_PRICE_BAND: Final = 100.0
"""A trade more than 100 times above or below the reference price is implausible. Real
flash crashes stay inside it (Binance.US BTC/USD fell 87% in one print in October 2021)."""

LEVEL_BAND: Final = 1e9
"""A book level more than 1e9 times above or below the reference price is implausible."""

MAX_PRICE: Final = 1e15
"""Prices at or above this are implausible when the catalog gives no tick size (the dearest
real quotes, such as BTC in Vietnamese dong, are near 3e9)."""

BOOK_REFERENCE_EVERY: Final = 1024
"""Applied book deltas between refreshes of the reference price from the book's mid."""

_GRID_SPAN: Final = 2.0**52
"""Ticks (or lots) a float still counts exactly; larger prices or sizes are implausible."""
_GRID_ABS_TOL: Final = 1e-9
_GRID_REL_TOL: Final = 4e-15  # a few ulps of price / tick


class PriceGuard:
    """The plausibility checks of one instrument's prices and sizes (see the module doc).

    Parameters
    ----------
    tick_size
        The price increment in real units, or None when unknown (no grid check).
    lot_size
        The size increment in real units, or None when unknown (no size bound).
    band
        How many times above or below the reference a trade may be; None for no band.
    stuck_after
        Trades in a row outside the band after which the reference moves to them.

    Attributes
    ----------
    reference
        The current reference price, or None before the first.
    lo, hi
        The open interval a trade's price must lie in.
    rejected
        Trades refused for lying outside the band since the last one accepted.
    """

    __slots__ = (
        "band",
        "hi",
        "inv_tick",
        "level_hi",
        "level_lo",
        "lo",
        "max_price",
        "max_qty",
        "reference",
        "rejected",
        "stuck_after",
    )

    def __init__(
        self,
        *,
        tick_size: Decimal | float | None = None,
        lot_size: Decimal | float | None = None,
        band: float | None = DEFAULT_PRICE_BAND,
        stuck_after: int = 50,
    ) -> None:
        tick = float(tick_size) if tick_size else 0.0
        lot = float(lot_size) if lot_size else 0.0
        self.inv_tick = 1.0 / tick if tick > 0 else 0.0
        self.max_price = tick * _GRID_SPAN if tick > 0 else MAX_PRICE
        self.max_qty = lot * _GRID_SPAN if lot > 0 else float("inf")
        self.band = band
        self.stuck_after = stuck_after
        self.reference: float | None = None
        self.lo = 0.0
        self.hi = self.max_price
        self.level_lo = 0.0
        self.level_hi = self.max_price
        self.rejected: list[float] = []

    def set_reference(self, price: float) -> None:
        """Centre the bands on ``price`` (an accepted trade, or a book's mid)."""
        if not 0.0 < price < self.max_price:
            return
        self.reference = price
        band = self.band
        if band is not None:
            self.lo = price / band
            self.hi = min(price * band, self.max_price)
        self.level_lo = price / LEVEL_BAND
        self.level_hi = min(price * LEVEL_BAND, self.max_price)
        if self.rejected:
            self.rejected.clear()

    def trade_error(self, price: float, qty: float) -> str | None:
        """Return why a trade at ``price`` for ``qty`` cannot be true, or None when it can.

        An accepted trade moves the reference to its price.
        """
        if not self.lo < price < self.hi:
            return self._out_of_band(price)
        if not qty < self.max_qty:
            return f"size {qty!r} exceeds what the lot size can express"
        inv_tick = self.inv_tick
        if inv_tick:
            x = price * inv_tick
            if abs(x - round(x)) > _GRID_ABS_TOL + x * _GRID_REL_TOL:
                return f"price {price!r} is not on the tick grid ({1.0 / inv_tick!r})"
        self.set_reference(price)
        return None

    def levels_error(self, levels: Sequence[BookLevel]) -> str | None:
        """Return why one of ``levels`` cannot be true, or None when all can."""
        lo, hi, max_qty, inv_tick = self.level_lo, self.level_hi, self.max_qty, self.inv_tick
        for price, qty in levels:
            if not (lo < price < hi and qty < max_qty):
                if not lo < price < hi:
                    return f"level price {price!r} is outside ({lo!r}, {hi!r})"
                return f"level size {qty!r} exceeds what the lot size can express"
            if inv_tick:
                x = price * inv_tick
                if abs(x - round(x)) > _GRID_ABS_TOL + x * _GRID_REL_TOL:
                    return f"level price {price!r} is not on the tick grid ({1.0 / inv_tick!r})"
        return None

    def is_stuck(self) -> bool:
        """Return True when ``stuck_after`` trades in a row were refused by the band and agree.

        The reference then moves to their median (the market moved, or the old reference
        was an outlier) and the run is forgotten.
        """
        rejected, n = self.rejected, self.stuck_after
        if len(rejected) < n:
            return False
        del rejected[:-n]  # the latest run only
        ordered = sorted(rejected)
        median = ordered[len(ordered) // 2]
        band = self.band if self.band is not None else 1.0
        if not (median / band < ordered[0] and ordered[-1] < median * band):
            del rejected[0]  # they disagree: keep watching the latest ones
            return False
        rejected.clear()
        self.set_reference(median)
        return True

    def _out_of_band(self, price: float) -> str:
        if not 0.0 < price < self.max_price:
            return f"price {price!r} is outside (0, {self.max_price!r})"
        self.rejected.append(price)
        return (
            f"price {price!r} is outside the band ({self.lo!r}, {self.hi!r}) around "
            f"{self.reference!r}"
        )
