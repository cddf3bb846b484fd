"""The order manager's state machine: transitions, refusals and reports it will not apply."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.model import ExecType, OrderStatus
from serenity.trading import (
    CancelReject,
    ExecutionReport,
    Order,
    OrderError,
    OrderPlacerService,
    Reject,
    RejectSource,
)
from tests.trading.harness import BTC, T0, Market, S, book, product

BOOK = book(0, bids=[(99.0, 5.0)], asks=[(100.0, 1.0), (101.0, 2.0)])


def statuses(m: Market, order: object) -> list[OrderStatus]:
    return [e.status for e in m.of(order) if isinstance(e, ExecutionReport)]  # type: ignore[arg-type]


def fill_at_98(
    order: Order, exec_id: str, qty: D, *, cum_qty: D, status: OrderStatus, ts: int
) -> ExecutionReport:
    """Return a venue's report of a fill of ``qty`` at 98 on ``order`` (account ``acct``)."""
    return ExecutionReport(
        order_id=order.order_id,
        cl_ord_id=order.cl_ord_id,
        exec_id=exec_id,
        exec_type=ExecType.TRADE,
        status=status,
        account="acct",
        instrument=BTC,
        side=order.side,
        qty=order.qty,
        price=order.price,
        cum_qty=cum_qty,
        leaves_qty=max(order.qty - cum_qty, D(0)),
        ts=ts,
        last_qty=qty,
        last_px=D(98),
    )


def test_an_order_goes_pending_new_new_partially_filled_filled() -> None:
    m = Market([(10, 99.0, 2.0, -1), (11, 98.0, 1.0, -1)], [BOOK])
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 3, 99))
    m.run()
    # queue 5 ahead at 99: the 2 at 99 leave 3 ahead; the print at 98 fills all 3.
    assert statuses(m, order) == [OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.FILLED]
    partial = Market([(10, 99.0, 6.0, -1), (11, 98.0, 1.0, -1)], [BOOK])
    o2 = partial.submit_at(1, partial.factory.limit(BTC, "BUY", 3, 99))
    partial.run()
    assert statuses(partial, o2) == [
        OrderStatus.PENDING_NEW,
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,  # 6 traded at 99, 5 ahead: 1 fills
        OrderStatus.FILLED,
    ]
    assert [f.last_qty for f in partial.fills(o2)] == [D(1), D(2)]


def test_cancel_goes_through_pending_cancel() -> None:
    m = Market([], [BOOK])
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 98))
    m.at(2, lambda: m.oms.cancel(order))
    m.run()
    assert statuses(m, order) == [
        OrderStatus.PENDING_NEW,
        OrderStatus.NEW,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.CANCELED,
    ]
    assert not m.oms.working_orders()


def test_amend_goes_through_pending_replace_and_back_to_new() -> None:
    m = Market([], [BOOK])
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 98))
    m.at(2, lambda: m.oms.replace(order, price=97.5, qty=2))
    m.run()
    reports = [e for e in m.of(order) if isinstance(e, ExecutionReport)]
    assert [(r.exec_type, r.status) for r in reports][-2:] == [
        (ExecType.PENDING_REPLACE, OrderStatus.PENDING_REPLACE),
        (ExecType.REPLACED, OrderStatus.NEW),
    ]
    assert (order.price, order.qty) == (D("97.5"), D(2))


def test_an_overfill_is_an_error_and_never_applied() -> None:
    m = Market([], [BOOK])
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 98))

    def overfill() -> None:
        m.oms.apply(
            fill_at_98(order, "x-1", D(2), cum_qty=D(2), status=OrderStatus.FILLED, ts=T0 + 2 * S)
        )

    m.at(2, overfill)
    m.run()
    [error] = [e for e in m.events if isinstance(e, OrderError)]
    assert "overfill" in error.reason and error.order_id == order.order_id
    assert order.cum_qty == 0 and order.status is OrderStatus.NEW and m.oms.error_count == 1


def test_a_fill_on_a_finished_order_is_an_error() -> None:
    m = Market([], [BOOK])
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 98))
    m.at(2, lambda: m.oms.cancel(order))
    template: list[ExecutionReport] = []
    m.at(1.5, lambda: template.append(m.events[-1]))  # the NEW report

    def late_fill() -> None:
        report = dataclasses.replace(
            template[0], exec_id="late-1", exec_type=ExecType.TRADE, last_qty=D(1), last_px=D(98)
        )
        m.oms.apply(report)

    m.at(3, late_fill)
    m.run()
    errors = [e for e in m.events if isinstance(e, OrderError)]
    assert len(errors) == 1 and "canceled" in errors[0].reason
    assert order.status is OrderStatus.CANCELED and order.cum_qty == 0


