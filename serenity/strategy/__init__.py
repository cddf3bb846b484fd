"""Close-on-close investment strategies and their daily backtester.

An :class:`InvestmentStrategy` decides target holdings at a session's close; the
backtester (:func:`backtest`) walks an exchange calendar's sessions
(:class:`TradingCalendar`, from ``exchange-calendars``), prices from a price file
(:class:`PriceFile`) or daily bars of the tick store (:class:`TickstorePrices`), and fills
orders at that close or the next open (:class:`FillSimulator`) with costs
(:class:`CostModel`), a volume cap and limit prices. Dividends follow a
:class:`DividendPolicy`; splits adjust holdings. Money is :class:`~decimal.Decimal` in one
base currency per :class:`Portfolio` (no FX). A run writes the algo engine's outputs,
statistics and report through :mod:`serenity.analytics`.
"""

from __future__ import annotations

from serenity.strategy.backtest import InvestResult, backtest
from serenity.strategy.base import InvestmentStrategy
from serenity.strategy.calendar import ALWAYS_OPEN, Session, TradingCalendar
from serenity.strategy.config import (
    InvestConfig,
    TradableSpec,
    is_invest_config,
    load_invest_config,
)
from serenity.strategy.context import InvestContext
from serenity.strategy.costs import CostModel
from serenity.strategy.dividends import DividendPolicy
from serenity.strategy.engine import InvestEngine
from serenity.strategy.fills import Execution, FillSimulator, FillTiming, Order
from serenity.strategy.model import FRACTIONAL, Account, Holding, Portfolio, Tradable, Universe
from serenity.strategy.prices import (
    PriceFile,
    PriceSource,
    TickstorePrices,
    daily_bars,
    read_prices,
)
from serenity.strategy.pricing import Bar, DividendContext, PriceTable, PricingContext
from serenity.strategy.schedule import Frequency, RebalanceSchedule

__all__ = [
    "ALWAYS_OPEN",
    "FRACTIONAL",
    "Account",
    "Bar",
    "CostModel",
    "DividendContext",
    "DividendPolicy",
    "Execution",
    "FillSimulator",
    "FillTiming",
    "Frequency",
    "Holding",
    "InvestConfig",
    "InvestContext",
    "InvestEngine",
    "InvestResult",
    "InvestmentStrategy",
    "Order",
    "Portfolio",
    "PriceFile",
    "PriceSource",
    "PriceTable",
    "PricingContext",
    "RebalanceSchedule",
    "Session",
    "TickstorePrices",
    "TradableSpec",
    "Tradable",
    "TradingCalendar",
    "Universe",
    "backtest",
    "daily_bars",
    "is_invest_config",
    "load_invest_config",
    "read_prices",
]
