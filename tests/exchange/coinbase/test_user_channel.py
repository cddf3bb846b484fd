"""The user channel read into order updates, message by message, without a network."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from serenity.exchange.coinbase.schemas import decode_order, decode_user_message
from serenity.exchange.coinbase.user_channel import TrackedOrder, UserChannel
from serenity.model import ExecType, InstrumentId, Liquidity, OrderStatus, OrderType, Side

BTC = InstrumentId("coinbase", "BTC-USD")
OID = "199243f8-c0a1-4827-8f1d-1800ee9bbe5e"
T = "2024-05-01T12:00:00.000001Z"
D = Decimal


def tracked(qty: str = "1") -> TrackedOrder:
    return TrackedOrder(
        cl_ord_id="ours-1",
        instrument=BTC,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        qty=D(qty),
        price=D("100"),
    )


def read(channel: UserChannel, **message: object) -> list:  # type: ignore[type-arg]
    return channel.read(decode_user_message(orjson.dumps({"time": T, **message})))  # type: ignore[arg-type]


def received(order_id: str = "v1", client_oid: str | None = OID) -> dict[str, object]:
    msg: dict[str, object] = {
        "type": "received",
        "product_id": "BTC-USD",
        "order_id": order_id,
        "side": "buy",
        "order_type": "limit",
        "size": "1",
        "price": "100",
    }
    if client_oid:
        msg["client_oid"] = client_oid
    return msg


def match(trade_id: int, size: str, *, maker: str = "v1", taker: str = "x", **kw: object) -> dict:  # type: ignore[type-arg]
    return {
        "type": "match",
        "trade_id": trade_id,
        "maker_order_id": maker,
        "taker_order_id": taker,
        "product_id": "BTC-USD",
        "side": "buy",
        "size": size,
        "price": "100",
        **kw,
    }


def test_received_before_the_answer_acks_our_order_once() -> None:
    channel = UserChannel()
    channel.expect(OID, tracked())

    (ack,) = read(channel, **received())
    again = read(channel, type="open", product_id="BTC-USD", order_id="v1", side="buy")

    assert (ack.cl_ord_id, ack.venue_order_id, ack.exec_type) == ("ours-1", "v1", ExecType.NEW)
    assert again == [] and channel.bind("v1", OID) is channel.get("v1")


def test_matches_fill_our_side_with_our_fee_and_are_counted_once() -> None:
    channel = UserChannel()
    channel.expect(OID, tracked())
    channel.bind("v1", OID)

    (maker,) = read(channel, **match(1, "0.4", maker_fee_rate="0.004"))
    (taker,) = read(channel, **match(2, "0.6", maker="y", taker="v1", taker_fee_rate="0.006"))
    replay = read(channel, **match(1, "0.4", maker_fee_rate="0.004"))

    assert maker.fill is not None and taker.fill is not None
    assert (maker.fill.side, maker.fill.liquidity, maker.fill.fee) == (
        Side.BUY,
        Liquidity.MAKER,
        D("0.4") * 100 * D("0.004"),
    )
    assert (taker.fill.liquidity, taker.status, taker.cum_qty) == (
        Liquidity.TAKER,
        OrderStatus.FILLED,
        D(1),
    )
    assert maker.fill.exec_id == "BTC-USD:1" and replay == []
    assert maker.status is OrderStatus.PARTIALLY_FILLED and taker.avg_px == D(100)


def test_done_filled_after_every_match_says_nothing_more() -> None:
    channel = UserChannel()
    channel.expect(OID, tracked("0.5"))
    channel.bind("v1", OID)
    read(channel, **match(1, "0.5"))

    assert (
        read(
            channel,
            type="done",
            product_id="BTC-USD",
            order_id="v1",
            side="buy",
            reason="filled",
            remaining_size="0",
        )
        == []
    )


def test_done_filled_with_a_match_missing_states_the_venue_quantity() -> None:
    channel = UserChannel()
    channel.expect(OID, tracked())
    channel.bind("v1", OID)
    read(channel, **match(1, "0.3"))

    (stated,) = read(
        channel, type="done", product_id="BTC-USD", order_id="v1", side="buy", reason="filled"
    )

    assert stated.exec_type is ExecType.ORDER_STATUS and stated.cum_qty == 1
    assert not stated.status.is_terminal  # fills first: the connector fetches them


def test_done_canceled_is_a_cancel_unless_fills_are_missing() -> None:
    channel = UserChannel()
    channel.expect(OID, tracked())
    channel.bind("v1", OID)

    (cancel,) = read(
        channel,
        type="done",
        product_id="BTC-USD",
        order_id="v1",
        side="buy",
        reason="canceled",
        remaining_size="1",
    )
    assert (cancel.exec_type, cancel.status) == (ExecType.CANCELED, OrderStatus.CANCELED)

    channel.expect("o2", tracked())
    channel.bind("v2", "o2")
    (stated,) = read(
        channel,
        type="done",
        product_id="BTC-USD",
        order_id="v2",
        side="buy",
        reason="canceled",
        remaining_size="0.6",
    )
    assert stated.exec_type is ExecType.ORDER_STATUS and stated.cum_qty == D("0.4")


def test_the_cancel_half_of_an_amend_is_not_a_cancel() -> None:
    channel = UserChannel()
    order = tracked()
    channel.expect(OID, order)
    channel.bind("v1", OID)
    channel.replacing("v1")

    gone = read(
        channel, type="done", product_id="BTC-USD", order_id="v1", side="buy", reason="canceled"
    )
    channel.expect("o2", order)
    channel.bind("v2", "o2")
    (fill,) = read(channel, **match(9, "1", maker="v2"))

    assert gone == [] and fill.venue_order_id == "v2" and fill.cl_ord_id == "ours-1"


def test_a_self_trade_prevention_change_shrinks_the_total() -> None:
    channel = UserChannel()
    channel.expect(OID, tracked())
    channel.bind("v1", OID)
    read(channel, **match(1, "0.2"))

    (change,) = read(
        channel,
        type="change",
        reason="STP",
        product_id="BTC-USD",
        order_id="v1",
        side="buy",
        old_size="0.8",
        new_size="0.5",
    )

    assert (change.exec_type, change.qty, change.cum_qty) == (ExecType.REPLACED, D("0.7"), D("0.2"))


@pytest.mark.parametrize("who", ["maker", "taker"])
def test_messages_about_unknown_orders_still_give_updates(who: str) -> None:
    channel = UserChannel()
    extra = {f"{who}_user_id": "u"}

    (fill,) = read(channel, **match(5, "0.1", maker="m", taker="t", **extra))
    (new,) = read(channel, **received("v9", client_oid=None))

    assert fill.fill is not None and fill.fill.venue_order_id == ("t" if who == "taker" else "m")
    assert (new.cl_ord_id, new.exec_type) == ("v9", ExecType.NEW)


def test_a_stop_is_acked_by_its_activate() -> None:
    channel = UserChannel()
    channel.expect(OID, tracked())
    channel.bind("v1", OID)

    (ack,) = channel.read(
        decode_user_message(
            b'{"type":"activate","product_id":"BTC-USD","timestamp":"1483736448.299000",'
            b'"order_id":"v1","stop_type":"entry","side":"buy","stop_price":"80","size":"1"}'
        )
    )

    assert ack.exec_type is ExecType.NEW and ack.ts == 1_483_736_448_299_000_000


def test_rest_orders_convert_to_statements_of_state() -> None:
    order = decode_order(
        b'{"id":"v1","price":"100.00","size":"1.0","product_id":"BTC-USD","side":"sell",'
        b'"type":"limit","time_in_force":"GTT","post_only":true,"created_at":"'
        + T.encode()
        + b'","filled_size":"0.25","executed_value":"25.5","status":"open","client_oid":"c"}'
    )

    update = order.to_order_update()

    assert (update.cl_ord_id, update.status, update.cum_qty, update.avg_px) == (
        "c",
        OrderStatus.PARTIALLY_FILLED,
        D("0.25"),
        D("102"),
    )
    assert update.post_only and update.side is Side.SELL and update.tif is not None
