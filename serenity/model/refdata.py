"""Reference data: exchanges, currencies, instruments and their listings on exchanges.

An :class:`Instrument` is venue-independent (``BTC/USDT``, ``BTC/USD:BTC-PERP``); an
:class:`ExchangeInstrument` is one venue's listing of it under the venue's own symbol, with
tick size, lot size and status. Listings are versioned: a change closes the old row
(``valid_to``) and opens a new one, so history is never overwritten. At most one row per
exchange and symbol is live (``valid_to IS NULL``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from serenity.errors import InvalidValueError
from serenity.model.base import Amount, Base, IntPk, UtcTime
from serenity.model.enums import InstrumentStatus, InstrumentType, VenueType

__all__ = [
    "Currency",
    "Exchange",
    "ExchangeInstrument",
    "Instrument",
    "instrument_code",
]


class Exchange(Base):
    """A venue: ``code`` is the lower-case venue name used everywhere (``"phemex"``)."""

    __tablename__ = "exchange"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    venue_type: Mapped[VenueType]
    listings: Mapped[list[ExchangeInstrument]] = relationship(back_populates="exchange")


class Currency(Base):
    """A currency or crypto asset, by its upper-case code (``"BTC"``, ``"USD"``)."""

    __tablename__ = "currency"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)


class Instrument(Base):
    """A tradable thing independent of venue; ``code`` is built by :func:`instrument_code`."""

    __tablename__ = "instrument"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(sa.String(96), unique=True)
    instrument_type: Mapped[InstrumentType] = mapped_column(index=True)
    base_currency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("currency.id"))
    quote_currency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("currency.id"))
    settle_currency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("currency.id"))
    underlier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instrument.id"))
    contract_size: Mapped[Amount | None]
    expiry: Mapped[UtcTime | None]

    base_currency: Mapped[Currency | None] = relationship(foreign_keys=[base_currency_id])
    quote_currency: Mapped[Currency | None] = relationship(foreign_keys=[quote_currency_id])
    settle_currency: Mapped[Currency | None] = relationship(foreign_keys=[settle_currency_id])
    underlier: Mapped[Instrument | None] = relationship(remote_side="Instrument.id")
    listings: Mapped[list[ExchangeInstrument]] = relationship(back_populates="instrument")


class ExchangeInstrument(Base):
    """One venue's listing of an instrument over a validity interval ``[valid_from, valid_to)``.

    ``price_scale`` is the power of ten a venue's integer prices are scaled by (Phemex's
    ``priceScale``), or None when prices are sent as decimals.
    """

    __tablename__ = "exchange_instrument"
    __table_args__ = (
        sa.UniqueConstraint("exchange_id", "symbol", "valid_from"),
        sa.Index(
            "ix_exchange_instrument_live_symbol",
            "exchange_id",
            "symbol",
            unique=True,
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_interval"),
        sa.CheckConstraint("tick_size >= 0 AND lot_size >= 0", name="sizes_not_negative"),
    )

    id: Mapped[IntPk]
    exchange_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange.id"))
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument.id"), index=True)
    symbol: Mapped[str] = mapped_column(sa.String(64))
    tick_size: Mapped[Amount]
    lot_size: Mapped[Amount]
    min_qty: Mapped[Amount | None]
    price_scale: Mapped[int | None]
    status: Mapped[InstrumentStatus]
    valid_from: Mapped[UtcTime]
    valid_to: Mapped[UtcTime | None]

    exchange: Mapped[Exchange] = relationship(back_populates="listings")
    instrument: Mapped[Instrument] = relationship(back_populates="listings")

    @property
    def is_live(self) -> bool:
        """Return True for the current version of the listing."""
        return self.valid_to is None


def instrument_code(
    instrument_type: InstrumentType,
    base: str,
    *,
    quote: str | None = None,
    settle: str | None = None,
    contract_size: Decimal | None = None,
    expiry: dt.datetime | None = None,
) -> str:
    """Return the venue-independent code of an instrument.

    ``BTC`` (cash), ``BTC/USDT`` (currency pair), ``BTC/USD:BTC-PERP`` (perpetual settled in
    BTC), ``BTC/USDT:USDT-20250328`` (dated future). A contract size other than 1 is appended
    as ``-x<size>``: ``ETH/USD:USD-PERP-x0.005``.

    Raises
    ------
    InvalidValueError
        When a part the type needs is missing, or a naive expiry is given.
    """
    if instrument_type in (InstrumentType.CASH, InstrumentType.EQUITY, InstrumentType.INDEX):
        return base
    if not quote:
        raise InvalidValueError(f"{instrument_type} {base!r} needs a quote currency")
    pair = f"{base}/{quote}"
    if instrument_type is InstrumentType.CURRENCY_PAIR:
        return pair
    if not settle:
        raise InvalidValueError(f"{instrument_type} {pair} needs a settlement currency")
    if instrument_type is InstrumentType.PERPETUAL_FUTURE:
        code = f"{pair}:{settle}-PERP"
    else:
        if expiry is None or expiry.tzinfo is None:
            raise InvalidValueError(f"dated future {pair} needs an aware expiry, was {expiry!r}")
        code = f"{pair}:{settle}-{expiry.astimezone(dt.UTC):%Y%m%d}"
    if contract_size is not None and contract_size != 1:
        code += f"-x{contract_size.normalize():f}"
    return code
