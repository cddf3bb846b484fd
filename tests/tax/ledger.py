"""Small builders of tax-ledger transactions and reports for the hand-computed cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from serenity.model import LedgerKind
from serenity.tax import PoolMode, ReliefMethod, TaxReport, TaxSettings, Transaction, UsdPrices
from serenity.tax import compute as _compute
from serenity.tax.prices import PriceSource
from serenity.tax.records import format_qty

D = Decimal


def at(day: str, time: str = "12:00:00") -> dt.datetime:
    """Return ``day time`` UTC as an aware datetime."""
    return dt.datetime.fromisoformat(f"{day}T{time}+00:00")


def trade(
    key: str,
    when: dt.datetime,
    *,
    got: tuple[str, str],
    gave: tuple[str, str],
    fee: tuple[str, str] | None = None,
    value: str | None = None,
    wallet: str = "w",
) -> Transaction:
    """Return a trade: ``got`` and ``gave`` are (asset, qty) with the quantity as text."""
    return Transaction(
        source="t",
        source_id=key,
        wallet=wallet,
        kind=LedgerKind.TRADE,
        ts=when,
        received_asset=got[0],
        received_qty=D(got[1]),
        sent_asset=gave[0],
        sent_qty=D(gave[1]),
        fee_asset=fee[0] if fee else None,
        fee_qty=D(fee[1]) if fee else None,
        value_usd=D(value) if value is not None else None,
    )


def buy(
    key: str,
    when: dt.datetime,
    qty: str,
    usd: str,
    *,
    asset: str = "BTC",
    fee: str = "0",
    wallet: str = "w",
) -> Transaction:
    """Return a purchase of ``qty`` ``asset`` for ``usd`` dollars (fee in USD)."""
    fees = ("USD", fee) if D(fee) else None
    return trade(key, when, got=(asset, qty), gave=("USD", usd), fee=fees, wallet=wallet)


def sell(
    key: str,
    when: dt.datetime,
    qty: str,
    usd: str,
    *,
    asset: str = "BTC",
    fee: str = "0",
    wallet: str = "w",
) -> Transaction:
    """Return a sale of ``qty`` ``asset`` for ``usd`` dollars (fee in USD)."""
    fees = ("USD", fee) if D(fee) else None
    return trade(key, when, got=("USD", usd), gave=(asset, qty), fee=fees, wallet=wallet)


def transfer(
    key: str,
    when: dt.datetime,
    qty: str,
    *,
    out_of: str | None = None,
    into: str | None = None,
    asset: str = "BTC",
    fee: str = "0",
    ref: str | None = None,
) -> Transaction:
    """Return one side of a transfer: out of a wallet, or into one."""
    arriving = into is not None
    return Transaction(
        source="t",
        source_id=key,
        wallet=into if arriving else str(out_of),
        kind=LedgerKind.TRANSFER_IN if arriving else LedgerKind.TRANSFER_OUT,
        ts=when,
        received_asset=asset if arriving else None,
        received_qty=D(qty) if arriving else None,
        sent_asset=None if arriving else asset,
        sent_qty=None if arriving else D(qty),
        fee_asset=asset if D(fee) else None,
        fee_qty=D(fee) if D(fee) else None,
        transfer_ref=ref,
    )


def income(
    key: str, when: dt.datetime, qty: str, *, asset: str, value: str | None = None
) -> Transaction:
    """Return ``qty`` ``asset`` received as income (valued by marks unless ``value``)."""
    return Transaction(
        source="t",
        source_id=key,
        wallet="w",
        kind=LedgerKind.INCOME,
        ts=when,
        received_asset=asset,
        received_qty=D(qty),
        value_usd=D(value) if value is not None else None,
    )


class Marks:
    """A price source from a dict ``{(asset, time): price}``: exact times only."""

    name = "test marks"

    def __init__(self, marks: Mapping[tuple[str, dt.datetime], str]) -> None:
        self._marks = {k: D(v) for k, v in marks.items()}

    def find(self, asset: str, ts: dt.datetime, max_age: dt.timedelta) -> Decimal | None:
        return self._marks.get((asset, ts))


def compute(
    txns: Iterable[Transaction],
    year: int = 2024,
    *,
    method: ReliefMethod = ReliefMethod.FIFO,
    pools: PoolMode | None = PoolMode.UNIVERSAL,
    marks: Mapping[tuple[str, dt.datetime], str] | None = None,
    lots: Mapping[str, Sequence[tuple[str, Decimal]]] | None = None,
    tz: dt.tzinfo = dt.UTC,
) -> TaxReport:
    """Return the report of ``year`` for ``txns``."""
    sources: list[PriceSource] = [Marks(marks or {})]
    settings = TaxSettings(year=year, method=method, pools=pools, tz=tz, lots=lots or {})
    return _compute(txns, UsdPrices(sources), settings)


def rows(report: TaxReport) -> list[tuple[str, str, str, str, str, str, str]]:
    """Return the report's rows as text: lot, qty, acquired, sold, proceeds, basis, term."""
    return [
        (
            r.lot_id.removeprefix("t:"),
            format_qty(r.qty),
            r.acquired.isoformat(),
            r.sold.isoformat(),
            f"{r.proceeds:.2f}",
            f"{r.basis:.2f}",
            str(r.term),
        )
        for r in report.rows
    ]
