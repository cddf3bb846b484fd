"""Phemex product parsing and price scaling, from documented payloads and the 2021 capture."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import DataError, InvalidValueError, UnknownSymbolError, VenueError
from serenity.exchange import phemex
from serenity.model import InstrumentStatus, InstrumentType
from tests.venues import payload, read_capture


@pytest.fixture
def products() -> Any:
    return payload("phemex", "products")


def test_documented_payload_gives_spot_inverse_quanto_and_usdt_perpetuals(products: Any) -> None:
    catalog = phemex.parse_products(products)

    assert catalog.venue == "phemex" and len(catalog.products) == 10
    btcusd = catalog.get("BTCUSD")
    assert btcusd is not None
    assert (btcusd.base, btcusd.quote, btcusd.settle) == ("BTC", "USD", "BTC")
    assert btcusd.instrument_type is InstrumentType.PERPETUAL_FUTURE
    assert (btcusd.tick_size, btcusd.lot_size, btcusd.price_scale) == (Decimal("0.5"), 1, 4)
    assert btcusd.instrument_code == "BTC/USD:BTC-PERP"
    ethusd = catalog.get("ETHUSD")
    assert ethusd is not None and ethusd.contract_size == Decimal("0.005")
    assert ethusd.instrument_code == "ETH/USD:USD-PERP-x0.005"
    xrpusd = catalog.get("XRPUSD")
    assert xrpusd is not None and xrpusd.tick_size == Decimal("0.0001")
    spot = catalog.get("sBTCUSDT")
    assert spot is not None and spot.instrument_code == "BTC/USDT"
    assert (spot.tick_size, spot.lot_size, spot.price_scale) == (
        Decimal("0.01"),
        Decimal("0.000001"),
        8,
    )
    v2 = catalog.get("BTCUSDT")
    assert v2 is not None and v2.instrument_code == "BTC/USDT:USDT-PERP"
    assert (v2.tick_size, v2.lot_size, v2.min_qty) == (
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal("0.001"),
    )
    delisted = catalog.get("LTCUSD")
    assert delisted is not None and delisted.status is InstrumentStatus.DELISTED
    assert {"BTC", "USD", "USDT", "ETH", "XRP", "LTC"} <= set(catalog.currencies)


def test_perpetual_v2_entry_supersedes_its_summary_in_products(products: Any) -> None:
    summary = {
        "symbol": "BTCUSDT",
        "type": "PerpetualV2",
        "status": "Listed",
        "quoteCurrency": "USDT",
        "settleCurrency": "USDT",
        "baseCurrency": "BTC",
        "tickSize": "1",
        "qtyStepSize": "1",
        "priceScale": 0,
    }
    products["data"]["products"].append(summary)

    catalog = phemex.parse_products(products)

    product = catalog.get("BTCUSDT")
    assert product is not None and product.tick_size == Decimal("0.1")


def test_scaled_amounts_fall_back_to_their_ev_fields(products: Any) -> None:
    spot = products["data"]["products"][4]
    del spot["quoteTickSize"], spot["baseTickSize"]

    product = phemex.parse_products(products).get(spot["symbol"])

    assert product is not None
    assert (product.tick_size, product.lot_size) == (Decimal("0.01"), Decimal("0.000001"))


def test_scales_of_contracts_and_spot(products: Any) -> None:
    scales = phemex.parse_scales(products)

    assert scales["BTCUSD"] == phemex.PhemexScales(price_scale=4, ratio_scale=8, value_scale=8)
    assert scales["ETHUSD"].value_scale == 4  # settled in USD
    assert scales["sETHUSDT"].price_scale == 8
    assert "BTCUSDT" not in scales  # real-valued PerpetualV2


def test_unscale_and_scale_follow_the_powers_of_ten() -> None:
    assert phemex.unscale(87_700_000, 4) == Decimal("8770")
    assert phemex.scale(Decimal("8770.5"), 4) == 87_705_000
    with pytest.raises(InvalidValueError, match="more than 4 decimals"):
        phemex.scale("0.00001", 4)


@given(st.integers(min_value=-(10**18), max_value=10**18), st.integers(min_value=0, max_value=10))
def test_scale_inverts_unscale(scaled: int, power: int) -> None:
    assert phemex.scale(phemex.unscale(scaled, power), power) == scaled


@pytest.mark.captures
def test_2021_capture_parses(captures_dir: Path) -> None:
    body = read_capture(captures_dir, "PHEMEX.0")

    catalog = phemex.parse_products(body)
    scales = phemex.parse_scales(body)

    assert len(catalog.products) == 67
    spot = catalog.get("sBTCUSDT")
    assert spot is not None and spot.price_scale == phemex.SPOT_PRICE_SCALE
    assert spot.tick_size == Decimal("0.01") and spot.lot_size == Decimal("0.000001")
    btcusd = catalog.get("BTCUSD")
    assert btcusd is not None and btcusd.settle == "BTC" and btcusd.tick_size == Decimal("0.5")
    assert scales["BTCUSD"].price_scale == 4
    assert all(p.status is InstrumentStatus.TRADING for p in catalog.products)


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda p: p.update(code=10001, msg="busy"), VenueError, "busy"),
        (lambda p: p["data"].pop("products"), DataError, "phemex: data.products is missing"),
        (
            lambda p: p["data"]["products"][0].pop("tickSize"),
            DataError,
            r"phemex: data.products\[0\] \(BTCUSD\).tickSize is missing",
        ),
        (
            lambda p: p["data"]["products"][1].update(type="Option"),
            DataError,
            r"unknown data.products\[1\] \(ETHUSD\).type 'Option'",
        ),
        (
            lambda p: p["data"]["products"][1].update(status="Paused"),
            DataError,
            r"\(ETHUSD\).status 'Paused', expected one of \['Delisted', 'Listed'\]",
        ),
        (
            lambda p: p["data"]["perpProductsV2"][0].update(tickSize="abc"),
            DataError,
            r"perpProductsV2\[0\] \(BTCUSDT\).tickSize must be a number, was 'abc'",
        ),
        (
            lambda p: p["data"]["currencies"].pop(0),
            DataError,
            "currency 'BTC' missing from data.currencies",
        ),
        (
            lambda p: p["data"]["products"].append(copy.deepcopy(p["data"]["products"][0])),
            DataError,
            "'BTCUSD' is listed twice",
        ),
        (lambda p: p.update(data=[]), DataError, "data must be a JSON object"),
    ],
)
def test_bad_payloads_name_the_venue_and_field(
    products: Any, edit: Any, error: type[Exception], message: str
) -> None:
    edit(products)

    with pytest.raises(error, match=message):
        phemex.parse_products(products)


def test_instruments_carry_each_products_api_and_scales(products: Any) -> None:
    refdata = phemex.parse_instruments(products)

    btcusd, spot = refdata.instrument("BTCUSD"), refdata.instrument("sBTCUSDT")
    assert (btcusd.kind, btcusd.base, btcusd.value_currency) == (
        phemex.ProductKind.PERPETUAL,
        "BTC",
        "BTC",
    )
    assert btcusd.scales == phemex.PhemexScales(price_scale=4, ratio_scale=8, value_scale=8)
    assert refdata.instrument("ETHUSD").value_currency == "USD"
    assert (spot.kind, spot.base, spot.quote) == (phemex.ProductKind.SPOT, "BTC", "USDT")
    assert (spot.scales.price_scale, spot.scales.qty_scale, spot.scales.value_scale) == (8, 8, 8)
    assert refdata.instrument("BTCUSDT").kind is phemex.ProductKind.PERPETUAL_V2
    assert refdata.value(12345, "USD") == Decimal("1.2345")


def test_unknown_symbols_and_currencies_are_named(products: Any) -> None:
    refdata = phemex.parse_instruments(products)

    with pytest.raises(UnknownSymbolError, match="unknown symbol 'BTCUDS' on phemex; did you mean"):
        refdata.instrument("BTCUDS")
    with pytest.raises(UnknownSymbolError, match="unknown currency 'DOGE' on phemex"):
        refdata.value_scale("DOGE")
