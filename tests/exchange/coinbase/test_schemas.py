"""Coinbase private messages as Structs: documented examples, unknown types, bad entries."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from serenity.errors import DataError
from serenity.exchange.coinbase import schemas

ORDER = {
    "id": "a9625b04-fc66-4999-a876-543c3684d702",
    "price": "10.00000000",
    "size": "1.00000000",
    "product_id": "BTC-USD",
    "profile_id": "8058d771-2d88-4f0f-ab6e-299c153d4308",
    "side": "buy",
    "type": "limit",
    "time_in_force": "GTC",
    "post_only": True,
    "created_at": "2020-03-11T20:48:46.622Z",
    "fill_fees": "0.0000000000000000",
    "filled_size": "0.00000000",
    "executed_value": "0.0000000000000000",
    "status": "open",
    "settled": False,
}


def test_documented_order_answer_decodes_exactly() -> None:
    order = schemas.decode_order(orjson.dumps(ORDER))

    assert order.price == Decimal("10.00000000") and order.size == Decimal("1")
    assert (order.status, order.post_only, order.avg_px) == ("open", True, None)


def test_average_price_is_value_over_size() -> None:
    order = schemas.decode_order(
        orjson.dumps({**ORDER, "filled_size": "0.5", "executed_value": "5.25"})
    )

    assert order.avg_px == Decimal("10.5")


def test_one_bad_entry_does_not_hide_the_others() -> None:
    good, bad = schemas.decode_orders(orjson.dumps([ORDER, {"id": 3}, ORDER]))

    assert len(good) == 2 and len(bad) == 1 and "orders[1]" in str(bad[0])


def test_a_list_answer_that_is_no_list_is_an_error() -> None:
    with pytest.raises(DataError, match="malformed fills answer"):
        schemas.decode_fills(b'{"message":"x"}')


def test_fill_and_account_and_time() -> None:
    fills, _ = schemas.decode_fills(
        orjson.dumps(
            [
                {
                    "trade_id": 74,
                    "product_id": "BTC-USD",
                    "price": "10.00",
                    "size": "0.01",
                    "order_id": "d50ec984-77a8-460a-b958-66f114b0de9b",
                    "created_at": "2014-11-07T22:19:28.578544Z",
                    "liquidity": "T",
                    "fee": "0.00025",
                    "settled": True,
                    "side": "buy",
                }
            ]
        )
    )
    accounts, _ = schemas.decode_accounts(
        b'[{"id":"a","currency":"BTC","balance":"1.5","hold":"0.5","available":"1.0",'
        b'"profile_id":"p","trading_enabled":true}]'
    )
    now = schemas.decode_server_time(b'{"iso":"2015-01-07T23:47:25.201Z","epoch":1420674445.201}')

    assert fills[0].fee == Decimal("0.00025") and fills[0].liquidity == "T"
    assert accounts[0].balance == accounts[0].hold + accounts[0].available
    assert now.epoch == pytest.approx(1420674445.201)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            {
                "type": "received",
                "time": "2014-11-07T08:19:27.028459Z",
                "product_id": "BTC-USD",
                "sequence": 10,
                "order_id": "d50ec984-77a8-460a-b958-66f114b0de9b",
                "size": "1.34",
                "price": "502.1",
                "side": "buy",
                "order_type": "limit",
                "client_oid": "199243f8-c0a1-4827-8f1d-1800ee9bbe5e",
            },
            schemas.Received,
        ),
        (
            {
                "type": "open",
                "time": "2014-11-07T08:19:27.028459Z",
                "product_id": "BTC-USD",
                "sequence": 10,
                "order_id": "d50ec984-77a8-460a-b958-66f114b0de9b",
                "price": "200.2",
                "remaining_size": "1.00",
                "side": "sell",
            },
            schemas.Open,
        ),
        (
            {
                "type": "done",
                "time": "2014-11-07T08:19:27.028459Z",
                "product_id": "BTC-USD",
                "sequence": 10,
                "price": "200.2",
                "order_id": "d50ec984-77a8-460a-b958-66f114b0de9b",
                "reason": "filled",
                "side": "sell",
                "remaining_size": "0",
            },
            schemas.Done,
        ),
        (
            {
                "type": "match",
                "trade_id": 10,
                "sequence": 50,
                "maker_order_id": "ac928c66-ca53-498f-9c13-a110027a60e8",
                "taker_order_id": "132fb6ae-456b-4654-b4e0-d681ac05cea1",
                "time": "2014-11-07T08:19:27.028459Z",
                "product_id": "BTC-USD",
                "size": "5.23512",
                "price": "400.23",
                "side": "sell",
                "taker_user_id": "5844eceecf7e803e259d0365",
                "user_id": "5844eceecf7e803e259d0365",
                "taker_profile_id": "765d1549-9660-4be2-97d4-fa2d65fa3352",
                "profile_id": "765d1549-9660-4be2-97d4-fa2d65fa3352",
                "taker_fee_rate": "0.005",
            },
            schemas.Match,
        ),
        (
            {
                "type": "change",
                "reason": "STP",
                "time": "2014-11-07T08:19:27.028459Z",
                "sequence": 80,
                "order_id": "ac928c66-ca53-498f-9c13-a110027a60e8",
                "side": "sell",
                "product_id": "BTC-USD",
                "old_size": "12.234412",
                "new_size": "5.23512",
                "price": "400.23",
            },
            schemas.Change,
        ),
        (
            {
                "type": "activate",
                "product_id": "BTC-USD",
                "timestamp": "1483736448.299000",
                "user_id": "12",
                "profile_id": "30000727-d308-cf50-7b1c-c06deb1934fc",
                "order_id": "7b52009b-64fd-0a2a-49e6-d8a939753077",
                "stop_type": "entry",
                "side": "buy",
                "stop_price": "80",
                "size": "2",
                "funds": "50",
                "private": True,
            },
            schemas.Activate,
        ),
        (
            {"type": "error", "message": "Authentication Failed", "reason": "bad sig"},
            schemas.WsError,
        ),
        ({"type": "subscriptions", "channels": [{"name": "user"}]}, schemas.Subscriptions),
    ],
)
def test_documented_user_channel_messages_decode(message: dict[str, object], kind: type) -> None:
    decoded = schemas.decode_user_message(orjson.dumps(message))

    assert type(decoded) is kind


def test_match_carries_our_fee_rate() -> None:
    decoded = schemas.decode_user_message(
        b'{"type":"match","trade_id":1,"maker_order_id":"m","taker_order_id":"t",'
        b'"product_id":"BTC-USD","side":"buy","price":"1","size":"2",'
        b'"time":"2014-11-07T08:19:27.028459Z","maker_fee_rate":"0.001"}'
    )

    assert isinstance(decoded, schemas.Match) and decoded.maker_fee_rate == Decimal("0.001")


def test_an_unknown_type_is_kept_not_refused() -> None:
    decoded = schemas.decode_user_message(b'{"type":"rfq_match","x":1}')

    assert decoded == schemas.UnknownMessage("rfq_match", {"type": "rfq_match", "x": 1})


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b'{"type":"done","order_id":"x"}', "malformed user channel done message"),
        (b"[1, 2]", "no string type"),
        (b"{not json", "not JSON"),
        (b'{"type":"match","trade_id":"ten"}', "malformed user channel match"),
    ],
)
def test_malformed_frames_name_the_problem(frame: bytes, problem: str) -> None:
    with pytest.raises(DataError, match=problem):
        schemas.decode_user_message(frame)
