"""The one domain model: enums and ids shared by runtime code, wire formats and the database."""

from __future__ import annotations

from serenity.model.enums import (
    ExecType,
    InstrumentType,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TransferType,
    VenueType,
)
from serenity.model.ids import InstrumentId

__all__ = [
    "ExecType",
    "InstrumentId",
    "InstrumentType",
    "Liquidity",
    "OrderStatus",
    "OrderType",
    "Side",
    "TimeInForce",
    "TransferType",
    "VenueType",
]
