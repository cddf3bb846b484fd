"""Streaming indicators and bar builders as tau nodes, with NumPy twins for research.

``serenity.signal.bars`` turns trades into bars (time bars aligned to UTC boundaries, tick,
volume and dollar bars); ``serenity.signal.indicators`` holds the streaming indicators, each
an O(1)-per-update tau node equal to TA-Lib's function of the same name; and
``serenity.signal.vectorized`` holds their NumPy twins over whole arrays, with NaN warm-up
where TA-Lib puts it. :func:`collect` gathers signals' values into a pandas DataFrame indexed
by UTC time, for notebooks.
"""

from __future__ import annotations

from serenity.signal import vectorized
from serenity.signal.bars import (
    OHLC,
    ComputeOHLC,
    DollarBars,
    TickBars,
    TimeBars,
    TradeLike,
    VolumeBars,
)
from serenity.signal.frame import Collector, collect
from serenity.signal.indicators import (
    ATR,
    DEMA,
    EMA,
    MACD,
    NATR,
    OBV,
    ROC,
    RSI,
    SMA,
    TEMA,
    VWAP,
    WMA,
    Bands,
    BollingerBands,
    ComputeBollingerBands,
    Donchian,
    LogReturn,
    MACDValue,
    Momentum,
    Stddev,
    Stochastic,
    StochasticValue,
    ZScore,
)

__all__ = [
    "ATR",
    "DEMA",
    "EMA",
    "MACD",
    "NATR",
    "OBV",
    "OHLC",
    "ROC",
    "RSI",
    "SMA",
    "TEMA",
    "VWAP",
    "WMA",
    "Bands",
    "BollingerBands",
    "Collector",
    "ComputeBollingerBands",
    "ComputeOHLC",
    "Donchian",
    "DollarBars",
    "LogReturn",
    "MACDValue",
    "Momentum",
    "Stddev",
    "Stochastic",
    "StochasticValue",
    "TickBars",
    "TimeBars",
    "TradeLike",
    "VolumeBars",
    "ZScore",
    "collect",
    "vectorized",
]
