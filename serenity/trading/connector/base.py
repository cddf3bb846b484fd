"""The shared body of every venue order connector: :class:`VenueConnector`.

A venue connector is an :class:`~serenity.trading.OrderPlacer` and a running placer
(``async run()``, ``stop()``). The order manager calls :meth:`~VenueConnector.submit`,
:meth:`~VenueConnector.cancel` and :meth:`~VenueConnector.replace` inside a graph cycle;
each checks the order locally (:func:`~serenity.trading.check_order` against the
instrument's listing, so an order breaking a filter is refused with the filter named) and
schedules the venue request as a task on the running loop, so nothing blocks the graph.
Requests for one order run one after another, in the order asked. What the venue answers,
and what its private stream says, come back to the order manager through the bound sink,
scheduled on the loop thread, as execution reports.

A venue subclass supplies the venue's I/O as a few coroutines (:meth:`~VenueConnector.place`,
:meth:`~VenueConnector.cancel_order`, :meth:`~VenueConnector.amend`,
:meth:`~VenueConnector.query`, :meth:`~VenueConnector.snapshot`) answering
:class:`~serenity.exchange.execution.OrderUpdate` values, and its private stream as a
sans-I/O :class:`PrivateStream`. The failure policy is shared:

* a refusal (:class:`~serenity.errors.VenueError`) of a new order is a
  :class:`~serenity.trading.Reject` from the venue; of a cancel or amend, a
  :class:`~serenity.trading.CancelReject` (after the order's state was queried, so a
  cancel that lost the race with a fill settles the order);
* an unknown outcome (:class:`~serenity.trading.connector.rest.OutcomeUnknownError`: a
  timeout, HTTP 5xx) is settled by querying the order by client order id, with backoff; a
  new order the venue still does not know after the queries is rejected (it never arrived),
  and nothing is ever sent twice blindly;
* an :class:`~serenity.errors.AuthError` fails :meth:`~VenueConnector.run` with one clear
  error naming the venue.

:meth:`~VenueConnector.run` opens the REST session, reconciles (open orders, recent fills,
balances; see :mod:`~serenity.trading.connector.reconcile`), releases the orders that
waited for it, then keeps the private stream open with
:class:`~serenity.marketdata.fh.connection.WebsocketConnection` (backoff and jitter,
stall detection) and reconciles again after every (re)connect. Every entry of a stream
message is processed even when one concerns an unknown order.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar, Final, Protocol

from serenity.errors import AuthError, DataError, InvalidValueError, SerenityError, VenueError
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill, VenuePosition
from serenity.exchange.product import Product
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.connection import ConnectionConfig, WebsocketConnection
from serenity.marketdata.fh.state import FeedState
from serenity.model import ExecType, InstrumentId, OrderStatus, OrderType, TimeInForce
from serenity.tau import NetworkScheduler
from serenity.trading.connector.positions import ExchangePositionService
from serenity.trading.connector.reconcile import (
    Difference,
    DifferenceKind,
    ReconcilePlan,
    VenueSnapshot,
    reconcile,
)
from serenity.trading.connector.rest import OutcomeUnknownError, RestClient
from serenity.trading.orders import (
    LimitOrder,
    MarketOrder,
    Order,
    StopLimitOrder,
    StopOrder,
)
from serenity.trading.placer import ExecutionSink
from serenity.trading.reports import (
    CancelReject,
    ExecutionReport,
    OrderEvent,
    Reject,
    RejectSource,
)
from serenity.trading.validation import check_order

__all__ = [
    "ConnectorContext",
    "ConnectorSettings",
    "PrivateStream",
    "StreamFailure",
    "StreamItem",
    "StreamReady",
    "StreamRestart",
    "VenueConnector",
]

log = logging.getLogger(__name__)

_NS_PER_S: Final = 1_000_000_000
_SEEN_CAP: Final = 200_000
_ORDER_TYPES: Final[Mapping[OrderType, type[Order]]] = {
    OrderType.MARKET: MarketOrder,
    OrderType.LIMIT: LimitOrder,
    OrderType.STOP_MARKET: StopOrder,
    OrderType.STOP_LIMIT: StopLimitOrder,
}
_STATE_EXEC: Final[Mapping[OrderStatus, ExecType]] = {
    OrderStatus.CANCELED: ExecType.CANCELED,
    OrderStatus.EXPIRED: ExecType.EXPIRED,
    OrderStatus.REJECTED: ExecType.REJECTED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorSettings:
    """Timing of a connector's private stream, queries and reconciliation.

    Attributes
    ----------
    heartbeat_s
        Interval of the private stream's pings.
    stall_timeout_s
        A private stream silent this long is reconnected.
    connect_timeout_s
        Longest wait to open the private stream.
    backoff_initial_s, backoff_max_s
        Reconnect delays of the private stream (exponential, with jitter).
    query_attempts
        Queries of an order whose request had an unknown outcome, before giving up.
    query_delay_s
        Wait before the first such query, doubled before each next one.
    fill_lookback_s
        How far back the first reconciliation looks for fills.
    reconnect_lookback_s
        After a reconnect, fills are looked for from this long before the disconnect.
    reconcile_retry_s
        Wait before retrying a reconciliation the venue failed.
    """

    heartbeat_s: float = 10.0
    stall_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    query_attempts: int = 3
    query_delay_s: float = 0.25
    fill_lookback_s: float = 3600.0
    reconnect_lookback_s: float = 60.0
    reconcile_retry_s: float = 2.0


@dataclass(frozen=True, slots=True)
class StreamReady:
    """The private stream is authenticated and subscribed: events flow from now on."""


@dataclass(frozen=True, slots=True)
class StreamRestart:
    """The venue ended the subscription or is closing the connection: reconnect now."""

    reason: str


@dataclass(frozen=True, slots=True)
class StreamFailure:
    """The private stream refused us; ``is_auth`` when it refused the credentials."""

    text: str
    is_auth: bool = False


StreamItem = (
    OrderUpdate | VenueBalance | VenuePosition | StreamReady | StreamRestart | StreamFailure
)
"""One entry of a private-stream message, as a venue's :class:`PrivateStream` reads it."""


