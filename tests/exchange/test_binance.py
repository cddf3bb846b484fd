"""Binance spot exchangeInfo parsing, from documented payloads and the 2021 capture."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from serenity.errors import DataError
from serenity.exchange import binance
from serenity.model import InstrumentStatus
from tests.venues import binance_exchange_info, payload, read_capture


def test_documented_payload_reads_filters_and_statuses() -> None:
    catalog = binance.parse_exchange_info(payload("binance", "exchange_info"))

    btc = catalog.get("BTCUSDT")
    assert btc is not None and btc.instrument_code == "BTC/USDT"
    assert (btc.tick_size, btc.lot_size, btc.min_qty) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
    )
    luna, eth = catalog.get("LUNAUSDT"), catalog.get("ETHUSDC")
    assert luna is not None and luna.status is InstrumentStatus.HALTED
    assert eth is not None and eth.status is InstrumentStatus.HALTED
    assert set(catalog.currencies) == {"BTC", "USDT", "ETH", "BNB", "LUNA", "USDC"}


def test_several_hundred_symbols_parse() -> None:
    catalog = binance.parse_exchange_info(binance_exchange_info(600))

    assert len(catalog.products) == 600
    assert sum(p.status is InstrumentStatus.TRADING for p in catalog.products) == 600 - 600 // 7


@pytest.mark.captures
def test_2021_capture_parses(captures_dir: Path) -> None:
    catalog = binance.parse_exchange_info(read_capture(captures_dir, "BINANCE.0"))

    assert len(catalog.products) > 1600
    ethbtc = catalog.get("ETHBTC")
    assert ethbtc is not None and ethbtc.tick_size == Decimal("0.000001")
    assert ethbtc.min_qty == Decimal("0.0001")
    assert {p.status for p in catalog.products} == {
        InstrumentStatus.TRADING,
        InstrumentStatus.HALTED,
    }


def _filters(info: Any, i: int) -> list[dict[str, Any]]:
    return info["symbols"][i]["filters"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p.pop("symbols"), "binance: exchangeInfo.symbols is missing"),
        (
            lambda p: _filters(p, 1).pop(1),
            r"binance: symbols\[1\] \(ETHBTC\).filters has no LOT_SIZE",
        ),
        (
            lambda p: _filters(p, 0)[0].pop("tickSize"),
            r"symbols\[0\] \(BTCUSDT\).PRICE_FILTER.tickSize is missing",
        ),
        (
            lambda p: p["symbols"][2].update(status="DELISTING"),
            r"unknown symbols\[2\] \(BNBUSDT\).status 'DELISTING'",
        ),
        (lambda p: p["symbols"][0].pop("baseAsset"), r"\(BTCUSDT\).baseAsset is missing"),
        (lambda p: p["symbols"].append(p["symbols"][0]), "'BTCUSDT' is listed twice"),
        (lambda p: _filters(p, 0)[1].update(stepSize="-1"), "lot_size must be a number >= 0"),
    ],
)
def test_bad_payloads_name_the_venue_and_field(edit: Any, message: str) -> None:
    info = payload("binance", "exchange_info")
    edit(info)

    with pytest.raises(DataError, match=message):
        binance.parse_exchange_info(info)
