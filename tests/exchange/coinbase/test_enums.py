"""Coinbase's wire spellings against every value of the serenity.model enums they map."""

from __future__ import annotations

import pytest

from serenity.errors import DataError
from serenity.exchange.coinbase import enums, refdata
from serenity.model import InstrumentStatus, Liquidity, OrderStatus, OrderType, Side, TimeInForce


@pytest.mark.parametrize("side", list(Side))
def test_every_side_is_spelled_and_read_back(side: Side) -> None:
    assert enums.parse_side(enums.SIDE_SPELLINGS[side]) is side


@pytest.mark.parametrize("order_type", list(OrderType))
def test_every_order_type_is_spelled_and_read_back(order_type: OrderType) -> None:
    kind, is_stop = enums.ORDER_TYPE_SPELLINGS[order_type]
    for side in Side:
        stop = enums.STOP_SPELLINGS[side] if is_stop else None
        assert enums.parse_order_type(kind, stop) is order_type


def test_the_older_stop_type_reads_as_stop_market() -> None:
    assert enums.parse_order_type("stop", "loss") is OrderType.STOP_MARKET


@pytest.mark.parametrize("tif", list(TimeInForce))
def test_every_time_in_force_is_spelled_or_refused_with_a_reason(tif: TimeInForce) -> None:
    spelled = tif in enums.TIME_IN_FORCE_SPELLINGS
    refused = tif in enums.UNSUPPORTED_TIME_IN_FORCE

    assert spelled != refused
    if spelled:
        assert enums.parse_time_in_force(enums.TIME_IN_FORCE_SPELLINGS[tif]) is tif
    else:
        assert "Coinbase" in enums.UNSUPPORTED_TIME_IN_FORCE[tif]


def test_gtt_reads_as_gtd() -> None:
    assert enums.parse_time_in_force("GTT") is TimeInForce.GTD


@pytest.mark.parametrize("liquidity", list(Liquidity))
def test_every_liquidity_is_spelled_and_read_back(liquidity: Liquidity) -> None:
    assert enums.parse_liquidity(enums.LIQUIDITY_SPELLINGS[liquidity]) is liquidity


def test_other_liquidity_reads_as_none() -> None:
    assert enums.parse_liquidity("O") is None and enums.parse_liquidity(None) is None


VENUE_STATUSES = {
    OrderStatus.PENDING_NEW: ("pending", None, False),
    OrderStatus.NEW: ("open", None, False),
    OrderStatus.PARTIALLY_FILLED: ("open", None, True),
    OrderStatus.FILLED: ("done", "filled", True),
    OrderStatus.CANCELED: ("done", "canceled", False),
    OrderStatus.REJECTED: ("rejected", None, False),
}
NOT_VENUE_STATES = {
    OrderStatus.PENDING_CANCEL: "our request in flight; Coinbase reports no such state",
    OrderStatus.PENDING_REPLACE: "our request in flight; Coinbase reports no such state",
    OrderStatus.EXPIRED: "a timed-out GTT order is reported canceled",
}


@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_order_status_is_read_from_coinbase_or_is_ours_alone(status: OrderStatus) -> None:
    assert (status in VENUE_STATUSES) != (status in NOT_VENUE_STATES)
    if status in VENUE_STATUSES:
        raw, reason, filled = VENUE_STATUSES[status]
        assert enums.parse_order_status(raw, reason, is_filled=filled) is status


def test_stop_waiting_for_its_trigger_is_new() -> None:
    assert enums.parse_order_status("active") is OrderStatus.NEW
    assert enums.parse_order_status("received") is OrderStatus.PENDING_NEW


@pytest.mark.parametrize(
    ("status", "reason"), [("gone", None), ("done", "vanished"), (None, None), (3, None)]
)
def test_unknown_order_statuses_name_the_field(status: object, reason: object) -> None:
    with pytest.raises(DataError, match="coinbase: unknown order"):
        enums.parse_order_status(status, reason)


@pytest.mark.parametrize(("kind", "stop"), [("twap", None), ("limit", "sideways"), (None, None)])
def test_unknown_order_types_name_the_field(kind: object, stop: object) -> None:
    with pytest.raises(DataError, match="coinbase: unknown order"):
        enums.parse_order_type(kind, stop)


def _product(status: str, **flags: bool) -> dict[str, object]:
    return {
        "id": "BTC-USD",
        "base_currency": "BTC",
        "quote_currency": "USD",
        "quote_increment": "0.01",
        "base_increment": "0.00000001",
        "status": status,
        **flags,
    }


@pytest.mark.parametrize(
    ("raw", "flags", "status"),
    [
        ("online", {}, InstrumentStatus.TRADING),
        ("online", {"auction_mode": True}, InstrumentStatus.PRE_TRADING),
        ("online", {"cancel_only": True}, InstrumentStatus.HALTED),
        ("delisted", {}, InstrumentStatus.DELISTED),
    ],
)
def test_every_instrument_status_is_reached(
    raw: str, flags: dict[str, bool], status: InstrumentStatus
) -> None:
    product = refdata.parse_products([_product(raw, **flags)]).products[0]

    assert product.status is status


def test_the_instrument_status_cases_cover_the_enum() -> None:
    reached = {InstrumentStatus.PRE_TRADING, *enums.PRODUCT_STATUSES.values()}

    assert reached == set(InstrumentStatus)


def test_self_trade_prevention_spellings() -> None:
    assert [s.value for s in enums.SelfTradePrevention] == ["dc", "co", "cn", "cb"]
