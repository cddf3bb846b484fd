"""P&L at marks: sampled each minute and on fills, and the accounting identity."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.pnl import MarketdataMarkService, PnLService, PnLSnapshot
from serenity.position import Position
from serenity.position.service import apply_fill
from serenity.tau.event import Do
from serenity.trading import ContractSpec, SimulatorConfig
from tests.position.test_positions import fill
from tests.trading.harness import BTC, T0, Market, S, book


def test_pnl_is_sampled_every_minute_and_on_fills_at_the_mark() -> None:
    trades = [(30, 100.0, 1.0, 1), (90, 103.0, 1.0, 1), (150, 98.0, 1.0, -1)]
    m = Market(trades, config=SimulatorConfig(taker_fee_bps=10), end_s=180)
    marks = MarketdataMarkService(m.md, [BTC])
    pnl = PnLService(m.sched, m.positions, marks)
    snaps: list[PnLSnapshot] = []
    Do(m.sched.network, pnl.pnl, lambda: snaps.append(pnl.pnl.get_value()))
    m.submit_at(10, m.factory.market(BTC, "BUY", 2))  # fills at the t=30 trade: 2 @ 100
    m.run()
    times = [s.ts - T0 for s in snaps]
    assert times == [30 * S, 60 * S, 120 * S, 180 * S]  # the fill, then each minute
    by_time = {s.ts - T0: s.total("acct", "USD") for s in snaps}
    # Fee 10 bps of 200 = 0.2. At 2:00 the mark is 103: unrealised 2 * 3 = 6, net 5.8.
    t120 = by_time[120 * S]
    assert t120 is not None and (t120.unrealised, t120.fees, t120.net) == (D(6), D("0.2"), D("5.8"))
    # At 3:00 the mark is 98: 2 * -2 = -4.
    t180 = by_time[180 * S]
    assert t180 is not None and t180.unrealised == D(-4)


def test_mark_is_the_mid_of_a_two_sided_book_else_the_last_trade() -> None:
    books = [
        book(0, bids=[(99.0, 1.0)], asks=[(101.0, 1.0)]),
        book(20, bids=[], asks=[(101.0, 1.0)], seq=2),
    ]
    m = Market([(10, 97.0, 1.0, 1)], books, end_s=30)
    marks = MarketdataMarkService(m.md, [BTC])
    seen: list[float | None] = []
    for t in (5, 15, 25):
        m.at(t, lambda: seen.append(marks.mark(BTC)))
    m.run()
    assert seen == [100.0, 100.0, 97.0]


fills_strategy = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.integers(1, 50).map(lambda n: str(D(n) / 10)),
        st.integers(9000, 11000).map(lambda n: str(D(n) / 100)),
        st.integers(0, 30).map(lambda n: str(D(n) / 100)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(fills_strategy, st.integers(9000, 11000).map(lambda n: D(n) / 100))
def test_realised_plus_unrealised_less_fees_is_the_change_in_cash_plus_holdings(
    flow: list[tuple[str, str, str, str]], mark: D
) -> None:
    spec = ContractSpec(BTC, "USD")
    position = Position(account="a", instrument=BTC, currency="USD")
    cash = D(0)
    for side, qty, px, fee in flow:
        report = fill(side, qty, px, fee=fee)
        position = apply_fill(position, report, spec)
        signed = D(qty) if side == "buy" else -D(qty)
        cash -= signed * D(px) + D(fee)
    unrealised = spec.pnl(position.qty, position.avg_price, mark) if position.qty else D(0)
    # Exact but for the average entry price, a quotient rounded to 28 significant digits.
    identity = position.realised_pnl + unrealised - position.fees - (cash + position.qty * mark)
    assert abs(identity) < D("1e-20")
