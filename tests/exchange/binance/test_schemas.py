"""Binance's private messages, as documented, decoded and turned into domain values."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from serenity.errors import DataError
from serenity.exchange.binance import userstream
from serenity.exchange.binance.schemas import (
    Account,
    AmendAnswer,
    ExecutionReportEvent,
    MyTrade,
    OrderAnswer,
    decode,
)
from serenity.exchange.execution import OrderUpdate, VenueBalance
from serenity.model import ExecType, InstrumentId, Liquidity, OrderStatus, OrderType, Side

FULL_ANSWER: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "orderId": 28,
    "orderListId": -1,
    "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP",
    "transactTime": 1507725176595,
    "price": "0.00000000",
    "origQty": "10.00000000",
    "executedQty": "10.00000000",
    "origQuoteOrderQty": "0.000000",
    "cummulativeQuoteQty": "39983.00000000",
    "status": "FILLED",
    "timeInForce": "GTC",
    "type": "MARKET",
    "side": "SELL",
    "workingTime": 1507725176595,
    "selfTradePreventionMode": "NONE",
    "fills": [
        {"price": p, "qty": q, "commission": c, "commissionAsset": "USDT", "tradeId": t}
        for p, q, c, t in (
            ("4000.00000000", "1.00000000", "4.00000000", 56),
            ("3999.00000000", "5.00000000", "19.99500000", 57),
            ("3998.00000000", "2.00000000", "7.99600000", 58),
            ("3997.00000000", "1.00000000", "3.99700000", 59),
            ("3995.00000000", "1.00000000", "3.99500000", 60),
        )
    ],
}
EXECUTION_REPORT: dict[str, Any] = {
    "e": "executionReport",
    "E": 1499405658658,
    "s": "ETHBTC",
    "c": "mUvoqJxFIILMdfAW5iGSOW",
    "S": "BUY",
    "o": "LIMIT",
    "f": "GTC",
    "q": "1.00000000",
    "p": "0.10264410",
    "P": "0.00000000",
    "F": "0.00000000",
    "g": -1,
    "C": "",
    "x": "NEW",
    "X": "NEW",
    "r": "NONE",
    "i": 4293153,
    "l": "0.00000000",
    "z": "0.00000000",
    "L": "0.00000000",
    "n": "0",
    "N": None,
    "T": 1499405658657,
    "t": -1,
    "v": 3,
    "I": 8641984,
    "w": True,
    "m": False,
    "M": False,
    "O": 1499405658657,
    "Z": "0.00000000",
    "Y": "0.00000000",
    "Q": "0.00000000",
    "W": 1499405658657,
    "V": "NONE",
}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_a_full_answer_is_an_ack_then_each_fill() -> None:
    updates = decode(dumps(FULL_ANSWER), OrderAnswer, "order answer").to_updates()
    kinds = [u.exec_type for u in updates]
    assert kinds == [ExecType.NEW, *[ExecType.TRADE] * 5]
    ack, *fills = updates
    assert (ack.status, ack.cum_qty, ack.side, ack.order_type) == (
        OrderStatus.NEW,
        0,
        Side.SELL,
        OrderType.MARKET,
    )
    assert ack.price is None and ack.instrument == InstrumentId("binance", "BTCUSDT")
    assert [f.fill.exec_id for f in fills if f.fill] == [f"BTCUSDT:{t}" for t in range(56, 61)]
    last = fills[-1]
    assert last.status is OrderStatus.FILLED and last.cum_qty == Decimal(10)
    assert last.avg_px == Decimal("3998.3") and last.fill is not None
    assert (last.fill.fee, last.fill.liquidity) == (Decimal("3.995"), Liquidity.TAKER)
    assert fills[0].status is OrderStatus.PARTIALLY_FILLED
    assert ack.ts == 1507725176595 * 1_000_000


def test_an_answer_that_ended_at_once_ends_the_updates() -> None:
    expired = {**FULL_ANSWER, "status": "EXPIRED", "executedQty": "1.00000000"}
    expired["fills"] = FULL_ANSWER["fills"][:1]
    kinds = [u.exec_type for u in decode(dumps(expired), OrderAnswer, "x").to_updates()]
    assert kinds == [ExecType.NEW, ExecType.TRADE, ExecType.EXPIRED]


def test_a_cancel_answer_names_the_order_not_the_cancel() -> None:
    answer = {
        "symbol": "LTCBTC",
        "origClientOrderId": "myOrder1",
        "orderId": 4,
        "orderListId": -1,
        "clientOrderId": "cancelMyOrder1",
        "transactTime": 1684804350068,
        "price": "2.00000000",
        "origQty": "1.00000000",
        "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "CANCELED",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "selfTradePreventionMode": "NONE",
    }
    update = decode(dumps(answer), OrderAnswer, "cancel answer").to_order_update()
    assert (update.cl_ord_id, update.status, update.price) == (
        "myOrder1",
        OrderStatus.CANCELED,
        Decimal(2),
    )


def test_execution_reports_read_as_updates() -> None:
    new = decode(dumps(EXECUTION_REPORT), ExecutionReportEvent, "x").to_order_update()
    assert (new.exec_type, new.status, new.cl_ord_id, new.venue_order_id) == (
        ExecType.NEW,
        OrderStatus.NEW,
        "mUvoqJxFIILMdfAW5iGSOW",
        "4293153",
    )
    trade = {
        **EXECUTION_REPORT,
        "x": "TRADE",
        "X": "PARTIALLY_FILLED",
        "l": "0.4",
        "z": "0.4",
        "L": "0.1026",
        "Z": "0.04104",
        "t": 77,
        "m": True,
        "n": "0.0004",
        "N": "ETH",
    }
    update = decode(dumps(trade), ExecutionReportEvent, "x").to_order_update()
    assert update.fill is not None and update.fill.exec_id == "ETHBTC:77"
    assert (update.fill.qty, update.fill.price, update.fill.liquidity) == (
        Decimal("0.4"),
        Decimal("0.1026"),
        Liquidity.MAKER,
    )
    assert update.avg_px == Decimal("0.1026") and update.fill.fee_currency == "ETH"
    canceled = {**EXECUTION_REPORT, "x": "CANCELED", "X": "CANCELED", "c": "cxl-1", "C": "mine"}
    assert decode(dumps(canceled), ExecutionReportEvent, "x").to_order_update().cl_ord_id == "mine"
    post_only = {**EXECUTION_REPORT, "o": "LIMIT_MAKER"}
    assert decode(dumps(post_only), ExecutionReportEvent, "x").to_order_update().post_only


def test_trades_amends_and_balances() -> None:
    trade = {
        "symbol": "BNBBTC",
        "id": 28457,
        "orderId": 100234,
        "orderListId": -1,
        "price": "4.00000100",
        "qty": "12.00000000",
        "quoteQty": "48.000012",
        "commission": "10.10000000",
        "commissionAsset": "BNB",
        "time": 1499865549590,
        "isBuyer": True,
        "isMaker": False,
        "isBestMatch": True,
    }
    fill = decode(dumps(trade), MyTrade, "trade").to_fill()
    assert (fill.exec_id, fill.venue_order_id, fill.cl_ord_id, fill.side) == (
        "BNBBTC:28457",
        "100234",
        None,
        Side.BUY,
    )
    amend = {
        "transactTime": 1741926410255,
        "executionId": 75,
        "amendedOrder": {
            "symbol": "BTCUSDT",
            "orderId": 33,
            "orderListId": -1,
            "origClientOrderId": "5xrgbMyg6z36NzBn2pbT8H",
            "clientOrderId": "PFaq6hIHxqFENGfdtn4J6Q",
            "price": "6.00000000",
            "qty": "5.00000000",
            "executedQty": "0.00000000",
            "preventedQty": "0.00000000",
            "quoteOrderQty": "0.00000000",
            "cumulativeQuoteQty": "0.00000000",
            "status": "NEW",
            "timeInForce": "GTC",
            "type": "LIMIT",
            "side": "SELL",
            "workingTime": 1741926410242,
            "selfTradePreventionMode": "NONE",
        },
    }
    update = decode(dumps(amend), AmendAnswer, "amend").to_order_update()
    assert (update.exec_type, update.qty, update.exec_id) == (
        ExecType.REPLACED,
        Decimal(5),
        "replaced:33:75",
    )
    account = {
        "balances": [
            {"asset": "BTC", "free": "4723846.89208129", "locked": "0.00000000"},
            {"asset": "LTC", "free": "4763368.68006011", "locked": "1.5"},
        ],
        "updateTime": 123456789,
    }
    balances = decode(dumps(account), Account, "account").to_balances()
    assert [(b.currency, b.total, b.locked) for b in balances] == [
        ("BTC", Decimal("4723846.89208129"), 0),
        ("LTC", Decimal("4763370.18006011"), Decimal("1.5")),
    ]


def test_malformed_messages_name_the_field() -> None:
    bad = {**EXECUTION_REPORT, "q": None}
    with pytest.raises(DataError, match=r"binance: malformed executionReport: .*\$\.q"):
        decode(dumps(bad), ExecutionReportEvent, "executionReport")
    with pytest.raises(DataError, match="malformed order answer"):
        decode(b"{not json", OrderAnswer, "order answer")
    with pytest.raises(DataError, match="unknown order status 'HALF_DONE'"):
        unknown = {**EXECUTION_REPORT, "X": "HALF_DONE"}
        decode(dumps(unknown), ExecutionReportEvent, "x").to_order_update()


def test_the_user_stream_gives_every_entry_of_a_frame() -> None:
    position = {
        "subscriptionId": 0,
        "event": {
            "e": "outboundAccountPosition",
            "E": 1728972148778,
            "u": 1728972148778,
            "B": [
                {"a": "BTC", "f": "11818.00000000", "l": "182.00000000"},
                {"a": "USDT", "f": "10580.00000000", "l": "70.00000000"},
            ],
        },
    }
    items = userstream.read_frame(dumps(position))
    assert [(b.currency, b.total) for b in items if isinstance(b, VenueBalance)] == [
        ("BTC", Decimal(12000)),
        ("USDT", Decimal(10650)),
    ]
    (update,) = userstream.read_frame(dumps({"subscriptionId": 0, "event": EXECUTION_REPORT}))
    assert isinstance(update, OrderUpdate)
    for other in ("balanceUpdate", "listStatus", "externalLockUpdate"):
        assert userstream.read_frame(dumps({"event": {"e": other, "E": 1}})) == []
    (notice,) = userstream.read_frame(dumps({"event": {"e": "serverShutdown", "E": 1770123456789}}))
    assert notice == userstream.Notice("serverShutdown", 1770123456789 * 1_000_000)
    (ok,) = userstream.read_frame(
        dumps({"id": "s-1", "status": 200, "result": {"subscriptionId": 0}})
    )
    assert ok == userstream.Answer("s-1", 200, result={"subscriptionId": 0})
    (refused,) = userstream.read_frame(
        dumps({"id": "s-2", "status": 400, "error": {"code": -1022, "msg": "bad"}})
    )
    assert refused.is_error and refused.code == -1022  # type: ignore[union-attr]


def test_the_subscription_request_is_signed_over_its_sorted_parameters() -> None:
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    text = userstream.subscribe_request("key", secret, timestamp_ms=1747385641636, request_id="s-1")
    request = json.loads(text)
    assert request["method"] == "userDataStream.subscribe.signature"
    params = request["params"]
    assert set(params) == {"apiKey", "recvWindow", "timestamp", "signature"}
    from serenity.exchange.binance.signing import sign

    assert params["signature"] == sign(secret, "apiKey=key&recvWindow=5000&timestamp=1747385641636")
