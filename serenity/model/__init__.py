"""The one domain model: enums, ids and the SQLAlchemy tables shared by runtime and database.

Enums and :class:`InstrumentId` are cheap runtime values. The mapped classes are SQLAlchemy 2
typed declarative classes over one :class:`~sqlalchemy.MetaData` (``Base.metadata``), which
Alembic migrates (``serenity db upgrade``). Reference data: :class:`Exchange`,
:class:`Currency`, :class:`Instrument`, :class:`ExchangeInstrument`. Accounts:
:class:`Portfolio`, :class:`TradingAccount`, :class:`ExchangeAccount`. Trade data:
:class:`Order`, :class:`Fill`, :class:`Position`, :class:`InstrumentMark`,
:class:`ExchangeTransfer`, :class:`StrategyRun`. Imported tax-ledger rows:
:class:`TaxTransaction`.
"""

from __future__ import annotations

from serenity.model.account import ExchangeAccount, Portfolio, TradingAccount
from serenity.model.base import NAMING_CONVENTION, Base, ExactDecimal, UtcDateTime
from serenity.model.enums import (
    ExecType,
    InstrumentStatus,
    InstrumentType,
    Liquidity,
    OrderStatus,
    OrderType,
    RunKind,
    RunStatus,
    Side,
    TimeInForce,
    TransferType,
    VenueType,
)
from serenity.model.ids import InstrumentId
from serenity.model.refdata import (
    Currency,
    Exchange,
    ExchangeInstrument,
    Instrument,
    instrument_code,
)
from serenity.model.run import StrategyRun
from serenity.model.tax import LedgerKind, TaxTransaction
from serenity.model.trading import ExchangeTransfer, Fill, InstrumentMark, Order, Position

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "Currency",
    "ExactDecimal",
    "Exchange",
    "ExchangeAccount",
    "ExchangeInstrument",
    "ExchangeTransfer",
    "ExecType",
    "Fill",
    "Instrument",
    "InstrumentId",
    "InstrumentMark",
    "InstrumentStatus",
    "InstrumentType",
    "LedgerKind",
    "Liquidity",
    "Order",
    "OrderStatus",
    "OrderType",
    "Portfolio",
    "Position",
    "RunKind",
    "RunStatus",
    "Side",
    "StrategyRun",
    "TaxTransaction",
    "TimeInForce",
    "TradingAccount",
    "TransferType",
    "UtcDateTime",
    "VenueType",
    "instrument_code",
]
