"""The Coinbase Exchange order connector: ``coinbase:prod`` and ``coinbase:sandbox``.

A thin I/O layer over :mod:`serenity.exchange.coinbase` on the shared
:class:`~serenity.trading.connector.VenueConnector`:

- **REST** (``POST /orders``, ``DELETE /orders/<id>``, ``GET /orders``, ``GET /fills``,
  ``GET /accounts``, ``GET /time``) signed with the ``CB-ACCESS-*`` headers, within
  Coinbase's published rate limits (:data:`RATE_LIMITS`), with the failure policy of
  :mod:`serenity.exchange.coinbase.errors` (:data:`ERRORS`). The clock is read from
  ``GET /time`` at start and again whenever Coinbase says a timestamp expired.
- **Orders** are sent with a ``client_oid`` derived from the account and our
  ``cl_ord_id`` (:func:`~serenity.exchange.coinbase.orders.client_oid`), so an order whose
  answer was lost is found again by it (``GET /orders/client:<client_oid>``) and never sent
  twice. What Coinbase cannot carry (reduce-only, DAY and GTD, FOK market orders, stops
  that are not GTC) is refused locally, as a validation reject naming the reason.
- **Amend**: Coinbase's REST API has no amend. :meth:`CoinbaseConnector.amend` cancels the
  order, counts what filled meanwhile, and places a new order for the rest at the new
  price (a fresh ``client_oid``); the order manager sees one order replaced. Queue
  priority is lost, as with any amend that changes the price; if the new order is
  refused, the order ends canceled, with the reason.
- **Private stream**: the ``user`` channel (and ``heartbeat``) on the feed's websocket,
  authenticated in the ``subscribe``
  (:func:`~serenity.exchange.coinbase.signing.user_subscribe_message`), read by
  :class:`~serenity.exchange.coinbase.user_channel.UserChannel`. Coinbase's
  authenticated messages carry no sequence numbers, so a lost one cannot be seen: the
  connector reconciles after every (re)connect, and a ``done`` that disagrees with the
  fills seen makes it fetch them.
- **Reconciliation**: open orders (``status`` open, pending and active, every page), the
  fills of each traded product since the last disconnect (every page back to then) and
  the accounts' balances. Coinbase purges an order canceled without fills
  (:data:`~serenity.exchange.coinbase.orders.PURGES_UNFILLED_CANCELS`), so one of our
  acknowledged orders it no longer knows, with nothing filled, ends canceled (not
  expired); one with fills that vanished stays a difference and expires.

Credentials need a passphrase: ``SERENITY_COINBASE_API_KEY``, ``..._API_SECRET``,
``..._API_PASSPHRASE`` (or ``SERENITY_COINBASE_SANDBOX_*`` for the sandbox's own key, or a
credentials file); see :class:`~serenity.trading.connector.Credentials`.

The paged REST reads live in ``_coinbase_rest``, the reading of Coinbase's answers with
the ``user`` channel's tracking in ``_coinbase_tracking``, and :class:`CoinbaseStream` in
``_coinbase_stream`` (exported from here).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from serenity._version import __version__
from serenity.errors import AuthError, ConfigError, InvalidValueError, VenueError
from serenity.exchange.coinbase import endpoints as cb
from serenity.exchange.coinbase.enums import SelfTradePrevention
from serenity.exchange.coinbase.errors import ErrorKind, parse_error_answer
from serenity.exchange.coinbase.marketdata import parse_time
from serenity.exchange.coinbase.orders import (
    PURGES_UNFILLED_CANCELS,
    client_oid,
    encode_body,
    new_order_body,
    refusal,
)
from serenity.exchange.coinbase.schemas import CoinbaseOrder, decode_accounts, decode_order
from serenity.exchange.coinbase.signing import CoinbaseSigner, timestamp_text
from serenity.exchange.coinbase.user_channel import TrackedOrder, UserChannel
from serenity.exchange.endpoints import Endpoints, resolve_endpoints
from serenity.exchange.execution import OrderUpdate, VenueFill
from serenity.exchange.product import Product
from serenity.model import ExecType, InstrumentId, OrderStatus, OrderType, Side, TimeInForce
from serenity.tau import NetworkScheduler
from serenity.trading.connector import _coinbase_tracking as tracking
from serenity.trading.connector._coinbase_rest import (
    JSON,
    PRIVATE,
    log_bad,
    read_fills,
    read_open_orders,
    read_order,
    server_time,
)
from serenity.trading.connector._coinbase_stream import CoinbaseStream
from serenity.trading.connector.base import VenueConnector
from serenity.trading.connector.credentials import Credentials
from serenity.trading.connector.limits import RateLimit
from serenity.trading.connector.positions import ExchangePositionService
from serenity.trading.connector.reconcile import VenueSnapshot
from serenity.trading.connector.rest import (
    ErrorPolicy,
    OutcomeUnknownError,
    RestClient,
    RestRequest,
    VenueReply,
)
from serenity.trading.connector.settings import ConnectorContext, ConnectorSettings
from serenity.trading.connector.stream import PrivateStream
from serenity.trading.orders import Order

__all__ = [
    "ERRORS",
    "RATE_LIMITS",
    "CoinbaseConnector",
    "CoinbaseRequestSigner",
    "CoinbaseStream",
    "create_placer",
]

log = logging.getLogger(__name__)

VENUE: Final = cb.VENUE
RATE_LIMITS: Final = (
    RateLimit("private", 13, 1.0, burst=27),
    RateLimit("fills", 9, 1.0, burst=18),
    RateLimit("public", 9, 1.0, burst=13),
)
"""Coinbase Exchange's REST limits per profile, kept about 10% under the published ones
(private endpoints 15 requests a second in bursts of 30, ``/fills`` 10 a second in bursts
of 20, public endpoints 10 a second in bursts of 15) so that requests bunched on their way
to the venue never exceed them there."""


def _reply(status: int, body: bytes) -> VenueReply | None:
    error = parse_error_answer(status, body)
    return None if error is None else VenueReply(error.kind.value, error.message)


ERRORS: Final = ErrorPolicy(
    parse=_reply,
    auth_codes=frozenset({ErrorKind.AUTH.value}),
    auth_statuses=frozenset({401, 403}),
    retry_codes=frozenset({ErrorKind.RATE_LIMIT.value}),
    retry_statuses=frozenset({429}),
    clock_codes=frozenset({ErrorKind.CLOCK.value}),
    unknown_codes=frozenset({ErrorKind.OUTCOME_UNKNOWN.value}),
)
"""Coinbase's failure policy (:mod:`serenity.exchange.coinbase.errors`) for the REST client:
the error kind is the code."""


class CoinbaseRequestSigner:
    """Sign REST requests with the ``CB-ACCESS-*`` headers (a framework
    :class:`~serenity.trading.connector.Signer`)."""

    def __init__(self, signer: CoinbaseSigner) -> None:
        self._signer = signer

    def __repr__(self) -> str:
        return "CoinbaseRequestSigner(***)"

    def sign(self, request: RestRequest, now_ms: int) -> RestRequest:
        """Return ``request`` with its headers signed at ``now_ms`` (the venue's clock)."""
        path = request.path + (f"?{request.query}" if request.params else "")
        request.headers.update(
            self._signer.headers(timestamp_text(now_ms), request.method, path, request.body or b"")
        )
        return request


@dataclass(frozen=True, slots=True, kw_only=True)
class _Terms:
    """The terms of a replacement order (what is left, at the new price)."""

    cl_ord_id: str
    instrument: InstrumentId
    side: Side
    qty: Decimal
    order_type: OrderType
    price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    post_only: bool
    reduce_only: bool = False


class CoinbaseConnector(VenueConnector):
    """Orders of one account on Coinbase Exchange (see the module docstring).

    Parameters
    ----------
    account
        Our trading account name.
    scheduler
        The run's realtime scheduler.
    products
        The listings of the traded products.
    credentials
        The API key, secret and passphrase.
    endpoints
        REST base URL and the websocket feed's URL (the private stream's).
    stp
        Self-trade prevention to ask for on every order; Coinbase's default (``dc``) when
        None.
    settings, positions
        As for :class:`~serenity.trading.connector.VenueConnector`.
    timeout_s
        Longest wait for one REST answer.

    Raises
    ------
    ConfigError
        When the credentials lack a passphrase or the secret is not base64.
    """

    venue = VENUE
    purges_unfilled_cancels = PURGES_UNFILLED_CANCELS

    def __init__(
        self,
        *,
        account: str,
        scheduler: NetworkScheduler,
        products: Mapping[InstrumentId, Product],
        credentials: Credentials,
        endpoints: Endpoints,
        stp: SelfTradePrevention | None = None,
        settings: ConnectorSettings | None = None,
        positions: ExchangePositionService | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if credentials.passphrase is None:
            raise ConfigError(
                f"{VENUE}: Coinbase Exchange API keys have a passphrase; set "
                "SERENITY_COINBASE_API_PASSPHRASE (or api_passphrase in the credentials file)"
            )
        self.signer = CoinbaseSigner(
            credentials.api_key, credentials.secret, credentials.passphrase
        )
        rest = RestClient(
            VENUE,
            endpoints.rest,
            errors=ERRORS,
            signer=CoinbaseRequestSigner(self.signer),
            limits=RATE_LIMITS,
            timeout_s=timeout_s,
            server_time=server_time,
            headers={"User-Agent": f"serenity/{__version__}", "Accept": JSON},
        )
        super().__init__(
            account=account,
            scheduler=scheduler,
            products=products,
            rest=rest,
            stream_url=endpoints.ws,
            positions=positions,
            settings=settings,
        )
        self.endpoints = endpoints
        self.stp = stp
        self.channel = UserChannel()
        self.clock_resyncs = 0
        self._amends: dict[str, int] = {}
        self._resync: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"CoinbaseConnector(account={self.account!r}, rest={self.endpoints.rest!r})"

    # -- the placer ------------------------------------------------------------------------

    def refuse(self, order: Order, product: Product) -> str | None:
        """Return why Coinbase cannot carry ``order`` (reduce-only, DAY, GTD, a FOK market
        order, a stop that is not GTC), or None."""
        return refusal(order)

    async def run(self) -> None:
        """Read Coinbase's clock, then run the connector (see the base class).

        Raises
        ------
        AuthError
            When Coinbase refused the credentials.
        VenueError
            When the first reconciliation failed.
        """
        await self.rest.open()
        try:
            await self.rest.sync_clock()
        except AuthError:
            await self.rest.close()
            raise
        except VenueError as exc:
            log.warning("connector.clock_unread", extra={"venue": VENUE, "error": str(exc)})
        await super().run()

    # -- venue hooks -------------------------------------------------------------------------

    async def place(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Send ``order`` (``POST /orders``); return its acknowledgement or rejection."""
        oid = client_oid(self.account, order.cl_ord_id)
        self.set_venue_client_id(order, oid)
        self.channel.expect(oid, tracking.tracked(order))
        try:
            answer = await self._post(order, product, self.account)
        except OutcomeUnknownError:
            raise  # the order may be on the venue: its messages are still expected
        except VenueError:
            self.channel.unexpect(oid)
            raise
        return tracking.acknowledged(self.channel, answer, oid)

    async def cancel_order(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Cancel ``order`` (``DELETE``); return its fills not yet seen and its end."""
        await self.rest.request(
            "DELETE", self._order_path(order), signed=True, cost=PRIVATE, idempotent=False
        )
        return await self._closed(order)

    async def amend(
        self, order: Order, product: Product, *, price: Decimal | None, qty: Decimal | None
    ) -> Sequence[OrderUpdate]:
        """Replace ``order``: cancel it, then place what is left at the new price.

        Raises
        ------
        VenueError
            When the cancel was refused (the order is unchanged).
        """
        old_id = order.venue_order_id or ""
        tracked = self.channel.get(old_id) if old_id else None
        if tracked is None:
            tracked = tracking.track(self.channel, order)
        self.channel.replacing(old_id)
        self._cancels_sent.add(order.cl_ord_id)  # the amend's cancel: a vanished order is ours
        try:
            await self.rest.request(
                "DELETE", self._order_path(order), signed=True, cost=PRIVATE, idempotent=False
            )
        except VenueError:
            self.channel.not_replacing(old_id)
            raise
        caught_up = await self._catch_up(order, tracked)
        total = qty if qty is not None else order.qty
        new_price = price if price is not None else order.price
        now = time.time_ns()
        if tracked.cum_qty >= total:  # filled meanwhile: nothing is left to replace
            tracked.qty = tracked.cum_qty
            return [*caught_up, tracked.update(ExecType.REPLACED, OrderStatus.FILLED, now)]
        count = self._amends[order.cl_ord_id] = self._amends.get(order.cl_ord_id, 0) + 1
        terms = _Terms(
            cl_ord_id=f"{order.cl_ord_id}#{count}",
            instrument=order.instrument,
            side=order.side,
            qty=total - tracked.cum_qty,
            order_type=order.order_type,
            price=new_price,
            stop_price=order.stop_price,
            tif=order.tif,
            post_only=order.post_only,
        )
        oid = client_oid(self.account, terms.cl_ord_id)
        self.set_venue_client_id(order, oid)
        tracked.qty, tracked.price = total, new_price
        tracked.base_qty, tracked.base_notional = tracked.cum_qty, tracked.notional
        self.channel.expect(oid, tracked)
        try:
            answer = await self._post(terms, product, self.account)
        except VenueError as exc:
            if isinstance(exc, AuthError):
                raise
            text = f"{VENUE}: amend canceled the order, then its replacement was refused: {exc}"
            return [
                *caught_up,
                tracked.update(ExecType.CANCELED, OrderStatus.CANCELED, now, text=text),
            ]
        self.channel.bind(answer.id, oid)
        if answer.status == "rejected":
            text = f"{VENUE}: amend canceled the order, then its replacement was rejected: " + (
                answer.reject_reason or "no reason given"
            )
            return [
                *caught_up,
                tracked.update(ExecType.CANCELED, OrderStatus.CANCELED, now, text=text),
            ]
        return [
            *caught_up,
            tracked.update(
                ExecType.REPLACED,
                tracked.fill_status,
                parse_time(answer.created_at),
                exec_id=f"replaced:{answer.id}",
            ),
        ]

    async def query(self, order: Order, product: Product) -> OrderUpdate | None:
        """Return Coinbase's state of ``order``, or None when it does not know it (an
        order canceled without fills is forgotten by Coinbase)."""
        answer = await read_order(self.rest, self._order_path(order))
        return None if answer is None else tracking.stated(self.channel, answer)

    async def snapshot(self, *, since_ns: int) -> VenueSnapshot:
        """Return open orders, fills since ``since_ns`` and balances (every page)."""
        listed = [
            o
            for o in await read_open_orders(self.rest)
            if InstrumentId(VENUE, o.product_id) in self.products
        ]
        fills: list[VenueFill] = []
        for instrument in self.products:
            if instrument.venue == VENUE:
                fills += await read_fills(self.rest, since_ns, product_id=instrument.symbol)
        self.channel.count_fills(fills)
        for order in listed:
            if self.channel.get(order.id) is None:  # placed elsewhere or before: follow it
                exec_ids = {f.exec_id for f in fills if f.venue_order_id == order.id}
                tracking.follow(self.channel, order, exec_ids)
        open_orders = [tracking.stated(self.channel, o) for o in listed]
        answer = await self.rest.request("GET", cb.ACCOUNTS_PATH, signed=True, cost=PRIVATE)
        accounts, bad = decode_accounts(answer.body)
        log_bad(bad)
        now = time.time_ns()
        return VenueSnapshot(
            venue=VENUE,
            ts=now,
            open_orders=open_orders,
            fills=fills,
            balances=[a.to_balance(now) for a in accounts],
        )

    def private_stream(self) -> PrivateStream:
        """Return the ``user`` channel's sans-I/O side."""
        return CoinbaseStream(self)

    # -- helpers ---------------------------------------------------------------------------

    def resync_clock(self) -> None:
        """Read Coinbase's clock again soon (after it refused a stale timestamp)."""
        if self._resync is not None and not self._resync.done():
            return
        self._resync = asyncio.get_running_loop().create_task(self._sync_clock())
        self._tasks.add(self._resync)
        self._resync.add_done_callback(self._tasks.discard)

    async def _sync_clock(self) -> None:
        try:
            await self.rest.sync_clock()
            self.clock_resyncs += 1
        except VenueError as exc:
            log.warning("connector.clock_unread", extra={"venue": VENUE, "error": str(exc)})

    async def _post(self, terms: Any, product: Product, account: str) -> CoinbaseOrder:
        try:
            body = new_order_body(terms, product, account=account, stp=self.stp)
        except InvalidValueError as exc:
            raise VenueError(str(exc)) from None
        answer = await self.rest.request(
            "POST",
            cb.ORDERS_PATH,
            signed=True,
            cost=PRIVATE,
            body=encode_body(body),
            content_type=JSON,
            idempotent=False,
        )
        return decode_order(answer.body)

    async def _closed(self, order: Order) -> list[OrderUpdate]:
        """Return the updates that finish a canceled ``order``: fills first, then its end."""
        tracked = self.channel.get(order.venue_order_id or "") or tracking.track(
            self.channel, order
        )
        caught_up = await self._catch_up(order, tracked)
        now = time.time_ns()
        if tracked.cum_qty >= tracked.qty:
            return caught_up
        self.channel.forget(tracked.venue_order_id)
        return [*caught_up, tracked.update(ExecType.CANCELED, OrderStatus.CANCELED, now)]

    async def _catch_up(self, order: Order, tracked: TrackedOrder) -> list[OrderUpdate]:
        """Return TRADE updates of the fills of ``order``'s venue order not yet counted."""
        venue_id = order.venue_order_id or tracked.venue_order_id
        path = cb.order_path(venue_id) if venue_id else self._order_path(order)
        state = await read_order(self.rest, path)
        if state is None or not state.filled_size:
            return []  # canceled without fills (Coinbase forgets those)
        if not tracked.venue_order_id:
            tracked.venue_order_id = state.id
            self.channel.track(tracked)
        updates = []
        for fill in await read_fills(self.rest, None, order_id=state.id):
            if self.channel.count_fill(tracked, fill):
                updates.append(
                    tracked.update(ExecType.TRADE, tracked.fill_status, fill.ts, fill=fill)
                )
        return updates

    def _order_path(self, order: Order) -> str:
        if order.venue_order_id:
            return cb.order_path(order.venue_order_id)
        return cb.client_order_path(self.venue_client_id(order))


def create_placer(context: ConnectorContext) -> CoinbaseConnector:
    """Build the connector of a live run's ``coinbase:prod`` or ``coinbase:sandbox`` placer.

    The instance picks the deployment; ``rest_url`` and ``ws_url`` replace its URLs (a test
    server). Credentials come from the environment or a credentials file
    (:meth:`~serenity.trading.connector.Credentials.load`, with the instance's own
    variables first).

    Raises
    ------
    ConfigError
        For an unknown instance, a bad URL, or missing or incomplete credentials; the
        message names the venue and what is wrong.
    """
    environment = cb.environment_of(context.instance)
    endpoints = resolve_endpoints(
        VENUE, cb.ENDPOINTS, environment=environment, rest_url=context.rest_url
    )
    if context.ws_url is not None:
        endpoints = Endpoints(rest=endpoints.rest, ws=context.ws_url)
    credentials = Credentials.load(VENUE, instance=context.instance, needs_passphrase=True)
    return CoinbaseConnector(
        account=context.account,
        scheduler=context.scheduler,
        products={i: p for i, p in context.products.items() if i.venue == VENUE},
        credentials=credentials,
        endpoints=endpoints,
    )
