from __future__ import annotations

import pytest

from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.marketdata import (
    BookUpdate,
    MarketdataService,
    OrderBook,
    RoutingMarketdataService,
    Trade,
)
from serenity.model import InstrumentId, Side
from serenity.tau import MutableSignal, Network, Signal


class FakeService:
    """A service for one venue whose signals are plain mutable signals."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.subscribed: MutableSignal[frozenset[InstrumentId]] = MutableSignal(frozenset())
        self.trades: dict[InstrumentId, MutableSignal[Trade]] = {}
        self.books: dict[InstrumentId, MutableSignal[OrderBook]] = {}
        self.events: dict[InstrumentId, MutableSignal[BookUpdate]] = {}

    def _check(self, instrument: InstrumentId) -> None:
        if instrument.venue != self.venue:
            raise UnknownSymbolError(f"{instrument} is not on {self.venue}")

    def get_subscribed_instruments(self) -> Signal[frozenset[InstrumentId]]:
        return self.subscribed

    def get_trades(self, instrument: InstrumentId) -> Signal[Trade]:
        self._check(instrument)
        return self.trades.setdefault(instrument, MutableSignal())

    def get_order_book_events(self, instrument: InstrumentId) -> Signal[BookUpdate]:
        self._check(instrument)
        return self.events.setdefault(instrument, MutableSignal())

    def get_order_books(self, instrument: InstrumentId) -> Signal[OrderBook]:
        self._check(instrument)
        return self.books.setdefault(instrument, MutableSignal())


def test_routes_each_instrument_to_its_venue_service() -> None:
    network = Network()
    phemex, binance = FakeService("phemex"), FakeService("binance")
    router = RoutingMarketdataService(network, {"phemex": phemex, "binance": binance})
    btc = InstrumentId("phemex", "BTCUSD")
    eth = InstrumentId("binance", "ETHUSDT")
    assert isinstance(router, MarketdataService) and isinstance(phemex, MarketdataService)
    assert router.get_trades(btc) is phemex.trades[btc]
    assert router.get_order_books(eth) is binance.books[eth]
    assert router.get_order_book_events(eth) is binance.events[eth]
    assert router.venues == ["binance", "phemex"]


def test_unknown_venue_is_a_clear_error_with_a_suggestion() -> None:
    router = RoutingMarketdataService(Network(), {"phemex": FakeService("phemex")})
    with pytest.raises(UnknownSymbolError, match=r"'phemx'.*\['phemex'\].*did you mean 'phemex'"):
        router.get_trades(InstrumentId("phemx", "BTCUSD"))
    with pytest.raises(LookupError):
        router.get_order_books(InstrumentId("kraken", "XBTUSD"))


def test_no_services_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        RoutingMarketdataService(Network(), {})


def test_subscribed_instruments_is_the_union_and_follows_changes() -> None:
    network = Network()
    phemex, binance = FakeService("phemex"), FakeService("binance")
    router = RoutingMarketdataService(network, {"phemex": phemex, "binance": binance})
    subscribed = router.get_subscribed_instruments()
    assert subscribed is router.get_subscribed_instruments()
    assert subscribed.get_value() == frozenset()
    btc = InstrumentId("phemex", "BTCUSD")
    eth = InstrumentId("binance", "ETHUSDT")
    phemex.subscribed.set_value(frozenset({btc}))
    network.activate(phemex.subscribed)
    binance.subscribed.set_value(frozenset({eth}))
    network.activate(binance.subscribed)
    assert subscribed.get_value() == {btc, eth}


def test_trade_signal_carries_the_trade_through_the_router() -> None:
    network = Network()
    phemex = FakeService("phemex")
    router = RoutingMarketdataService(network, {"phemex": phemex})
    btc = InstrumentId("phemex", "BTCUSD")
    signal = router.get_trades(btc)
    trade = Trade(btc, 1, 2, "t1", Side.SELL, 100.0, 1.0)
    phemex.trades[btc]._update(trade)
    network.activate(signal)
    assert signal.get_value() is trade and network.has_activated(signal)
