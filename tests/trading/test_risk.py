"""Pre-trade risk: every limit refuses with its name; the kill switch cancels and refuses."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from serenity.errors import ConfigError
from serenity.model import OrderStatus
from serenity.trading import PreTradeRisk, Reject, RejectSource, RiskLimits
from tests.trading.harness import BTC, Market, book

BOOK = book(0, bids=[(99.0, 5.0)], asks=[(100.0, 10.0)])


def market_with(limits: RiskLimits, trades: Any = ((0.5, 100.0, 1.0, 1),)) -> Market:
    m = Market(list(trades), [BOOK])
    risk = PreTradeRisk(
        limits,
        m.oms,
        position=m.positions.qty,
        ref_price=lambda i: m.md.get_trades(i).get_value().price,
    )
    m.oms.checks.append(risk)
    return m


def refusal(m: Market, order: Any) -> str:
    [reject] = [e for e in m.of(order) if isinstance(e, Reject)]
    assert reject.source is RejectSource.RISK and order.status is OrderStatus.REJECTED
    return reject.reason


def test_max_order_qty() -> None:
    m = market_with(RiskLimits(max_order_qty=D(5)))
    ok = m.submit_at(1, m.factory.limit(BTC, "BUY", 5, 98))
    big = m.submit_at(1, m.factory.limit(BTC, "BUY", 6, 98))
    m.run()
    assert ok.status is OrderStatus.NEW
    assert refusal(m, big).startswith("max_order_qty: qty 6 exceeds the limit 5")


def test_max_notional_values_market_orders_at_the_last_price() -> None:
    m = market_with(RiskLimits(max_notional=D(500)))
    big = m.submit_at(1, m.factory.market(BTC, "BUY", 6))  # 6 * 100 = 600
    m.run()
    assert refusal(m, big).startswith("max_notional")


def test_max_position_counts_the_position_and_same_side_working_orders() -> None:
    m = market_with(RiskLimits(max_position=D(3)))
    m.submit_at(1, m.factory.market(BTC, "BUY", 2))  # filled: position 2
    m.submit_at(2, m.factory.limit(BTC, "BUY", 1, 98))  # working: 3 in all
    third = m.submit_at(3, m.factory.limit(BTC, "BUY", 1, 97))  # would make 4
    sell = m.submit_at(4, m.factory.limit(BTC, "SELL", 5, 150))  # to -3: allowed
    m.run()
    assert refusal(m, third).startswith("max_position: position would reach 4")
    assert sell.status is OrderStatus.NEW


def test_max_open_orders() -> None:
    m = market_with(RiskLimits(max_open_orders=2))
    orders = [m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 90 + i)) for i in range(3)]
    m.run()
    assert [o.status for o in orders[:2]] == [OrderStatus.NEW, OrderStatus.NEW]
    assert refusal(m, orders[2]).startswith("max_open_orders: 2 orders are working")


def test_max_order_rate_per_second() -> None:
    m = market_with(RiskLimits(max_order_rate=3))
    burst = [m.submit_at(1 + i * 0.1, m.factory.limit(BTC, "BUY", 1, 90)) for i in range(4)]
    later = m.submit_at(2.5, m.factory.limit(BTC, "BUY", 1, 90))
    m.run()
    assert refusal(m, burst[3]).startswith("max_order_rate: 3 orders in the last second")
    assert later.status is OrderStatus.NEW


def test_price_band_around_the_last_trade() -> None:
    m = market_with(RiskLimits(price_band=D("0.05")))
    near = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 96))
    far = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 94))
    m.run()
    assert near.status is OrderStatus.NEW
    assert refusal(m, far).startswith("price_band: price 94 is 6.00% from the last price 100")


def test_kill_switch_cancels_working_orders_and_refuses_new_ones() -> None:
    m = market_with(RiskLimits())
    working = [m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 90 + i)) for i in range(3)]
    m.at(2, lambda: m.oms.kill("drawdown limit"))
    after = m.submit_at(3, m.factory.limit(BTC, "BUY", 1, 90))
    m.at(4, m.oms.revive)
    revived = m.submit_at(5, m.factory.limit(BTC, "BUY", 1, 90))
    m.run()
    assert all(o.status is OrderStatus.CANCELED for o in working)
    assert refusal(m, after) == "kill switch is on (drawdown limit)"
    assert revived.status is OrderStatus.NEW


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"max_qty": 1}, "unknown risk limit"),
        ({"max_position": -1}, "must be > 0"),
        ({"max_open_orders": 0}, "int >= 1"),
    ],
)
def test_bad_limits_are_refused_by_name(values: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RiskLimits.from_mapping(values)
