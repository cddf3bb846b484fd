"""InstrumentCache: lookups by id and venue symbol, get-or-create of currencies and instruments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from serenity.db import InstrumentCache, load_catalog, session_factory
from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.exchange import binance
from serenity.model import Currency, Instrument, InstrumentType
from tests.venues import payload

T1 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_get_or_create_is_idempotent_and_links_futures_to_pairs(db_engine: sa.Engine) -> None:
    expiry = dt.datetime(2025, 3, 28, 8, tzinfo=dt.UTC)
    with session_factory(db_engine)() as session:
        cache = InstrumentCache(session)
        perp = cache.get_or_create_perpetual("btc", "usd", settle="btc")
        future = cache.get_or_create_dated_future(
            "BTC", "USDT", settle="USDT", expiry=expiry, contract_size=Decimal("0.001")
        )
        pair = cache.get_or_create_currency_pair("BTC", "USD")
        session.commit()

    with session_factory(db_engine)() as session:
        cache = InstrumentCache(session)
        again = cache.get_or_create_perpetual("BTC", "USD", settle="BTC")
        codes = set(session.scalars(sa.select(Instrument.code)))
        currencies = set(session.scalars(sa.select(Currency.code)))
        by_id = cache.get_instrument(perp.id)
        underlier_code = by_id.underlier.code if by_id.underlier else None
        settle_code = by_id.settle_currency.code if by_id.settle_currency else None
        expiry_back = cache.get_instrument_by_code(future.code).expiry

    assert again.id == perp.id and perp.underlier_id == pair.id
    assert codes == {"BTC/USD", "BTC/USD:BTC-PERP", "BTC/USDT", "BTC/USDT:USDT-20250328-x0.001"}
    assert currencies == {"BTC", "USD", "USDT"}
    assert (underlier_code, settle_code, by_id.instrument_type) == (
        "BTC/USD",
        "BTC",
        InstrumentType.PERPETUAL_FUTURE,
    )
    assert expiry_back == expiry


def test_exchange_instrument_lookup_returns_the_live_version(db_engine: sa.Engine) -> None:
    catalog = binance.parse_exchange_info(payload("binance", "exchange_info"))
    load_catalog(db_engine, catalog, as_of=T1)

    with session_factory(db_engine)() as session:
        cache = InstrumentCache(session)
        listing = cache.get_exchange_instrument("BINANCE", "BTCUSDT")
        same = cache.get_exchange_instrument("binance", "BTCUSDT")
        instrument = cache.get_instrument(listing.instrument_id)
        with pytest.raises(UnknownSymbolError, match="'BTCUSDD' on binance; did you mean BTCUSDT"):
            cache.get_exchange_instrument("binance", "BTCUSDD")

    assert same is listing and listing.is_live
    assert (listing.tick_size, instrument.code) == (Decimal("0.01"), "BTC/USDT")


def test_bad_arguments_are_refused(db_engine: sa.Engine) -> None:
    with session_factory(db_engine)() as session:
        cache = InstrumentCache(session)
        with pytest.raises(InvalidValueError, match="currency code must not be blank"):
            cache.get_or_create_currency(" ")
        with pytest.raises(InvalidValueError, match="expiry must be timezone-aware"):
            cache.get_or_create_dated_future(
                "BTC", "USD", settle="BTC", expiry=dt.datetime(2025, 3, 28)
            )
        with pytest.raises(InvalidValueError, match="contract_size must be > 0"):
            cache.get_or_create_perpetual("BTC", "USD", settle="BTC", contract_size=Decimal(0))
        with pytest.raises(UnknownSymbolError, match="no instrument with id 999"):
            cache.get_instrument(999)
