"""The Binance connector against the loopback Binance venue: every scenario of issue 14."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from serenity.errors import AuthError, SerenityError
from serenity.exchange.binance import parse_exchange_info
from serenity.model import InstrumentId, Liquidity, OrderStatus, Side
from serenity.secret import Secret
from serenity.tau import RealtimeNetworkScheduler
from serenity.trading import (
    CancelReject,
    ExecutionReport,
    OrderEvent,
    OrderFactory,
    OrderManagerService,
    Reject,
    RejectSource,
)
from serenity.trading.connector import ConnectorSettings, Credentials, DifferenceKind, RateLimit
from serenity.trading.connector.binance import BinanceConnector
from tests.polling import until
from tests.trading.connector.binance_venue import API_KEY, SECRET, BinanceVenue
from tests.trading.connector.wiring import connector_running, order_manager
from tests.venues import payload

BTC = InstrumentId("binance", "BTCUSDT")
PRODUCTS = {BTC: parse_exchange_info(payload("binance", "exchange_info")).get("BTCUSDT")}
SETTINGS = ConnectorSettings(
    heartbeat_s=0.5,
    stall_timeout_s=5.0,
    backoff_initial_s=0.05,
    backoff_max_s=0.2,
    query_delay_s=0.02,
    reconcile_retry_s=0.1,
)


def credentials(secret: str = SECRET, key: str = API_KEY) -> Credentials:
    return Credentials("binance", Secret(key), Secret(secret))


@dataclass
class Rig:
    venue: BinanceVenue
    connector: BinanceConnector
    oms: OrderManagerService
    events: list[OrderEvent] = field(default_factory=list)
    factory: OrderFactory = field(default_factory=lambda: OrderFactory("acct", prefix="t-"))

    def bid(self, qty: str = "0.1", price: str = "99") -> Any:
        return self.oms.submit(self.factory.limit(BTC, Side.BUY, qty, price))

    def of(self, kind: type, order: Any = None) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and (order is None or e.order_id == order.order_id)
        ]


def connector_for(
    venue: BinanceVenue, scheduler: RealtimeNetworkScheduler, **kwargs: Any
) -> BinanceConnector:
    return BinanceConnector(
        credentials=kwargs.pop("credentials", credentials()),
        account="acct",
        scheduler=scheduler,
        products=PRODUCTS,
        rest_url=venue.rest_url,
        stream_url=f"{venue.ws_url}/ws-api/v3",
        settings=SETTINGS,
        **kwargs,
    )


@asynccontextmanager
async def rig_on(venue: BinanceVenue, **kwargs: Any) -> AsyncIterator[Rig]:
    scheduler = RealtimeNetworkScheduler()
    connector = connector_for(venue, scheduler, **kwargs)
    events: list[OrderEvent] = []
    oms = order_manager(
        scheduler, connector, placer="binance:testnet", products=PRODUCTS, events=events
    )

    async def started() -> None:
        # reconciled at start and again once the user data stream was subscribed
        await until(lambda: connector.stream_ready and connector.reconciliations >= 2, 10)

    async with connector_running(scheduler, connector, started):
        yield Rig(venue, connector, oms, events)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with BinanceVenue() as venue:
        async with rig_on(venue) as r:
            yield r


async def test_an_accepted_order_rests_on_the_venue_under_our_client_id(rig: Rig) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    (resting,) = rig.venue.open_orders()
    assert (resting.client_id, resting.qty, resting.price) == (
        order.cl_ord_id,
        Decimal("0.1"),
        Decimal("99"),
    )
    assert order.venue_order_id == str(resting.order_id)
    assert rig.venue.locked["USDT"] == Decimal("9.9")
    await until(lambda: rig.connector.positions.get_balance("USDT") is not None)
    await until(lambda: rig.connector.positions.get_balance("USDT").locked == Decimal("9.9"))  # type: ignore[union-attr]


async def test_a_market_order_fills_on_arrival_from_the_order_answer(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.market(BTC, Side.BUY, "0.1"))
    await until(lambda: order.status is OrderStatus.FILLED)
    (fill,) = rig.of(ExecutionReport, order)[-1:]
    fills = [e for e in rig.of(ExecutionReport, order) if e.is_fill]
    assert len(fills) == 1  # the answer's fill and the stream's are one exec id
    assert (fills[0].last_px, fills[0].liquidity) == (Decimal("100.01"), Liquidity.TAKER)
    assert fills[0].fee == Decimal("0.01000100") and fills[0].fee_currency == "USDT"


async def test_partial_fills_then_the_rest(rig: Rig) -> None:
    order = rig.bid("0.1", "99")
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.fill(order.cl_ord_id, "0.04")
    await until(lambda: order.status is OrderStatus.PARTIALLY_FILLED)
    await rig.venue.fill(order.cl_ord_id, price="98.5")
    await until(lambda: order.status is OrderStatus.FILLED)
    fills = [e for e in rig.of(ExecutionReport, order) if e.is_fill]
    assert [(f.last_qty, f.last_px) for f in fills] == [
        (Decimal("0.04"), Decimal("99")),
        (Decimal("0.06"), Decimal("98.5")),
    ]
    assert order.avg_px == Decimal("98.7") and fills[0].liquidity is Liquidity.MAKER


async def test_a_fill_after_the_cancel_request_wins_and_the_cancel_is_rejected(rig: Rig) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    rig.venue.fill_before_cancel(order.cl_ord_id)
    rig.oms.cancel(order)
    await until(lambda: rig.of(CancelReject, order))
    await until(lambda: order.status is OrderStatus.FILLED)
    (reject,) = rig.of(CancelReject, order)
    assert "code -2011" in reject.reason and "Unknown order sent." in reject.reason
    assert order.cum_qty == Decimal("0.1")


async def test_a_refused_cancel_leaves_the_order_working(rig: Rig) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    rig.venue.fail_next(
        "DELETE",
        "/api/v3/order",
        400,
        {"code": -2011, "msg": "Order was not canceled due to cancel restrictions."},
    )
    rig.oms.cancel(order)
    await until(lambda: rig.of(CancelReject, order))
    assert order.status is OrderStatus.NEW and rig.venue.open_orders()
    rig.oms.cancel(order)
    await until(lambda: order.status is OrderStatus.CANCELED)
    assert not rig.venue.open_orders()


async def test_amends_cut_in_place_or_cancel_replace(rig: Rig) -> None:
    order = rig.bid("0.1", "99")
    await until(lambda: order.status is OrderStatus.NEW)
    first_id = order.venue_order_id
    rig.oms.replace(order, qty="0.06")  # a cut keeps the order and its place
    await until(lambda: order.qty == Decimal("0.06") and order.status is OrderStatus.NEW)
    assert order.venue_order_id == first_id
    assert rig.venue.by_client_id(order.cl_ord_id).qty == Decimal("0.06")
    rig.oms.replace(order, price="98.5")  # a new price is a cancel-replace
    await until(lambda: order.price == Decimal("98.5") and order.status is OrderStatus.NEW)
    (resting,) = rig.venue.open_orders()
    assert resting.price == Decimal("98.5") and resting.qty == Decimal("0.06")
    assert order.venue_order_id == str(resting.order_id) != first_id
    assert resting.client_id == f"{order.cl_ord_id}.r1"
    await rig.venue.fill(resting.client_id)  # fills of the new venue order are this order's
    await until(lambda: order.status is OrderStatus.FILLED)
    assert order.cum_qty == Decimal("0.06") and not rig.of(CancelReject)
    assert not any(d.kind is DifferenceKind.UNKNOWN_ORDER for d in rig.connector.differences)


async def test_insufficient_balance_is_a_venue_reject() -> None:
    async with BinanceVenue(balances={"USDT": "5", "BTC": "0"}) as venue:
        async with rig_on(venue) as rig:
            order = rig.bid("0.1", "99")
            await until(lambda: order.status is OrderStatus.REJECTED)
            (reject,) = rig.of(Reject, order)
    assert reject.source is RejectSource.VENUE
    assert "code -2010" in reject.reason and "insufficient balance" in reject.reason


async def test_an_order_breaking_a_filter_never_leaves(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(BTC, Side.BUY, "0.1", "99.005"))
    spot = rig.oms.submit(rig.factory.market(BTC, Side.SELL, "0.1", reduce_only=True))
    await until(lambda: order.is_terminal and spot.is_terminal)
    assert "tick_size filter" in (order.reason or "")
    assert "no reduce-only" in (spot.reason or "")
    assert ("POST", "/api/v3/order") not in calls(rig.venue)


async def test_an_expired_recv_window_is_signed_again_and_goes_through(rig: Rig) -> None:
    rig.venue.expire_next(1)
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    assert ("/api/v3/order", -1021) in rig.venue.refusals
    assert len(rig.venue.open_orders()) == 1


@pytest.mark.parametrize("skew_ms", [-4_000, 30_000])
async def test_clock_skew_is_measured_and_corrected(skew_ms: int) -> None:
    async with BinanceVenue() as venue:
        venue.skew_ms = skew_ms  # the venue's clock behind or ahead of ours
        async with rig_on(venue) as rig:
            order = rig.bid()
            await until(lambda: order.status is OrderStatus.NEW)
            offset = rig.connector.rest.clock_offset_ms
    assert abs(offset - skew_ms) < 500
    assert [code for _, code in venue.refusals] == [-1021]  # once, then corrected


async def test_fills_while_the_private_stream_was_down_are_applied_once(rig: Rig) -> None:
    order = rig.bid("0.1", "99")
    await until(lambda: order.status is OrderStatus.NEW)
    reconciled = rig.connector.reconciliations
    subscriptions = rig.venue.subscriptions
    await rig.venue.drop_user_streams()
    await rig.venue.fill(order.cl_ord_id, "0.03")  # nobody is listening
    await rig.venue.fill(order.cl_ord_id, "0.02")
    await until(lambda: rig.venue.subscriptions > subscriptions)  # reconnected
    await until(lambda: rig.connector.reconciliations > reconciled)
    await until(lambda: order.cum_qty == Decimal("0.05"))
    await rig.venue.fill(order.cl_ord_id)  # and the stream works again
    await until(lambda: order.status is OrderStatus.FILLED)
    fills = [e for e in rig.of(ExecutionReport, order) if e.is_fill]
    assert [f.last_qty for f in fills] == [Decimal("0.03"), Decimal("0.02"), Decimal("0.05")]
    missed = [d for d in rig.connector.differences if d.kind is DifferenceKind.MISSED_FILL]
    assert len(missed) == 2
    await rig.connector.reconcile_now()
    assert len([e for e in rig.of(ExecutionReport, order) if e.is_fill]) == 3


async def test_an_ended_subscription_is_opened_again(rig: Rig) -> None:
    subscriptions = rig.venue.subscriptions
    await rig.venue.terminate_subscriptions()
    await until(lambda: rig.venue.subscriptions > subscriptions)
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.fill(order.cl_ord_id)
    await until(lambda: order.status is OrderStatus.FILLED)


async def test_a_restart_adopts_the_orders_left_open_on_the_venue() -> None:
    async with BinanceVenue() as venue:
        await venue.add_order("earlier-run-7", "BUY", "0.2", "97")
        left = await venue.add_order("earlier-run-8", "SELL", "0.1", "103")
        await venue.fill(left.client_id, "0.04")
        async with rig_on(venue) as rig:
            await until(lambda: rig.oms.get_by_cl_ord_id("acct", "earlier-run-8") is not None)
            adopted = rig.oms.get_by_cl_ord_id("acct", "earlier-run-8")
            assert adopted is not None and adopted.cum_qty == Decimal("0.04")
            assert adopted.status is OrderStatus.PARTIALLY_FILLED
            assert len(rig.oms.working_orders()) == 2
            rig.oms.cancel_all()
            await until(lambda: not venue.open_orders())
            await until(lambda: not rig.oms.working_orders())
            kinds = [d.kind for d in rig.connector.differences]
    assert kinds.count(DifferenceKind.ADOPTED) == 2
    assert DifferenceKind.MISSED_FILL not in kinds  # the adopted order's fill is in its qty


async def test_rate_limits_are_kept_and_a_429_is_waited_out() -> None:
    async with BinanceVenue(order_limit=2, order_window_s=0.5) as venue:
        async with rig_on(venue) as rig:
            orders = [rig.bid(price=str(95 + i)) for i in range(3)]
            await until(lambda: all(o.status is OrderStatus.NEW for o in orders), 10)
    assert ("/api/v3/order", -1015) in venue.refusals  # the venue enforced its limit
    async with BinanceVenue(order_limit=2, order_window_s=0.5) as venue:
        # the connector's quota a little stricter than the venue's: requests take time to arrive
        limits = (RateLimit("weight", 6000, 60), RateLimit("orders", 2, 0.6))
        async with rig_on(venue, limits=limits) as rig:
            orders = [rig.bid(price=str(95 + i)) for i in range(3)]
            await until(lambda: all(o.status is OrderStatus.NEW for o in orders), 10)
            waited = rig.connector.rest.limiter.waited_s
    assert not venue.refusals and waited > 0  # the connector kept it


async def test_a_timeout_ends_in_a_query_and_never_a_second_order() -> None:
    async with BinanceVenue() as venue:
        async with rig_on(venue, timeout_s=0.3) as rig:
            venue.delay_next("POST", "/api/v3/order", 1.0)  # executed, answered too late
            order = rig.bid()
            await until(lambda: order.status is OrderStatus.NEW)
            await until(lambda: ("GET", "/api/v3/order") in calls(venue))  # settled by a query
            await asyncio.sleep(0.3)  # let the late answer arrive: nothing is sent again
            placed = calls(venue).count(("POST", "/api/v3/order"))
    assert placed == 1 and len(venue.orders) == 1 and order.status is OrderStatus.NEW


def calls(venue: BinanceVenue) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in venue.rest_log]


async def test_an_order_lost_in_a_server_error_is_rejected_after_the_queries(rig: Rig) -> None:
    rig.venue.fail_next("POST", "/api/v3/order", 503, {"code": -1001, "msg": "Internal error."}, 1)
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.REJECTED)
    assert "does not know it" in (order.reason or "") and not rig.venue.orders


async def test_a_wrong_secret_fails_the_run_with_one_clear_error() -> None:
    async with BinanceVenue() as venue:
        scheduler = RealtimeNetworkScheduler()
        connector = connector_for(venue, scheduler, credentials=credentials("x" * 64))
        with pytest.raises(AuthError) as refused:
            await asyncio.wait_for(connector.run(), 10)
    message = str(refused.value)
    assert message.startswith("binance: GET /api/v3/openOrders: the venue refused our API key")
    assert "code -1022" in message


async def test_the_secret_never_reaches_a_log_or_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    async with BinanceVenue() as venue:
        async with rig_on(venue) as rig:
            order = rig.bid()
            await until(lambda: order.status is OrderStatus.NEW)
            rig.venue.expire_next(1)
            rig.oms.cancel(order)
            await until(lambda: order.status is OrderStatus.CANCELED)
            errors.append(repr(rig.connector.credentials))
        venue.api_key = "another key"  # the venue no longer knows ours
        scheduler = RealtimeNetworkScheduler()
        try:
            await asyncio.wait_for(connector_for(venue, scheduler).run(), 10)
        except SerenityError as exc:
            errors.append(str(exc))
    assert len(errors) == 2 and "refused our API key" in errors[1]
    texts = [*errors, *(r.getMessage() for r in caplog.records)]
    texts += [repr(r.__dict__) for r in caplog.records]
    for text in texts:
        assert SECRET not in text and API_KEY not in text
