"""Prices and sizes that can be true for an instrument (sans-I/O).

A venue's prices are input, not truth. :class:`PriceGuard` holds what one instrument's
prices and sizes must satisfy before a feedhandler records them:

- **finite and in range**: a price in ``(0, max_price)`` and a size below ``max_qty``. With
  a catalog these are the tick and lot sizes times 2**52 (past that a float cannot tell
  the grid apart); without one, :data:`MAX_PRICE` and no size bound.
- **on the tick grid** when the catalog gives the tick size (in real units, so venues that
  send scaled integers, such as Phemex, are checked after unscaling). The grid checked is
  :data:`GRID_FINER` times finer than the catalog's tick: orders placed before a venue
  coarsened a tick stay on its book at the old prices, and trade there (the 2021 Binance
  capture has 34 NKNUSDT levels at a tenth of its 0.0001 tick), and a venue may refine a
  tick while the recorder runs on its catalog. Prices of 2**31 fine ticks or more (BTC
  above 2 million with a 0.01 tick) are not grid-checked: a float's rounding is too coarse
  there to tell.
- **trades within a band around the market**: at most ``band`` times above or below the
  reference price. The reference follows the market: it moves to an accepted trade's price
  once that is twice or half of it (so the band around the last trade is between ``band / 2``
  and ``band * 2``, and an accepted trade costs two comparisons, not a division), and to the
  book's mid at each snapshot. Before any reference there is no band.
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
    "DEFAULT_PRICE_BAND",
    "GRID_FINER",
    "GRID_TOLERANCE",
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

GRID_FINER: Final = 100
"""How many times finer than the catalog's tick the grid a price must lie on is."""

_GRID_SPAN: Final = 2.0**52
"""Ticks (or lots) a float still counts exactly; larger prices or sizes are implausible."""
_GRID_CHECKED: Final = 2.0**31
"""Prices of fewer fine ticks than this are grid-checked (float error < 1e-6 fine tick)."""
GRID_TOLERANCE: Final = 1e-6
"""How far from the grid (in fine ticks) a price may be and still count as on it."""
_TOL: Final = GRID_TOLERANCE
_ONE_MINUS_TOL: Final = 1.0 - GRID_TOLERANCE
_RECENTRE: Final = 2.0
"""The reference moves to an accepted trade's price once that is this many times off it."""


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
    level_bounds
        The level checks as a tuple for parsers that check levels as they read them
        (:data:`serenity.exchange.binance.LevelBounds`).
    rlo, rhi
        The interval, inside it, where an accepted price leaves the reference where it is:
        a trade in it, on the grid and with a size below ``max_qty`` passes every check,
        which is what a feedhandler tests inline (a refusal for the band empties it until
        the next accepted trade).
    rejected
        Prices of the trades refused for lying outside the band since the last accepted.
    """

    __slots__ = (
        "band",
        "hi",
        "inv_tick",
        "level_bounds",
        "level_hi",
        "level_lo",
        "lo",
        "max_price",
        "max_qty",
        "reference",
        "rejected",
        "rhi",
        "rlo",
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
        self.inv_tick = GRID_FINER / tick if tick > 0 else 0.0
        self.max_price = tick * _GRID_SPAN if tick > 0 else MAX_PRICE
        self.max_qty = lot * _GRID_SPAN if lot > 0 else float("inf")
        self.band = band
        self.stuck_after = stuck_after
        self.reference: float | None = None
        self.lo = self.level_lo = 0.0
        self.hi = self.level_hi = self.max_price
        self.rlo = self.rhi = 0.0  # empty: the first accepted price becomes the reference
        self.rejected: list[float] = []
        self.level_bounds = self._level_bounds()

    def set_reference(self, price: float) -> None:
        """Centre the bands on ``price`` (an accepted trade, or a book's mid)."""
        if not 0.0 < price < self.max_price:
            return
        self.reference = price
        band = self.band
        if band is not None:
            self.lo = price / band
            self.hi = min(price * band, self.max_price)
        # inside the band, so a price between them needs no other band check
        self.rlo = max(price / _RECENTRE, self.lo)
        self.rhi = min(price * _RECENTRE, self.hi)
        self.level_lo = price / LEVEL_BAND
        self.level_hi = min(price * LEVEL_BAND, self.max_price)
        self.level_bounds = self._level_bounds()
        if self.rejected:
            self.rejected.clear()

    def _level_bounds(self) -> tuple[float, float, float, float, float, float, float]:
        return (
            self.level_lo,
            self.level_hi,
            self.max_qty,
            self.inv_tick,
            _TOL,
            _ONE_MINUS_TOL,
            _GRID_CHECKED,
        )

    def check_trade(self, price: float, qty: float) -> str | None:
        """Return why a trade at ``price`` for ``qty`` cannot be true, or None when it can.

        An accepted trade may move the reference; one refused for the band is remembered
        (see :meth:`is_stuck`). This is on every trade's path, so it is kept to comparisons
        (``inv_tick`` is 0 without a tick size, which puts every price on the grid).
        """
        if (
            self.lo < price < self.hi
            and qty < self.max_qty
            and not (
                _TOL < (x := price * self.inv_tick) % 1.0 < _ONE_MINUS_TOL and x < _GRID_CHECKED
            )
        ):
            if not self.rlo < price < self.rhi:
                self.set_reference(price)
            elif self.rejected:
                self.rejected.clear()
            return None
        return self._trade_refusal(price, qty)

    def check_levels(self, bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> str | None:
        """Return why one of a book update's levels cannot be true, or None when all can."""
        lo, hi, max_qty, inv = self.level_lo, self.level_hi, self.max_qty, self.inv_tick
        # two plain loops, each level a few comparisons: this is every book update's path
        for price, qty in bids:
            if (
                not (lo < price < hi and qty < max_qty)
                or _TOL < (price * inv) % 1.0 < _ONE_MINUS_TOL
            ) and (error := self._level_refusal(price, qty)) is not None:
                return error
        for price, qty in asks:
            if (
                not (lo < price < hi and qty < max_qty)
                or _TOL < (price * inv) % 1.0 < _ONE_MINUS_TOL
            ) and (error := self._level_refusal(price, qty)) is not None:
                return error
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
            return False  # they disagree: keep watching the latest ones
        rejected.clear()
        self.set_reference(median)
        return True

    def _level_refusal(self, price: float, qty: float) -> str | None:
        lo, hi = self.level_lo, self.level_hi
        if not lo < price < hi:
            return f"level price {price!r} is outside ({lo!r}, {hi!r})"
        if not qty < self.max_qty:
            return f"level size {qty!r} exceeds what the lot size can express"
        if price * self.inv_tick >= _GRID_CHECKED:
            return None  # too many ticks for a float to tell: taken as on the grid
        return f"level price {price!r} is not on the tick grid ({self._grid()})"

    def _grid(self) -> str:
        return f"{GRID_FINER / self.inv_tick!r}, to a {GRID_FINER}th"

    def _trade_refusal(self, price: float, qty: float) -> str:
        if not 0.0 < price < self.max_price:
            return f"price {price!r} is outside (0, {self.max_price!r})"
        if not self.lo < price < self.hi:
            self.rejected.append(price)
            self.rlo = self.rhi = 0.0  # the next accepted trade re-centres, ending the run
            return (
                f"price {price!r} is outside the band ({self.lo!r}, {self.hi!r}) around "
                f"{self.reference!r}"
            )
        if not qty < self.max_qty:
            return f"size {qty!r} exceeds what the lot size can express"
        return f"price {price!r} is not on the tick grid ({self._grid()})"
