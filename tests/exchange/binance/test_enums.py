"""Binance's wire spellings against every value of the serenity.model enums they map."""

from __future__ import annotations

import pytest

from serenity.errors import DataError
from serenity.exchange.binance import enums
from serenity.model import ExecType, OrderStatus, OrderType, Side, TimeInForce


def test_every_side_round_trips() -> None:
    for side in Side:
        assert enums.side(enums.wire_side(side)) is side


def test_every_order_type_is_placeable_and_reads_back() -> None:
    for kind in OrderType:
        wire = enums.wire_order_type(kind)
        assert wire is not None, kind
        assert enums.order_type(wire) == (kind, False)
    assert enums.wire_order_type(OrderType.LIMIT, post_only=True) == "LIMIT_MAKER"
    assert enums.order_type("LIMIT_MAKER") == (OrderType.LIMIT, True)  # post-only, not reduce
    for kind in (OrderType.MARKET, OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        assert enums.wire_order_type(kind, post_only=True) is None
    assert enums.order_type("TAKE_PROFIT_LIMIT") == (OrderType.STOP_LIMIT, False)


def test_time_in_force_maps_what_binance_has_and_nothing_else() -> None:
    supported = {TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}
    for tif in TimeInForce:
        wire = enums.wire_time_in_force(tif)
        if tif in supported:
            assert wire is not None and enums.time_in_force(wire) is tif
        else:
            assert wire is None, tif


def test_every_venue_status_and_exec_type_maps_to_a_model_value() -> None:
    # every status but an amend in flight, which only our order manager knows
    assert set(enums.ORDER_STATUSES.values()) == set(OrderStatus) - {OrderStatus.PENDING_REPLACE}
    expected_exec = {
        ExecType.NEW,
        ExecType.CANCELED,
        ExecType.REPLACED,
        ExecType.REJECTED,
        ExecType.TRADE,
        ExecType.EXPIRED,
    }
    assert set(enums.EXEC_TYPES.values()) == expected_exec
    for wire, status in enums.ORDER_STATUSES.items():
        assert enums.order_status(wire) is status
    assert enums.order_status("EXPIRED_IN_MATCH") is OrderStatus.EXPIRED
    assert enums.exec_type("TRADE_PREVENTION") is ExecType.EXPIRED


@pytest.mark.parametrize(
    ("reader", "raw", "what"),
    [
        (enums.side, "HOLD", "side"),
        (enums.order_type, "OCO", "order type"),
        (enums.time_in_force, "GTX", "time in force"),
        (enums.order_status, "PENDING", "order status"),
        (enums.exec_type, "AMEND", "execution type"),
    ],
)
def test_unknown_spellings_name_the_venue_and_the_field(
    reader: object, raw: str, what: str
) -> None:
    with pytest.raises(DataError, match=f"binance: unknown {what} '{raw}', expected one of"):
        reader(raw)  # type: ignore[operator]
