"""The exchange simulator's fill rules, each in a hand-made scenario with its arithmetic."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from serenity.model import ExecType, Liquidity, OrderStatus, TimeInForce
from serenity.trading import CancelReject, ExecutionReport, SimulatorConfig
from tests.trading.harness import BTC, T0, Market, S, book, product

BOOK = book(0, bids=[(99.0, 5.0), (98.0, 10.0)], asks=[(100.0, 1.0), (101.0, 2.0), (102.0, 5.0)])


@pytest.fixture(params=[True, False], ids=["batch", "per_event"])
def batch(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_market_order_walks_the_book_level_by_level(batch: bool) -> None:
    m = Market([(50, 100.0, 1.0, 1)], [BOOK], config=SimulatorConfig(taker_fee_bps=10), batch=batch)
    order = m.submit_at(1, m.factory.market(BTC, "BUY", 2.5))
    m.run()
    fills = m.fills(order)
    # 1 @ 100 (the whole first level), then 1.5 @ 101 of the 2 there.
    assert [(f.last_qty, f.last_px) for f in fills] == [(D(1), D(100)), (D("1.5"), D(101))]
    assert all(f.liquidity is Liquidity.TAKER for f in fills)
    # Average over the levels taken: (1*100 + 1.5*101) / 2.5 = 251.5 / 2.5 = 100.6
    assert order.avg_px == D("100.6") and order.status is OrderStatus.FILLED
    # Taker fees of 10 bps on each fill's notional: 100 * 0.001 = 0.1 and 151.5 * 0.001 = 0.1515
    assert [f.fee for f in fills] == [D("0.1"), D("0.1515")]
    assert fills[0].fee_currency == "USD"


def test_market_order_remainder_waits_for_book_updates_without_retaking(batch: bool) -> None:
    thin = book(0, bids=[(99.0, 5.0)], asks=[(100.0, 1.0)])
    # The next update leaves 100 as it was (1.0 shown, which we already took) and adds 101.
    more = book(5, bids=[(99.0, 5.0)], asks=[(100.0, 1.0), (101.0, 4.0)], seq=2)
    m = Market([(50, 100.0, 1.0, 1)], [thin, more], batch=batch)
    order = m.submit_at(1, m.factory.market(BTC, "BUY", 3))
    m.run()
    assert [(f.last_qty, f.last_px, f.ts) for f in m.fills(order)] == [
        (D(1), D(100), T0 + 1 * S),  # what the book had at arrival
        (D(2), D(101), T0 + 5 * S),  # the rest from the new level only
    ]
    assert order.status is OrderStatus.FILLED


def test_market_order_without_books_fills_in_full_at_the_next_trade(batch: bool) -> None:
    m = Market([(5, 104.0, 0.1, 1), (12, 105.0, 0.01, -1), (13, 90.0, 1, 1)], batch=batch)
    order = m.submit_at(10, m.factory.market(BTC, "SELL", 2))
    m.run()
    [fill] = m.fills(order)
    # The first trade after arrival (t=12) sets the price, whatever its size.
    assert (fill.last_qty, fill.last_px, fill.ts) == (D(2), D(105), T0 + 12 * S)
    assert fill.liquidity is Liquidity.TAKER


def test_marketable_limit_takes_then_rests_at_its_price(batch: bool) -> None:
    m = Market([(50, 100.5, 1.0, 1)], [BOOK], batch=batch)
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 2, 100))
    m.run()
    [take] = m.fills(order)
    assert (take.last_qty, take.last_px, take.liquidity) == (D(1), D(100), Liquidity.TAKER)
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.leaves_qty == 1


def test_resting_order_fills_in_full_on_a_trade_through_its_price(batch: bool) -> None:
    trades = [(10, 99.5, 3.0, -1), (20, 98.5, 0.2, -1)]
    m = Market(trades, [BOOK], config=SimulatorConfig(maker_fee_bps=-1), batch=batch)
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 2, 99))
    m.run()
    [fill] = m.fills(order)
    # 98.5 prints strictly through 99: the whole order fills at its own price, as maker,
    # even though the trade was only 0.2; a rebate of 1 bp: 2 * 99 * -0.0001 = -0.0198
    assert (fill.last_qty, fill.last_px, fill.ts) == (D(2), D(99), T0 + 20 * S)
    assert fill.liquidity is Liquidity.MAKER and fill.fee == D("-0.0198")


def test_resting_order_at_price_waits_for_the_queue_ahead(batch: bool) -> None:
    # 5 were bid at 99 when we joined; trades at 99 eat that queue first.
    trades = [(10, 99.0, 3.0, -1), (11, 99.0, 1.0, -1), (12, 99.0, 2.0, -1), (13, 99.0, 5.0, -1)]
    m = Market(trades, [BOOK], batch=batch)
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 2, 99))
    m.run()
    fills = m.fills(order)
    # queue 5 -> 2 (t=10) -> 1 (t=11) -> -1 (t=12): 1 fills; then t=13 fills the last 1.
    assert [(f.last_qty, f.ts) for f in fills] == [(D(1), T0 + 12 * S), (D(1), T0 + 13 * S)]
    assert all(f.last_px == D(99) and f.liquidity is Liquidity.MAKER for f in fills)


def test_post_only_order_that_would_take_is_rejected(batch: bool) -> None:
    m = Market([(50, 100.0, 1.0, 1)], [BOOK], batch=batch)
    crossing = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 100, post_only=True))
    resting = m.submit_at(2, m.factory.limit(BTC, "BUY", 1, 99.5, post_only=True))
    m.run()
    assert crossing.status is OrderStatus.REJECTED and "post-only" in (crossing.reason or "")
    assert resting.status is OrderStatus.NEW and not m.fills()


@pytest.mark.parametrize(
    ("side", "stop", "prices", "trigger_at"),
    [
        ("BUY", 105.0, [104.0, 103.0, 105.5, 106.0], 2),  # rises to 105.5: triggers
        ("BUY", 105.0, [104.0, 103.0, 99.0, 95.0], None),  # falls: a buy stop never fires
        ("SELL", 95.0, [96.0, 97.0, 94.9, 94.0], 2),  # falls to 94.9: triggers
        ("SELL", 95.0, [96.0, 99.0, 105.0, 110.0], None),  # rises: a sell stop never fires
    ],
)
def test_stops_trigger_by_side(
    side: str, stop: float, prices: list[float], trigger_at: int | None, batch: bool
) -> None:
    trades = [(10 + i, p, 1.0, 1) for i, p in enumerate(prices)]
    m = Market(trades, batch=batch)
    order = m.submit_at(1, m.factory.stop(BTC, side, 1, stop))
    m.run()
    fills = m.fills(order)
    if trigger_at is None:
        assert not fills and order.status is OrderStatus.NEW
    else:
        # Triggered by trade k, it then acts as a market order: filled at trade k+1.
        [fill] = fills
        assert fill.ts == T0 + (10 + trigger_at + 1) * S
        assert fill.last_px == D(repr(prices[trigger_at + 1]))


def test_stop_limit_becomes_a_resting_limit_when_triggered(batch: bool) -> None:
    trades = [(10, 101.0, 1.0, 1), (11, 102.0, 1.0, 1), (12, 103.0, 1.0, 1), (13, 101.5, 1.0, -1)]
    m = Market(trades, batch=batch)
    order = m.submit_at(1, m.factory.stop_limit(BTC, "BUY", 1, 102, 101.8))
    m.run()
    # Triggered at 102 (t=11); 103 is above the 101.8 limit, so it rests; 101.5 trades through.
    [fill] = m.fills(order)
    assert (fill.ts, fill.last_px, fill.liquidity) == (T0 + 13 * S, D("101.8"), Liquidity.MAKER)


def test_ioc_remainder_expires_after_taking_what_the_book_has(batch: bool) -> None:
    m = Market([(50, 100.0, 1.0, 1)], [BOOK], batch=batch)
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 4, 101, TimeInForce.IOC))
    m.run()
    # 1 @ 100 and the 2 @ 101; nothing else within 101, so the last 1 expires.
    assert [(f.last_qty, f.last_px) for f in m.fills(order)] == [(D(1), D(100)), (D(2), D(101))]
    assert order.status is OrderStatus.EXPIRED and order.cum_qty == 3
    assert [e.exec_type for e in m.of(order) if isinstance(e, ExecutionReport)][
        -1
    ] is ExecType.EXPIRED


def test_fok_that_cannot_fill_in_full_expires_unfilled(batch: bool) -> None:
    m = Market([(50, 100.0, 1.0, 1)], [BOOK], batch=batch)
    order = m.submit_at(
        1, m.factory.limit(BTC, "BUY", 4, 101, TimeInForce.FOK)
    )  # only 3 within 101
    filled = m.submit_at(2, m.factory.limit(BTC, "BUY", 3, 101, TimeInForce.FOK))
    m.run()
    assert order.status is OrderStatus.EXPIRED and not m.fills(order)
    assert filled.status is OrderStatus.FILLED and filled.cum_qty == 3


def test_an_amend_that_arrives_after_the_fill_is_rejected(batch: bool) -> None:
    config = SimulatorConfig(latency_ns=1 * S)
    trades = [(10.5, 98.9, 1.0, -1)]
    m = Market(trades, [BOOK], config=config, batch=batch)
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 99))
    m.at(10, lambda: m.oms.replace(order, price=98))  # reaches the venue at 11
    m.run()
    # The trade through 99 at 10.5 fills the order before the amend arrives.
    [fill] = m.fills(order)
    assert fill.last_px == D(99) and fill.ts == T0 + int(10.5 * S)
    rejects = [e for e in m.of(order) if isinstance(e, CancelReject)]
    assert len(rejects) == 1 and rejects[0].is_replace and "too late" in rejects[0].reason
    assert order.status is OrderStatus.FILLED and order.price == D(99)


def test_an_amend_that_arrives_first_moves_the_order_out_of_the_way(batch: bool) -> None:
    config = SimulatorConfig(latency_ns=1 * S)
    trades = [(12, 98.9, 1.0, -1), (13, 97.5, 1.0, -1)]
    m = Market(trades, [BOOK], config=config, batch=batch)
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 99))
    m.at(10, lambda: m.oms.replace(order, price=98))  # arrives at 11, before the 98.9 print
    m.run()
    [fill] = m.fills(order)
    assert (fill.last_px, fill.ts) == (D(98), T0 + 13 * S)
    assert any(
        e.exec_type is ExecType.REPLACED for e in m.of(order) if isinstance(e, ExecutionReport)
    )


def test_a_cancel_racing_a_fill_is_resolved_in_time_order(batch: bool) -> None:
    config = SimulatorConfig(latency_ns=2 * S)
    trades = [(11, 98.0, 1.0, -1)]
    m = Market(trades, [BOOK], config=config, batch=batch)
    late = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 99))
    early = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 98.5))
    m.at(10, lambda: m.oms.cancel(late))  # arrives at 12: after the fill at 11
    m.at(8, lambda: m.oms.cancel(early))  # arrives at 10: before it
    m.run()
    assert late.status is OrderStatus.FILLED
    assert any(isinstance(e, CancelReject) and not e.is_replace for e in m.of(late))
    assert early.status is OrderStatus.CANCELED and not m.fills(early)


def test_day_orders_expire_at_the_utc_day_end_and_gtd_at_their_time(batch: bool) -> None:
    m = Market([(200_000, 1.0, 1.0, 1)], batch=batch)
    day = m.submit_at(3600, m.factory.limit(BTC, "BUY", 1, 50, TimeInForce.DAY))
    gtd = m.submit_at(
        3600, m.factory.limit(BTC, "BUY", 1, 50, TimeInForce.GTD, expire_ts=T0 + 7200 * S)
    )
    m.run()
    assert day.status is OrderStatus.EXPIRED and day.updated_ts == T0 + 86_400 * S
    assert gtd.status is OrderStatus.EXPIRED and gtd.updated_ts == T0 + 7200 * S


def test_inverse_contract_fees_are_in_the_settlement_currency(batch: bool) -> None:
    from serenity.model import InstrumentId, InstrumentType

    perp = InstrumentId("phemex", "BTCUSD")
    listing = product(
        venue="phemex",
        symbol="BTCUSD",
        instrument_type=InstrumentType.PERPETUAL_FUTURE,
        base="BTC",
        quote="USD",
        settle="BTC",
        contract_size=D(1),
        tick_size=D("0.5"),
        lot_size=D(1),
    )
    m = Market(
        [(5, 40_000.0, 10.0, 1)],
        config=SimulatorConfig(taker_fee_bps=7.5),
        products={perp: listing},
        batch=batch,
        instrument=perp,
    )
    order = m.submit_at(1, m.factory.market(perp, "BUY", 1000))
    m.run()
    [fill] = m.fills(order)
    # 1000 contracts of 1 USD at 40,000 are worth 0.025 BTC; 7.5 bps of that is 0.00001875 BTC.
    assert fill.fee == D("0.00001875") and fill.fee_currency == "BTC"


def test_same_inputs_give_the_same_fills() -> None:
    def run_once() -> list[tuple[object, ...]]:
        trades = [(5 + i, 100 + (i % 7) - 3, 0.5, 1 if i % 2 else -1) for i in range(200)]
        m = Market(trades, [BOOK], config=SimulatorConfig(latency_ns=S // 2))
        for i in range(0, 150, 10):
            m.submit_at(
                i + 0.1, m.factory.limit(BTC, "BUY" if i % 20 else "SELL", 1, 100 + (i % 5) - 2)
            )
        m.run()
        return [(f.exec_id, f.order_id, f.last_qty, f.last_px, f.ts) for f in m.fills()]

    assert run_once() == run_once()
