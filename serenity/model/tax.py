"""Imported tax-ledger rows: trades, transfers and income taken from venues' CSV exports.

Fills and transfers booked by Serenity itself already live in ``fill`` and
``exchange_transfer``; this table holds what came from elsewhere (a Coinbase transaction
history, a Binance trade history, ...). Each row keeps the venue's own id, unique per
source, so importing the same file twice adds nothing.
"""

from __future__ import annotations

from enum import StrEnum, unique

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from serenity.model.base import Amount, Base, IntPk, UtcTime

__all__ = ["LedgerKind", "TaxTransaction"]


@unique
class LedgerKind(StrEnum):
    """What an imported ledger row records."""

    TRADE = "trade"
    """One asset given for another (either may be USD)."""
    TRANSFER_IN = "transfer_in"
    """An asset arriving in the wallet from elsewhere (no acquisition)."""
    TRANSFER_OUT = "transfer_out"
    """An asset leaving the wallet for elsewhere (no disposal)."""
    INCOME = "income"
    """An asset received as income (staking, rewards); its value is its cost basis."""


class TaxTransaction(Base):
    """One imported ledger row: a trade, a transfer or income, as the venue reported it.

    ``received_*`` is what came into ``wallet`` and ``sent_*`` what left it, in asset codes
    (``"BTC"``, ``"USD"``); ``fee_*`` is the fee the venue charged. ``value_usd`` is the
    gross USD value of a trade when the source states it (Coinbase does), else None and the
    value comes from marks. ``transfer_ref`` pairs the two sides of a transfer between own
    wallets (a transaction hash or the venue's reference).
    """

    __tablename__ = "tax_transaction"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_id"),
        sa.CheckConstraint(
            "(received_qty IS NULL OR received_qty >= 0) AND (sent_qty IS NULL OR sent_qty >= 0)"
            " AND (fee_qty IS NULL OR fee_qty >= 0)",
            name="quantities_not_negative",
        ),
    )

    id: Mapped[IntPk]
    source: Mapped[str] = mapped_column(sa.String(32))
    source_id: Mapped[str] = mapped_column(sa.String(128))
    wallet: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[LedgerKind]
    ts: Mapped[UtcTime] = mapped_column(index=True)
    received_asset: Mapped[str | None] = mapped_column(sa.String(32))
    received_qty: Mapped[Amount | None]
    sent_asset: Mapped[str | None] = mapped_column(sa.String(32))
    sent_qty: Mapped[Amount | None]
    fee_asset: Mapped[str | None] = mapped_column(sa.String(32))
    fee_qty: Mapped[Amount | None]
    value_usd: Mapped[Amount | None]
    transfer_ref: Mapped[str | None] = mapped_column(sa.String(128))
    note: Mapped[str | None] = mapped_column(sa.String(255))
    imported_at: Mapped[UtcTime]
