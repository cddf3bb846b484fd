"""Bars from trades: the ``OHLC`` value, time bars aligned to UTC boundaries, and tick,
volume and dollar bars.

Every builder is a tau node that takes a signal of trades. A trade is anything with the
attributes of :class:`TradeLike` (``ts``, ``price``, ``qty``), so ``serenity.marketdata.Trade``
and a test's own small dataclass both work. When one trade completes several bars (a large
trade through a volume threshold, or a trade that closes a time bar and opens the next), the
bars are emitted one per cycle, in order, at the same instant.
"""

from __future__ import annotations

from serenity.signal.bars.ohlc import OHLC, ComputeOHLC, TradeLike
from serenity.signal.bars.threshold_bars import DollarBars, TickBars, VolumeBars
from serenity.signal.bars.time_bars import TimeBars

__all__ = [
    "OHLC",
    "ComputeOHLC",
    "DollarBars",
    "TickBars",
    "TimeBars",
    "TradeLike",
    "VolumeBars",
]
