"""Reconciliation's decisions, pure: venue snapshots against the orders we know."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from serenity.exchange.execution import OrderUpdate, VenueFill
from serenity.model import ExecType, InstrumentId, OrderStatus, OrderType, Side
from serenity.trading import Order, OrderFactory
from serenity.trading.connector import DifferenceKind, VenueSnapshot, reconcile

BTC = InstrumentId("memvenue", "BTCUSD")
T = 1_700_000_000_000_000_000
make = OrderFactory("acct", prefix="o-")


def working(qty: str = "1", cum: str = "0", vid: str = "v1", **kw: object) -> Order:
    order = make.limit(BTC, Side.BUY, qty, "100")
    order.order_id = int(order.cl_ord_id.split("-")[1])
    order.status = OrderStatus.PARTIALLY_FILLED if D(cum) else OrderStatus.NEW
    order.cum_qty = D(cum)
    order.venue_order_id = vid
    for k, v in kw.items():
        setattr(order, k, v)
    return order


def state(
    order_or_cl: Order | str, status: OrderStatus, cum: str = "0", **kw: object
) -> OrderUpdate:
    cl = order_or_cl if isinstance(order_or_cl, str) else order_or_cl.cl_ord_id
    vid = "x" if isinstance(order_or_cl, str) else order_or_cl.venue_order_id or "x"
    fields: dict[str, object] = dict(
        instrument=BTC,
        cl_ord_id=cl,
        venue_order_id=vid,
        exec_type=ExecType.ORDER_STATUS,
        status=status,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        qty=D(1),
        price=D(100),
        cum_qty=D(cum),
        ts=T,
    )
    fields.update(kw)
    return OrderUpdate(**fields)  # type: ignore[arg-type]


def fill(exec_id: str, vid: str, qty: str, ts: int = T, cl: str | None = None) -> VenueFill:
    return VenueFill(
        instrument=BTC,
        exec_id=exec_id,
        venue_order_id=vid,
        cl_ord_id=cl,
        side=Side.BUY,
        qty=D(qty),
        price=D(100),
        ts=ts,
    )


def snap(**kw: object) -> VenueSnapshot:
    return VenueSnapshot(venue="memvenue", ts=T + 1, **kw)  # type: ignore[arg-type]


def test_agreement_is_clean() -> None:
    order = working()
    plan = reconcile(snap(open_orders=[state(order, OrderStatus.NEW)]), [order])
    assert plan.is_clean and not plan.updates and not plan.adopt


def test_an_unknown_working_order_is_adopted_with_its_fills_counted_in() -> None:
    stranger = state("theirs", OrderStatus.PARTIALLY_FILLED, "0.4", venue_order_id="v9")
    plan = reconcile(snap(open_orders=[stranger], fills=[fill("f1", "v9", "0.4")]), [])
    assert plan.adopt == [stranger] and plan.covered == {"f1"} and not plan.updates
    assert [d.kind for d in plan.differences] == [DifferenceKind.ADOPTED]


def test_missed_fills_are_applied_once_in_time_order() -> None:
    order = working(qty="1")
    fills = [fill("f2", "v1", "0.3", T + 2), fill("f1", "v1", "0.2", T + 1)]
    plan = reconcile(
        snap(open_orders=[state(order, OrderStatus.PARTIALLY_FILLED, "0.5")], fills=fills),
        [order],
    )
    assert [(u.exec_id, u.cum_qty) for _, u in plan.updates] == [("f1", D("0.2")), ("f2", D("0.5"))]
    assert all(u.exec_type is ExecType.TRADE for _, u in plan.updates)
    again = reconcile(snap(fills=fills, open_orders=[]), [order], applied={"f1", "f2"}, closed={})
    assert not again.updates


def test_closed_orders_finish_with_the_venues_status() -> None:
    canceled, gone, pending, busy = working(vid="a"), working(vid="b"), working(vid=""), working()
    pending.status = OrderStatus.PENDING_NEW
    plan = reconcile(
        snap(),
        [canceled, gone, pending, busy],
        closed={
            canceled.cl_ord_id: state(canceled, OrderStatus.CANCELED),
            gone.cl_ord_id: None,
            pending.cl_ord_id: None,
            busy.cl_ord_id: None,
        },
        in_flight={busy.cl_ord_id},
    )
    kinds = {u.cl_ord_id: u.exec_type for _, u in plan.updates}
    assert kinds == {canceled.cl_ord_id: ExecType.CANCELED, gone.cl_ord_id: ExecType.EXPIRED}
    assert [(o.cl_ord_id, r) for o, r in plan.rejects] == [
        (pending.cl_ord_id, "memvenue never received the order")
    ]
    assert busy.cl_ord_id not in {d.cl_ord_id for d in plan.differences}


def test_a_vanished_order_without_fills_is_canceled_where_the_venue_purges_those() -> None:
    asked, sent, stranger, filled, caught = (working(vid=v) for v in "abcde")
    asked.status = OrderStatus.PENDING_CANCEL
    filled.status, filled.cum_qty = OrderStatus.PARTIALLY_FILLED, D("0.5")
    pending = working(vid="")
    pending.status = OrderStatus.PENDING_NEW
    orders = [asked, sent, stranger, filled, caught, pending]
    plan = reconcile(
        snap(fills=[fill("f1", "e", "0.1")]),  # ``caught`` filled meanwhile: not purged
        orders,
        closed={o.cl_ord_id: None for o in orders},
        cancels_sent={sent.cl_ord_id},
        purges_unfilled_cancels=True,
    )
    ends = {o.cl_ord_id: u.exec_type for o, u in plan.updates if u.exec_type is not ExecType.TRADE}
    assert ends == {
        asked.cl_ord_id: ExecType.CANCELED,
        sent.cl_ord_id: ExecType.CANCELED,
        stranger.cl_ord_id: ExecType.CANCELED,
        filled.cl_ord_id: ExecType.EXPIRED,
        caught.cl_ord_id: ExecType.EXPIRED,
    }
    texts = {o.cl_ord_id: u.text for o, u in plan.updates}
    assert (
        texts[asked.cl_ord_id] == "memvenue purged the order: canceled (as we asked) with no fills"
    )
    assert "not at our request" in (texts[stranger.cl_ord_id] or "")
    assert all(
        u.status is OrderStatus(u.exec_type)
        for _, u in plan.updates
        if u.exec_type is not ExecType.TRADE
    )
    assert [o for o, _ in plan.rejects] == [pending]
    unknown = {
        d.cl_ord_id: d.details
        for d in plan.differences
        if d.kind is DifferenceKind.UNKNOWN_TO_VENUE
    }
    assert set(unknown) == {o.cl_ord_id for o in orders}  # every one is still reported
    assert unknown[sent.cl_ord_id]["cancel_requested"] is True
    assert unknown[stranger.cl_ord_id]["cancel_requested"] is False
    assert unknown[caught.cl_ord_id]["cum_qty"] == "0.1"


def test_a_vanished_order_expires_by_default_even_with_a_cancel_asked() -> None:
    asked = working()
    asked.status = OrderStatus.PENDING_CANCEL
    plan = reconcile(snap(), [asked], closed={asked.cl_ord_id: None})
    ((_, update),) = plan.updates
    assert (update.exec_type, update.status) == (ExecType.EXPIRED, OrderStatus.EXPIRED)
    assert update.text == "memvenue no longer knows the order"
    assert update.exec_id == f"reconcile:expired:{asked.cl_ord_id}"
    ((kind, details),) = [(d.kind, d.details) for d in plan.differences]
    assert kind is DifferenceKind.UNKNOWN_TO_VENUE
    assert details["cancel_requested"] is True and details["ending"] == "expired"


def test_which_venues_purge_canceled_orders_without_fills() -> None:
    from serenity.trading.connector.binance import BinanceConnector
    from serenity.trading.connector.coinbase import CoinbaseConnector
    from serenity.trading.connector.phemex import PhemexConnector

    assert CoinbaseConnector.purges_unfilled_cancels
    assert not BinanceConnector.purges_unfilled_cancels  # archives them after 90 days (-2026)
    assert not PhemexConnector.purges_unfilled_cancels


def test_a_missed_ack_a_gap_a_late_and_a_foreign_fill_are_differences() -> None:
    acked = working()
    acked.status = OrderStatus.PENDING_NEW
    short = working(vid="v2")
    done = working(vid="v3")
    done.status = OrderStatus.CANCELED
    plan = reconcile(
        snap(
            open_orders=[state(acked, OrderStatus.NEW), state(short, OrderStatus.NEW, "0.5")],
            fills=[fill("late", "v3", "0.1"), fill("other", "v4", "0.1")],
        ),
        [acked, short, done],
    )
    kinds = [d.kind for d in plan.differences]
    assert kinds == [
        DifferenceKind.MISSED_ACK,
        DifferenceKind.LATE_FILL,
        DifferenceKind.FOREIGN_FILL,
        DifferenceKind.FILL_GAP,
    ]
    assert [(u.exec_type, u.status) for _, u in plan.updates] == [(ExecType.NEW, OrderStatus.NEW)]


@given(st.lists(st.integers(1, 9), min_size=1, max_size=12), st.sets(st.integers(0, 11)))
def test_fills_are_never_applied_twice_or_beyond_the_order(
    sizes: list[int], seen: set[int]
) -> None:
    total = sum(sizes)
    order = working(qty=str(total))
    fills = [fill(f"f{i}", "v1", str(q), T + i) for i, q in enumerate(sizes)]
    applied = {f"f{i}" for i in seen}
    plan = reconcile(snap(fills=fills, open_orders=[]), [order], applied=applied, closed={})
    ids = [u.exec_id for _, u in plan.updates]
    assert len(ids) == len(set(ids)) and not set(ids) & applied
    assert sum((u.fill.qty for _, u in plan.updates if u.fill), D(0)) <= total
    twice = reconcile(
        snap(fills=fills + fills, open_orders=[]), [order], applied=applied, closed={}
    )
    assert [u.exec_id for _, u in twice.updates] == ids
    assert replace(order).cum_qty == 0
