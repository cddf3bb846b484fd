"""Phemex order requests: every order type and flag, contracts and spot, scaled per product."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import InvalidValueError
from serenity.exchange import phemex
from serenity.exchange.phemex import orders
from serenity.exchange.phemex.endpoints import RateGroup
from serenity.model import InstrumentId, TimeInForce
from serenity.trading import Order, OrderFactory
from tests.venues import payload

BTCUSD = InstrumentId("phemex", "BTCUSD")
SBTC = InstrumentId("phemex", "sBTCUSDT")


@pytest.fixture
def refdata() -> phemex.PhemexRefdata:
    return phemex.parse_instruments(payload("phemex", "products"))


@pytest.fixture
def factory() -> OrderFactory:
    return OrderFactory("acct", prefix="t-")


def body(call: orders.RestCall) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(call.body)
    return result


def test_contract_limit_order_is_scaled_by_the_products_price_scale(
    refdata: phemex.PhemexRefdata, factory: OrderFactory
) -> None:
    call = orders.new_order(
        factory.limit(BTCUSD, "SELL", 7, "9318.5"), refdata.instrument("BTCUSD")
    )

    assert (call.method, call.path, call.query) == ("POST", "/orders", "")
    assert call.route.group is RateGroup.CONTRACT
    assert body(call) == {
        "symbol": "BTCUSD",
        "clOrdID": "t-1",
        "side": "Sell",
        "orderQty": 7,
        "ordType": "Limit",
        "priceEp": 93185000,
        "timeInForce": "GoodTillCancel",
        "reduceOnly": False,
    }


def test_price_scale_comes_from_the_product_not_a_constant(factory: OrderFactory) -> None:
    products = payload("phemex", "products")
    products["data"]["products"][0]["priceScale"] = 2
    refdata = phemex.parse_instruments(products)

    call = orders.new_order(factory.limit(BTCUSD, "BUY", 1, "9318.5"), refdata.instrument("BTCUSD"))

    assert body(call)["priceEp"] == 931850


@pytest.mark.parametrize(
    ("build", "expect"),
    [
        (
            lambda f: f.market(BTCUSD, "BUY", 3),
            {"ordType": "Market", "timeInForce": "GoodTillCancel"},
        ),
        (
            lambda f: f.market(BTCUSD, "BUY", 3, tif=TimeInForce.IOC),
            {"ordType": "Market", "timeInForce": "ImmediateOrCancel"},
        ),
        (
            lambda f: f.limit(BTCUSD, "BUY", 3, 9000, TimeInForce.FOK),
            {"ordType": "Limit", "timeInForce": "FillOrKill", "priceEp": 90000000},
        ),
        (
            lambda f: f.limit(BTCUSD, "BUY", 3, 9000, post_only=True),
            {"timeInForce": "PostOnly", "reduceOnly": False},
        ),
        (
            lambda f: f.limit(BTCUSD, "SELL", 3, 9000, reduce_only=True),
            {"timeInForce": "GoodTillCancel", "reduceOnly": True},
        ),
        (
            lambda f: f.limit(BTCUSD, "SELL", 3, 9000, post_only=True, reduce_only=True),
            {"timeInForce": "PostOnly", "reduceOnly": True},
        ),
        (
            lambda f: f.stop(BTCUSD, "SELL", 3, "8999.5"),
            {"ordType": "Stop", "stopPxEp": 89995000, "triggerType": "ByLastPrice"},
        ),
        (
            lambda f: f.stop_limit(BTCUSD, "BUY", 3, 9100, "9100.5"),
            {"ordType": "StopLimit", "stopPxEp": 91000000, "priceEp": 91005000},
        ),
    ],
)
def test_contract_types_and_flags_map_one_to_one(
    refdata: phemex.PhemexRefdata, factory: OrderFactory, build: Any, expect: dict[str, Any]
) -> None:
    sent = body(orders.new_order(build(factory), refdata.instrument("BTCUSD")))

    assert sent.items() >= expect.items()
    if sent["ordType"] in ("Market", "Stop"):
        assert "priceEp" not in sent
    if sent["ordType"] in ("Market", "Limit"):
        assert "stopPxEp" not in sent


def test_spot_order_sizes_in_base_units_of_the_base_currency(
    refdata: phemex.PhemexRefdata, factory: OrderFactory
) -> None:
    call = orders.new_order(
        factory.limit(SBTC, "BUY", "0.0123", "26000.01", post_only=True),
        refdata.instrument("sBTCUSDT"),
    )

    assert (call.method, call.path) == ("POST", "/spot/orders")
    assert call.route.group is RateGroup.SPOT_ORDER
    assert body(call) == {
        "symbol": "sBTCUSDT",
        "clOrdID": "t-1",
        "side": "Buy",
        "qtyType": "ByBase",
        "baseQtyEv": 1230000,
        "ordType": "Limit",
        "priceEp": 2600001000000,
        "timeInForce": "PostOnly",
    }


def test_spot_quantity_scale_is_the_base_currencys_value_scale(factory: OrderFactory) -> None:
    products = payload("phemex", "products")
    next(c for c in products["data"]["currencies"] if c["currency"] == "BTC")["valueScale"] = 2
    instrument = phemex.parse_instruments(products).instrument("sBTCUSDT")

    sent = body(orders.new_order(factory.market(SBTC, "SELL", "1.5"), instrument))

    assert sent["baseQtyEv"] == 150
    with pytest.raises(InvalidValueError, match="qty 0.001 has more than 2 decimals"):
        orders.new_order(factory.market(SBTC, "SELL", "0.001"), instrument)


def test_spot_stop_triggers_by_last_price(
    refdata: phemex.PhemexRefdata, factory: OrderFactory
) -> None:
    sent = body(
        orders.new_order(factory.stop(SBTC, "SELL", "0.5", 25000), refdata.instrument("sBTCUSDT"))
    )

    assert (
        sent.items()
        >= {"ordType": "Stop", "stopPxEp": 2500000000000, "trigger": "ByLastPrice"}.items()
    )


@pytest.mark.parametrize(
    ("symbol", "build", "message"),
    [
        (
            "BTCUSD",
            lambda f: f.limit(BTCUSD, "BUY", 1, 9000, TimeInForce.DAY),
            "time in force day is not offered",
        ),
        (
            "BTCUSD",
            lambda f: f.limit(BTCUSD, "BUY", 1, 9000, TimeInForce.GTD, expire_ts=1),
            "time in force gtd is not offered",
        ),
        (
            "sBTCUSDT",
            lambda f: f.market(SBTC, "SELL", 1, reduce_only=True),
            "reduce-only is for contracts",
        ),
        (
            "BTCUSD",
            lambda f: f.limit(BTCUSD, "BUY", 1, "9000.00001"),
            "price 9000.00001 has more than 4 decimals",
        ),
        ("BTCUSD", lambda f: f.market(BTCUSD, "BUY", "0.5"), "qty 0.5 has more than 0 decimals"),
        (
            "BTCUSDT",
            lambda f: f.market(InstrumentId("phemex", "BTCUSDT"), "BUY", 1),
            "hedged /g-orders API",
        ),
    ],
)
def test_orders_phemex_cannot_take_are_refused_naming_venue_and_problem(
    refdata: phemex.PhemexRefdata, factory: OrderFactory, symbol: str, build: Any, message: str
) -> None:
    order: Order = build(factory)

    with pytest.raises(InvalidValueError, match=f"^phemex: order 't-1' on {symbol}: .*{message}"):
        orders.new_order(order, refdata.instrument(symbol))


def test_long_client_order_ids_are_refused(refdata: phemex.PhemexRefdata) -> None:
    order = OrderFactory("acct", prefix="x" * 40).market(BTCUSD, "BUY", 1)

    with pytest.raises(InvalidValueError, match="clOrdID must be 1 to 40 characters"):
        orders.new_order(order, refdata.instrument("BTCUSD"))


def test_amend_cancel_and_queries_name_the_order(refdata: phemex.PhemexRefdata) -> None:
    btc, spot = refdata.instrument("BTCUSD"), refdata.instrument("sBTCUSDT")

    amend = orders.amend_order(
        btc, venue_order_id="oid", cl_ord_id="c1", price=Decimal("9000.5"), qty=Decimal(9)
    )
    assert (amend.method, amend.path) == ("PUT", "/orders/replace")
    assert amend.query == "symbol=BTCUSD&orderID=oid&priceEp=90005000&orderQty=9"
    spot_amend = orders.amend_order(
        spot, venue_order_id=None, cl_ord_id="c2", price=None, qty=Decimal("0.5")
    )
    assert spot_amend.target == "/spot/orders?symbol=sBTCUSDT&origClOrdID=c2&baseQtyEV=50000000"
    with pytest.raises(InvalidValueError, match="give a new price, a new qty, or both"):
        orders.amend_order(btc, venue_order_id="oid", cl_ord_id="c1", price=None, qty=None)

    assert orders.cancel_order(btc, venue_order_id=None, cl_ord_id="c1").target == (
        "/orders/cancel?symbol=BTCUSD&clOrdID=c1"
    )
    cancel = orders.cancel_order(spot, venue_order_id="oid", cl_ord_id="c2")
    assert (cancel.method, cancel.target) == ("DELETE", "/spot/orders?symbol=sBTCUSDT&orderID=oid")
    assert cancel.route.weight == 2
    assert (
        orders.query_order(btc, cl_ord_id="c1").target == "/exchange/order?symbol=BTCUSD&clOrdID=c1"
    )
    assert orders.open_orders(spot).target == "/spot/orders?symbol=sBTCUSDT"
    assert orders.recent_trades(btc, start_ms=5).target == (
        "/exchange/order/trade?symbol=BTCUSD&start=5&limit=200"
    )
    assert orders.account_positions("BTC").target == "/accounts/accountPositions?currency=BTC"
    assert orders.spot_wallets().route.group is RateGroup.OTHERS


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from(["BTCUSD", "sBTCUSDT"]))
def test_scaled_prices_round_trip(ep: int, symbol: str) -> None:
    instrument = _REFDATA.instrument(symbol)

    assert instrument.price_ep(instrument.price(ep)) == ep
    assert instrument.qty_wire(instrument.qty(ep)) == ep


_REFDATA = phemex.parse_instruments(payload("phemex", "products"))
