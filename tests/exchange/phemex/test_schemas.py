"""Phemex private messages (the documented AOP and Wallet-Order samples) in domain terms."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from serenity.errors import DataError, UnknownSymbolError
from serenity.exchange import phemex
from serenity.exchange.phemex import schemas
from serenity.model import (
    ExecType,
    InstrumentId,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from tests.venues import payload


@pytest.fixture(scope="module")
def refdata() -> phemex.PhemexRefdata:
    return phemex.parse_instruments(payload("phemex", "products"))


@pytest.fixture(scope="module")
def samples() -> Any:
    return payload("phemex", "private")


def aop(msg: Any) -> schemas.AopMessage:
    return msgspec.json.decode(json.dumps(msg), type=schemas.AopMessage)


def test_aop_snapshot_fills_become_trade_updates(
    refdata: phemex.PhemexRefdata, samples: Any
) -> None:
    msg = aop(samples["aop"][0])
    orders, errors = schemas.decode_entries(msg.orders, schemas.ContractOrder, where="orders")
    btcusd = refdata.instrument("BTCUSD")

    updates = [o.to_update(btcusd, refdata) for o in orders]

    assert errors == [] and msg.type == "snapshot" and len(updates) == 3
    first = updates[0]
    assert first.exec_type is ExecType.TRADE and first.fill is not None
    fill = first.fill
    assert fill.exec_id == first.exec_id == "92301512-7a79-5138-b582-ac185223727d"
    assert first.instrument == InstrumentId("phemex", "BTCUSD")
    assert (first.cl_ord_id, first.side, first.order_type) == (
        "uuid-1573711480091",
        Side.BUY,
        OrderType.LIMIT,
    )
    assert (fill.qty, fill.price, fill.side) == (Decimal(2), Decimal("8688.5"), Side.BUY)
    assert fill.fee == Decimal("-0.00000005") and fill.fee_currency == "BTC"
    assert fill.liquidity is Liquidity.MAKER
    assert (first.status, first.cum_qty, first.leaves_qty) == (OrderStatus.FILLED, 2, 0)
    assert first.tif is TimeInForce.GTC and not first.post_only
    assert first.ts == fill.ts == 1573712555309040417


def test_aop_incremental_ack_then_taker_fill(refdata: phemex.PhemexRefdata, samples: Any) -> None:
    msg = aop(samples["aop"][1])
    orders, _ = schemas.decode_entries(msg.orders, schemas.ContractOrder, where="orders")

    ack, fill = (o.to_update(refdata.instrument("BTCUSD"), refdata) for o in orders)

    assert (ack.exec_type, ack.status, ack.leaves_qty, ack.price) == (
        ExecType.NEW,
        OrderStatus.NEW,
        4,
        Decimal("8677"),
    )
    assert ack.exec_id != fill.exec_id and ack.fill is None
    assert fill.exec_type is ExecType.TRADE and fill.fill is not None
    assert (fill.fill.liquidity, fill.fill.fee) == (Liquidity.TAKER, Decimal("3.5E-7"))


def test_an_event_replayed_keeps_its_exec_id(refdata: phemex.PhemexRefdata, samples: Any) -> None:
    one = aop(samples["aop"][1])
    two = aop(samples["aop"][1])
    ids = [
        [
            o.to_update(refdata.instrument("BTCUSD"), refdata).exec_id
            for o in schemas.decode_entries(m.orders, schemas.ContractOrder, where="orders")[0]
        ]
        for m in (one, two)
    ]

    assert ids[0] == ids[1]


def test_a_malformed_entry_does_not_stop_the_others(samples: Any) -> None:
    raw = json.loads(json.dumps(samples["aop"][0]))
    raw["orders"].insert(1, {"orderID": 5, "symbol": "BTCUSD"})
    msg = aop(raw)

    orders, errors = schemas.decode_entries(msg.orders, schemas.ContractOrder, where="aop.orders")

    assert len(orders) == 3 and len(errors) == 1
    assert str(errors[0]).startswith("phemex: aop.orders[1] is malformed")


def test_margin_account_is_a_balance_and_position_is_signed(
    refdata: phemex.PhemexRefdata, samples: Any
) -> None:
    msg = aop(samples["aop"][0])
    (account,), _ = schemas.decode_entries(msg.accounts, schemas.ContractAccount, where="accounts")
    (position,), _ = schemas.decode_entries(msg.positions, schemas.ContractPosition, where="p")

    btcusd = refdata.instrument("BTCUSD")
    balance = account.to_balance(refdata, ts=msg.timestamp)
    long = position.to_position(btcusd, refdata, ts=msg.timestamp)
    short = msgspec.structs.replace(position, side="Sell").to_position(btcusd, refdata, ts=0)
    flat = msgspec.structs.replace(position, side="None", size=0).to_position(btcusd, refdata, ts=0)

    assert (balance.venue, balance.currency) == ("phemex", "BTC")
    assert (balance.total, balance.locked) == (Decimal("1.00000024"), Decimal("0.00001222"))
    assert balance.available == Decimal("0.99998802")
    assert (long.qty, long.entry_price) == (9, Decimal("8687.5941"))
    assert long.unrealized_pnl == Decimal("-0.00000107")
    assert (short.qty, flat.qty, flat.entry_price) == (-9, 0, None)


def test_wallet_order_snapshot(refdata: phemex.PhemexRefdata, samples: Any) -> None:
    msg = msgspec.json.decode(json.dumps(samples["wo"][0]), type=schemas.WoMessage)
    spot = refdata.instrument("sBTCUSDT")
    (opened,), _ = schemas.decode_entries(msg.orders.open, schemas.SpotOrder, where="open")
    (closed,), _ = schemas.decode_entries(msg.orders.closed, schemas.SpotOrder, where="closed")
    (fill,), _ = schemas.decode_entries(msg.orders.fills, schemas.SpotFill, where="fills")
    wallets, _ = schemas.decode_entries(msg.wallets, schemas.SpotWallet, where="wallets")

    working = opened.to_update(spot, refdata)
    listed = opened.to_update(spot, refdata, state=True)
    done = closed.to_update(spot, refdata)
    filled = fill.to_update(spot, refdata, cum_qty=Decimal("0.0001"))

    assert (working.exec_type, working.status, working.qty, working.price) == (
        ExecType.NEW,
        OrderStatus.NEW,
        Decimal(1),
        Decimal(6665),
    )
    assert listed.exec_type is ExecType.ORDER_STATUS
    assert (done.exec_type, done.status, done.cum_qty) == (
        ExecType.ORDER_STATUS,
        OrderStatus.FILLED,
        Decimal("0.0001"),
    )
    assert filled.fill is not None and filled.exec_id == "8135ebe3-f767-577b-b70d-1a839d5178e0"
    assert (filled.fill.qty, filled.fill.price, filled.status) == (
        Decimal("0.0001"),
        Decimal(6690),
        OrderStatus.FILLED,
    )
    assert (filled.fill.fee_currency, filled.fill.liquidity) == ("BTC", Liquidity.TAKER)
    btc = next(w for w in wallets if w.currency == "BTC").to_balance(refdata, ts=0)
    assert (btc.total - btc.available, btc.locked) == (Decimal(1), Decimal(1))
    link = next(w for w in wallets if w.currency == "LINK")
    with pytest.raises(UnknownSymbolError, match="unknown currency 'LINK' on phemex"):
        link.to_balance(refdata, ts=0)


def test_rest_data_decodes_lists_rows_objects_and_null() -> None:
    row = {"orderID": "o", "symbol": "BTCUSD", "side": "Buy", "ordStatus": "New"}

    def rows(data: Any) -> list[schemas.ContractOrder]:
        raw = msgspec.Raw(json.dumps(data).encode())
        return schemas.decode_rows(raw, schemas.ContractOrder, where="data")[0]

    assert [o.order_id for o in rows([row, row])] == ["o", "o"]
    assert len(rows({"rows": [row]})) == 1 and len(rows(row)) == 1 and rows(None) == []
    with pytest.raises(DataError, match="phemex: data is malformed"):
        rows("text")


def test_funding_rows_are_not_fills_and_trade_rows_match_stream_fills(
    refdata: phemex.PhemexRefdata, samples: Any
) -> None:
    trade = schemas.ContractTrade(
        exec_id="x",
        order_id="0",
        symbol="BTCUSD",
        side="Buy",
        trade_type="Funding",
        exec_qty=700,
        exec_price_ep=1,
    )

    assert not trade.is_fill and msgspec.structs.replace(trade, trade_type="Trade").is_fill
    msg = aop(samples["aop"][0])
    (order, *_), _ = schemas.decode_entries(msg.orders, schemas.ContractOrder, where="orders")
    row = schemas.ContractTrade(
        exec_id=str(order.exec_id),
        order_id=order.order_id,
        cl_ord_id=order.cl_ord_id,
        symbol="BTCUSD",
        side="Buy",
        exec_qty=2,
        exec_price_ep=86885000,
        exec_fee_ev=-5,
        exec_status="MakerFill",
        currency="BTC",
        transact_time_ns=order.transact_time_ns,
    )
    btcusd = refdata.instrument("BTCUSD")
    assert row.to_fill(btcusd, refdata) == order.to_update(btcusd, refdata).fill


def test_order_type_is_inferred_when_phemex_sends_null(refdata: phemex.PhemexRefdata) -> None:
    def kind(price_ep: int, stop_px_ep: int) -> OrderType | None:
        order = schemas.ContractOrder(
            order_id="o",
            symbol="BTCUSD",
            side="Buy",
            ord_status="New",
            order_qty=1,
            price_ep=price_ep,
            stop_px_ep=stop_px_ep,
        )
        return order.to_update(refdata.instrument("BTCUSD"), refdata).order_type

    assert [kind(1, 0), kind(0, 0), kind(0, 1), kind(1, 1)] == [
        OrderType.LIMIT,
        OrderType.MARKET,
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
    ]


def test_rejected_order_names_the_venue_reason(refdata: phemex.PhemexRefdata) -> None:
    order = schemas.ContractOrder(
        order_id="o",
        cl_ord_id="c",
        symbol="BTCUSD",
        side="Buy",
        ord_status="Rejected",
        biz_error=11001,
        order_qty=1,
    )

    update = order.to_update(refdata.instrument("BTCUSD"), refdata)

    assert update.exec_type is ExecType.REJECTED
    assert update.text is not None and "11001" in update.text and "insufficient" in update.text
