"""Marks and P&L: realised, unrealised, fees and net per account and instrument.

A :class:`MarkService` prices instruments (:class:`MarketdataMarkService`: the book's mid,
else the last trade). :class:`PnLService` values the positions of a
:class:`~serenity.position.PositionService` at those marks, in each instrument's P&L
currency (the settlement currency for inverse contracts), on every fill and at a fixed
sampling interval.
"""

from __future__ import annotations

from serenity.pnl.marks import MarketdataMarkService, MarkService
from serenity.pnl.service import PnL, PnLService, PnLSnapshot

__all__ = ["MarkService", "MarketdataMarkService", "PnL", "PnLService", "PnLSnapshot"]
