"""Trade data: orders and their fills, position snapshots, marks and transfers of funds."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from serenity.model.account import ExchangeAccount
from serenity.model.base import Amount, Base, IntPk, UtcTime
from serenity.model.enums import (
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TransferType,
)
from serenity.model.refdata import Currency, Instrument

__all__ = ["ExchangeTransfer", "Fill", "InstrumentMark", "Order", "Position"]


class Order(Base):
    """An order sent to a venue from one exchange account, with its latest state.

    ``cl_ord_id`` is ours and unique per account; ``venue_order_id`` is the venue's once it
    acknowledged. ``is_post_only`` and ``is_reduce_only`` are execution instructions, not a
    time in force. ``cum_qty`` and ``avg_price`` are what was filled so far, ``reason`` why
    the order was rejected, canceled or expired.

    ``version_id`` is the mapper's version counter (``version_id_col``): every UPDATE through
    the ORM checks it and bumps it, so a writer holding a stale copy of the row gets
    :class:`~sqlalchemy.orm.exc.StaleDataError` instead of silently overwriting a newer state.
    """

    __tablename__ = "order"
    __table_args__ = (
        sa.UniqueConstraint("exchange_account_id", "cl_ord_id"),
        sa.UniqueConstraint("exchange_account_id", "venue_order_id"),
    )

    id: Mapped[IntPk]
    exchange_account_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_account.id"))
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument.id"), index=True)
    strategy_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("strategy_run.id"), index=True
    )
    cl_ord_id: Mapped[str] = mapped_column(sa.String(64))
    venue_order_id: Mapped[str | None] = mapped_column(sa.String(64))
    side: Mapped[Side]
    order_type: Mapped[OrderType]
    time_in_force: Mapped[TimeInForce]
    is_post_only: Mapped[bool] = mapped_column(default=False)
    qty: Mapped[Amount]
    price: Mapped[Amount | None]
    stop_price: Mapped[Amount | None]
    status: Mapped[OrderStatus]
    created_at: Mapped[UtcTime]
    updated_at: Mapped[UtcTime]
    is_reduce_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    cum_qty: Mapped[Amount] = mapped_column(default=Decimal(0), server_default="0")
    avg_price: Mapped[Amount | None]
    reason: Mapped[str | None] = mapped_column(sa.String(256))
    version_id: Mapped[int] = mapped_column(server_default="1")

    exchange_account: Mapped[ExchangeAccount] = relationship()
    instrument: Mapped[Instrument] = relationship()
    fills: Mapped[list[Fill]] = relationship(back_populates="order")

    __mapper_args__ = {"version_id_col": version_id}


class Fill(Base):
    """One execution of an order, with its fee and whether it made or took liquidity."""

    __tablename__ = "fill"
    __table_args__ = (sa.UniqueConstraint("order_id", "venue_fill_id"),)

    id: Mapped[IntPk]
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order.id"), index=True)
    venue_fill_id: Mapped[str] = mapped_column(sa.String(64))
    side: Mapped[Side]
    qty: Mapped[Amount]
    price: Mapped[Amount]
    fee: Mapped[Amount]
    fee_currency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("currency.id"))
    liquidity: Mapped[Liquidity | None]
    ts: Mapped[UtcTime] = mapped_column(index=True)

    order: Mapped[Order] = relationship(back_populates="fills")
    fee_currency: Mapped[Currency | None] = relationship()


class Position(Base):
    """A snapshot of the quantity held in one instrument by one exchange account at ``ts``."""

    __tablename__ = "position"
    __table_args__ = (sa.UniqueConstraint("exchange_account_id", "instrument_id", "ts"),)

    id: Mapped[IntPk]
    exchange_account_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_account.id"))
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument.id"), index=True)
    ts: Mapped[UtcTime]
    qty: Mapped[Amount]
    avg_price: Mapped[Amount | None]

    exchange_account: Mapped[ExchangeAccount] = relationship()
    instrument: Mapped[Instrument] = relationship()


class InstrumentMark(Base):
    """A mark price for an instrument at ``ts`` from a named source (``"phemex.mark"``)."""

    __tablename__ = "instrument_mark"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "source", "ts"),)

    id: Mapped[IntPk]
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument.id"))
    source: Mapped[str] = mapped_column(sa.String(32))
    ts: Mapped[UtcTime]
    price: Mapped[Amount]

    instrument: Mapped[Instrument] = relationship()


class ExchangeTransfer(Base):
    """A deposit, withdrawal, internal move or fee of a currency at an exchange account."""

    __tablename__ = "exchange_transfer"
    __table_args__ = (sa.UniqueConstraint("exchange_account_id", "venue_transfer_id"),)

    id: Mapped[IntPk]
    exchange_account_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange_account.id"))
    currency_id: Mapped[int] = mapped_column(sa.ForeignKey("currency.id"))
    transfer_type: Mapped[TransferType]
    qty: Mapped[Amount]
    fee: Mapped[Amount | None]
    venue_transfer_id: Mapped[str | None] = mapped_column(sa.String(128))
    tx_hash: Mapped[str | None] = mapped_column(sa.String(128))
    ts: Mapped[UtcTime] = mapped_column(index=True)

    exchange_account: Mapped[ExchangeAccount] = relationship()
    currency: Mapped[Currency] = relationship()
