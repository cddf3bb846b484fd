"""Positions from fills: netting, average entry, flips through zero, realised P&L, fees."""

from __future__ import annotations

from decimal import Decimal as D

from serenity.model import ExecType, InstrumentId, OrderStatus, Side
from serenity.position import Position
from serenity.position.service import apply_fill
from serenity.trading import ContractSpec, ExecutionReport
from tests.trading.harness import BTC, Market, book

PERP = InstrumentId("phemex", "BTCUSD")


def fill(
    side: str, qty: str, px: str, *, fee: str = "0", ccy: str = "USD", inst: InstrumentId = BTC
) -> ExecutionReport:
    return ExecutionReport(
        order_id=1,
        cl_ord_id="c",
        exec_id="e",
        exec_type=ExecType.TRADE,
        status=OrderStatus.FILLED,
        account="a",
        instrument=inst,
        side=Side(side),
        qty=D(qty),
        price=None,
        cum_qty=D(qty),
        leaves_qty=D(0),
        ts=1,
        last_qty=D(qty),
        last_px=D(px),
        fee=D(fee),
        fee_currency=ccy,
    )


def replay(spec: ContractSpec, *fills: ExecutionReport) -> list[Position]:
    p = Position(account="a", instrument=spec.instrument, currency=spec.currency)
    out = []
    for f in fills:
        p = apply_fill(p, f, spec)
        out.append(p)
    return out


def test_linear_netting_with_a_flip_through_zero() -> None:
    spec = ContractSpec(BTC, "USD")
    steps = replay(
        spec,
        fill("buy", "2", "100", fee="0.2"),
        fill("buy", "1", "106", fee="0.1"),
        fill("sell", "4", "110", fee="0.4"),
        fill("buy", "1", "105", fee="0.1", ccy="BNB"),
    )
    # (2*100 + 1*106) / 3 = 102
    assert (steps[1].qty, steps[1].avg_price) == (D(3), D(102))
    # Selling 4 closes 3 at 110: 3 * (110 - 102) = 24; the 4th opens a short at 110.
    assert (steps[2].qty, steps[2].avg_price, steps[2].realised_pnl) == (D(-1), D(110), D(24))
    # Buying 1 back at 105 closes the short: -1 * (105 - 110) = +5, so 29 in all; flat.
    assert (steps[3].qty, steps[3].avg_price, steps[3].realised_pnl) == (D(0), None, D(29))
    # USD fees 0.2 + 0.1 + 0.4 = 0.7; the BNB fee is kept apart.
    assert steps[3].fees == D("0.7") and steps[3].other_fees == {"BNB": D("0.1")}


def test_inverse_contract_pnl_is_in_the_settlement_currency() -> None:
    spec = ContractSpec(PERP, "BTC", D(1), is_inverse=True)
    steps = replay(
        spec,
        fill("buy", "100", "40000", ccy="BTC", inst=PERP),
        fill("buy", "100", "50000", ccy="BTC", inst=PERP),
        fill("sell", "200", "50000", ccy="BTC", inst=PERP),
    )
    # Harmonic average entry: 200 / (100/40000 + 100/50000) = 200 / 0.0045 = 44444.44...
    assert steps[1].avg_price == D(200) / (D(100) / D(40000) + D(100) / D(50000))
    # Closing 200 at 50,000: 200 * (1/44444.44 - 1/50000) = 200 * (0.0045/200 - 0.00002)
    # = 0.0045 - 0.004 = 0.0005 BTC (what the first 100 made; the second 100 made nothing).
    assert abs(steps[2].realised_pnl - D("0.0005")) < D("1e-20")
    assert steps[2].currency == "BTC" and steps[2].qty == 0


def test_position_service_follows_the_order_managers_fills() -> None:
    m = Market([], [book(0, bids=[(99.0, 5.0)], asks=[(100.0, 1.0), (101.0, 5.0)])])
    m.submit_at(1, m.factory.market(BTC, "BUY", 2))  # 1 @ 100, 1 @ 101
    seen: list[Position] = []
    from serenity.tau.event import Do

    signal = m.positions.get_position("acct", BTC)
    Do(m.sched.network, signal, lambda: seen.append(signal.get_value()))
    m.run()
    assert [p.qty for p in seen] == [D(1), D(2)]
    assert m.positions.position("acct", BTC).avg_price == D("100.5")
    assert m.positions.qty("acct", BTC) == D(2) and m.positions.qty("other", BTC) == 0
