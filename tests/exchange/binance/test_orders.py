"""Binance order-entry parameters from our orders and their listings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from serenity.exchange.binance import orders, parse_exchange_info
from serenity.exchange.binance.refdata import format_decimal
from serenity.model import InstrumentId, Side, TimeInForce
from serenity.trading import OrderFactory
from tests.venues import payload

BTC = InstrumentId("binance", "BTCUSDT")
PRODUCT = parse_exchange_info(payload("binance", "exchange_info")).get("BTCUSDT")
make = OrderFactory("acct", prefix="t-")


def test_the_listing_carries_the_filters() -> None:
    assert PRODUCT is not None
    assert (PRODUCT.min_notional, PRODUCT.max_qty) == (Decimal(5), Decimal(9000))


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("1E+1"), "10"), (Decimal("0.50"), "0.5"), (Decimal("0.00001000"), "0.00001")],
)
def test_decimals_are_written_plainly(value: Decimal, text: str) -> None:
    assert format_decimal(value) == text


def test_each_order_type_has_the_parameters_binance_requires() -> None:
    assert PRODUCT is not None
    limit = make.limit(BTC, Side.BUY, "0.5", "99.5", TimeInForce.IOC)
    assert orders.new_order_params(limit, PRODUCT, "c-1") == [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "IOC"),
        ("quantity", "0.5"),
        ("price", "99.5"),
        ("newClientOrderId", "c-1"),
        ("newOrderRespType", "FULL"),
    ]
    maker = dict(
        orders.new_order_params(make.limit(BTC, "SELL", 1, 101, post_only=True), PRODUCT, "c")
    )
    assert maker["type"] == "LIMIT_MAKER" and "timeInForce" not in maker
    market = dict(orders.new_order_params(make.market(BTC, "BUY", "0.1"), PRODUCT, "c"))
    assert market["type"] == "MARKET" and not {"price", "timeInForce"} & set(market)
    stop = dict(orders.new_order_params(make.stop_limit(BTC, "SELL", 1, 95, 94.5), PRODUCT, "c"))
    assert (stop["type"], stop["stopPrice"], stop["price"], stop["timeInForce"]) == (
        "STOP_LOSS_LIMIT",
        "95",
        "94.5",
        "GTC",
    )
    stop_market = dict(orders.new_order_params(make.stop(BTC, "BUY", 1, 105), PRODUCT, "c"))
    assert stop_market["type"] == "STOP_LOSS" and "price" not in stop_market


def test_what_binance_spot_cannot_do_is_refused_before_sending() -> None:
    assert orders.local_refusal(make.market(BTC, "SELL", 1, reduce_only=True)) is not None
    day = make.limit(BTC, "BUY", 1, 99, TimeInForce.DAY)
    assert "no day orders" in (orders.local_refusal(day) or "")
    odd = make.limit(BTC, "BUY", 1, 99)
    odd.cl_ord_id = "has space"
    assert "client order ids" in (orders.local_refusal(odd) or "")
    assert orders.local_refusal(make.limit(BTC, "BUY", 1, 99, post_only=True)) is None


def test_amends_and_replacements() -> None:
    assert PRODUCT is not None
    assert dict(orders.amend_params(PRODUCT, "c-1", Decimal("0.06"))) == {
        "symbol": "BTCUSDT",
        "origClientOrderId": "c-1",
        "newClientOrderId": "c-1",
        "newQty": "0.06",
    }
    order = make.limit(BTC, "BUY", 1, 99)
    params = orders.cancel_replace_params(
        order,
        PRODUCT,
        cancel_client_id="c-1",
        new_client_id="c-1.r1",
        qty=Decimal("0.4"),
        price=Decimal("98"),
    )
    assert params[3] == ("cancelReplaceMode", "STOP_ON_FAILURE")
    assert dict(params)["quantity"] == "0.4" and dict(params)["price"] == "98"
    assert orders.replacement_client_id("abc", 2) == "abc.r2"
    long = orders.replacement_client_id("x" * 36, 12)
    assert len(long) == 36 and long.endswith(".r12") and orders.CLIENT_ID.match(long)
