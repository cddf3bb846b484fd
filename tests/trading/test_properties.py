"""Invariants of the trading core under random order flow, in both replay modes."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.model import Side, TimeInForce
from serenity.trading import ExecutionReport, SimulatorConfig
from tests.trading.harness import BTC, Market, S, book

prices = st.integers(95, 105).map(float)


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(5, 120))
    times = sorted(draw(st.lists(st.integers(1, 600), min_size=n, max_size=n)))
    trades = [
        (t, draw(prices), draw(st.sampled_from([0.5, 1.0, 3.0])), draw(st.sampled_from([1, -1])))
        for t in times
    ]
    with_book = draw(st.booleans())
    books = (
        [book(0, bids=[(99.0, 4.0), (98.0, 6.0)], asks=[(101.0, 4.0), (102.0, 6.0)])]
        if with_book
        else []
    )
    actions = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["market", "limit", "limit", "stop", "cancel", "replace"]))
        actions.append(
            (
                draw(st.integers(0, 600)) + 0.5,
                kind,
                draw(st.sampled_from(["BUY", "SELL"])),
                draw(st.sampled_from([1, 2, 5])),
                draw(prices),
                draw(st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])),
            )
        )
    latency = draw(st.sampled_from([0, S // 4, 3 * S]))
    return {"trades": trades, "books": books, "actions": actions, "latency": latency}


def run(sc: dict[str, Any], *, batch: bool) -> tuple[Market, list[Any]]:
    m = Market(
        sc["trades"],
        sc["books"],
        config=SimulatorConfig(latency_ns=sc["latency"], taker_fee_bps=5),
        batch=batch,
        end_s=700,
    )
    submitted: list[Any] = []

    def act(kind: str, side: str, qty: int, px: float, tif: TimeInForce) -> None:
        f = m.factory
        if kind == "market":
            submitted.append(m.oms.submit(f.market(BTC, side, qty)))
        elif kind == "limit":
            submitted.append(m.oms.submit(f.limit(BTC, side, qty, px, tif)))
        elif kind == "stop":
            submitted.append(m.oms.submit(f.stop(BTC, side, qty, px)))
        elif submitted:
            target = submitted[int(px) % len(submitted)]
            if kind == "cancel":
                m.oms.cancel(target)
            elif target.price is not None:
                m.oms.replace(target, price=px, qty=target.qty + 1)

    for t, *args in sc["actions"]:
        m.at(t, lambda args=args: act(*args))
    m.run()
    return m, submitted


def fingerprint(m: Market) -> list[tuple[Any, ...]]:
    return [
        (
            type(e).__name__,
            getattr(e, "order_id", None),
            getattr(e, "exec_type", None),
            getattr(e, "status", None),
            getattr(e, "last_qty", None),
            getattr(e, "last_px", None),
            getattr(e, "ts", None),
        )
        for e in m.events
    ]


@settings(max_examples=120, deadline=None)
@given(scenario())
def test_batch_and_per_event_runs_publish_the_same_events(sc: dict[str, Any]) -> None:
    batched, _ = run(sc, batch=True)
    per_event, _ = run(sc, batch=False)
    assert fingerprint(batched) == fingerprint(per_event)


@settings(max_examples=120, deadline=None)
@given(scenario())
def test_no_overfill_and_position_is_the_sum_of_fills(sc: dict[str, Any]) -> None:
    m, submitted = run(sc, batch=True)
    for order in submitted:
        assert 0 <= order.cum_qty <= order.qty
        fills = m.fills(order)
        assert sum((f.last_qty for f in fills), D(0)) == order.cum_qty
    signed = sum((f.last_qty if f.side is Side.BUY else -f.last_qty for f in m.fills()), D(0))
    assert m.positions.qty("acct", BTC) == signed
    assert all(isinstance(f, ExecutionReport) for f in m.fills())
