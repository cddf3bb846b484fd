"""Fills booked per second into SQLite and PostgreSQL, in batches of 1,000 records.

Run with ``python -m pytest tests/benchmarks/test_booker.py --benchmark-only``.

Each round books 5,000 orders with two fills each: 15,000 records (an acknowledgement and two
fills per order) in 15 transactions, through :class:`~serenity.booker.BookingWriter`, the
part of the booking service that runs in the worker thread. With ``journal`` the records are
first appended to the write-ahead journal (one fsync per batch) and marked booked after.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from serenity.booker import BookingJournal, BookingWriter, FillRecord, OrderRecord
from serenity.db import create_engine_from_url, load_catalog, migrations
from serenity.exchange.product import ProductCatalog
from serenity.model import Fill, Liquidity, OrderStatus, OrderType, Side, TimeInForce
from tests.booker.helpers import T_LOAD
from tests.trading.harness import T0, product

ORDERS = 5_000
BATCH = 1_000
FILLS = 2 * ORDERS


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'booker.db'}"
    else:
        url = str(request.getfixturevalue("pg_schema_url"))
    migrations.upgrade(url)
    engine = create_engine_from_url(url)
    load_catalog(engine, ProductCatalog.of("coinbase", [product()]), as_of=T_LOAD)
    yield engine
    engine.dispose()


def _records(run: int) -> list[OrderRecord]:
    out: list[OrderRecord] = []
    for i in range(ORDERS):
        ts = T0 + i * 1_000_000
        state: dict[str, Any] = dict(
            venue="coinbase",
            symbol="BTC-USD",
            account="bench",
            cl_ord_id=f"r{run}-{i}",
            side=Side.BUY if i % 2 else Side.SELL,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            qty=Decimal("0.002"),
            price=Decimal("42000.01"),
            stop_price=None,
            is_post_only=False,
            is_reduce_only=False,
            venue_order_id=f"v{run}-{i}",
            reason=None,
            created_ts=ts,
        )
        out.append(
            OrderRecord(**state, status=OrderStatus.NEW, cum_qty=Decimal(0), avg_price=None, ts=ts)
        )
        for k, status in enumerate((OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED), start=1):
            fill = FillRecord(
                exec_id=f"e{run}-{i}-{k}",
                qty=Decimal("0.001"),
                price=Decimal("42000.01"),
                fee=Decimal("0.0042000010"),
                fee_currency="USD",
                liquidity=Liquidity.MAKER,
                ts=ts + k,
            )
            out.append(
                OrderRecord(
                    **state,
                    status=status,
                    cum_qty=Decimal("0.001") * k,
                    avg_price=Decimal("42000.01"),
                    ts=ts + k,
                    fill=fill,
                )
            )
    return out


@pytest.mark.parametrize("journal", [False, True], ids=["no_journal", "journal"])
def test_fills_booked_per_second(
    benchmark: Any, engine: sa.Engine, journal: bool, tmp_path: Path
) -> None:
    runs = itertools.count(1)
    writer = BookingWriter(
        engine, journal=BookingJournal(tmp_path / "bench.journal") if journal else None
    )
    batches: list[list[OrderRecord]] = []

    def setup() -> None:
        records = _records(next(runs))
        batches[:] = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]

    def book() -> int:
        return sum(writer.write(batch).fills for batch in batches)

    booked = benchmark.pedantic(book, setup=setup, rounds=3, iterations=1)

    benchmark.extra_info["fills_per_s"] = round(FILLS / benchmark.stats["mean"])
    benchmark.extra_info["records_per_s"] = round(1.5 * FILLS / benchmark.stats["mean"])
    assert booked == FILLS and writer.pending == 0
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Fill)) == 3 * FILLS
