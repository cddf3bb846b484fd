"""Loading a 2,000-symbol Binance exchangeInfo into PostgreSQL.

Run with ``python -m pytest tests/benchmarks/test_refdata.py --benchmark-only``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from serenity.db import create_engine_from_url, load_catalog, migrations
from serenity.exchange import binance
from serenity.model import Base
from tests.venues import binance_exchange_info

SYMBOLS = 2_000
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def pg_engine(pg_schema_url: str) -> Iterator[sa.Engine]:
    migrations.upgrade(pg_schema_url)
    engine = create_engine_from_url(pg_schema_url)
    yield engine
    engine.dispose()


def _empty(engine: sa.Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.mark.postgres
def test_first_load_of_2000_binance_symbols(benchmark: Any, pg_engine: sa.Engine) -> None:
    info = binance_exchange_info(SYMBOLS)

    def load() -> int:
        report = load_catalog(pg_engine, binance.parse_exchange_info(info), as_of=T0)
        return report.added

    added = benchmark.pedantic(load, setup=lambda: _empty(pg_engine), rounds=5, iterations=1)

    benchmark.extra_info["symbols_per_s"] = SYMBOLS / benchmark.stats["mean"]
    assert added == SYMBOLS


@pytest.mark.postgres
def test_reload_with_every_tick_size_changed(benchmark: Any, pg_engine: sa.Engine) -> None:
    # Alternate two tick sizes, so every reload closes 2,000 versions and opens 2,000.
    infos = itertools.cycle([binance_exchange_info(SYMBOLS, tick=t) for t in ("0.001", "0.01")])
    clock = itertools.count(1)
    load_catalog(pg_engine, binance.parse_exchange_info(binance_exchange_info(SYMBOLS)), as_of=T0)

    def reload() -> int:
        as_of = T0 + dt.timedelta(minutes=next(clock))
        catalog = binance.parse_exchange_info(next(infos))
        return load_catalog(pg_engine, catalog, as_of=as_of).changed

    changed = benchmark.pedantic(reload, rounds=5, iterations=1)

    benchmark.extra_info["symbols_per_s"] = SYMBOLS / benchmark.stats["mean"]
    assert changed == SYMBOLS
