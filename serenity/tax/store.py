"""The tax ledger in the database: imported rows, and fills and transfers booked by Serenity.

:func:`import_export` stores a venue export's transactions in ``tax_transaction``, skipping
ids already there, so importing a file twice adds nothing. :func:`load_ledger` returns every
transaction a report needs: the imported rows, the fills of spot currency pairs (``fill``
joined to ``order``, ``instrument`` and its currencies) and the ``exchange_transfer`` rows.
Fills from backtests and paper runs are left out unless a run is asked for, and then only
that run's fills are loaded.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from serenity.db.engine import describe_db_error, ensure_schema, redact_url
from serenity.errors import ConfigError, InvalidValueError
from serenity.model import (
    Currency,
    Exchange,
    ExchangeAccount,
    ExchangeTransfer,
    Fill,
    Instrument,
    InstrumentType,
    Order,
    RunKind,
    Side,
    StrategyRun,
    TaxTransaction,
    TransferType,
)
from serenity.model.tax import LedgerKind
from serenity.tax.importers import read_export
from serenity.tax.records import USD, Transaction, from_row, to_row

__all__ = [
    "FILL_SOURCE",
    "TRANSFER_SOURCE",
    "ImportReport",
    "Ledger",
    "import_export",
    "load_ledger",
    "store_transactions",
]

log = logging.getLogger(__name__)

FILL_SOURCE = "fill"
"""The source of transactions read from the ``fill`` table (``fill:<fill id>``)."""
TRANSFER_SOURCE = "transfer"
"""The source of transactions read from ``exchange_transfer`` (``transfer:<id>``)."""

_BATCH = 500


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import did: rows read, added, already there, and rows passed over."""

    source: str
    read: int
    added: int
    existing: int
    skipped: dict[str, int]

    def __str__(self) -> str:
        text = (
            f"{self.source}: {self.read} transactions read, {self.added} added,"
            f" {self.existing} already imported"
        )
        if self.skipped:
            passed = ", ".join(f"{n} {what}" for what, n in sorted(self.skipped.items()))
            text += f"; rows not imported: {passed}"
        return text


@dataclass(frozen=True, slots=True)
class Ledger:
    """Every transaction a report reads, and notes on what was left out."""

    transactions: list[Transaction]
    notes: list[str]


def _check_tables(engine: Engine) -> None:
    ensure_schema(engine)
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(TaxTransaction.__tablename__):
            raise ConfigError(
                f"database {redact_url(engine.url)} has no tax_transaction table; run"
                " `serenity db upgrade` first"
            )


def store_transactions(engine: Engine, transactions: Iterable[Transaction]) -> tuple[int, int]:
    """Store imported transactions, skipping those whose ``source:source_id`` is stored.

    Returns
    -------
    tuple[int, int]
        How many were added and how many were already stored (or repeated in the input).

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    """
    _check_tables(engine)
    pending: dict[tuple[str, str], Transaction] = {}
    repeated = 0
    for txn in transactions:
        if (txn.source, txn.source_id) in pending:
            repeated += 1
        pending[(txn.source, txn.source_id)] = txn
    now = dt.datetime.now(dt.UTC)
    added = 0
    try:
        with Session(engine) as session, session.begin():
            keys = list(pending)
            for start in range(0, len(keys), _BATCH):
                chunk = keys[start : start + _BATCH]
                stored = _stored_keys(session, chunk)
                new = [pending[k] for k in chunk if k not in stored]
                session.add_all(to_row(txn, imported_at=now) for txn in new)
                added += len(new)
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"cannot store tax transactions in {redact_url(engine.url)}: {describe_db_error(exc)}"
        ) from exc
    return added, len(pending) - added + repeated


def _stored_keys(session: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    by_source: dict[str, list[str]] = {}
    for source, source_id in keys:
        by_source.setdefault(source, []).append(source_id)
    stored: set[tuple[str, str]] = set()
    for source, ids in by_source.items():
        query = sa.select(TaxTransaction.source_id).where(
            TaxTransaction.source == source, TaxTransaction.source_id.in_(ids)
        )
        stored.update((source, sid) for sid in session.scalars(query))
    return stored


def import_export(
    engine: Engine, source: str, path: str | Path, *, wallet: str | None = None
) -> ImportReport:
    """Read a venue export and store its transactions; a second import adds nothing.

    Parameters
    ----------
    engine
        The database (migrated with ``serenity db upgrade``).
    source
        ``coinbase``, ``coinbase-exchange`` or ``binance``.
    path
        The export file.
    wallet
        The wallet its rows belong to; the source's name when None.

    Raises
    ------
    DataError
        When the file is not that source's export or a row does not parse.
    ConfigError
        When the database is unreachable or not migrated.
    """
    if wallet is not None and not wallet.strip():
        raise InvalidValueError("wallet must not be blank")
    parsed = read_export(source, path, wallet=wallet)
    added, existing = store_transactions(engine, parsed.transactions)
    log.info(
        "tax.import",
        extra={"source": source, "path": str(path), "added": added, "existing": existing},
    )
    return ImportReport(source, len(parsed.transactions), added, existing, parsed.skipped)


def load_ledger(engine: Engine, *, run_id: int | None = None) -> Ledger:
    """Return the transactions of the database, oldest first.

    Parameters
    ----------
    engine
        The database.
    run_id
        Only the fills of this strategy run (a backtest, say), and nothing else. When None:
        imported rows, transfers, and fills of no run or of live runs.

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    """
    _check_tables(engine)
    notes: list[str] = []
    try:
        with Session(engine) as session:
            txns = _fills(session, run_id, notes)
            if run_id is None:
                imported = sa.select(TaxTransaction).order_by(TaxTransaction.ts, TaxTransaction.id)
                txns += [from_row(r) for r in session.scalars(imported)]
                txns += _transfers(session, notes)
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"cannot read the tax ledger from {redact_url(engine.url)}: {describe_db_error(exc)}"
        ) from exc
    txns.sort(key=lambda t: t.ts)
    return Ledger(txns, notes)


