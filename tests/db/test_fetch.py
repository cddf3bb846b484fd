"""Fetching product catalogs over HTTP from loopback venue servers."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from serenity.db import fetch_catalog
from serenity.errors import ConfigError, DataError, VenueError
from serenity.exchange import binance, coinbase, phemex
from tests.venues import VenueServer, binance_exchange_info, payload

PHEMEX = {phemex.PRODUCTS_PATH: payload("phemex", "products")}
COINBASE = {
    coinbase.PRODUCTS_PATH: payload("coinbase", "products"),
    coinbase.CURRENCIES_PATH: payload("coinbase", "currencies"),
}
BINANCE = {binance.EXCHANGE_INFO_PATH: binance_exchange_info(600)}


@pytest.mark.parametrize(
    ("venue", "routes", "count"),
    [("phemex", PHEMEX, 10), ("coinbase", COINBASE, 9), ("binance", BINANCE, 600)],
)
async def test_each_venue_catalog_is_fetched_and_parsed(
    venue: str, routes: dict[str, Any], count: int
) -> None:
    with VenueServer(routes) as server:
        catalog = await fetch_catalog(venue, base_url=server.url)

    assert catalog.venue == venue and len(catalog.products) == count
    assert server.hits == dict.fromkeys(routes, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_port_is_a_venue_error() -> None:
    url = f"http://127.0.0.1:{_free_port()}"

    with pytest.raises(VenueError, match=f"binance: cannot reach {url}/api/v3/exchangeInfo"):
        await fetch_catalog("binance", base_url=url)


async def test_http_500_is_a_venue_error_with_the_status() -> None:
    routes = {phemex.PRODUCTS_PATH: (500, b"upstream exploded")}

    with VenueServer(routes) as server, pytest.raises(VenueError) as caught:
        await fetch_catalog("phemex", base_url=server.url)

    assert caught.value.code == 500
    assert str(caught.value) == (
        f"phemex: GET {server.url}/public/products answered HTTP 500: 'upstream exploded'"
    )


async def test_venue_error_body_is_kept_in_the_message() -> None:
    routes = {binance.EXCHANGE_INFO_PATH: (418, {"code": -1003, "msg": "Way too many requests"})}

    with VenueServer(routes) as server, pytest.raises(VenueError, match="HTTP 418: .*too many"):
        await fetch_catalog("binance", base_url=server.url)


async def test_malformed_json_is_a_data_error() -> None:
    routes = {**COINBASE, coinbase.CURRENCIES_PATH: (200, b'[{"id": "BTC"')}

    with VenueServer(routes) as server, pytest.raises(DataError, match="did not answer JSON"):
        await fetch_catalog("coinbase", base_url=server.url)


async def test_partial_payload_names_the_missing_field() -> None:
    info = binance_exchange_info(300)
    del info["symbols"][123]["quoteAsset"]

    with (
        VenueServer({binance.EXCHANGE_INFO_PATH: info}) as server,
        pytest.raises(
            DataError, match=r"binance: symbols\[123\] \(C0024BNB\).quoteAsset is missing"
        ),
    ):
        await fetch_catalog("binance", base_url=server.url)


async def test_phemex_error_code_is_a_venue_error() -> None:
    routes = {phemex.PRODUCTS_PATH: {"code": 39999, "msg": "maintenance", "data": None}}

    with VenueServer(routes) as server, pytest.raises(VenueError, match="maintenance") as caught:
        await fetch_catalog("phemex", base_url=server.url)

    assert caught.value.code == 39999


async def test_slow_venue_times_out() -> None:
    with (
        VenueServer(BINANCE, delay_s=0.5) as server,
        pytest.raises(VenueError, match="binance: GET .* timed out"),
    ):
        await fetch_catalog("binance", base_url=server.url, timeout_s=0.1)


async def test_unknown_venue_and_environment_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown venue 'kraken'"):
        await fetch_catalog("kraken")
    with pytest.raises(ConfigError, match="binance: unknown environment 'uat'"):
        await fetch_catalog("binance", environment="uat")
