"""Coinbase exports: the transaction history of coinbase.com and Coinbase Exchange fills.

The transaction history (Statements > Transaction history, CSV) has a few title lines and
then the columns ``ID, Timestamp, Transaction Type, Asset, Quantity Transacted, Price
Currency, Price at Transaction, Subtotal, Total (inclusive of fees and/or spread), Fees
and/or Spread, Notes``; money columns are in the price currency (``$1,234.56``), and sales
have negative quantities. Older reports lack ``ID`` and say ``Spot Price Currency`` and
``Spot Price at Transaction``; their rows get an id hashed from their cells.

- Buy, Advanced Trade Buy: the asset is acquired for the subtotal in USD, the fee is in USD.
  When the notes name another quote currency (``Bought 0.01 BTC for 400 USDC on BTC-USDC
  ...``), that amount of it is given instead, valued at the subtotal.
- Sell, Advanced Trade Sell: the mirror image.
- Convert: the asset is given for what the notes name (``Converted 0.5 ETH to 0.025 BTC``),
  valued at the subtotal; the fee (spread) is in USD.
- Rewards, staking, Coinbase Earn, interest: income at the subtotal.
- Send, Exchange Deposit, Pro Deposit: a transfer out; Receive, Exchange Withdrawal, Pro
  Withdrawal: a transfer in. USD deposits and withdrawals are skipped.

Coinbase Exchange fills (``portfolio, trade id, product, side, created at, size, size unit,
price, fee, total, price/fee/total unit``) are trades of ``size`` base units at ``price``,
the fee in the price unit; ``product:trade id`` is the id.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Final

from serenity.errors import DataError
from serenity.model.tax import LedgerKind
from serenity.tax._csv import Parsed, Row, parse_amount, parse_time, read_rows, row_ids
from serenity.tax.records import USD, Transaction

__all__ = ["COINBASE", "COINBASE_EXCHANGE", "read_coinbase", "read_coinbase_exchange"]

COINBASE: Final = "coinbase"
COINBASE_EXCHANGE: Final = "coinbase-exchange"

_BUY = frozenset({"Buy", "Advanced Trade Buy", "Advance Trade Buy"})
_SELL = frozenset({"Sell", "Advanced Trade Sell", "Advance Trade Sell"})
_INCOME = frozenset(
    {
        "Rewards Income",
        "Reward Income",
        "Staking Income",
        "Inflation Reward",
        "Coinbase Earn",
        "Learning Reward",
        "Interest Payout",
        "Interest payout",
    }
)
_IN = frozenset({"Receive", "Exchange Withdrawal", "Pro Withdrawal", "Deposit"})
_OUT = frozenset({"Send", "Exchange Deposit", "Pro Deposit", "Withdrawal"})
_NUMBER = r"([\d,]*\.?\d+)"
_TRADE_NOTE = re.compile(rf"^(?:Bought|Sold) {_NUMBER} (\w+) for \D?{_NUMBER} (\w+)")
_CONVERT_NOTE = re.compile(rf"^Converted {_NUMBER} (\w+) to {_NUMBER} (\w+)")

_TYPE = "Transaction Type"
_QTY = "Quantity Transacted"
_SUBTOTAL = "Subtotal"
_FEES = "Fees and/or Spread"


def read_coinbase(path: str | Path, *, wallet: str | None = None) -> Parsed:
    """Return the transactions of a Coinbase transaction-history CSV.

    Parameters
    ----------
    path
        The CSV file.
    wallet
        The wallet the rows belong to; ``coinbase`` when None.

    Raises
    ------
    DataError
        When the file is not such an export, or a row does not parse (the message names the
        line).
    """
    rows = read_rows(path, required=("Timestamp", _TYPE, "Asset", _QTY), what="Coinbase")
    hashed = row_ids(rows)
    found: list[Transaction] = []
    skipped: dict[str, int] = {}
    for row, fallback_id in zip(rows, hashed, strict=True):
        txn = _transaction(row, row.get("ID") or fallback_id, wallet or COINBASE, path)
        if isinstance(txn, str):
            skipped[txn] = skipped.get(txn, 0) + 1
        else:
            found.append(txn)
    return Parsed(COINBASE, found, skipped)


def _transaction(row: Row, source_id: str, wallet: str, path: str | Path) -> Transaction | str:
    """Return the row's transaction, or what it was when it is not one."""
    where = f"{path} line {row.line}"
    kind = row.get(_TYPE)
    asset = row.get("Asset").upper()
    qty = _abs(row, _QTY, where)
    if qty is None:
        raise DataError(f"{where}: {_QTY} is empty")
    ts = parse_time(row.get("Timestamp"), where=where)
    note = row.get("Notes")[:255] or None

    def make(
        kind: LedgerKind,
        *,
        got: tuple[str, Decimal] | None = None,
        gave: tuple[str, Decimal] | None = None,
        fee: Decimal = Decimal(0),
        value: Decimal | None = None,
    ) -> Transaction:
        return Transaction(
            source=COINBASE,
            source_id=source_id,
            wallet=wallet,
            kind=kind,
            ts=ts,
            received_asset=got[0] if got else None,
            received_qty=got[1] if got else None,
            sent_asset=gave[0] if gave else None,
            sent_qty=gave[1] if gave else None,
            fee_asset=USD if fee else None,
            fee_qty=fee if fee else None,
            value_usd=value,
            note=note,
        )

    if kind in _IN or kind in _OUT:
        if asset == USD:
            return f"{kind} {USD}"
        if kind in _IN:
            return make(LedgerKind.TRANSFER_IN, got=(asset, qty))
        return make(LedgerKind.TRANSFER_OUT, gave=(asset, qty))
    if kind not in _BUY | _SELL | _INCOME and kind != "Convert":
        return kind or "(no type)"
    currency = row.get("Price Currency") or row.get("Spot Price Currency")
    if currency.upper() != USD:
        raise DataError(
            f"{where}: prices are in {currency or '(none)'}; only USD transaction histories are"
            " supported (choose USD as the report currency on Coinbase)"
        )
    subtotal = _abs(row, _SUBTOTAL, where)
    if subtotal is None:
        price = _abs(row, "Price at Transaction", where) or _abs(
            row, "Spot Price at Transaction", where
        )
        if price is None:
            raise DataError(f"{where}: neither {_SUBTOTAL} nor a price is given")
        subtotal = qty * price
    fee = _abs(row, _FEES, where) or Decimal(0)
    if kind in _INCOME:
        return make(LedgerKind.INCOME, got=(asset, qty), value=subtotal)
    if kind == "Convert":
        match = _CONVERT_NOTE.match(row.get("Notes"))
        if match is None:
            raise DataError(
                f"{where}: a Convert needs Notes like 'Converted 0.5 ETH to 0.025 BTC', was"
                f" {row.get('Notes')!r}"
            )
        got = (match.group(4).upper(), Decimal(match.group(3).replace(",", "")))
        return make(LedgerKind.TRADE, got=got, gave=(asset, qty), fee=fee, value=subtotal)
    quote = (USD, subtotal)
    match = _TRADE_NOTE.match(row.get("Notes"))
    if match is not None and match.group(4).upper() != USD:
        quote = (match.group(4).upper(), Decimal(match.group(3).replace(",", "")))
    value = subtotal if quote[0] != USD else None
    if kind in _BUY:
        return make(LedgerKind.TRADE, got=(asset, qty), gave=quote, fee=fee, value=value)
    return make(LedgerKind.TRADE, got=quote, gave=(asset, qty), fee=fee, value=value)


