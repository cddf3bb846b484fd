"""Streaming technical indicators as tau nodes, equal to TA-Lib.

Each indicator is a node over a signal: ``SMA(network, values, window)``,
``BollingerBands(network, values, window, num_std)``, ``ATR(network, bars, period)``, ...
Work per value is O(1) (running sums, monotonic deques; the variance re-anchors its sums now
and then, O(1) amortised). Until warmed up a node emits nothing; from then on it emits one
value per input, starting on the input where TA-Lib's output starts. Values come from a
signal of floats (a ``Map`` extracts closes from bars); ATR, NATR, the stochastic and OBV
read bars, VWAP reads bars or trades, and Donchian reads floats or bars. NumPy twins live
in :mod:`serenity.signal.vectorized`.
"""

from __future__ import annotations

from serenity.signal.indicators.averages import DEMA, EMA, SMA, TEMA, WMA
from serenity.signal.indicators.bands import Bands, BollingerBands, ComputeBollingerBands, Donchian
from serenity.signal.indicators.oscillators import (
    MACD,
    ROC,
    RSI,
    LogReturn,
    MACDValue,
    Momentum,
    Stochastic,
    StochasticValue,
)
from serenity.signal.indicators.volatility import ATR, NATR, Stddev, ZScore
from serenity.signal.indicators.volume import OBV, VWAP

__all__ = [
    "ATR",
    "DEMA",
    "EMA",
    "MACD",
    "NATR",
    "OBV",
    "ROC",
    "RSI",
    "SMA",
    "TEMA",
    "VWAP",
    "WMA",
    "Bands",
    "BollingerBands",
    "ComputeBollingerBands",
    "Donchian",
    "LogReturn",
    "MACDValue",
    "Momentum",
    "Stddev",
    "Stochastic",
    "StochasticValue",
    "ZScore",
]
