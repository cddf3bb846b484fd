"""The shared connector body against an in-memory venue: requests as tasks, reports back
through the order manager, the failure policy, stream entries and reconciliation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from serenity.errors import AuthError
from serenity.model import OrderStatus, Side
from serenity.tau import RealtimeNetworkScheduler
from serenity.tau.event import Do
from serenity.trading import (
    CancelReject,
    ExecutionReport,
    OrderEvent,
    OrderFactory,
    OrderManagerService,
    Reject,
    RejectSource,
)
from serenity.trading.connector import DifferenceKind
from tests.polling import until
from tests.trading.connector.memory_venue import BTC, MemoryConnector, errors, wire

Wired = tuple[RealtimeNetworkScheduler, MemoryConnector, OrderManagerService, list[OrderEvent]]


@pytest.fixture
async def wired() -> AsyncIterator[Wired]:
    scheduler, connector, oms = wire()
    events: list[OrderEvent] = []
    Do(scheduler.network, oms.order_events, lambda: events.append(oms.order_events.get_value()))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(scheduler.run())
        runner = tg.create_task(connector.run())
        await until(lambda: connector.is_ready, 5, what="the connector to be ready")
        yield scheduler, connector, oms, events
        connector.stop()
        await runner
        scheduler.shutdown()


factory = OrderFactory("acct", prefix="c")


def bid(qty: str = "1", price: str = "100") -> object:
    return factory.limit(BTC, Side.BUY, qty, price)


async def test_an_order_is_sent_as_a_task_and_its_reports_reach_the_order_manager(
    wired: Wired,
) -> None:
    _, venue, oms, events = wired
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    assert order.status is OrderStatus.PENDING_NEW  # nothing answered inside the cycle
    await until(lambda: order.status is OrderStatus.NEW)
    venue.push(venue.venue_fill(order.cl_ord_id, "0.4", "99.5"))
    venue.push(venue.venue_fill(order.cl_ord_id, "0.6", "100"))
    await until(lambda: order.status is OrderStatus.FILLED)
    fills = [e for e in events if isinstance(e, ExecutionReport) and e.is_fill]
    assert [(f.last_qty, f.last_px) for f in fills] == [
        (Decimal("0.4"), Decimal("99.5")),
        (Decimal("0.6"), Decimal("100")),
    ]
    assert order.avg_px == Decimal("99.8") and fills[0].fee == Decimal("0.01")
    assert order.venue_order_id == venue.book[order.cl_ord_id].venue_order_id


async def test_an_order_breaking_a_filter_is_refused_locally_naming_the_filter() -> None:
    scheduler, connector, _ = wire()
    seen: list[OrderEvent] = []

    class Sink:
        def apply(self, event: OrderEvent) -> None:
            seen.append(event)

    connector.bind(Sink())
    runner = asyncio.create_task(scheduler.run())
    try:
        connector.submit(factory.limit(BTC, Side.BUY, "1", "100.2"))  # tick 0.5
        await until(lambda: seen)
    finally:
        scheduler.shutdown()
        await runner
    (reject,) = seen
    assert isinstance(reject, Reject) and reject.source is RejectSource.VALIDATION
    assert "tick_size filter" in reject.reason and "100.2" in reject.reason
    assert connector.calls == []  # never reached the venue


async def test_a_venue_refusal_is_a_venue_reject(wired: Wired) -> None:
    _, venue, oms, events = wired
    venue.fail("place", errors()["refused"])
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    await until(lambda: order.status is OrderStatus.REJECTED)
    (reject,) = [e for e in events if isinstance(e, Reject)]
    assert reject.source is RejectSource.VENUE and "insufficient balance" in reject.reason


async def test_an_unknown_outcome_is_settled_by_querying_the_order(wired: Wired) -> None:
    _, venue, oms, _ = wired
    real_place = venue.place

    async def place_then_time_out(order, product):  # type: ignore[no-untyped-def]
        await real_place(order, product)  # the venue took it ...
        raise errors()["unknown"]  # ... but the answer was lost

    venue.place = place_then_time_out  # type: ignore[method-assign]
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    await until(lambda: order.status is OrderStatus.NEW)
    assert "query" in venue.calls and order.venue_order_id is not None


async def test_an_order_the_venue_never_got_is_rejected_after_the_queries(wired: Wired) -> None:
    _, venue, oms, _ = wired
    venue.fail("place", errors()["unknown"])
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    await until(lambda: order.status is OrderStatus.REJECTED)
    assert venue.calls.count("query") == 3 and venue.calls.count("place") == 1
    assert "does not know it" in (order.reason or "")


async def test_a_cancel_that_lost_the_race_with_a_fill_is_rejected_and_the_fill_counts(
    wired: Wired,
) -> None:
    _, venue, oms, events = wired
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    await until(lambda: order.status is OrderStatus.NEW)
    fill = venue.venue_fill(order.cl_ord_id, "1")  # filled on the venue ...
    oms.cancel(order)  # ... as we ask to cancel
    venue.push(fill)
    await until(lambda: any(isinstance(e, CancelReject) for e in events))
    assert order.status is OrderStatus.FILLED and order.cum_qty == 1


async def test_amend_reports_the_new_terms(wired: Wired) -> None:
    _, venue, oms, _ = wired
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    await until(lambda: order.status is OrderStatus.NEW)
    oms.replace(order, price="99")
    await until(lambda: order.price == Decimal("99") and order.status is OrderStatus.NEW)
    venue.fail("amend", errors()["refused"])
    oms.replace(order, qty="2")
    await until(lambda: order.status is OrderStatus.NEW and venue.calls.count("amend") == 2)
    assert order.qty == 1


async def test_stream_entries_of_unknown_orders_do_not_stop_the_others(wired: Wired) -> None:
    _, venue, oms, _ = wired
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    await until(lambda: order.status is OrderStatus.NEW)
    stranger = venue.venue_order("not-ours")
    fill = venue.venue_fill(order.cl_ord_id, "1")
    venue.push(stranger, fill)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert any(d.kind is DifferenceKind.UNKNOWN_ORDER for d in venue.differences)
    # reconciliation adopts the stranger
    adopted = None
    await until(lambda: oms.get_by_cl_ord_id("acct", "not-ours") is not None)
    adopted = oms.get_by_cl_ord_id("acct", "not-ours")
    assert adopted is not None and adopted.status is OrderStatus.NEW


async def test_reconciliation_applies_missed_fills_once_and_finishes_closed_orders(
    wired: Wired,
) -> None:
    _, venue, oms, events = wired
    a = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    b = oms.submit(factory.limit(BTC, Side.BUY, "1", "99"))
    await until(lambda: a.status is OrderStatus.NEW and b.status is OrderStatus.NEW)
    venue.venue_fill(a.cl_ord_id, "0.25")  # fills while the stream was down
    venue.venue_fill(a.cl_ord_id, "0.25")
    venue.book[b.cl_ord_id] = venue.book[b.cl_ord_id].__class__(
        **{**_fields(venue.book[b.cl_ord_id]), "status": OrderStatus.CANCELED}
    )
    plan = await venue.reconcile_now()
    await until(lambda: b.status is OrderStatus.CANCELED and a.cum_qty == Decimal("0.5"))
    again = await venue.reconcile_now()
    kinds = [d.kind for d in plan.differences]
    assert kinds.count(DifferenceKind.MISSED_FILL) == 2
    assert DifferenceKind.CLOSED_ON_VENUE in kinds
    assert again.is_clean
    fills = [e for e in events if isinstance(e, ExecutionReport) and e.is_fill]
    assert len(fills) == 2 and a.status is OrderStatus.PARTIALLY_FILLED


async def test_an_order_the_venue_no_longer_knows_expires_by_default(wired: Wired) -> None:
    _, venue, oms, events = wired
    order = oms.submit(factory.limit(BTC, Side.BUY, "1", "100"))
    await until(lambda: order.status is OrderStatus.NEW)
    del venue.book[order.cl_ord_id]  # gone, and the cancel's answer lost: queries find none
    venue.fail("cancel", errors()["unknown"])
    oms.cancel(order)
    await until(lambda: any(isinstance(e, CancelReject) for e in events))

    plan = await venue.reconcile_now()

    await until(lambda: order.status is OrderStatus.EXPIRED)
    (difference,) = plan.differences
    assert difference.kind is DifferenceKind.UNKNOWN_TO_VENUE
    assert difference.details["cancel_requested"] is True
    assert not venue.purges_unfilled_cancels


async def test_a_refused_key_fails_the_run_with_one_clear_error() -> None:
    scheduler, connector, _ = wire()
    connector.fail("snapshot", errors()["auth"])
    with pytest.raises(AuthError, match="memvenue: bad key"):
        await asyncio.wait_for(connector.run(), 5)


def _fields(update: object) -> dict[str, object]:
    return {name: getattr(update, name) for name in update.__dataclass_fields__}  # type: ignore[attr-defined]