class PrivateStream(Protocol):
    """A venue's private websocket, free of I/O: what to send and how to read what comes."""

    def subscriptions(self) -> list[str]:
        """Return the frames to send after each (re)connect: authentication and
        subscription, signed now."""
        ...

    def ping_frame(self) -> str | None:
        """Return an application-level ping sent every heartbeat (its answer keeps the
        quiet stream from looking stalled), or None."""
        ...

    def parse(self, data: str | bytes) -> list[StreamItem]:
        """Return the entries of one frame (none for a frame of no interest).

        Raises
        ------
        DataError
            When the frame cannot be read at all.
        """
        ...


class ConnectorContext(Protocol):
    """What a venue's ``create_placer`` reads to build its connector (a live run's
    :class:`~serenity.algo.PlacerContext` has it all)."""

    @property
    def uri(self) -> str: ...
    @property
    def venue(self) -> str: ...
    @property
    def instance(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def scheduler(self) -> NetworkScheduler: ...
    @property
    def products(self) -> Mapping[InstrumentId, Product]: ...
    @property
    def rest_url(self) -> str | None: ...
    @property
    def ws_url(self) -> str | None: ...


class _Session:
    """The :class:`~serenity.marketdata.fh.connection.FeedSession` of a private stream."""

    def __init__(self, connector: VenueConnector, stream: PrivateStream) -> None:
        self.connector = connector
        self.stream = stream

    def subscriptions(self) -> list[str]:
        self.connector._stream_ready = False
        return self.stream.subscriptions()

    def on_connected(self, ts: int) -> None:
        self.connector.stream_connects += 1

    def on_frame(self, data: str | bytes, ts_recv: int) -> None:
        self.connector._on_frame(data, ts_recv)

    def on_disconnected(self, ts: int, reason: str) -> None:
        self.connector._on_stream_lost(ts, reason)

    def ping_frame(self) -> str | None:
        return self.stream.ping_frame()

    def is_synced(self) -> bool:
        return self.connector._stream_ready


class VenueConnector(ABC):
    """An order placer for one venue account (see the module docstring).

    The constructor opens nothing and starts no task. Subclasses set :attr:`venue` and
    implement the venue hooks.

    Parameters
    ----------
    account
        Our trading account name (the orders' ``account``).
    scheduler
        The run's realtime scheduler: reports re-enter the graph through it.
    products
        The listings of the instruments traded, for local checks and scaling.
    rest
        The venue's REST client (opened by :meth:`run`).
    stream_url
        The private stream's websocket URL; no stream when None (reconciliation only).
    positions
        Where venue balances and positions are published; one is made when None.
    settings
        Timings.

    Attributes
    ----------
    differences
        The last differences found by reconciliation and the stream (most recent last).
    reconciliations
        Reconciliations completed.
    stream_connects
        Connections of the private stream opened.
    stream_state
        The private stream's state.
    """

    venue: ClassVar[str] = ""

    def __init__(
        self,
        *,
        account: str,
        scheduler: NetworkScheduler,
        products: Mapping[InstrumentId, Product],
        rest: RestClient,
        stream_url: str | None = None,
        positions: ExchangePositionService | None = None,
        settings: ConnectorSettings | None = None,
    ) -> None:
        self.account = account
        self.scheduler = scheduler
        self.products = dict(products)
        self.rest = rest
        self.stream_url = stream_url
        self.settings = settings if settings is not None else ConnectorSettings()
        self.positions = (
            positions
            if positions is not None
            else ExchangePositionService(scheduler, venue=self.venue, account=account)
        )
        self.differences: deque[Difference] = deque(maxlen=1_000)
        self.reconciliations = 0
        self.stream_connects = 0
        self.stream_state = FeedState.INITIALIZING
        self.failure: BaseException | None = None
        self._sink: ExecutionSink | None = None
        self._orders: dict[str, Order] = {}
        self._aliases: dict[str, str] = {}  # a venue-side client id -> our cl_ord_id
        self._venue_cl: dict[str, str] = {}  # our cl_ord_id -> its current venue-side id
        self._seen: dict[str, None] = {}  # exec ids delivered, oldest first (bounded)
        self._in_flight: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._reconcile_wanted: asyncio.Event | None = None
        self._stream_ready = False
        self._connection: WebsocketConnection | None = None
        self._stream: PrivateStream | None = None
        self._restart = False
        self._lost_ns: int | None = None
        self._last_reconciled_ns: int | None = None
        self._synthetic = itertools.count(1)

    # -- venue hooks -----------------------------------------------------------------------

    @abstractmethod
    async def place(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Send a new order; return what the venue answered (its ack, maybe fills).

        Raises
        ------
        VenueError
            The venue refused it (or :class:`OutcomeUnknownError`, :class:`AuthError`).
        """

    @abstractmethod
    async def cancel_order(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Cancel a working order; return what the venue answered.

        Raises
        ------
        VenueError
            The venue refused it.
        """

    @abstractmethod
    async def amend(
        self, order: Order, product: Product, *, price: Decimal | None, qty: Decimal | None
    ) -> Sequence[OrderUpdate]:
        """Change a working order's price and/or total quantity; return the venue's answer,
        a ``REPLACED`` update in our terms (the order's total quantity, filled included).

        Raises
        ------
        VenueError
            The venue refused it.
        """

    @abstractmethod
    async def query(self, order: Order, product: Product) -> OrderUpdate | None:
        """Return the venue's current state of ``order`` (an ``ORDER_STATUS`` update), or
        None when the venue does not know it.

        Raises
        ------
        VenueError
            The query failed.
        """

    @abstractmethod
    async def snapshot(self, *, since_ns: int) -> VenueSnapshot:
        """Return the account's open orders (of the traded instruments), its fills since
        ``since_ns``, its balances and positions.

        Raises
        ------
        VenueError
            A request failed.
        """

    @abstractmethod
    def private_stream(self) -> PrivateStream:
        """Return the sans-I/O side of the venue's private stream."""

    def refuse(self, order: Order, product: Product) -> str | None:
        """Return why the venue cannot take ``order`` as it is (an order type or flag it
        lacks), or None; checked before sending, after the instrument's filters."""
        return None

    # -- order placer ------------------------------------------------------------------------

    def bind(self, sink: ExecutionSink) -> None:
        """Send every later report to ``sink`` (the order manager)."""
        self._sink = sink

    def submit(self, order: Order) -> None:
        """Check ``order`` locally, then send it in a task; never blocks or raises."""
        product = self.products.get(order.instrument)
        if product is None:
            self._reject(
                order,
                f"{self.venue} has no listing of {order.instrument} for this run",
                RejectSource.VALIDATION,
            )
            return
        refusal = check_order(order, product)
        reason = str(refusal) if refusal is not None else self.refuse(order, product)
        if reason is not None:
            self._reject(order, reason, RejectSource.VALIDATION)
            return
        self._orders[order.cl_ord_id] = order
        self._spawn(order, "submit", lambda: self._do_submit(order, product))

    def cancel(self, order: Order) -> None:
        """Cancel ``order`` in a task; a refusal is a cancel reject."""
        product = self.products.get(order.instrument)
        if product is None or order.cl_ord_id not in self._orders:
            self._cancel_reject(order, f"{self.venue}: not an order of this connector", False)
            return
        self._spawn(order, "cancel", lambda: self._do_cancel(order, product))

    def replace(self, order: Order, *, price: Decimal | None, qty: Decimal | None) -> None:
        """Amend ``order``'s price and/or total quantity in a task; a refusal is a cancel
        reject with ``is_replace``."""
        product = self.products.get(order.instrument)
        if product is None or order.cl_ord_id not in self._orders:
            self._cancel_reject(order, f"{self.venue}: not an order of this connector", True)
            return
        refusal = check_order(order, product, price=price, qty=qty)
        if refusal is not None:
            self._cancel_reject(order, str(refusal), True)
            return
        self._spawn(order, "amend", lambda: self._do_amend(order, product, price, qty))

    # -- running ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return; call on the loop thread."""
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> None:
        """Reconcile, serve requests and keep the private stream open until :meth:`stop`.

        Raises
        ------
        AuthError
            When the venue refused the credentials (at start or later).
        VenueError
            When the first reconciliation failed.
        """
        self._stop = asyncio.Event()
        self._reconcile_wanted = asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        await self.rest.open()
        try:
            lookback = int(self.settings.fill_lookback_s * _NS_PER_S)
            await self.reconcile_now(since_ns=time.time_ns() - lookback)
            self._ready.set()
            log.info("connector.ready", extra={"venue": self.venue, "account": self.account})
            async with asyncio.TaskGroup() as tg:
                reconciler = tg.create_task(self._reconciler(), name=f"{self.venue}:reconcile")
                stream_task = None
                if self.stream_url is not None:
                    stream_task = tg.create_task(
                        self._keep_stream(self.stream_url), name=f"{self.venue}:private-stream"
                    )
                await self._stop.wait()
                if self._connection is not None:
                    self._connection.stop()
                reconciler.cancel()
                if stream_task is not None:
                    await stream_task
        finally:
            self._ready.clear()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.rest.close()
            self.stream_state = FeedState.STOPPED
        if self.failure is not None:
            raise self.failure

    def request_reconcile(self) -> None:
        """Ask for a reconciliation soon (after the one running, if any)."""
        if self._reconcile_wanted is not None:
            self._reconcile_wanted.set()

    async def reconcile_now(self, *, since_ns: int | None = None) -> ReconcilePlan:
        """Reconcile with the venue now and carry out the plan; return it.

        Parameters
        ----------
        since_ns
            Look for fills from this time; by default from before the last disconnect (or
            the last reconciliation).

        Raises
        ------
        VenueError
            When the venue's snapshot could not be read.
        """
        if since_ns is None:
            margin = int(self.settings.reconnect_lookback_s * _NS_PER_S)
            anchor = self._lost_ns or self._last_reconciled_ns or time.time_ns()
            since_ns = anchor - margin
        snapshot = await self.snapshot(since_ns=since_ns)
        snapshot = replace(
            snapshot,
            open_orders=[self._canonical(u) for u in snapshot.open_orders],
            fills=[self._canonical_fill(f) for f in snapshot.fills],
        )
        in_flight = {cl for cl, n in self._in_flight.items() if n > 0}
        open_ids = {u.cl_ord_id for u in snapshot.open_orders}
        closed: dict[str, OrderUpdate | None] = {}
        for order in list(self._orders.values()):
            cl = order.cl_ord_id
            if order.is_terminal or cl in open_ids or cl in in_flight:
                continue
            product = self.products.get(order.instrument)
            if product is None:
                continue
            try:
                state = await self.query(order, product)
            except VenueError as exc:
                if isinstance(exc, AuthError):
                    raise
                log.warning(
                    "connector.reconcile.query_failed",
                    extra={"venue": self.venue, "cl_ord_id": cl, "error": str(exc)},
                )
                continue
            closed[cl] = None if state is None else self._canonical(state)
        plan = reconcile(
            snapshot,
            list(self._orders.values()),
            closed=closed,
            applied=self._seen,
            in_flight=in_flight,
        )
        for difference in plan.differences:
            self._record(difference)
        for update in plan.adopt:
            self._adopt(update)
        for exec_id in plan.covered:
            self._mark_seen(exec_id)
        for order, update in plan.updates:
            self._apply(order, update)
        for order, reason in plan.rejects:
            self._reject(order, reason, RejectSource.VENUE)
        self.positions.update_balances(snapshot.balances)
        self.positions.update_positions(snapshot.positions)
        self.reconciliations += 1
        self._last_reconciled_ns = snapshot.ts
        self._lost_ns = None
        log.info(
            "connector.reconciled",
            extra={
                "venue": self.venue,
                "open_orders": len(snapshot.open_orders),
                "fills": len(snapshot.fills),
                "differences": len(plan.differences),
            },
        )
        return plan

    # -- lookups for venue subclasses ------------------------------------------------------------

    def order_for(self, cl_ord_id: str) -> Order | None:
        """Return our order with ``cl_ord_id`` (or with that venue-side alias), or None."""
        order = self._orders.get(cl_ord_id)
        if order is None:
            mapped = self._aliases.get(cl_ord_id)
            order = self._orders.get(mapped) if mapped is not None else None
        return order

    def venue_client_id(self, order: Order) -> str:
        """Return the client order id the venue now knows ``order`` by."""
        return self._venue_cl.get(order.cl_ord_id, order.cl_ord_id)

    def set_venue_client_id(self, order: Order, venue_cl_ord_id: str) -> None:
        """Note that the venue now knows ``order`` by ``venue_cl_ord_id`` (after a venue's
        cancel-replace gave it a new client id)."""
        self._aliases[venue_cl_ord_id] = order.cl_ord_id
        self._venue_cl[order.cl_ord_id] = venue_cl_ord_id

    def product_for(self, instrument: InstrumentId) -> Product | None:
        """Return the listing of ``instrument``, or None."""
        return self.products.get(instrument)

    @property
    def is_ready(self) -> bool:
        """Return True once the first reconciliation is done and orders are sent."""
        return self._ready.is_set()

    def next_id(self, prefix: str) -> str:
        """Return a fresh id for a synthetic record (e.g. ``prefix-1``)."""
        return f"{prefix}-{next(self._synthetic)}"

    # -- requests ----------------------------------------------------------------------------

    def _spawn(
        self, order: Order, what: str, work: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        cl = order.cl_ord_id
        self._in_flight[cl] = self._in_flight.get(cl, 0) + 1
        task = asyncio.get_running_loop().create_task(
            self._guard(order, what, work), name=f"{self.venue}:{what}:{cl}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(
        self, order: Order, what: str, work: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        cl = order.cl_ord_id
        lock = self._locks.setdefault(cl, asyncio.Lock())
        try:
            await self._ready.wait()
            async with lock:
                await work()
        except AuthError as exc:
            self._fail(exc)
        except SerenityError as exc:
            log.error(
                "connector.request_failed",
                extra={"venue": self.venue, "what": what, "cl_ord_id": cl, "error": str(exc)},
            )
        finally:
            left = self._in_flight.get(cl, 1) - 1
            if left > 0:
                self._in_flight[cl] = left
            else:
                self._in_flight.pop(cl, None)
                if not lock.locked() and order.is_terminal:
                    self._locks.pop(cl, None)

    async def _do_submit(self, order: Order, product: Product) -> None:
        try:
            updates = await self.place(order, product)
        except OutcomeUnknownError as exc:
            self._warn_unknown(order, "submit", exc)
            await self._settle(order, product, is_new=True)
            return
        except AuthError as exc:
            self._reject(order, str(exc), RejectSource.VENUE)
            raise
        except VenueError as exc:
            self._reject(order, str(exc), RejectSource.VENUE)
            return
        for update in updates:
            self._apply(order, update)

    async def _do_cancel(self, order: Order, product: Product) -> None:
        try:
            updates = await self.cancel_order(order, product)
        except OutcomeUnknownError as exc:
            self._warn_unknown(order, "cancel", exc)
            if not await self._settle(order, product, is_new=False):
                self._cancel_reject(order, f"{exc}; the order is still working", False)
            return
        except AuthError as exc:
            self._cancel_reject(order, str(exc), False)
            raise
        except VenueError as exc:
            await self._settle(order, product, is_new=False, attempts=1)
            self._cancel_reject(order, str(exc), False)
            return
        for update in updates:
            self._apply(order, update)

    async def _do_amend(
        self, order: Order, product: Product, price: Decimal | None, qty: Decimal | None
    ) -> None:
        try:
            updates = await self.amend(order, product, price=price, qty=qty)
        except OutcomeUnknownError as exc:
            self._warn_unknown(order, "amend", exc)
            await self._settle(order, product, is_new=False)
            self._cancel_reject(order, f"{exc}; the amend was not confirmed", True)
            return
        except AuthError as exc:
            self._cancel_reject(order, str(exc), True)
            raise
        except VenueError as exc:
            await self._settle(order, product, is_new=False, attempts=1)
            self._cancel_reject(order, str(exc), True)
            return
        for update in updates:
            self._apply(order, update)

    async def _settle(
        self, order: Order, product: Product, *, is_new: bool, attempts: int | None = None
    ) -> bool:
        """Query ``order`` until the venue answers; apply its state. Return True when the
        order was finished by it."""
        tries = self.settings.query_attempts if attempts is None else attempts
        delay = self.settings.query_delay_s
        unknown = 0
        for attempt in range(tries):
            if attempts is None:
                await asyncio.sleep(delay * 2**attempt)
            try:
                state = await self.query(order, product)
            except AuthError:
                raise
            except VenueError as exc:
                log.warning(
                    "connector.query_failed",
                    extra={"venue": self.venue, "cl_ord_id": order.cl_ord_id, "error": str(exc)},
                )
                continue
            if state is None:
                unknown += 1
                continue
            return self._apply_state(order, self._canonical(state))
        if is_new and unknown == tries and order.status is OrderStatus.PENDING_NEW:
            self._reject(
                order,
                f"{self.venue}: no answer to the order and the venue does not know it after "
                f"{tries} queries",
                RejectSource.VENUE,
            )
            return True
        log.warning(
            "connector.unsettled",
            extra={"venue": self.venue, "cl_ord_id": order.cl_ord_id, "queries": tries},
        )
        return False

    def _warn_unknown(self, order: Order, what: str, exc: VenueError) -> None:
        log.warning(
            "connector.outcome_unknown",
            extra={
                "venue": self.venue,
                "what": what,
                "cl_ord_id": order.cl_ord_id,
                "error": str(exc),
            },
        )

    # -- the private stream ----------------------------------------------------------------------

    async def _keep_stream(self, url: str) -> None:
        """Run the private stream; open a new connection when the venue asked for one."""
        assert self._stop is not None
        while not self._stop.is_set():
            self._restart = False
            self._connection = self._open_stream(url)
            await self._connection.run()
            if not self._restart:
                return
            self._on_stream_lost(time.time_ns(), "the venue ended the stream")

    def _open_stream(self, url: str) -> WebsocketConnection:
        settings = self.settings
        config = ConnectionConfig(
            venue=f"{self.venue}-private",  # its logs are told from the feed's
            url=url,
            heartbeat_s=settings.heartbeat_s,
            stall_timeout_s=settings.stall_timeout_s,
            connect_timeout_s=settings.connect_timeout_s,
        )
        backoff = Backoff(initial_s=settings.backoff_initial_s, max_s=settings.backoff_max_s)
        self._stream = self.private_stream()
        return WebsocketConnection(
            config,
            _Session(self, self._stream),
            backoff=backoff,
            on_state=self._on_stream_state,
        )

    def _on_stream_state(self, state: FeedState) -> None:
        self.stream_state = state

    def _on_stream_lost(self, ts: int, reason: str) -> None:
        if self._stream_ready and self._lost_ns is None:
            self._lost_ns = ts
        self._stream_ready = False
        log.warning("connector.stream_lost", extra={"venue": self.venue, "reason": reason})

    def _on_frame(self, data: str | bytes, ts_recv: int) -> None:
        stream = self._stream
        assert stream is not None  # set with the connection
        try:
            items = stream.parse(data)
        except DataError as exc:
            log.warning(
                "connector.stream_unreadable", extra={"venue": self.venue, "error": str(exc)}
            )
            return
        for item in items:
            try:
                self._on_item(item)
            except Exception:  # one bad entry must not lose the others
                log.exception("connector.stream_entry_failed", extra={"venue": self.venue})

    def _on_item(self, item: StreamItem) -> None:
        if isinstance(item, OrderUpdate):
            self._on_update(item)
        elif isinstance(item, VenueBalance):
            self.positions.update_balances([item])
        elif isinstance(item, VenuePosition):
            self.positions.update_positions([item])
        elif isinstance(item, StreamReady):
            self._stream_ready = True
            log.info("connector.stream_ready", extra={"venue": self.venue})
            self.request_reconcile()
        elif isinstance(item, StreamRestart):
            log.warning(
                "connector.stream_restart", extra={"venue": self.venue, "reason": item.reason}
            )
            self._stream_ready = False
            self._restart = True
            if self._connection is not None:
                self._connection.stop()
        elif isinstance(item, StreamFailure):
            if item.is_auth:
                self._fail(
                    AuthError(f"{self.venue}: the private stream refused our API key: {item.text}")
                )
            else:
                log.warning(
                    "connector.stream_error", extra={"venue": self.venue, "text": item.text}
                )

    def _on_update(self, update: OrderUpdate) -> None:
        update = self._canonical(update)
        order = self._orders.get(update.cl_ord_id)
        if order is None:
            self._record(
                Difference(
                    venue=self.venue,
                    kind=DifferenceKind.UNKNOWN_ORDER,
                    ts=time.time_ns(),
                    cl_ord_id=update.cl_ord_id,
                    instrument=update.instrument,
                    details={
                        "venue_order_id": update.venue_order_id,
                        "exec_type": str(update.exec_type),
                        "status": str(update.status),
                    },
                )
            )
            if (
                not update.status.is_terminal
                and update.exec_type is not ExecType.TRADE
                and update.instrument in self.products
            ):
                self.request_reconcile()  # reconciliation adopts it
            return
        self._apply(order, update)

    async def _reconciler(self) -> None:
        assert self._reconcile_wanted is not None
        wanted = self._reconcile_wanted
        while True:
            await wanted.wait()
            wanted.clear()
            try:
                await self.reconcile_now()
            except AuthError as exc:
                self._fail(exc)
                return
            except VenueError as exc:
                log.warning(
                    "connector.reconcile_failed", extra={"venue": self.venue, "error": str(exc)}
                )
                await asyncio.sleep(self.settings.reconcile_retry_s)
                wanted.set()

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
            log.error("connector.failed", extra={"venue": self.venue, "error": str(exc)})
        self.stop()

    # -- reports -----------------------------------------------------------------------------

    def _canonical(self, update: OrderUpdate) -> OrderUpdate:
        mapped = self._aliases.get(update.cl_ord_id)
        return update if mapped is None else replace(update, cl_ord_id=mapped)

    def _canonical_fill(self, fill: VenueFill) -> VenueFill:
        if fill.cl_ord_id is None:
            return fill
        mapped = self._aliases.get(fill.cl_ord_id)
        return fill if mapped is None else replace(fill, cl_ord_id=mapped)

    def _apply(self, order: Order, update: OrderUpdate) -> None:
        """Deliver a change the venue reported for ``order``."""
        if update.exec_type is ExecType.ORDER_STATUS:
            self._apply_state(order, update)
            return
        exec_id = _exec_id(update)
        if exec_id in self._seen:
            return
        self._mark_seen(exec_id)
        self._deliver(self._report(order, update, exec_id))

    def _apply_state(self, order: Order, state: OrderUpdate) -> bool:
        """Deliver what a statement of ``order``'s state implies; return True when it
        finished the order. Fills are never inferred from a state: a filled quantity the
        order manager lacks is fetched by a reconciliation."""
        kind = _STATE_EXEC.get(state.status)
        if kind is not None:
            self._apply(order, replace(state, exec_type=kind, exec_id=None))
            return True
        if order.status is OrderStatus.PENDING_NEW and not state.status.is_terminal:
            self._apply(order, replace(state, exec_type=ExecType.NEW, exec_id=None))
        if state.cum_qty > order.cum_qty:
            self.request_reconcile()
        return state.status.is_terminal

    def _report(self, order: Order, update: OrderUpdate, exec_id: str) -> ExecutionReport:
        fill = update.fill
        return ExecutionReport(
            order_id=order.order_id,
            cl_ord_id=order.cl_ord_id,
            exec_id=exec_id,
            exec_type=update.exec_type,
            status=update.status,
            account=order.account,
            instrument=order.instrument,
            side=order.side,
            qty=update.qty,
            price=update.price,
            cum_qty=update.cum_qty,
            leaves_qty=update.leaves_qty,
            ts=update.ts,
            last_qty=fill.qty if fill is not None else Decimal(0),
            last_px=fill.price if fill is not None else None,
            avg_px=update.avg_px,
            fee=fill.fee if fill is not None else Decimal(0),
            fee_currency=fill.fee_currency if fill is not None else "",
            liquidity=fill.liquidity if fill is not None else None,
            venue_order_id=update.venue_order_id or None,
            text=update.text,
        )

    def _adopt(self, update: OrderUpdate) -> None:
        adopt = getattr(self._sink, "adopt", None)
        problem = None
        order = None
        if update.cl_ord_id in self._orders:
            problem = "its client order id is already used"
        elif adopt is None:
            problem = "the order manager cannot adopt orders"
        else:
            try:
                order = _order_of(update, self.account)
            except InvalidValueError as exc:
                problem = str(exc)
        if order is None or adopt is None:
            self._record(
                Difference(
                    venue=self.venue,
                    kind=DifferenceKind.ADOPT_FAILED,
                    ts=time.time_ns(),
                    cl_ord_id=update.cl_ord_id,
                    instrument=update.instrument,
                    details={"reason": problem},
                )
            )
            return
        self._orders[order.cl_ord_id] = order
        self.scheduler.schedule(lambda: adopt(order))

    def _reject(self, order: Order, reason: str, source: RejectSource) -> None:
        self._deliver(
            Reject(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                account=order.account,
                instrument=order.instrument,
                reason=reason,
                source=source,
                ts=self.scheduler.get_time(),
            )
        )

    def _cancel_reject(self, order: Order, reason: str, is_replace: bool) -> None:
        self._deliver(
            CancelReject(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                reason=reason,
                ts=self.scheduler.get_time(),
                is_replace=is_replace,
            )
        )

    def _deliver(self, event: OrderEvent) -> None:
        sink = self._sink
        if sink is None:
            log.error(
                "connector.unbound",
                extra={"venue": self.venue, "cl_ord_id": getattr(event, "cl_ord_id", "")},
            )
            return
        self.scheduler.schedule(lambda: sink.apply(event))

    def _mark_seen(self, exec_id: str) -> None:
        seen = self._seen
        seen[exec_id] = None
        if len(seen) > _SEEN_CAP:
            for old in list(itertools.islice(seen, len(seen) - _SEEN_CAP)):
                del seen[old]

    def _record(self, difference: Difference) -> None:
        self.differences.append(difference)
        log.warning(
            "connector.difference",
            extra={
                "venue": difference.venue,
                "kind": str(difference.kind),
                "cl_ord_id": difference.cl_ord_id,
                "instrument": None if difference.instrument is None else str(difference.instrument),
                "details": difference.details,
            },
        )

    @property
    def seen_exec_ids(self) -> Collection[str]:
        """Return the exec ids delivered so far (the most recent, bounded)."""
        return self._seen.keys()


def _exec_id(update: OrderUpdate) -> str:
    """Return the exec id of a change: the same however the venue reported it."""
    kind = update.exec_type
    if kind is ExecType.TRADE:
        if update.fill is not None:
            return update.fill.exec_id
        return update.exec_id or f"trade:{update.venue_order_id}:{update.cum_qty}"
    if kind is ExecType.REPLACED:
        return update.exec_id or (
            f"replaced:{update.venue_order_id}:{update.qty}:{update.price}:{update.ts}"
        )
    return f"{kind}:{update.venue_order_id or update.cl_ord_id}"


def _order_of(update: OrderUpdate, account: str) -> Order:
    cls = _ORDER_TYPES[update.order_type]
    order = cls(
        cl_ord_id=update.cl_ord_id,
        account=account,
        instrument=update.instrument,
        side=update.side,
        qty=update.qty,
        order_type=update.order_type,
        price=update.price,
        stop_price=update.stop_price,
        post_only=update.post_only,
        tif=update.tif if update.tif is not None else TimeInForce.GTC,
    )
    order.status = update.status
    order.cum_qty = update.cum_qty
    order.avg_px = update.avg_px
    order.venue_order_id = update.venue_order_id or None
    order.created_ts = order.updated_ts = update.ts
    return order