def _fills(session: Session, run_id: int | None, notes: list[str]) -> list[Transaction]:
    base, quote, fee_currency = aliased(Currency), aliased(Currency), aliased(Currency)
    query = (
        sa.select(
            Fill.id,
            Fill.side,
            Fill.qty,
            Fill.price,
            Fill.fee,
            fee_currency.code,
            Fill.ts,
            Fill.venue_fill_id,
            Instrument.code,
            Instrument.instrument_type,
            base.code,
            quote.code,
            Exchange.code,
            ExchangeAccount.code,
        )
        .join(Order, Fill.order_id == Order.id)
        .join(Instrument, Order.instrument_id == Instrument.id)
        .join(ExchangeAccount, Order.exchange_account_id == ExchangeAccount.id)
        .join(Exchange, ExchangeAccount.exchange_id == Exchange.id)
        .outerjoin(base, Instrument.base_currency_id == base.id)
        .outerjoin(quote, Instrument.quote_currency_id == quote.id)
        .outerjoin(fee_currency, Fill.fee_currency_id == fee_currency.id)
        .outerjoin(StrategyRun, Order.strategy_run_id == StrategyRun.id)
        .order_by(Fill.ts, Fill.id)
    )
    if run_id is None:
        query = query.where(
            sa.or_(Order.strategy_run_id.is_(None), StrategyRun.kind == RunKind.LIVE)
        )
    else:
        query = query.where(Order.strategy_run_id == run_id)
    found: list[Transaction] = []
    skipped: dict[str, int] = {}
    assumed_fee = 0
    for row in session.execute(query):
        (fill_id, side, qty, price, fee, fee_code, ts, venue_id, code, itype, b, q, ex, acct) = row
        if itype is not InstrumentType.CURRENCY_PAIR or not b or not q:
            skipped[code] = skipped.get(code, 0) + 1
            continue
        if fee and fee_code is None:
            assumed_fee += 1
        base_leg, quote_leg = (b, qty), (q, qty * price)
        got, gave = (base_leg, quote_leg) if side is Side.BUY else (quote_leg, base_leg)
        found.append(
            Transaction(
                source=FILL_SOURCE,
                source_id=str(fill_id),
                wallet=f"{ex}:{acct}",
                kind=LedgerKind.TRADE,
                ts=ts,
                received_asset=got[0],
                received_qty=got[1],
                sent_asset=gave[0],
                sent_qty=gave[1],
                fee_asset=(fee_code or q) if fee else None,
                fee_qty=abs(fee) if fee else None,
                note=venue_id,
            )
        )
    if skipped:
        listed = ", ".join(f"{n} on {code}" for code, n in sorted(skipped.items()))
        notes.append(f"fills of instruments other than spot currency pairs left out: {listed}")
    if assumed_fee:
        notes.append(f"{assumed_fee} fill(s) had a fee with no fee currency: taken as the quote")
    return found


def _transfers(session: Session, notes: list[str]) -> list[Transaction]:
    query = (
        sa.select(ExchangeTransfer, Currency.code, Exchange.code, ExchangeAccount.code)
        .join(Currency, ExchangeTransfer.currency_id == Currency.id)
        .join(ExchangeAccount, ExchangeTransfer.exchange_account_id == ExchangeAccount.id)
        .join(Exchange, ExchangeAccount.exchange_id == Exchange.id)
        .order_by(ExchangeTransfer.ts, ExchangeTransfer.id)
    )
    found: list[Transaction] = []
    fees = 0
    for transfer, asset, ex, acct in session.execute(query):
        if asset == USD:
            continue
        kind = transfer.transfer_type
        if kind is TransferType.FEE:
            fees += 1
            continue
        arriving = kind is TransferType.DEPOSIT or (
            kind is TransferType.INTERNAL and transfer.qty > 0
        )
        qty = abs(transfer.qty)
        fee = abs(transfer.fee) if transfer.fee else Decimal(0)
        found.append(
            Transaction(
                source=TRANSFER_SOURCE,
                source_id=str(transfer.id),
                wallet=f"{ex}:{acct}",
                kind=LedgerKind.TRANSFER_IN if arriving else LedgerKind.TRANSFER_OUT,
                ts=transfer.ts,
                received_asset=asset if arriving else None,
                received_qty=qty if arriving else None,
                sent_asset=None if arriving else asset,
                sent_qty=None if arriving else qty,
                fee_asset=asset if fee else None,
                fee_qty=fee if fee else None,
                transfer_ref=transfer.tx_hash or transfer.venue_transfer_id,
                note=transfer.venue_transfer_id,
            )
        )
    if fees:
        notes.append(f"{fees} exchange_transfer fee row(s) left out (not a sale or a transfer)")
    return found
