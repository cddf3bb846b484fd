"""Coinbase order bodies from orders and products: types, times in force, flags, refusals."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import InvalidValueError
from serenity.exchange.coinbase import orders
from serenity.exchange.coinbase.enums import SelfTradePrevention
from serenity.exchange.product import Product
from serenity.model import InstrumentId, InstrumentStatus, InstrumentType, TimeInForce
from serenity.trading import OrderFactory

BTC = InstrumentId("coinbase", "BTC-USD")
PRODUCT = Product(
    venue="coinbase",
    symbol="BTC-USD",
    instrument_type=InstrumentType.CURRENCY_PAIR,
    base="BTC",
    quote="USD",
    status=InstrumentStatus.TRADING,
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.00000001"),
)
F = OrderFactory("main", prefix="t-")


def body(order: object, **kwargs: object) -> dict[str, object]:
    return orders.new_order_body(order, PRODUCT, account="main", **kwargs)  # type: ignore[arg-type]


def test_market_order() -> None:
    order = F.market(BTC, "SELL", "0.5")

    assert body(order) == {
        "client_oid": orders.client_oid("main", order.cl_ord_id),
        "product_id": "BTC-USD",
        "side": "sell",
        "type": "market",
        "size": "0.50000000",
    }


@pytest.mark.parametrize(
    ("tif", "wire"), [(TimeInForce.GTC, "GTC"), (TimeInForce.IOC, "IOC"), (TimeInForce.FOK, "FOK")]
)
def test_limit_order_with_each_time_in_force(tif: TimeInForce, wire: str) -> None:
    order = F.limit(BTC, "BUY", "0.01", "100.5", tif)

    sent = body(order)

    assert (sent["type"], sent["price"], sent["size"], sent["time_in_force"]) == (
        "limit",
        "100.50",
        "0.01000000",
        wire,
    )
    assert "post_only" not in sent and "stop" not in sent


def test_post_only_limit_order() -> None:
    sent = body(F.limit(BTC, "BUY", "0.01", "100", post_only=True))

    assert sent["post_only"] is True and sent["time_in_force"] == "GTC"


@pytest.mark.parametrize(("side", "stop"), [("BUY", "entry"), ("SELL", "loss")])
def test_stop_market_order(side: str, stop: str) -> None:
    sent = body(F.stop(BTC, side, "0.01", "99.99"))

    assert (sent["type"], sent["stop"], sent["stop_price"]) == ("market", stop, "99.99")
    assert "price" not in sent and "time_in_force" not in sent


@pytest.mark.parametrize(("side", "stop"), [("BUY", "entry"), ("SELL", "loss")])
def test_stop_limit_order(side: str, stop: str) -> None:
    sent = body(F.stop_limit(BTC, side, "0.01", "99.99", "99.5"))

    assert (sent["type"], sent["stop"], sent["stop_price"], sent["price"]) == (
        "limit",
        stop,
        "99.99",
        "99.50",
    )
    assert sent["time_in_force"] == "GTC"


def test_self_trade_prevention_is_sent_when_asked() -> None:
    sent = body(F.limit(BTC, "BUY", "0.01", "100"), stp=SelfTradePrevention.CANCEL_OLDEST)

    assert sent["stp"] == "co"


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (F.market(BTC, "SELL", "1", reduce_only=True), "reduce-only is not supported"),
        (F.limit(BTC, "BUY", "1", "100", TimeInForce.DAY), "DAY is not supported"),
        (
            F.limit(BTC, "BUY", "1", "100", TimeInForce.GTD, expire_ts=1),
            "GTD is not supported",
        ),
        (F.market(BTC, "BUY", "1", tif=TimeInForce.FOK), "market order cannot be FOK"),
        (F.stop(BTC, "BUY", "1", "100", tif=TimeInForce.IOC), "GTC only"),
    ],
)
def test_what_coinbase_cannot_carry_is_refused_with_the_reason(order: object, reason: str) -> None:
    assert reason in (orders.refusal(order) or "")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=reason):
        body(order)


def test_reduce_only_is_not_mistaken_for_post_only() -> None:
    post_only = F.limit(BTC, "SELL", "1", "100", post_only=True)
    reduce_only = F.limit(BTC, "SELL", "1", "100", reduce_only=True)

    assert body(post_only)["post_only"] is True
    assert orders.refusal(reduce_only) is not None


@pytest.mark.parametrize(
    ("qty", "price", "what"),
    [("0.000000001", "100", "size"), ("0.01", "100.001", "price")],
)
def test_values_off_the_increments_are_refused(qty: str, price: str, what: str) -> None:
    with pytest.raises(InvalidValueError, match=f"BTC-USD {what}"):
        body(F.limit(BTC, "BUY", qty, price))


def test_client_oid_is_a_canonical_v4_uuid_and_deterministic() -> None:
    oid = orders.client_oid("main", "a1b2c3d4-1")
    parsed = uuid.UUID(oid)

    assert oid == "199243f8-c0a1-4827-8f1d-1800ee9bbe5e"
    assert str(parsed) == oid and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert orders.client_oid("other", "a1b2c3d4-1") != oid


@given(st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=50, unique=True))
def test_distinct_client_order_ids_give_distinct_v4_uuids(ids: list[str]) -> None:
    oids = [orders.client_oid("main", i) for i in ids]

    assert len(set(oids)) == len(ids)
    assert all(
        uuid.UUID(o).version == 4 and oids[k] == orders.client_oid("main", ids[k])
        for k, o in enumerate(oids)
    )


def test_open_orders_query_lists_every_live_status_and_pages() -> None:
    assert orders.open_orders_query("BTC-USD", after="c1") == [
        ("status", "open"),
        ("status", "pending"),
        ("status", "active"),
        ("product_id", "BTC-USD"),
        ("limit", "100"),
        ("after", "c1"),
    ]


def test_fills_query_needs_a_product_or_an_order() -> None:
    assert ("order_id", "o1") in orders.fills_query(order_id="o1")
    with pytest.raises(InvalidValueError, match="product_id or an order_id"):
        orders.fills_query()


def test_body_bytes_are_compact_json() -> None:
    assert orders.encode_body({"a": "1", "b": True}) == b'{"a":"1","b":true}'
