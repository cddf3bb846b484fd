"""The feed gate: strategies start once every feed is live; orders wait while one is not."""

from __future__ import annotations

from decimal import Decimal

from serenity.algo.feed_gate import FeedGate
from serenity.marketdata.fh import FeedState
from serenity.model import InstrumentId, Side
from serenity.tau import MutableSignal, Network
from serenity.trading import OrderFactory

BTC = InstrumentId("coinbase", "BTC-USD")


def test_the_gate_opens_when_every_feed_is_live_and_closes_naming_the_feeds_down() -> None:
    network = Network()
    states = {v: MutableSignal(FeedState.INITIALIZING, name=v) for v in ("coinbase", "binance")}
    for signal in states.values():
        network.attach(signal)
    starts: list[int] = []
    opens: list[bool] = []
    gate = FeedGate(network, states, on_live=lambda: starts.append(1))
    gate.add_listener(opens.append)
    order = OrderFactory("sim", prefix="t-").limit(BTC, Side.BUY, "1", "100")

    def move(venue: str, state: FeedState) -> None:
        states[venue].set_value(state)
        network.activate(states[venue])

    assert gate(order, Decimal(1), Decimal(100)) == (
        "order entry paused: the binance feed is initializing, "
        "the coinbase feed is initializing, not live"
    )
    move("coinbase", FeedState.LIVE)
    move("binance", FeedState.SYNCING)
    assert not starts and not gate.is_open and gate.pauses == 0
    assert gate(order, Decimal(1), None) == (
        "order entry paused: the binance feed is syncing, not live"
    )
    move("binance", FeedState.LIVE)
    assert starts == [1] and gate.is_open and gate(order, Decimal(1), None) is None
    move("coinbase", FeedState.CONNECTING)
    move("coinbase", FeedState.SYNCING)  # still down: one pause
    assert gate.pauses == 1 and not gate.is_open
    assert "the coinbase feed is syncing" in (gate(order, Decimal(1), None) or "")
    move("coinbase", FeedState.LIVE)
    assert gate.is_open and starts == [1] and opens == [True, False, True]
    gate.close()
    move("coinbase", FeedState.STOPPED)  # stopping: no pause reported
    assert gate.pauses == 1 and opens == [True, False, True] and not gate.is_open
