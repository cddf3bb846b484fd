"""Loading product catalogs: idempotent, versioned, one transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serenity.db import create_engine_from_url, list_listings, load_catalog
from serenity.db import refdata as refdata_module
from serenity.errors import InvalidValueError
from serenity.exchange import ProductCatalog, binance, coinbase, phemex
from serenity.model import Base, InstrumentStatus
from tests.venues import payload, read_capture

T1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(days=1)
T3 = T2 + dt.timedelta(days=1)


def _binance() -> ProductCatalog:
    return binance.parse_exchange_info(payload("binance", "exchange_info"))


def _edited(catalog: ProductCatalog, symbol: str, **changes: object) -> ProductCatalog:
    products = [
        dataclasses.replace(p, **changes) if p.symbol == symbol else p  # type: ignore[arg-type]
        for p in catalog.products
    ]
    return ProductCatalog.of(catalog.venue, products)


def _without(catalog: ProductCatalog, symbol: str) -> ProductCatalog:
    return ProductCatalog.of(catalog.venue, [p for p in catalog.products if p.symbol != symbol])


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }


def test_first_load_adds_everything_and_a_reload_changes_nothing(db_engine: sa.Engine) -> None:
    first = load_catalog(db_engine, _binance(), name="Binance", as_of=T1)
    counts = _counts(db_engine)
    again = load_catalog(db_engine, _binance(), as_of=T2)

    assert (first.added, first.changed, first.delisted) == (5, 0, 0)
    assert (first.currencies_added, first.instruments_added) == (6, 5)
    assert (again.added, again.changed, again.unchanged, again.currencies_added) == (0, 0, 5, 0)
    assert _counts(db_engine) == counts
    assert counts["exchange_instrument"] == 5 and counts["exchange"] == 1


def test_tick_size_change_closes_the_old_version_and_opens_a_new_one(db_engine: sa.Engine) -> None:
    load_catalog(db_engine, _binance(), as_of=T1)

    report = load_catalog(
        db_engine, _edited(_binance(), "BTCUSDT", tick_size=Decimal("0.1")), as_of=T2
    )

    history = list_listings(db_engine, symbol="BTCUSDT", include_history=True)
    assert (report.changed, report.unchanged) == (1, 4)
    assert [(h.tick_size, h.valid_from, h.valid_to) for h in history] == [
        (Decimal("0.01"), T1, T2),
        (Decimal("0.1"), T2, None),
    ]
    assert [h.tick_size for h in list_listings(db_engine, symbol="BTCUSDT")] == [Decimal("0.1")]


def test_delisted_symbol_gets_a_delisted_version_and_can_come_back(db_engine: sa.Engine) -> None:
    load_catalog(db_engine, _binance(), as_of=T1)

    gone = load_catalog(db_engine, _without(_binance(), "BNBUSDT"), as_of=T2)
    still_gone = load_catalog(db_engine, _without(_binance(), "BNBUSDT"), as_of=T3)
    back = load_catalog(db_engine, _binance(), as_of=T3 + dt.timedelta(hours=1))

    history = list_listings(db_engine, symbol="bnbusdt", include_history=True)
    assert (gone.delisted, still_gone.delisted, still_gone.unchanged, back.changed) == (1, 0, 4, 1)
    assert [h.status for h in history] == [
        InstrumentStatus.TRADING,
        InstrumentStatus.DELISTED,
        InstrumentStatus.TRADING,
    ]
    assert [h.valid_to for h in history] == [T2, T3 + dt.timedelta(hours=1), None]


def test_load_that_fails_midway_leaves_the_database_unchanged(
    db_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_catalog(db_engine, _binance(), as_of=T1)
    before = _counts(db_engine)
    bigger = ProductCatalog.of("binance", [*_binance().products, *_phemex_as_binance()])

    def explode(*args: object, **kwargs: object) -> dict[str, int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(refdata_module, "_apply_listings", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        load_catalog(db_engine, bigger, as_of=T2)

    assert _counts(db_engine) == before


def _phemex_as_binance() -> list[object]:
    catalog = phemex.parse_products(payload("phemex", "products"))
    return [
        dataclasses.replace(p, venue="binance") for p in catalog.products if p.symbol != "BTCUSDT"
    ]


def test_as_of_must_be_aware_and_after_the_versions_it_closes(db_engine: sa.Engine) -> None:
    load_catalog(db_engine, _binance(), as_of=T2)
    before = _counts(db_engine)
    changed = _edited(_binance(), "ETHBTC", lot_size=Decimal("0.01"))

    with pytest.raises(InvalidValueError, match="as_of must be timezone-aware"):
        load_catalog(db_engine, changed, as_of=dt.datetime(2024, 1, 5))
    with pytest.raises(
        InvalidValueError, match="is not after .* when the live version of 'ETHBTC'"
    ):
        load_catalog(db_engine, changed, as_of=T1)

    assert _counts(db_engine) == before
    assert list_listings(db_engine, symbol="ETHBTC")[0].lot_size == Decimal("0.0001")


def test_futures_get_their_currency_pair_as_underlier(db_engine: sa.Engine) -> None:
    load_catalog(db_engine, phemex.parse_products(payload("phemex", "products")), as_of=T1)

    with db_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT i.code, u.code FROM instrument i JOIN instrument u ON u.id = i.underlier_id"
            )
        ).all()
    assert ("ETH/USD:USD-PERP-x0.005", "ETH/USD") in rows
    assert ("BTC/USDT:USDT-PERP", "BTC/USDT") in rows


def test_listings_filter_by_venue_and_symbol_pattern(db_engine: sa.Engine) -> None:
    load_catalog(db_engine, _binance(), as_of=T1)
    cb = coinbase.parse_products(payload("coinbase", "products"), payload("coinbase", "currencies"))
    load_catalog(db_engine, cb, as_of=T1)

    assert {r.venue for r in list_listings(db_engine)} == {"binance", "coinbase"}
    assert [r.symbol for r in list_listings(db_engine, venue="COINBASE", symbol="eth*")] == [
        "ETH-BTC",
        "ETH-USD",
    ]
    assert list_listings(db_engine, venue="kraken") == []


@pytest.mark.captures
def test_2021_captures_load_and_reload_unchanged(db_engine: sa.Engine, captures_dir: Path) -> None:
    catalogs = [
        phemex.parse_products(read_capture(captures_dir, "PHEMEX.0")),
        coinbase.parse_products(read_capture(captures_dir, "COINBASE.0")),
        binance.parse_exchange_info(read_capture(captures_dir, "BINANCE.0")),
    ]

    first = [load_catalog(db_engine, c, as_of=T1) for c in catalogs]
    again = [load_catalog(db_engine, c, as_of=T2) for c in catalogs]

    assert [r.added for r in first] == [len(c.products) for c in catalogs]
    assert [r.unchanged for r in again] == [len(c.products) for c in catalogs]
    assert sum(r.changed + r.added + r.delisted for r in again) == 0


_EDITS: list[Callable[[ProductCatalog, str], ProductCatalog]] = [
    lambda c, s: _edited(c, s, tick_size=Decimal("0.5")),
    lambda c, s: _edited(c, s, status=InstrumentStatus.HALTED),
    lambda c, s: _edited(c, s, min_qty=None),
    _without,
    lambda c, s: c,
]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_EDITS) - 1), st.integers(0, 4)), max_size=6))
def test_history_stays_contiguous_with_one_live_version_per_symbol(
    steps: list[tuple[int, int]],
) -> None:
    engine = create_engine_from_url("sqlite://")
    Base.metadata.create_all(engine)
    base = _binance()
    symbols = [p.symbol for p in base.products]
    loaded = [base]
    for edit, which in steps:
        loaded.append(_EDITS[edit](base, symbols[which]))
    for i, catalog in enumerate(loaded):
        load_catalog(engine, catalog, as_of=T1 + dt.timedelta(minutes=i))

    history = list_listings(engine, include_history=True)
    engine.dispose()
    last = loaded[-1]
    for symbol in symbols:
        versions = [h for h in history if h.symbol == symbol]
        assert [v.valid_to for v in versions[:-1]] == [v.valid_from for v in versions[1:]]
        assert versions[-1].valid_to is None
        product = last.get(symbol)
        live = versions[-1]
        if product is None:
            assert live.status is InstrumentStatus.DELISTED
        else:
            assert (live.tick_size, live.status, live.min_qty) == (
                product.tick_size,
                product.status,
                product.min_qty,
            )