def test_a_replayed_exec_id_is_applied_once() -> None:
    m = Market([(10, 100.0, 1.0, 1)], [BOOK])
    order = m.submit_at(1, m.factory.limit(BTC, "BUY", 2, 98))
    m.run()

    fill = fill_at_98(
        order, "venue-7", D(1), cum_qty=D(1), status=OrderStatus.PARTIALLY_FILLED, ts=T0 + 20 * S
    )
    m.oms.apply(fill)
    m.oms.apply(fill)
    assert order.cum_qty == 1 and len(m.fills(order)) == 1


def test_cancel_of_an_unknown_or_finished_order_is_a_cancel_reject() -> None:
    m = Market([], [BOOK])
    order = m.submit_at(1, m.factory.market(BTC, "BUY", 1))
    m.at(2, lambda: m.oms.cancel(order))  # already filled against the book
    m.at(3, lambda: m.oms.cancel(999))
    m.run()
    rejects = [e for e in m.events if isinstance(e, CancelReject)]
    assert [(r.order_id, r.status) for r in rejects] == [
        (order.order_id, OrderStatus.FILLED),
        (0, None),
    ]
    assert "unknown order" in rejects[1].reason


def test_local_filters_refuse_with_the_filter_named_and_never_reach_the_venue() -> None:
    m = Market([], [BOOK], products={BTC: product(min_qty=D("0.01"), min_notional=D(10))})
    bad_tick = m.submit_at(1, m.factory.limit(BTC, "BUY", 1, 98.005))
    bad_lot = m.submit_at(1, m.factory.limit(BTC, "BUY", "0.0105", 98))
    small = m.submit_at(1, m.factory.limit(BTC, "BUY", "0.005", 98))
    tiny = m.submit_at(1, m.factory.limit(BTC, "BUY", "0.05", 98))  # 4.90 < 10
    m.run()
    reasons = {}
    for order in (bad_tick, bad_lot, small, tiny):
        [reject] = [e for e in m.of(order) if isinstance(e, Reject)]
        assert reject.source is RejectSource.VALIDATION and order.status is OrderStatus.REJECTED
        reasons[order.cl_ord_id] = reject.reason
    assert "tick_size filter" in reasons[bad_tick.cl_ord_id]
    assert "lot_size filter" in reasons[bad_lot.cl_ord_id]
    assert "min_qty filter" in reasons[small.cl_ord_id]
    assert "min_notional filter" in reasons[tiny.cl_ord_id]
    assert not [
        e for e in m.events if isinstance(e, ExecutionReport) and e.exec_type is ExecType.NEW
    ]


def test_an_order_cannot_be_submitted_twice() -> None:
    m = Market([], [BOOK])
    order = m.factory.limit(BTC, "BUY", 1, 98)
    m.oms.submit(order)
    with pytest.raises(InvalidValueError, match="already submitted"):
        m.oms.submit(order)


def test_an_account_without_a_placer_is_rejected_by_name() -> None:
    m = Market([], [BOOK])
    placers = OrderPlacerService()
    with pytest.raises(UnknownSymbolError, match="simulator:deflt"):
        placers.get("simulator:deflt")
    m.placers.register("simulator:other", m.sim)
    order = m.submit_at(1, m.factory.market(BTC, "BUY", 1))
    m.run()
    assert order.status is OrderStatus.REJECTED and "no order placer routed" in (order.reason or "")


def test_adopt_takes_over_a_working_order_placed_elsewhere() -> None:
    m = Market([(10, 99.0, 1.0, -1)], [BOOK])
    found = m.factory.limit(BTC, "BUY", 2, 98)
    found.status, found.cum_qty, found.avg_px = OrderStatus.PARTIALLY_FILLED, D("0.5"), D(98)
    found.venue_order_id = "v-7"
    adopted = []
    m.at(1, lambda: adopted.append(m.oms.adopt(found)))
    m.run()
    (order,) = adopted
    assert order is found and order.order_id > 0 and m.oms.working_orders() == [order]
    assert m.oms.get_by_cl_ord_id("acct", found.cl_ord_id) is order
    (event,) = m.of(order)
    assert isinstance(event, ExecutionReport) and event.exec_type is ExecType.ORDER_STATUS
    assert (event.status, event.cum_qty, event.venue_order_id) == (
        OrderStatus.PARTIALLY_FILLED,
        D("0.5"),
        "v-7",
    )
    # it is managed like any order: a fill completes it, a second adoption is refused
    m.oms.apply(
        dataclasses.replace(
            event,
            exec_id="f-1",
            exec_type=ExecType.TRADE,
            last_qty=D("1.5"),
            last_px=D(97),
        )
    )
    assert order.status is OrderStatus.FILLED and order.avg_px == D("97.25")
    with pytest.raises(InvalidValueError, match="already managed"):
        m.oms.adopt(order)
    done = m.factory.limit(BTC, "BUY", 1, 98)
    done.status = OrderStatus.CANCELED
    with pytest.raises(InvalidValueError, match="only a working order can be adopted"):
        m.oms.adopt(done)
