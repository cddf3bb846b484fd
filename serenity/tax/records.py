"""The tax ledger's input: one normalised transaction per trade, transfer or income event.

Every source (a venue's CSV export, the ``fill`` and ``exchange_transfer`` tables) is turned
into :class:`Transaction` values; :mod:`serenity.tax.engine` turns those into acquisitions and
disposals per asset. ``USD`` is the one currency that is not tracked in lots: every other
asset, stablecoins and other fiat included, is property with a cost basis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from serenity.errors import InvalidValueError
from serenity.model.tax import LedgerKind, TaxTransaction

__all__ = ["USD", "Transaction", "format_qty", "from_row", "to_row"]

USD: Final = "USD"


@dataclass(frozen=True, slots=True)
class Transaction:
    """One trade, transfer or income event in one wallet, from one source.

    Parameters
    ----------
    source
        Where it came from: ``"coinbase"``, ``"coinbase-exchange"``, ``"binance"``, ``"fill"``,
        ``"transfer"``.
    source_id
        The source's own id for it; ``source:source_id`` (:attr:`key`) is unique.
    wallet
        The account or wallet it happened in (``"coinbase"``, ``"binance:main"``).
    kind
        Trade, transfer in or out, or income.
    ts
        When it happened, timezone-aware.
    received_asset, received_qty
        What came into the wallet (the gross amount of a trade, before a fee in that asset).
    sent_asset, sent_qty
        What left the wallet (before a fee in that asset).
    fee_asset, fee_qty
        The fee charged, in any asset.
    value_usd
        The gross USD value of a trade or income when the source states it; else marks value it.
    transfer_ref
        Pairs the two sides of a transfer between own wallets (a transaction hash).
    note
        Free text from the source.

    Raises
    ------
    InvalidValueError
        For a naive time, a negative quantity or a side the kind needs that is missing.
    """

    source: str
    source_id: str
    wallet: str
    kind: LedgerKind
    ts: dt.datetime
    received_asset: str | None = None
    received_qty: Decimal | None = None
    sent_asset: str | None = None
    sent_qty: Decimal | None = None
    fee_asset: str | None = None
    fee_qty: Decimal | None = None
    value_usd: Decimal | None = None
    transfer_ref: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None or self.ts.utcoffset() is None:
            raise InvalidValueError(f"{self.key}: time must be timezone-aware, was {self.ts}")
        for name in ("received", "sent", "fee"):
            asset = getattr(self, f"{name}_asset")
            qty = getattr(self, f"{name}_qty")
            if (asset is None) != (qty is None):
                raise InvalidValueError(f"{self.key}: {name} asset and quantity go together")
            if qty is not None and (not isinstance(qty, Decimal) or qty < 0):
                raise InvalidValueError(
                    f"{self.key}: {name} quantity must be a Decimal >= 0, was {qty!r}"
                )
        needs = {
            LedgerKind.TRADE: ("received", "sent"),
            LedgerKind.TRANSFER_IN: ("received",),
            LedgerKind.TRANSFER_OUT: ("sent",),
            LedgerKind.INCOME: ("received",),
        }[self.kind]
        for name in needs:
            if getattr(self, f"{name}_asset") is None:
                raise InvalidValueError(f"{self.key}: a {self.kind} needs a {name} asset")
        if self.value_usd is not None and self.value_usd < 0:
            raise InvalidValueError(f"{self.key}: value_usd must be >= 0, was {self.value_usd}")

    @property
    def key(self) -> str:
        """Return ``source:source_id``, the id reports and lot files use."""
        return f"{self.source}:{self.source_id}"


def format_qty(qty: Decimal) -> str:
    """Return a quantity as plain text without trailing zeros (``0.5``, ``12``)."""
    text = f"{qty:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def to_row(txn: Transaction, *, imported_at: dt.datetime) -> TaxTransaction:
    """Return the database row of an imported transaction."""
    return TaxTransaction(
        source=txn.source,
        source_id=txn.source_id,
        wallet=txn.wallet,
        kind=txn.kind,
        ts=txn.ts,
        received_asset=txn.received_asset,
        received_qty=txn.received_qty,
        sent_asset=txn.sent_asset,
        sent_qty=txn.sent_qty,
        fee_asset=txn.fee_asset,
        fee_qty=txn.fee_qty,
        value_usd=txn.value_usd,
        transfer_ref=txn.transfer_ref,
        note=txn.note,
        imported_at=imported_at,
    )


def from_row(row: TaxTransaction) -> Transaction:
    """Return the transaction a database row holds."""
    return Transaction(
        source=row.source,
        source_id=row.source_id,
        wallet=row.wallet,
        kind=row.kind,
        ts=row.ts,
        received_asset=row.received_asset,
        received_qty=row.received_qty,
        sent_asset=row.sent_asset,
        sent_qty=row.sent_qty,
        fee_asset=row.fee_asset,
        fee_qty=row.fee_qty,
        value_usd=row.value_usd,
        transfer_ref=row.transfer_ref,
        note=row.note,
    )
