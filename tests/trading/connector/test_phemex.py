"""The Phemex connector against the loopback Phemex: every scenario of issue 14, contracts
and spot, through the order manager."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from serenity.algo.placers import PlacerContext
from serenity.algo.placers import create_placer as create
from serenity.errors import AuthError, ConfigError
from serenity.exchange import phemex
from serenity.exchange.phemex.signing import PhemexSigner
from serenity.model import InstrumentId, Liquidity, OrderStatus, Side, TimeInForce
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
from serenity.trading.connector import ConnectorSettings, DifferenceKind, RateLimit
from serenity.trading.connector.phemex import PhemexConnector, build_connector, create_placer
from tests.polling import until
from tests.trading.connector.phemex_venue import API_KEY, SECRET, PhemexVenue, signed_headers
from tests.trading.connector.wiring import connector_running, order_manager
from tests.venues import payload

BTCUSD = InstrumentId("phemex", "BTCUSD")
SBTC = InstrumentId("phemex", "sBTCUSDT")
CATALOG = phemex.parse_products(payload("phemex", "products"))
PRODUCTS = {iid: CATALOG.get(iid.symbol) for iid in (BTCUSD, SBTC)}
FAST = ConnectorSettings(
    heartbeat_s=1.0,
    stall_timeout_s=5.0,
    backoff_initial_s=0.05,
    backoff_max_s=0.2,
    query_delay_s=0.05,
    reconcile_retry_s=0.1,
)


@dataclass
class Rig:
    venue: PhemexVenue
    connector: PhemexConnector
    oms: OrderManagerService
    events: list[OrderEvent] = field(default_factory=list)
    factory: OrderFactory = field(default_factory=lambda: OrderFactory("acct", prefix="t-"))

    def fills(self) -> list[ExecutionReport]:
        return [e for e in self.events if isinstance(e, ExecutionReport) and e.is_fill]


def connect(
    venue: PhemexVenue, *, secret: str = SECRET, timeout_s: float = 5.0, **kwargs: Any
) -> tuple[RealtimeNetworkScheduler, PhemexConnector]:
    scheduler = RealtimeNetworkScheduler()
    connector = build_connector(
        account="acct",
        scheduler=scheduler,
        products=PRODUCTS,  # type: ignore[arg-type]  # both listed
        signer=PhemexSigner(Secret(API_KEY), Secret(secret)),
        rest_url=venue.rest_url,
        ws_url=venue.ws_url,
        settings=FAST,
        timeout_s=timeout_s,
        **kwargs,
    )
    return scheduler, connector


@asynccontextmanager
async def running(venue: PhemexVenue, **kwargs: Any) -> AsyncIterator[Rig]:
    scheduler, connector = connect(venue, **kwargs)
    events: list[OrderEvent] = []
    oms = order_manager(
        scheduler, connector, placer="phemex:test", products=PRODUCTS, events=events
    )

    async def ready() -> None:
        await until(lambda: connector.is_ready and connector.stream_ready, 5, what="ready")

    async with connector_running(scheduler, connector, ready):
        yield Rig(venue, connector, oms, events)


@pytest.fixture
async def venue() -> AsyncIterator[PhemexVenue]:
    async with PhemexVenue() as served:
        yield served


@pytest.fixture
async def rig(venue: PhemexVenue) -> AsyncIterator[Rig]:
    async with running(venue) as wired:
        yield wired


async def test_market_order_is_accepted_filled_and_booked_as_position_and_balance(
    rig: Rig,
) -> None:
    order = rig.oms.submit(rig.factory.market(BTCUSD, Side.BUY, 900))

    await until(lambda: order.status is OrderStatus.FILLED)
    (fill,) = rig.fills()
    assert (fill.last_qty, fill.last_px, fill.liquidity) == (900, Decimal(9000), Liquidity.TAKER)
    assert fill.fee_currency == "BTC" and fill.fee == Decimal("0.00007500")  # 0.075% of 0.1 BTC
    assert order.venue_order_id == rig.venue.order(order.cl_ord_id).order_id
    positions = rig.connector.positions
    await until(lambda: (p := positions.get_position(BTCUSD)) is not None and p.qty == 900)
    margin = positions.get_balance("BTC", "contract")
    assert margin is not None and margin.total == Decimal("9.999925")  # a balance, fee paid
    assert positions.get_position(InstrumentId("phemex", "BTC")) is None


async def test_limit_order_rests_then_fills_in_parts(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 10, "8999.5"))
    await until(lambda: order.status is OrderStatus.NEW)

    rig.venue.fill(order.cl_ord_id, "4")
    await until(lambda: order.status is OrderStatus.PARTIALLY_FILLED)
    rig.venue.trade("BTCUSD", "8999")  # a trade through the order fills the rest as maker
    await until(lambda: order.status is OrderStatus.FILLED)

    assert [f.last_qty for f in rig.fills()] == [4, 6]
    assert {f.liquidity for f in rig.fills()} == {Liquidity.MAKER}
    assert all(f.fee < 0 for f in rig.fills())  # maker rebate
    assert order.avg_px == Decimal("8999.5")


async def test_fill_after_cancel_request_settles_filled_with_a_cancel_reject(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(BTCUSD, Side.SELL, 5, 9100))
    await until(lambda: order.status is OrderStatus.NEW)
    rig.venue.fill_on_cancel = True  # the order fills while the cancel is on its way

    rig.oms.cancel(order)

    await until(lambda: order.status is OrderStatus.FILLED)
    await until(lambda: any(isinstance(e, CancelReject) for e in rig.events))
    reject = next(e for e in rig.events if isinstance(e, CancelReject))
    assert "phemex" in reject.reason and "11063" in reject.reason
    assert sum(f.last_qty for f in rig.fills()) == 5


async def test_cancel_reject_leaves_the_order_working(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 3, 8000))
    await until(lambda: order.status is OrderStatus.NEW)
    rig.venue.fail_next("/orders/cancel", 200, code=10003)

    rig.oms.cancel(order)

    await until(lambda: any(isinstance(e, CancelReject) for e in rig.events))
    assert order.status is OrderStatus.NEW and rig.venue.order(order.cl_ord_id).is_open
    rig.oms.cancel(order)
    await until(lambda: order.status is OrderStatus.CANCELED)


async def test_amend_changes_price_and_quantity_at_the_venue(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 3, 8000))
    await until(lambda: order.status is OrderStatus.NEW)

    rig.oms.replace(order, price="8100.5", qty=7)

    await until(lambda: order.status is OrderStatus.NEW and order.qty == 7)
    at_venue = rig.venue.order(order.cl_ord_id)
    assert (order.price, at_venue.price_ep, at_venue.qty) == (Decimal("8100.5"), 81005000, 7)
    assert ("PUT", "/orders/replace") in rig.venue.requests


async def test_insufficient_balance_is_a_venue_reject_naming_the_code(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(SBTC, Side.BUY, "5", "26000"))  # 130k > 100k USDT

    await until(lambda: order.status is OrderStatus.REJECTED)
    reject = next(e for e in rig.events if isinstance(e, Reject))
    assert reject.source is RejectSource.VENUE
    assert (
        "phemex" in reject.reason and "11106" in reject.reason and "insufficient" in reject.reason
    )


async def test_flags_map_one_to_one_post_only_is_not_reduce_only(rig: Rig) -> None:
    maker = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 8000, post_only=True))
    reducer = rig.oms.submit(rig.factory.limit(BTCUSD, Side.SELL, 1, 9500, reduce_only=True))
    ioc = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 8000, TimeInForce.IOC))
    crossing = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 9500, post_only=True))
    day = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 8000, TimeInForce.DAY))

    await until(lambda: maker.status is OrderStatus.NEW and reducer.status is OrderStatus.NEW)
    await until(lambda: ioc.status is OrderStatus.CANCELED)
    await until(lambda: crossing.status is OrderStatus.REJECTED)
    await until(lambda: day.status is OrderStatus.REJECTED)
    at = rig.venue.order
    assert (at(maker.cl_ord_id).tif, at(maker.cl_ord_id).reduce_only) == ("PostOnly", False)
    assert (at(reducer.cl_ord_id).tif, at(reducer.cl_ord_id).reduce_only) == (
        "GoodTillCancel",
        True,
    )
    refused = next(e for e in rig.events if isinstance(e, Reject) and e.cl_ord_id == day.cl_ord_id)
    assert refused.source is RejectSource.VALIDATION and "day is not offered" in refused.reason
    assert day.cl_ord_id not in rig.venue.by_cl
    assert "cxlRejReason 101" in (crossing.reason or "")


async def test_stop_orders_wait_for_their_trigger(rig: Rig) -> None:
    stop = rig.oms.submit(rig.factory.stop(BTCUSD, Side.SELL, 2, "8900"))
    await until(lambda: stop.status is OrderStatus.NEW)
    assert rig.venue.order(stop.cl_ord_id).status == "Untriggered"

    rig.venue.trade("BTCUSD", "8899.5")

    await until(lambda: stop.status is OrderStatus.FILLED)
    assert rig.fills()[0].last_px == Decimal("8899.5")


async def test_spot_order_rests_fills_and_updates_wallets(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(SBTC, Side.BUY, "0.5", "25999.99"))
    await until(lambda: order.status is OrderStatus.NEW)

    rig.venue.trade("sBTCUSDT", "25999.5", "0.2")
    await until(lambda: order.status is OrderStatus.PARTIALLY_FILLED)
    rig.venue.fill(order.cl_ord_id)
    await until(lambda: order.status is OrderStatus.FILLED)

    assert [f.last_qty for f in rig.fills()] == [Decimal("0.2"), Decimal("0.3")]
    assert rig.fills()[0].fee_currency == "BTC"
    wallets = rig.connector.positions
    await until(lambda: (b := wallets.get_balance("BTC", "spot")) is not None and b.total > 2)
    margin = wallets.get_balance("BTC", "contract")
    assert margin is not None and margin.total == 10  # the contract account is apart
    assert rig.connector.positions.get_position(SBTC) is None  # spot holdings are balances
    second = rig.oms.submit(rig.factory.limit(SBTC, Side.SELL, "0.1", "30000"))
    await until(lambda: second.status is OrderStatus.NEW)
    rig.oms.cancel(second)
    await until(lambda: second.status is OrderStatus.CANCELED)


async def test_unknown_outcomes_are_settled_by_querying_the_order(venue: PhemexVenue) -> None:
    async with running(venue, timeout_s=0.3) as rig:
        venue.hold_answers("/orders", 1.0)  # carried out, answered after the client gave up
        slow = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 8000))
        await until(lambda: slow.status is OrderStatus.NEW)
        venue.fail_next("/orders", 502)  # carried out, answered 502
        failed = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 2, 8000))
        await until(lambda: failed.status is OrderStatus.NEW)

        assert rig.venue.order(slow.cl_ord_id).is_open and rig.venue.order(failed.cl_ord_id).is_open
        await until(lambda: venue.requests.count(("GET", "/exchange/order")) >= 2)
        assert [r for r in venue.requests if r == ("POST", "/orders")] == [("POST", "/orders")] * 2


async def test_clock_skew_expires_requests_until_the_clock_is_read_again(
    venue: PhemexVenue,
) -> None:
    venue.clock_offset_s = 180.0  # the venue's clock is 3 minutes ahead of ours
    async with running(venue) as rig:
        order = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 8000))
        await until(lambda: order.status is OrderStatus.NEW)

        assert any("Request Expired" in why for _, why in venue.refusals)
        assert 179_000 < rig.connector.rest.clock_offset_ms < 181_000
        assert venue.auths >= 1  # user.auth was signed with the venue's clock


async def test_expired_requests_are_refused_by_the_venue(venue: PhemexVenue) -> None:
    stale = int(time.time()) - 5
    async with aiohttp.ClientSession() as http:
        async with http.get(
            venue.rest_url + "/spot/wallets",
            headers=signed_headers("/spot/wallets", "", "", expiry=stale),
        ) as resp:
            body = await resp.json()
        async with http.get(
            venue.rest_url + "/spot/wallets",
            headers=signed_headers("/spot/wallets", "", "", expiry=stale + 65, secret="wrong"),
        ) as bad:
            refused = await bad.json()
    assert resp.status == 401 and body["msg"] == f"Request Expired at {stale}"
    assert bad.status == 401 and refused["code"] == 10500


async def test_rate_limit_answers_are_waited_out(venue: PhemexVenue) -> None:
    venue.rate_window_s = 2.0
    async with running(venue) as rig:
        venue.capacities["contract"] = sum(w for _, w in venue.spent["contract"]) + 2
        orders = [rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 8000)) for _ in range(3)]

        await until(lambda: all(o.status is OrderStatus.NEW for o in orders), 15)
        assert (429, "too many requests") in venue.refusals


async def test_declared_limits_keep_requests_within_the_venues_quota(venue: PhemexVenue) -> None:
    limits = [
        RateLimit("contract", 6, 1.0),
        RateLimit("spotorder", 500, 60),
        RateLimit("others", 100, 60),
    ]
    venue.capacities["contract"], venue.rate_window_s = 6, 1.0
    async with running(venue, limits=limits) as rig:
        orders = [rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 1, 8000)) for _ in range(4)]

        await until(lambda: all(o.status is OrderStatus.NEW for o in orders), 15)
        assert rig.connector.rest.limiter.waited_s > 0
        assert not [r for r in venue.refusals if r[0] == 429]


async def test_fills_while_the_private_stream_is_down_are_applied_once(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 6, 8500))
    await until(lambda: order.status is OrderStatus.NEW)
    connects = rig.connector.stream.connects if rig.connector.stream else 0

    await rig.venue.drop_streams()
    rig.venue.fill(order.cl_ord_id, "2")  # while nobody listens
    rig.venue.fill(order.cl_ord_id, "1")

    await until(
        lambda: rig.connector.stream is not None and rig.connector.stream.connects > connects
    )
    await until(lambda: order.cum_qty == 3)
    await until(lambda: rig.connector.reconciliations >= 2)
    assert [f.last_qty for f in rig.fills()] == [2, 1]
    rig.venue.fill(order.cl_ord_id)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert sum(f.last_qty for f in rig.fills()) == 6


async def test_restart_adopts_the_orders_working_on_the_venue(venue: PhemexVenue) -> None:
    earlier = venue.place_foreign("BTCUSD", "Sell", "4", "9400", cl_ord_id="earlier-run-7")
    async with running(venue) as rig:
        adopted = (
            rig.oms.order_by_cl("acct", "earlier-run-7")
            if hasattr(rig.oms, "order_by_cl")
            else None
        )
        await until(
            lambda: any(d.kind is DifferenceKind.ADOPTED for d in rig.connector.differences)
        )
        await until(lambda: any(o.cl_ord_id == "earlier-run-7" for o in rig.oms.working_orders()))
        adopted = next(o for o in rig.oms.working_orders() if o.cl_ord_id == "earlier-run-7")
        assert (adopted.qty, adopted.price, adopted.side) == (4, Decimal(9400), Side.SELL)
        assert adopted.venue_order_id == earlier.order_id

        rig.oms.cancel(adopted)
        await until(lambda: adopted.status is OrderStatus.CANCELED)


async def test_every_entry_of_a_message_is_processed(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.limit(BTCUSD, Side.BUY, 2, 8000))
    await until(lambda: order.status is OrderStatus.NEW)
    ours = rig.venue._order_dict(rig.venue.order(order.cl_ord_id))
    stranger = {**ours, "orderID": "someone-else", "clOrdID": "not-ours"}
    fill = {
        **ours,
        "execID": "exec-1",
        "execQty": 2,
        "execPriceEp": 80000000,
        "execFeeEv": 1,
        "execStatus": "MakerFill",
        "tradeType": "Trade",
        "cumQty": 2,
        "ordStatus": "Filled",
    }
    message = {"accounts": [], "orders": [stranger, {"orderID": 7}, fill], "positions": []}
    for conn in rig.venue.conns:
        if conn.aop:
            await conn.ws.send_str(
                json.dumps({**message, "sequence": 1, "timestamp": 1, "type": "incremental"})
            )

    await until(lambda: order.status is OrderStatus.FILLED)
    assert any(
        d.kind is DifferenceKind.UNKNOWN_ORDER and d.cl_ord_id == "not-ours"
        for d in rig.connector.differences
    )


async def test_rejected_credentials_fail_the_run_with_one_clear_error(
    venue: PhemexVenue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scheduler, connector = connect(venue, secret="not-the-secret")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(scheduler.run())
        with pytest.raises(AuthError, match="phemex: GET /.*refused our API key or signature"):
            await connector.run()
        scheduler.shutdown()
    assert "not-the-secret" not in caplog.text and API_KEY not in caplog.text


async def test_secrets_never_reach_logs_or_errors(
    venue: PhemexVenue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with running(venue) as rig:
        order = rig.oms.submit(rig.factory.market(BTCUSD, Side.BUY, 5))
        await until(lambda: order.status is OrderStatus.FILLED)
        texts += [
            repr(rig.connector.signer),
            repr(rig.connector.rest.signer),
            str(rig.connector.__dict__),
        ]
        texts += [str(e) for e in rig.events]
    text = caplog.text + "".join(texts)
    assert SECRET not in text and API_KEY not in text


def test_placer_instances_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERENITY_PHEMEX_API_KEY", raising=False)
    monkeypatch.delenv("SERENITY_PHEMEX_TESTNET_API_KEY", raising=False)
    scheduler = RealtimeNetworkScheduler()

    def context(uri: str) -> PlacerContext:
        venue, _, instance = uri.partition(":")
        return PlacerContext(
            uri=uri,
            venue=venue,
            instance=instance,
            account="acct",
            scheduler=scheduler,
            marketdata=None,
            products=PRODUCTS,  # type: ignore[arg-type]
        )

    with pytest.raises(ConfigError, match="phemex: no API credentials"):
        create(context("phemex:testnet"))
    with pytest.raises(ConfigError, match="phemex: unknown placer instance 'demo'"):
        create_placer(context("phemex:demo"))
    monkeypatch.setenv("SERENITY_PHEMEX_TESTNET_API_KEY", API_KEY)
    monkeypatch.setenv("SERENITY_PHEMEX_TESTNET_API_SECRET", SECRET)
    connector = create(context("phemex:testnet"))
    assert isinstance(connector, PhemexConnector)
    assert (
        connector.rest.base_url == phemex.TESTNET.rest and connector.stream_url == phemex.TESTNET.ws
    )
    assert SECRET not in repr(connector.__dict__)
