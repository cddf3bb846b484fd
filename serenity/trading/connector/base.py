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

The class is built in layers: the delivery of reports to the order manager
(``_delivery.ReportDelivery``) under the requests as tasks with the failure policy
(``_requests.OrderRequests``), under the placer, the running and the reconciliation here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import ClassVar, Final

from serenity.errors import AuthError, VenueError
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenuePosition
from serenity.exchange.product import Product
from serenity.model import InstrumentId
from serenity.tau import NetworkScheduler
from serenity.trading.connector._requests import OrderRequests
from serenity.trading.connector.positions import ExchangePositionService
from serenity.trading.connector.reconcile import (
    Difference,
    ReconcilePlan,
    VenueSnapshot,
    reconcile,
)
from serenity.trading.connector.rest import RestClient
from serenity.trading.connector.settings import ConnectorContext, ConnectorSettings
from serenity.trading.connector.stream import (
    PrivateStream,
    StreamFailure,
    StreamItem,
    StreamReady,
    StreamRestart,
    StreamRunner,
)
from serenity.trading.orders import Order
from serenity.trading.placer import ExecutionSink
from serenity.trading.reports import RejectSource
from serenity.trading.validation import check_order

# The stream entries, settings and context lived here first; still importable from here.
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


class VenueConnector(OrderRequests, ABC):
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
    """

    venue: ClassVar[str] = ""
    purges_unfilled_cancels: ClassVar[bool] = False
    """The venue forgets an order canceled without fills: a lookup by client order id then
    finds nothing. Reconciliation then reads an acknowledged order the venue no longer knows,
    with nothing filled, as canceled rather than expired (see
    :func:`~serenity.trading.connector.reconcile`)."""

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
        self.failure: BaseException | None = None
        self._sink: ExecutionSink | None = None
        self._orders: dict[str, Order] = {}
        self._aliases: dict[str, str] = {}  # a venue-side client id -> our cl_ord_id
        self._venue_cl: dict[str, str] = {}  # our cl_ord_id -> its current venue-side id
        self._seen: dict[str, None] = {}  # exec ids delivered, oldest first (bounded)
        self._in_flight: dict[str, int] = {}
        self._cancels_sent: set[str] = set()  # cl_ord_ids a cancel was sent for
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._reconcile_wanted: asyncio.Event | None = None
        self._runner: StreamRunner | None = None
        self._last_reconciled_ns: int | None = None

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
                    self._runner = StreamRunner(
                        self,
                        self.private_stream(),
                        venue=self.venue,
                        url=self.stream_url,
                        settings=self.settings,
                    )
                    stream_task = tg.create_task(
                        self._runner.run(), name=f"{self.venue}:private-stream"
                    )
                await self._stop.wait()
                if self._runner is not None:
                    self._runner.stop()
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
            lost = self._runner.lost_ns if self._runner is not None else None
            anchor = lost or self._last_reconciled_ns or time.time_ns()
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
            cancels_sent=self._cancels_sent,
            purges_unfilled_cancels=self.purges_unfilled_cancels,
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
        if self._runner is not None:
            self._runner.take_lost_ns()
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

    @property
    def stream_ready(self) -> bool:
        """Return True while the private stream is subscribed."""
        return self._runner is not None and self._runner.ready

    @property
    def stream(self) -> StreamRunner | None:
        """Return the private stream's runner while :meth:`run` runs (None without one)."""
        return self._runner

    @property
    def is_ready(self) -> bool:
        """Return True once the first reconciliation is done and orders are sent."""
        return self._ready.is_set()

    # -- the private stream ----------------------------------------------------------------------

    def on_stream_entry(self, entry: OrderUpdate | VenueBalance | VenuePosition) -> None:
        """Take an order update, a balance or a position from the private stream."""
        if isinstance(entry, OrderUpdate):
            self._on_update(entry)
        elif isinstance(entry, VenueBalance):
            self.positions.update_balances([entry])
        else:
            self.positions.update_positions([entry])

    def on_stream_ready(self) -> None:
        """Reconcile: the private stream is subscribed again."""
        self.request_reconcile()

    def on_stream_failed(self, error: AuthError) -> None:
        """Stop with ``error``: the venue refused the credentials."""
        self._fail(error)

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

    # -- reports -----------------------------------------------------------------------------

    @property
    def seen_exec_ids(self) -> Collection[str]:
        """Return the exec ids delivered so far (the most recent, bounded)."""
        return self._seen.keys()
