"""The Coinbase Exchange connector against the loopback venue: every documented scenario.

Each test runs a realtime scheduler, an order manager and a :class:`CoinbaseConnector`
against :class:`~tests.trading.connector.coinbase_venue.CoinbaseVenue`, which checks every
signature and timestamp and enforces Coinbase's rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp
import pytest

from serenity import Secret
from serenity.algo.placers import (
    PlacerContext,
    create_placer,
    parse_placer_uri,
    registered_placers,
)
from serenity.errors import AuthError, ConfigError
from serenity.exchange import coinbase
from serenity.exchange.coinbase.orders import client_oid
from serenity.exchange.endpoints import Endpoints
from serenity.marketdata.live import FeedHandlerMarketdataService
from serenity.model import ExecType, InstrumentId, Liquidity, OrderStatus, Side, TimeInForce
from serenity.tau import RealtimeNetworkScheduler
from serenity.trading import (
    CancelReject,
    ExecutionReport,
    Order,
    OrderEvent,
    OrderFactory,
    OrderManagerService,
    Reject,
    RejectSource,
)
from serenity.trading.connector import ConnectorSettings, Credentials, DifferenceKind
from serenity.trading.connector.coinbase import CoinbaseConnector
from tests.polling import until
from tests.trading.connector.coinbase_venue import (
    KEY,
    MAKER_FEE,
    PASSPHRASE,
    SECRET,
    TAKER_FEE,
    CoinbaseVenue,
)
from tests.trading.connector.wiring import connector_running, order_manager

ACCOUNT = "main"
BTC = InstrumentId("coinbase", "BTC-USD")
D = Decimal
SETTINGS = ConnectorSettings(
    heartbeat_s=5.0,
    stall_timeout_s=5.0,
    backoff_initial_s=0.05,
    backoff_max_s=0.2,
    query_delay_s=0.02,
    reconcile_retry_s=0.05,
    reconnect_lookback_s=60.0,
)


def credentials(secret: str = SECRET) -> Credentials:
    return Credentials(
        venue="coinbase", api_key=Secret(KEY), secret=Secret(secret), passphrase=Secret(PASSPHRASE)
    )


@dataclass
class Rig:
    """A connector, its order manager and what they published, on one venue."""

    venue: CoinbaseVenue
    connector: CoinbaseConnector
    oms: OrderManagerService
    events: list[OrderEvent] = field(default_factory=list)
    factory: OrderFactory = field(default_factory=lambda: OrderFactory(ACCOUNT, prefix="t-"))

    def reports(self, order: Order, kind: ExecType | None = None) -> list[ExecutionReport]:
        return [
            e
            for e in self.events
            if isinstance(e, ExecutionReport)
            and e.cl_ord_id == order.cl_ord_id
            and (kind is None or e.exec_type is kind)
        ]

    def rejects(self, order: Order) -> list[Reject]:
        return [e for e in self.events if isinstance(e, Reject) and e.cl_ord_id == order.cl_ord_id]

    def oid(self, order: Order) -> str:
        return client_oid(ACCOUNT, order.cl_ord_id)

    def bid(self, qty: str = "0.5", price: str = "95", **kw: object) -> Order:
        return self.oms.submit(self.factory.limit(BTC, Side.BUY, qty, price, **kw))  # type: ignore[arg-type]


def stream_connects(connector: CoinbaseConnector) -> int:
    return connector.stream.connects if connector.stream is not None else 0


def products(venue: CoinbaseVenue) -> dict[InstrumentId, object]:
    """Return the listings of the products the tests trade (BTC-USD, ETH-USD)."""
    catalog = coinbase.parse_products(list(venue.products.values()))
    return {
        InstrumentId("coinbase", p.symbol): p
        for p in catalog.products
        if p.symbol in ("BTC-USD", "ETH-USD")
    }


@contextlib.asynccontextmanager
async def running(
    venue: CoinbaseVenue, *, prefix: str = "t-", secret: str = SECRET
) -> AsyncIterator[Rig]:
    scheduler = RealtimeNetworkScheduler()
    connector = CoinbaseConnector(
        account=ACCOUNT,
        scheduler=scheduler,
        products=products(venue),  # type: ignore[arg-type]
        credentials=credentials(secret),
        endpoints=Endpoints(rest=venue.rest_url, ws=venue.ws_url),
        settings=SETTINGS,
        timeout_s=2.0,
    )
    events: list[OrderEvent] = []
    oms = order_manager(
        scheduler, connector, placer="coinbase:sandbox", products=products(venue), events=events
    )

    async def ready() -> None:
        await until(lambda: connector.is_ready, 5, what="the connector to reconcile")
        await until(lambda: connector.stream_ready, 5, what="the user channel")
        await until(lambda: connector.reconciliations >= 2, 5, what="the stream's reconciliation")

    async with connector_running(scheduler, connector, ready):
        yield Rig(venue, connector, oms, events, factory=OrderFactory(ACCOUNT, prefix=prefix))


@pytest.fixture
async def venue() -> AsyncIterator[CoinbaseVenue]:
    async with CoinbaseVenue(heartbeat_interval_s=0.2) as v:
        yield v


@pytest.fixture
async def rig(venue: CoinbaseVenue) -> AsyncIterator[Rig]:
    async with running(venue) as r:
        yield r


# -- accept, fills ---------------------------------------------------------------------------


async def test_a_resting_order_is_acked_then_filled_in_parts_as_maker(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)
    assert order.venue_order_id == rig.venue.order(rig.oid(order)).id

    await rig.venue.fill(rig.oid(order), "0.4", "95")
    await until(lambda: order.status is OrderStatus.PARTIALLY_FILLED)
    await rig.venue.fill(rig.oid(order))
    await until(lambda: order.status is OrderStatus.FILLED)

    fills = rig.reports(order, ExecType.TRADE)
    assert [(f.last_qty, f.last_px) for f in fills] == [(D("0.4"), D("95")), (D("0.6"), D("95"))]
    assert fills[0].fee == D("0.4") * 95 * MAKER_FEE and fills[0].fee_currency == "USD"
    assert {f.liquidity for f in fills} == {Liquidity.MAKER}
    assert len(rig.reports(order, ExecType.NEW)) == 1
    assert rig.venue.auth_failures == [] and rig.venue.verified >= 3


async def test_a_market_order_takes_the_book_as_taker(rig: Rig) -> None:
    best_ask = D(repr(rig.venue.md.book("BTC-USD")[1][0][0]))
    order = rig.oms.submit(rig.factory.market(BTC, Side.BUY, "0.01"))

    await until(lambda: order.status is OrderStatus.FILLED)

    (fill,) = rig.reports(order, ExecType.TRADE)
    assert (fill.last_px, fill.liquidity) == (best_ask, Liquidity.TAKER)
    assert fill.fee == D("0.01") * best_ask * TAKER_FEE
    body = rig.venue.posts[-1]
    assert body["type"] == "market" and body["size"] == "0.01000000"
    assert body["client_oid"] == rig.oid(order)


async def test_fok_that_cannot_fill_is_canceled_and_ioc_keeps_what_it_took(rig: Rig) -> None:
    asks = rig.venue.md.book("BTC-USD")[1]
    top = D(repr(asks[0][0]))
    fok = rig.bid("1000", str(top), tif=TimeInForce.FOK)
    ioc = rig.bid(str(D(repr(asks[0][1])) + 5), str(top), tif=TimeInForce.IOC)

    await until(lambda: fok.is_terminal and ioc.is_terminal)

    assert fok.status is OrderStatus.CANCELED and fok.cum_qty == 0
    assert ioc.status is OrderStatus.CANCELED and ioc.cum_qty == D(repr(asks[0][1]))


async def test_stop_orders_wait_for_their_trigger(rig: Rig) -> None:
    order = rig.oms.submit(rig.factory.stop_limit(BTC, Side.BUY, "0.1", "150", "151"))
    await until(lambda: order.status is OrderStatus.NEW)
    assert rig.venue.order(rig.oid(order)).status == "active"
    assert rig.venue.posts[-1]["stop"] == "entry"

    await rig.venue.trigger("BTC-USD", "150")

    await until(lambda: order.status is OrderStatus.FILLED)


# -- refusals ----------------------------------------------------------------------------------


async def test_insufficient_funds_is_a_venue_reject(rig: Rig) -> None:
    order = rig.bid("100", "95")  # 9500 USD is there; a 100 BTC bid at 95 needs more

    rig.venue.balances["USD"] = D("100")
    await until(lambda: order.status is OrderStatus.REJECTED)

    (reject,) = rig.rejects(order)
    assert reject.source is RejectSource.VENUE and "Insufficient funds" in reject.reason
    assert "coinbase" in reject.reason


async def test_a_crossing_post_only_order_is_rejected_by_the_venue(rig: Rig) -> None:
    ask = rig.venue.md.book("BTC-USD")[1][0][0]
    order = rig.bid("0.1", str(D(repr(ask)) + 1), post_only=True)

    await until(lambda: order.status is OrderStatus.REJECTED)

    assert "post only" in rig.rejects(order)[0].reason
    assert rig.venue.posts[-1]["post_only"] is True


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda f: f.market(BTC, "SELL", "0.1", reduce_only=True), "reduce-only"),
        (lambda f: f.limit(BTC, "BUY", "0.1", "95", TimeInForce.DAY), "DAY"),
        (lambda f: f.limit(BTC, "BUY", "0.1", "95.001"), "tick_size"),
    ],
)
async def test_what_coinbase_cannot_carry_is_refused_locally(
    rig: Rig, build: object, reason: str
) -> None:
    posts = len(rig.venue.posts)
    order = rig.oms.submit(build(rig.factory))  # type: ignore[operator]

    await until(lambda: order.status is OrderStatus.REJECTED)

    (reject,) = rig.rejects(order)
    assert reason in reject.reason and reject.source is not RejectSource.VENUE
    assert len(rig.venue.posts) == posts


# -- cancels ----------------------------------------------------------------------------------


async def test_cancel_and_coinbase_forgets_an_unfilled_canceled_order(rig: Rig) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)

    rig.oms.cancel(order)

    await until(lambda: order.status is OrderStatus.CANCELED)
    assert order.venue_order_id in rig.venue.forgotten
    assert len(rig.reports(order, ExecType.CANCELED)) == 1


async def test_a_partly_filled_order_canceled_keeps_its_fills(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.fill(rig.oid(order), "0.25")
    await until(lambda: order.cum_qty == D("0.25"))

    rig.oms.cancel(order)

    await until(lambda: order.status is OrderStatus.CANCELED)
    assert order.cum_qty == D("0.25") and len(rig.reports(order, ExecType.TRADE)) == 1


async def test_a_fill_racing_the_cancel_wins_and_the_cancel_is_rejected(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)
    rig.venue.fill_on_cancel.add(rig.oid(order))

    rig.oms.cancel(order)

    await until(lambda: order.status is OrderStatus.FILLED)
    await until(lambda: any(isinstance(e, CancelReject) for e in rig.events))
    (reject,) = [e for e in rig.events if isinstance(e, CancelReject)]
    assert "Order already done" in reject.reason and not reject.is_replace
    assert order.cum_qty == 1 and len(rig.reports(order, ExecType.TRADE)) == 1


async def test_a_refused_cancel_leaves_the_order_working(rig: Rig) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    rig.venue.script("DELETE", "/orders", 400, "Order is not cancelable right now")

    rig.oms.cancel(order)

    await until(lambda: any(isinstance(e, CancelReject) for e in rig.events))
    assert order.status is OrderStatus.NEW and rig.venue.order(rig.oid(order)).is_live


# -- amend ------------------------------------------------------------------------------------


async def test_amend_is_a_cancel_and_a_new_order_for_what_is_left(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.fill(rig.oid(order), "0.3")
    await until(lambda: order.cum_qty == D("0.3"))
    first = order.venue_order_id

    rig.oms.replace(order, price="96", qty="2")

    await until(lambda: order.price == D("96") and order.status is OrderStatus.PARTIALLY_FILLED)
    assert order.qty == 2 and order.venue_order_id != first
    old, new = rig.venue.orders[first or ""], rig.venue.orders[order.venue_order_id or ""]
    assert old.done_reason == "canceled"
    assert (new.size, new.price, new.filled_size) == (D("1.7"), D("96"), 0)
    assert len(rig.reports(order, ExecType.REPLACED)) == 1

    await rig.venue.fill(new.id)

    await until(lambda: order.status is OrderStatus.FILLED)
    assert order.cum_qty == 2 and order.avg_px == (D("0.3") * 95 + D("1.7") * 96) / 2
    assert not rig.reports(order, ExecType.CANCELED)


async def test_an_amend_whose_replacement_is_refused_ends_the_order_canceled(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)
    rig.venue.script("POST", "/orders", 400, "Insufficient funds")

    rig.oms.replace(order, price="94")

    await until(lambda: order.status is OrderStatus.CANCELED)
    assert "replacement was refused" in (order.reason or "")


# -- answers lost, rate limits, the clock ----------------------------------------------------------


async def test_a_lost_answer_is_settled_by_client_oid_never_by_sending_twice(rig: Rig) -> None:
    await rig.venue.drop_streams(hold=True)  # no stream ack: only the query can tell
    rig.venue.script("POST", "/orders", 504, "Gateway Timeout", execute=True)

    order = rig.bid()

    query = ("GET", f"/orders/client:{rig.oid(order)}", 200)
    await until(lambda: order.status is OrderStatus.NEW and query in rig.venue.requests)
    assert len(rig.venue.orders_with_client_oid(rig.oid(order))) == 1


async def test_an_order_the_venue_never_got_is_rejected_after_the_queries(rig: Rig) -> None:
    rig.venue.script("POST", "/orders", 502, "Bad Gateway")

    order = rig.bid()

    await until(lambda: order.status is OrderStatus.REJECTED)
    assert rig.venue.orders_with_client_oid(rig.oid(order)) == []


async def test_a_rate_limited_order_is_sent_again_once(rig: Rig) -> None:
    rig.venue.script("POST", "/orders", 429, "Private rate limit exceeded")

    order = rig.bid()

    await until(lambda: order.status is OrderStatus.NEW)
    assert len(rig.venue.orders_with_client_oid(rig.oid(order))) == 1
    assert [r[2] for r in rig.venue.requests if r[0] == "POST"] == [429, 200]


async def test_a_burst_of_orders_stays_inside_coinbase_rate_limits(rig: Rig) -> None:
    orders = [rig.bid("0.1", str(60 + D(k) / 2)) for k in range(36)]

    await until(lambda: all(o.status is OrderStatus.NEW for o in orders), 10)

    assert rig.venue.rate_limited == 0


async def test_the_venue_enforces_its_rate_limit(venue: CoinbaseVenue) -> None:
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(http.get(f"{venue.rest_url}/time") for _ in range(25)))
    assert sorted({a.status for a in answers}) == [200, 429] and venue.rate_limited >= 1


async def test_a_skewed_clock_is_read_at_start_and_after_an_expired_request(
    venue: CoinbaseVenue,
) -> None:
    venue.clock_offset_s = 120.0
    async with running(venue) as rig:
        assert abs(rig.connector.rest.clock_offset_ms - 120_000) < 2_000
        venue.clock_offset_s = -90.0  # the venue's clock jumps: our timestamps expire

        order = rig.bid()

        await until(lambda: order.status is OrderStatus.NEW)
        assert "expired" in venue.auth_failures
        assert abs(rig.connector.rest.clock_offset_ms + 90_000) < 2_000
        assert len(venue.orders_with_client_oid(rig.oid(order))) == 1


async def test_an_expired_stream_login_resyncs_the_clock_and_reconnects(rig: Rig) -> None:
    rig.venue.clock_offset_s = 75.0
    connects = stream_connects(rig.connector)

    await rig.venue.drop_streams()

    await until(
        lambda: stream_connects(rig.connector) >= connects + 2 and rig.connector.stream_ready
    )
    assert "expired" in rig.venue.auth_failures and rig.connector.clock_resyncs >= 1
    assert rig.connector.failure is None


async def test_refused_credentials_fail_the_run_naming_the_venue(
    venue: CoinbaseVenue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "d3JvbmctYnV0LXZhbGlkLWJhc2U2NC1zZWNyZXQtZm9yLXRoZS10ZXN0"
    with pytest.raises(ExceptionGroup) as info:
        async with running(venue, secret=wrong):
            pass
    (error,) = info.value.exceptions
    assert isinstance(error, AuthError) and "coinbase" in str(error)
    assert "invalid signature" in str(error)
    texts = [str(error)] + [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    for text in texts:
        assert wrong not in text and PASSPHRASE not in text and KEY not in text


# -- the private stream: drops, gaps, restarts ---------------------------------------------------


async def test_fills_while_the_stream_is_down_are_applied_once_after_it_is_back(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)

    await rig.venue.drop_streams(hold=True)
    await until(lambda: not rig.connector.stream_ready)
    await rig.venue.fill(rig.oid(order), "0.5")
    await rig.venue.fill(rig.oid(order), "0.2")
    rig.venue.release_streams()

    await until(lambda: order.cum_qty == D("0.7"))
    await until(lambda: rig.connector.reconciliations >= 2)
    await rig.venue.fill(rig.oid(order))
    await until(lambda: order.status is OrderStatus.FILLED)

    trades = rig.reports(order, ExecType.TRADE)
    assert [t.last_qty for t in trades] == [D("0.5"), D("0.2"), D("0.3")]
    missed = [d for d in rig.connector.differences if d.kind is DifferenceKind.MISSED_FILL]
    assert len(missed) == 2


async def test_a_restarted_connector_adopts_the_orders_left_on_the_venue(
    venue: CoinbaseVenue,
) -> None:
    async with running(venue, prefix="run1-") as first:
        resting = first.bid("1", "95")
        other = first.bid("2", "94")
        await until(lambda: resting.is_working and other.status is OrderStatus.NEW)
        await venue.fill(first.oid(resting), "0.4")
        await until(lambda: resting.cum_qty == D("0.4"))

    async with running(venue, prefix="run2-") as second:
        await until(lambda: len(list(second.oms.all_orders())) == 2)
        adopted = {o.venue_order_id: o for o in second.oms.all_orders()}
        mine = adopted[resting.venue_order_id]
        assert (mine.qty, mine.cum_qty, mine.status) == (1, D("0.4"), OrderStatus.PARTIALLY_FILLED)
        kinds = [d.kind for d in second.connector.differences]
        assert kinds.count(DifferenceKind.ADOPTED) == 2

        await venue.fill(resting.venue_order_id or "")

        await until(lambda: mine.status is OrderStatus.FILLED)
        assert mine.cum_qty == 1


def vanished(rig: Rig, order: Order) -> list[dict[str, object]]:
    """Return the details of the unknown-to-venue differences recorded for ``order``."""
    return [
        d.details
        for d in rig.connector.differences
        if d.kind is DifferenceKind.UNKNOWN_TO_VENUE and d.cl_ord_id == order.cl_ord_id
    ]


async def test_a_cancel_whose_answer_was_lost_ends_canceled_by_the_queries(rig: Rig) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.drop_streams(hold=True)  # no ``done`` reaches us
    await until(lambda: not rig.connector.stream_ready)
    rig.venue.script("DELETE", "/orders", 504, "Gateway Timeout", execute=True)

    rig.oms.cancel(order)  # canceled on the venue, which then purges it: the queries find none

    await until(lambda: order.status is OrderStatus.CANCELED)
    assert order.venue_order_id in rig.venue.forgotten
    assert ("GET", f"/orders/{order.venue_order_id}", 404) in rig.venue.requests
    (report,) = rig.reports(order, ExecType.CANCELED)
    assert "purged" in (report.text or "") and "as we asked" in (report.text or "")
    assert not any(isinstance(e, CancelReject) for e in rig.events)
    reconciled = rig.connector.reconciliations
    rig.venue.release_streams()

    await until(lambda: rig.connector.reconciliations > reconciled)
    assert len(rig.reports(order, ExecType.CANCELED)) == 1
    assert not rig.reports(order, ExecType.EXPIRED) and order.cum_qty == 0
    assert vanished(rig, order) == []  # finished already: reconciliation has nothing to say


async def test_an_amend_whose_cancel_answer_was_lost_ends_canceled_as_we_asked(rig: Rig) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.drop_streams(hold=True)
    await until(lambda: not rig.connector.stream_ready)
    rig.venue.script("DELETE", "/orders", 504, "Gateway Timeout", execute=True)

    rig.oms.replace(order, price="94")  # the amend's cancel goes through; its answer is lost

    await until(lambda: order.status is OrderStatus.CANCELED)
    (report,) = rig.reports(order, ExecType.CANCELED)
    assert "as we asked" in (report.text or "") and order.price == D("95")
    await until(lambda: any(isinstance(e, CancelReject) and e.is_replace for e in rig.events))
    assert not rig.reports(order, ExecType.REPLACED) and order.venue_order_id in rig.venue.forgotten
    rig.venue.release_streams()


async def test_an_order_canceled_elsewhere_while_the_stream_is_down_ends_canceled(
    rig: Rig,
) -> None:
    order = rig.bid()
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.drop_streams(hold=True)
    await until(lambda: not rig.connector.stream_ready)

    await rig.venue.cancel_elsewhere(rig.oid(order))  # e.g. self-trade prevention
    rig.venue.release_streams()

    await until(lambda: order.status is OrderStatus.CANCELED)
    (report,) = rig.reports(order, ExecType.CANCELED)
    assert "not at our request" in (report.text or "")
    assert not rig.reports(order, ExecType.EXPIRED)
    (details,) = vanished(rig, order)
    assert details["cancel_requested"] is False and details["ending"] == "canceled"


async def test_a_partly_filled_order_that_vanishes_expires_as_a_difference(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)
    await rig.venue.fill(rig.oid(order), "0.25")
    await until(lambda: order.cum_qty == D("0.25"))
    await rig.venue.drop_streams(hold=True)
    await until(lambda: not rig.connector.stream_ready)

    rig.venue.lose(rig.oid(order))  # Coinbase keeps orders with fills: a real difference
    rig.venue.release_streams()

    await until(lambda: order.status is OrderStatus.EXPIRED)
    assert not rig.reports(order, ExecType.CANCELED) and order.cum_qty == D("0.25")
    (details,) = vanished(rig, order)
    assert details["ending"] == "expired" and D(str(details["cum_qty"])) == D("0.25")


async def test_a_self_trade_prevention_change_shrinks_the_order(rig: Rig) -> None:
    order = rig.bid("1", "95")
    await until(lambda: order.status is OrderStatus.NEW)

    await rig.venue.stp_change(rig.oid(order), "0.6")

    await until(lambda: order.qty == D("0.6"))
    assert rig.reports(order, ExecType.REPLACED)


async def test_balances_are_published_as_balances(rig: Rig) -> None:
    balances = rig.connector.positions.get_balances()

    assert balances["USD"].total == D("1000000") and balances["BTC"].available == D("10")


def test_a_key_without_passphrase_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="coinbase: .*passphrase"):
        CoinbaseConnector(
            account=ACCOUNT,
            scheduler=RealtimeNetworkScheduler(),
            products={},
            credentials=Credentials(venue="coinbase", api_key=Secret(KEY), secret=Secret(SECRET)),
            endpoints=Endpoints(rest="http://127.0.0.1:9", ws="ws://127.0.0.1:9/"),
        )


def _context(uri: str, **urls: str) -> PlacerContext:
    venue, instance = parse_placer_uri(uri)
    scheduler = RealtimeNetworkScheduler()
    return PlacerContext(
        uri=uri,
        venue=venue,
        instance=instance,
        account="main",
        scheduler=scheduler,
        marketdata=FeedHandlerMarketdataService(scheduler, []),
        **urls,  # type: ignore[arg-type]
    )


def test_coinbase_is_a_built_in_placer_with_prod_and_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (("KEY", KEY), ("SECRET", SECRET), ("PASSPHRASE", PASSPHRASE)):
        monkeypatch.setenv(f"SERENITY_COINBASE_SANDBOX_API_{name}", value)
        monkeypatch.delenv(f"SERENITY_COINBASE_API_{name}", raising=False)
    monkeypatch.delenv("SERENITY_COINBASE_CREDENTIALS", raising=False)
    assert "coinbase" in registered_placers()

    sandbox = create_placer(_context("coinbase:sandbox"))
    local = create_placer(
        _context("coinbase:sandbox", rest_url="http://127.0.0.1:9", ws_url="ws://127.0.0.1:9/")
    )

    assert isinstance(sandbox, CoinbaseConnector) and isinstance(local, CoinbaseConnector)
    assert sandbox.rest.base_url == "https://api-public.sandbox.exchange.coinbase.com"
    assert sandbox.stream_url == "wss://ws-feed-public.sandbox.exchange.coinbase.com"
    assert (local.rest.base_url, local.stream_url) == ("http://127.0.0.1:9", "ws://127.0.0.1:9/")
    with pytest.raises(ConfigError, match=r"coinbase: unknown instance 'testnet'.*sandbox"):
        create_placer(_context("coinbase:testnet"))
    with pytest.raises(ConfigError, match="coinbase: no API credentials"):
        create_placer(_context("coinbase:prod"))  # the sandbox's key is not prod's
    monkeypatch.delenv("SERENITY_COINBASE_SANDBOX_API_PASSPHRASE")
    with pytest.raises(ConfigError, match="coinbase: incomplete API credentials.*PASSPHRASE"):
        create_placer(_context("coinbase:sandbox"))


async def test_no_credential_reaches_a_log_record_even_at_debug(
    venue: CoinbaseVenue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(venue) as rig:
        order = rig.bid("1", "95")
        await until(lambda: order.status is OrderStatus.NEW)
        await venue.fill(rig.oid(order), "0.5")
        rig.oms.cancel(order)
        await until(lambda: order.status is OrderStatus.CANCELED)
        await venue.drop_streams()
        await until(lambda: stream_connects(rig.connector) >= 2 and rig.connector.stream_ready)

    assert len(caplog.records) > 20
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        for secret in (KEY, SECRET, PASSPHRASE):
            assert secret not in text, record.getMessage()
