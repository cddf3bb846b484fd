"""Lot relief over a year of busy trading: 100,000 fills of one asset, FIFO and HIFO.

Run with ``python -m pytest tests/benchmarks/test_tax.py --benchmark-only``.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest

from serenity.model import LedgerKind
from serenity.tax import ReliefMethod, TaxSettings, Transaction, UsdPrices, compute

FILLS = 100_000
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def fills() -> list[Transaction]:
    """Buys and sells of BTC for USD every five minutes; holdings drift upward."""
    rng = random.Random(16)
    out, held = [], Decimal(0)
    for i in range(FILLS):
        qty = Decimal(rng.randint(1, 1000)) / 1000
        price = Decimal(rng.randint(40_000, 70_000))
        selling = held >= qty and rng.random() < 0.45
        held += -qty if selling else qty
        usd, btc = ("USD", qty * price), ("BTC", qty)
        got, gave = (usd, btc) if selling else (btc, usd)
        out.append(
            Transaction(
                source="bench",
                source_id=str(i),
                wallet="w",
                kind=LedgerKind.TRADE,
                ts=T0 + dt.timedelta(minutes=5 * (i * 365 * 288 // FILLS) // 5),
                received_asset=got[0],
                received_qty=got[1],
                sent_asset=gave[0],
                sent_qty=gave[1],
                fee_asset="USD",
                fee_qty=Decimal("0.5"),
            )
        )
    return out


@pytest.mark.parametrize("method", [ReliefMethod.FIFO, ReliefMethod.HIFO])
def test_relief_throughput(benchmark: Any, fills: list[Transaction], method: ReliefMethod) -> None:
    settings = TaxSettings(year=2024, method=method)

    report = benchmark.pedantic(
        lambda: compute(fills, UsdPrices([]), settings), rounds=1, iterations=1
    )

    benchmark.extra_info["fills_per_s"] = FILLS / benchmark.stats["mean"]
    benchmark.extra_info["rows"] = len(report.rows)
    assert report.rows
