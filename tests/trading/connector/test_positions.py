"""Venue balances and positions as tau signals: a change is an event, a repeat is not."""

from __future__ import annotations

from decimal import Decimal as D

from serenity.exchange.execution import VenueBalance, VenuePosition
from serenity.model import InstrumentId
from serenity.tau import RealtimeNetworkScheduler
from serenity.tau.event import Do
from serenity.trading.connector import ExchangePositionService


def balance(total: str, ts: int, locked: str = "0") -> VenueBalance:
    return VenueBalance(
        venue="phemex",
        currency="BTC",
        total=D(total),
        available=D(total) - D(locked),
        locked=D(locked),
        ts=ts,
    )


def test_changes_are_emitted_once_and_stale_reports_ignored() -> None:
    scheduler = RealtimeNetworkScheduler()
    service = ExchangePositionService(scheduler, venue="phemex", account="main")
    seen: list[VenueBalance] = []
    Do(scheduler.network, service.balances, lambda: seen.append(service.balances.get_value()))
    assert service.update_balances([balance("1", 10), balance("1", 11)]) == 1
    assert service.update_balances([balance("2", 9)]) == 0  # older than what is held
    assert service.update_balances([balance("1", 12, locked="0.4")]) == 1
    assert [b.locked for b in seen] == [D(0), D("0.4")]
    assert service.get_balance("BTC") == seen[-1] and service.get_balance("ETH") is None
    btc = InstrumentId("phemex", "BTCUSD")
    position = VenuePosition(instrument=btc, qty=D(-5), ts=1, entry_price=D(40000))
    assert service.update_positions([position, position]) == 1
    assert service.get_position(btc) == position and service.get_positions() == {btc: position}
