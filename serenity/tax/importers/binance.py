"""Binance's spot trade history export (``Date(UTC), Pair, Side, Price, Executed, Amount, Fee``).

``Executed`` is the base quantity with its asset appended (``0.01000000BTC``), ``Amount`` the
quote quantity (``400.00000000USDT``) and ``Fee`` the fee with its asset (``0.00000100BTC``,
``0.0003BNB``). ``Pair`` is the base and quote written together (``BTCUSDT``); the suffixes
tell where one ends, so ``1INCHUSDT`` parses. The export has no trade id: each row's id is a
hash of its cells (``#2``, ``#3`` for identical rows), so re-importing a file adds nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Final

from serenity.errors import DataError
from serenity.model.tax import LedgerKind
from serenity.tax._csv import Parsed, parse_amount, parse_time, read_rows, row_ids
from serenity.tax.records import Transaction

__all__ = ["BINANCE", "read_binance"]

BINANCE: Final = "binance"

_WITH_ASSET = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([A-Za-z0-9]+)\s*$")
_COLUMNS = ("Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee")


def read_binance(path: str | Path, *, wallet: str | None = None) -> Parsed:
    """Return the trades of a Binance spot trade-history CSV.

    Parameters
    ----------
    path
        The CSV file.
    wallet
        The wallet the trades belong to; ``binance`` when None.

    Raises
    ------
    DataError
        When the file is not such an export, or a row does not parse (the message names the
        line and the cell).
    """
    rows = read_rows(path, required=_COLUMNS, what="Binance trade history")
    found = []
    for row, source_id in zip(rows, row_ids(rows), strict=True):
        where = f"{path} line {row.line}"
        pair = row.get("Pair").upper()
        executed, amount = row.get("Executed"), row.get("Amount")
        split = _split_pair(pair, executed, amount)
        if split is None:
            raise DataError(
                f"{where}: cannot tell the base and quote of {pair!r} from Executed {executed!r}"
                f" and Amount {amount!r}; expected amounts with their asset, e.g. 0.5BTC"
            )
        base, quote = split
        base_qty = _quantity(executed[: len(executed) - len(base)], where, "Executed")
        quote_qty = _quantity(amount[: len(amount) - len(quote)], where, "Amount")
        fee_asset, fee_qty = _fee(row.get("Fee"), (base, quote), where)
        side = row.get("Side").upper()
        if side not in ("BUY", "SELL"):
            raise DataError(f"{where}: Side must be BUY or SELL, was {row.get('Side')!r}")
        got, gave = ((base, base_qty), (quote, quote_qty))
        if side == "SELL":
            got, gave = gave, got
        found.append(
            Transaction(
                source=BINANCE,
                source_id=source_id,
                wallet=wallet or BINANCE,
                kind=LedgerKind.TRADE,
                ts=parse_time(row.get("Date(UTC)"), where=where),
                received_asset=got[0],
                received_qty=got[1],
                sent_asset=gave[0],
                sent_qty=gave[1],
                fee_asset=fee_asset if fee_qty else None,
                fee_qty=fee_qty if fee_qty else None,
            )
        )
    return Parsed(BINANCE, found, {})


def _split_pair(pair: str, executed: str, amount: str) -> tuple[str, str] | None:
    """Return (base, quote) of ``pair`` such that the amounts end with them."""
    splits = [
        (pair[:i], pair[i:])
        for i in range(1, len(pair))
        if executed.upper().endswith(pair[:i]) and amount.upper().endswith(pair[i:])
    ]
    return max(splits, key=lambda s: len(s[1])) if splits else None


def _quantity(text: str, where: str, column: str) -> Decimal:
    value = parse_amount(text, where=where, what=column)
    if value is None or value < 0:
        raise DataError(f"{where}: {column} must be a quantity >= 0, was {text!r}")
    return value


def _fee(text: str, legs: tuple[str, str], where: str) -> tuple[str | None, Decimal | None]:
    if not text.strip():
        return None, None
    upper = text.strip().upper()
    for asset in sorted(legs, key=len, reverse=True):  # a leg's asset first: 1INCH, not INCH
        if upper.endswith(asset):
            return asset, _quantity(upper[: len(upper) - len(asset)], where, "Fee")
    match = _WITH_ASSET.match(upper)
    if match is None:
        raise DataError(f"{where}: Fee {text!r} is not an amount with its asset, e.g. 0.1BNB")
    return match.group(2), _quantity(match.group(1), where, "Fee")
