"""The registry of venue order connectors behind live runs' ``placer: <venue>:<instance>``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from serenity.algo.placers import (
    PlacerContext,
    create_placer,
    parse_placer_uri,
    register_placer,
    registered_placers,
    require_connector,
    unregister_placer,
)
from serenity.errors import ConfigError
from serenity.marketdata.live import FeedHandlerMarketdataService
from serenity.tau import RealtimeNetworkScheduler
from serenity.trading import ExchangeSimulator


@pytest.fixture
def phemex() -> Iterator[list[PlacerContext]]:
    built: list[PlacerContext] = []

    def factory(ctx: PlacerContext) -> Any:
        built.append(ctx)
        return ExchangeSimulator(ctx.scheduler, ctx.marketdata, [])

    register_placer("PHEMEX", factory)
    try:
        yield built
    finally:
        unregister_placer("phemex")


def context(uri: str) -> PlacerContext:
    venue, instance = parse_placer_uri(uri)
    scheduler = RealtimeNetworkScheduler()
    return PlacerContext(
        uri=uri,
        venue=venue,
        instance=instance,
        account="main",
        scheduler=scheduler,
        marketdata=FeedHandlerMarketdataService(scheduler, []),
    )


def test_uris_are_venue_and_instance() -> None:
    assert parse_placer_uri("Phemex:prod") == ("phemex", "prod")
    for bad in ("phemex", ":prod", "phemex:"):
        with pytest.raises(ConfigError, match="<venue>:<instance>"):
            parse_placer_uri(bad)


def test_a_registered_connector_builds_the_placer(phemex: list[PlacerContext]) -> None:
    assert "phemex" in registered_placers()
    assert require_connector("phemex:testnet") == ("phemex", "testnet")
    placer = create_placer(context("phemex:testnet"))
    assert isinstance(placer, ExchangeSimulator) and phemex[0].instance == "testnet"
    with pytest.raises(ConfigError, match="already registered for venue 'phemex'"):
        register_placer("phemex", lambda ctx: placer)


def test_a_venue_without_a_connector_is_refused_by_name(phemex: list[PlacerContext]) -> None:
    with pytest.raises(ConfigError) as refused:
        require_connector("phemx:prod")
    assert str(refused.value) == (
        "live trading needs an order connector for placer 'phemx:prod', and none is "
        "registered for venue 'phemx' (did you mean phemex?); venues with a connector: "
        f"{', '.join(registered_placers())}. Run with --paper to trade the live feed on "
        "simulated fills"
    )
    assert not phemex


def test_a_factory_must_build_an_order_placer() -> None:
    register_placer("kraken", lambda ctx: object())  # type: ignore[arg-type, return-value]
    try:
        with pytest.raises(ConfigError, match="built object, which is not an OrderPlacer"):
            create_placer(context("kraken:prod"))
    finally:
        unregister_placer("kraken")


def test_binance_is_built_in(monkeypatch: pytest.MonkeyPatch) -> None:
    from serenity.trading.connector.binance import BinanceConnector

    assert "binance" in registered_placers()
    monkeypatch.setenv("SERENITY_BINANCE_TESTNET_API_KEY", "key")
    monkeypatch.setenv("SERENITY_BINANCE_TESTNET_API_SECRET", "secret")
    placer = create_placer(context("binance:testnet"))
    assert isinstance(placer, BinanceConnector)
    assert placer.rest.base_url == "https://testnet.binance.vision"
    assert placer.stream_url == "wss://ws-api.testnet.binance.vision/ws-api/v3"
    with pytest.raises(ConfigError, match="unknown placer instance 'staging'"):
        create_placer(context("binance:staging"))
    monkeypatch.delenv("SERENITY_BINANCE_TESTNET_API_SECRET")
    with pytest.raises(ConfigError, match="binance: incomplete API credentials"):
        create_placer(context("binance:testnet"))
