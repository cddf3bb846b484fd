"""Coinbase Exchange product parsing, from documented payloads and the 2021 capture."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from serenity.errors import DataError, InvalidValueError
from serenity.exchange import coinbase
from serenity.exchange.coinbase import refdata
from serenity.model import InstrumentStatus, InstrumentType
from tests.venues import payload, read_capture


def test_documented_products_and_currencies_parse() -> None:
    catalog = coinbase.parse_products(
        payload("coinbase", "products"), payload("coinbase", "currencies")
    )

    assert len(catalog.products) == 9
    btc = catalog.get("BTC-USD")
    assert btc is not None and btc.instrument_type is InstrumentType.CURRENCY_PAIR
    assert (btc.base, btc.quote, btc.tick_size, btc.lot_size) == (
        "BTC",
        "USD",
        Decimal("0.01"),
        Decimal("0.00000001"),
    )
    assert btc.min_qty is None  # base_min_size was removed in 2022
    assert "GBP" in catalog.currencies  # known currency, no product yet


@pytest.mark.parametrize(
    ("symbol", "status"),
    [
        ("BTC-USD", InstrumentStatus.TRADING),
        ("DOGE-USD", InstrumentStatus.HALTED),  # cancel_only
        ("XLM-EUR", InstrumentStatus.HALTED),  # offline
        ("NEWCOIN-USD", InstrumentStatus.PRE_TRADING),  # auction_mode
        ("OLD-USD", InstrumentStatus.DELISTED),
    ],
)
def test_status_and_flags_map_to_instrument_status(symbol: str, status: InstrumentStatus) -> None:
    product = coinbase.parse_products(payload("coinbase", "products")).get(symbol)

    assert product is not None and product.status is status


@pytest.mark.captures
def test_2021_capture_parses(captures_dir: Path) -> None:
    catalog = coinbase.parse_products(read_capture(captures_dir, "COINBASE.0"))

    assert len(catalog.products) == 162
    product = catalog.get("BTC-GBP")
    assert product is not None and product.min_qty == Decimal("0.0001")
    assert product.tick_size == Decimal("0.01")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda p: p[0].pop("quote_increment"),
            r"products\[0\] \(BTC-USD\).quote_increment is missing",
        ),
        (
            lambda p: p[1].update(status="paused"),
            r"unknown products\[1\] \(ETH-USD\).status 'paused'",
        ),
        (
            lambda p: p[2].update(base_increment="0,1"),
            r"base_increment must be a number, was '0,1'",
        ),
        (lambda p: p.append("BTC-USD"), r"products\[9\] must be a JSON object"),
    ],
)
def test_bad_products_name_the_venue_and_field(edit: Any, message: str) -> None:
    products = payload("coinbase", "products")
    edit(products)

    with pytest.raises(DataError, match=f"^coinbase: .*{message}"):
        coinbase.parse_products(products)


def test_bad_currencies_payload_is_refused() -> None:
    with pytest.raises(DataError, match="coinbase: currencies response must be a JSON array"):
        coinbase.parse_products(payload("coinbase", "products"), {"message": "rate limited"})


def test_min_market_funds_is_the_minimum_notional() -> None:
    catalog = coinbase.parse_products(payload("coinbase", "products"))

    btc = catalog.get("BTC-USD")
    assert btc is not None and btc.min_notional == Decimal("1")


@pytest.mark.parametrize(
    ("value", "increment", "text"),
    [
        (Decimal("100"), Decimal("0.01"), "100.00"),
        (Decimal("0.5"), Decimal("0.00000001"), "0.50000000"),
        (Decimal("1.5E+1"), Decimal("0.1"), "15.0"),
        (Decimal("12"), Decimal("1"), "12"),
        (Decimal("20"), Decimal("10"), "20"),
    ],
)
def test_values_are_written_with_the_increments_decimals(
    value: Decimal, increment: Decimal, text: str
) -> None:
    assert refdata.format_to_increment(value, increment, what="x") == text


@pytest.mark.parametrize("value", [Decimal("0.005"), Decimal("0"), Decimal("-1"), Decimal("NaN")])
def test_values_off_the_grid_or_not_positive_are_refused(value: Decimal) -> None:
    with pytest.raises(InvalidValueError, match="coinbase: x"):
        refdata.format_to_increment(value, Decimal("0.01"), what="x")