def _abs(row: Row, column: str, where: str) -> Decimal | None:
    value = parse_amount(row.get(column), where=where, what=column)
    return None if value is None else abs(value)


def read_coinbase_exchange(path: str | Path, *, wallet: str | None = None) -> Parsed:
    """Return the trades of a Coinbase Exchange fills CSV.

    Parameters
    ----------
    path
        The CSV file.
    wallet
        The wallet the fills belong to; ``coinbase-exchange`` when None.

    Raises
    ------
    DataError
        When the file is not such an export, or a row does not parse.
    """
    columns = ("trade id", "product", "side", "created at", "size", "size unit", "price", "fee")
    rows = read_rows(path, required=columns, what="Coinbase Exchange fills")
    found = []
    for row in rows:
        where = f"{path} line {row.line}"
        base, sep, quote = row.get("product").upper().partition("-")
        if not sep or not base or not quote:
            raise DataError(f"{where}: product {row.get('product')!r} is not BASE-QUOTE")
        unit = row.get("size unit").upper()
        price_unit = row.get("price/fee/total unit").upper() or quote
        if unit != base or price_unit != quote:
            raise DataError(
                f"{where}: size in {unit} and price in {price_unit} do not match product"
                f" {base}-{quote}"
            )
        size = parse_amount(row.get("size"), where=where, what="size")
        price = parse_amount(row.get("price"), where=where, what="price")
        fee = parse_amount(row.get("fee"), where=where, what="fee") or Decimal(0)
        if size is None or price is None or size < 0 or price < 0 or fee < 0:
            raise DataError(f"{where}: size and price must be given and >= 0, fee >= 0")
        side = row.get("side").upper()
        if side not in ("BUY", "SELL"):
            raise DataError(f"{where}: side must be BUY or SELL, was {row.get('side')!r}")
        base_leg, quote_leg = (base, size), (quote, size * price)
        got, gave = (base_leg, quote_leg) if side == "BUY" else (quote_leg, base_leg)
        found.append(
            Transaction(
                source=COINBASE_EXCHANGE,
                source_id=f"{base}-{quote}:{row.get('trade id')}",
                wallet=wallet or COINBASE_EXCHANGE,
                kind=LedgerKind.TRADE,
                ts=parse_time(row.get("created at"), where=where),
                received_asset=got[0],
                received_qty=got[1],
                sent_asset=gave[0],
                sent_qty=gave[1],
                fee_asset=quote if fee else None,
                fee_qty=fee if fee else None,
                note=row.get("portfolio") or None,
            )
        )
    return Parsed(COINBASE_EXCHANGE, found, {})
