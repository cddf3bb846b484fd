"""Venue endpoints per environment and custom REST URLs."""

from __future__ import annotations

import pytest

from serenity.errors import ConfigError
from serenity.exchange import Endpoints, Environment, binance, coinbase, phemex, resolve_endpoints


@pytest.mark.parametrize("venue", [phemex, coinbase, binance])
def test_every_venue_has_https_and_wss_endpoints_per_environment(venue: object) -> None:
    table = venue.ENDPOINTS  # type: ignore[attr-defined]
    assert set(table) == set(Environment)
    for endpoints in table.values():
        assert endpoints.rest.startswith("https://") and endpoints.ws.startswith("wss://")


def test_custom_rest_url_keeps_the_environment_websocket() -> None:
    resolved = resolve_endpoints(
        "binance", binance.ENDPOINTS, environment="testnet", rest_url="http://127.0.0.1:8080/"
    )

    assert resolved == Endpoints(rest="http://127.0.0.1:8080", ws=binance.TESTNET.ws)


def test_unknown_environment_and_bad_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="phemex: unknown environment 'staging'"):
        resolve_endpoints("phemex", phemex.ENDPOINTS, environment="staging")
    with pytest.raises(ConfigError, match="rest endpoint must be a http/https URL, was 'ftp://x'"):
        resolve_endpoints("phemex", phemex.ENDPOINTS, rest_url="ftp://x")
