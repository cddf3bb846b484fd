"""The Binance spot order connector (placers ``binance:prod`` and ``binance:testnet``).

A thin I/O layer over :mod:`serenity.exchange.binance`: orders, cancels, amends, queries and
the reconciliation snapshot go over the signed REST API (HMAC-SHA256 of the query string
with ``timestamp`` and ``recvWindow``, the key in ``X-MBX-APIKEY``); order events and
balances arrive on the user data stream of the WebSocket API
(``userDataStream.subscribe.signature``). Everything else (local checks, tasks on the loop,
the failure policy, reconnects, reconciliation) is
:class:`~serenity.trading.connector.VenueConnector`'s.

Amends: a quantity cut at the same price keeps the order's place in the queue
(``PUT /api/v3/order/amend/keepPriority``); any other change is Binance's cancel-replace
(``POST /api/v3/order/cancelReplace``, ``STOP_ON_FAILURE``), whose new order (what is left
to fill, under a new client id derived from ours) stays the same order for the order
manager. See ``docs/connector_binance.rst``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Final

from serenity.errors import ConfigError, VenueError
from serenity.exchange import Environment
from serenity.exchange.binance import endpoints, errors, orders, userstream
from serenity.exchange.binance.endpoints import ENDPOINTS, VENUE, WS_API, ws_api_url
from serenity.exchange.binance.schemas import (
    Account,
    AmendAnswer,
    CancelReplaceAnswer,
    MyTrade,
    OrderAnswer,
    ServerTime,
    decode,
)
from serenity.exchange.binance.signing import API_KEY_HEADER, RECV_WINDOW_MS, signed_query
from serenity.exchange.execution import OrderUpdate, VenueFill
from serenity.exchange.product import Product
from serenity.model import ExecType, InstrumentId, OrderStatus
from serenity.tau import NetworkScheduler
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
from serenity.trading.connector.stream import (
    PrivateStream,
    StreamFailure,
    StreamItem,
    StreamReady,
    StreamRestart,
)
from serenity.trading.orders import Order

__all__ = [
    "ERROR_POLICY",
    "RATE_LIMITS",
    "BinanceConnector",
    "BinanceSigner",
    "create_placer",
]

log = logging.getLogger(__name__)

RATE_LIMITS: Final = (
    RateLimit("weight", 6000, 60.0),
    RateLimit("orders", 50, 10.0),
    RateLimit("orders_day", 160_000, 86_400.0),
    RateLimit("raw", 61_000, 300.0),
)
"""Binance spot's quotas: request weight a minute, orders per 10 s and per day, raw
requests per 5 minutes."""
_USAGE_HEADERS: Final = {
    "x-mbx-used-weight-1m": "weight",
    "x-mbx-order-count-10s": "orders",
    "x-mbx-order-count-1d": "orders_day",
}
_NS_PER_MS: Final = 1_000_000
_DAY_MS: Final = 86_400_000
_TRADES_PAGE: Final = 1000


def _reply(status: int, body: bytes) -> VenueReply | None:
    found = errors.error_of(status, body)
    return None if found is None else VenueReply(*found)


ERROR_POLICY: Final = ErrorPolicy(
    parse=_reply,
    auth_codes=errors.AUTH_CODES,
    auth_statuses=frozenset({401}),
    retry_codes=errors.RETRY_CODES,
    retry_statuses=frozenset({429}),
    clock_codes=errors.CLOCK_CODES,
    unknown_codes=errors.UNKNOWN_CODES,
)
"""What Binance's answers mean (see :mod:`serenity.exchange.binance.errors`)."""


def _cost(weight: int, *, order: bool = False) -> dict[str, int]:
    cost = {"weight": weight, "raw": 1}
    if order:
        cost.update(orders=1, orders_day=1)
    return cost


def _usage(headers: Mapping[str, str]) -> dict[str, int]:
    used = {}
    for name, value in headers.items():
        kind = _USAGE_HEADERS.get(name.lower())
        if kind is not None and value.isdigit():
            used[kind] = int(value)
    return used


async def _server_time(rest: RestClient) -> int:
    resp = await rest.request("GET", endpoints.TIME_PATH, cost=_cost(1))
    return decode(resp.body, ServerTime, "server time").server_time


class BinanceSigner:
    """Signs Binance REST requests: ``recvWindow``, ``timestamp`` and ``signature`` (HMAC-
    SHA256 of the query string) appended, the key in ``X-MBX-APIKEY``."""

    def __init__(self, credentials: Credentials, recv_window_ms: int = RECV_WINDOW_MS) -> None:
        self.credentials = credentials
        self.recv_window_ms = recv_window_ms

    def sign(self, request: RestRequest, now_ms: int) -> RestRequest:
        """Return ``request`` signed at ``now_ms`` (Binance's clock as we estimate it)."""
        params = signed_query(
            self.credentials.secret.value,
            request.params,
            timestamp_ms=now_ms,
            recv_window_ms=self.recv_window_ms,
        )
        headers = {**request.headers, API_KEY_HEADER: self.credentials.api_key.value}
        return replace(request, params=params, headers=headers)


class _UserStream:
    """The user data stream's sans-I/O side: signed subscription, pings, frame reading."""

    def __init__(self, connector: BinanceConnector) -> None:
        self.connector = connector
        self._ids = itertools.count(1)
        self._subscribe_id = ""

    def subscriptions(self) -> list[str]:
        connector = self.connector
        credentials = connector.credentials
        self._subscribe_id = f"subscribe-{next(self._ids)}"
        return [
            userstream.subscribe_request(
                credentials.api_key.value,
                credentials.secret.value,
                timestamp_ms=connector.rest.now_ms(),
                request_id=self._subscribe_id,
                recv_window_ms=connector.recv_window_ms,
            )
        ]

    def ping_frame(self) -> str | None:
        return userstream.ping_request(f"ping-{next(self._ids)}")

    def parse(self, data: str | bytes) -> list[StreamItem]:
        out: list[StreamItem] = []
        for item in userstream.read_frame(data):
            if isinstance(item, userstream.Answer):
                if item.request_id != self._subscribe_id:
                    if item.is_error:
                        out.append(StreamFailure(f"code {item.code}: {item.msg}"))
                    continue
                if item.is_error:
                    out.append(
                        StreamFailure(
                            f"the subscription was refused (HTTP {item.status}, code "
                            f"{item.code}): {item.msg}",
                            is_auth=item.code in errors.AUTH_CODES or item.status == 401,
                        )
                    )
                else:
                    out.append(StreamReady())
            elif isinstance(item, userstream.Notice):
                out.append(StreamRestart(f"{VENUE} sent {item.kind}"))
            elif isinstance(item, OrderUpdate):
                if self.connector._is_replaced_cancel(item):
                    continue
                out.append(item)
            else:
                out.append(item)
        return out


class BinanceConnector(VenueConnector):
    """Binance spot orders for one account (see the module docstring).

    Parameters
    ----------
    credentials
        The account's API key (an HMAC key).
    account
        Our trading account name.
    scheduler
        The run's realtime scheduler.
    products
        The listings of the instruments traded (Binance spot symbols).
    rest_url
        The REST base URL (``https://api.binance.com``, the testnet's, or a test server).
    stream_url
        The WebSocket API URL; no user data stream when None.
    recv_window_ms
        How long Binance may take to receive a signed request.
    timeout_s
        Longest wait for one REST answer.
    limits
        The quotas kept (Binance's, :data:`RATE_LIMITS`, by default).
    positions, settings
        As :class:`~serenity.trading.connector.VenueConnector`.
    """

    venue = VENUE

    def __init__(
        self,
        *,
        credentials: Credentials,
        account: str,
        scheduler: NetworkScheduler,
        products: Mapping[InstrumentId, Product],
        rest_url: str,
        stream_url: str | None,
        recv_window_ms: int = RECV_WINDOW_MS,
        timeout_s: float = 10.0,
        limits: Sequence[RateLimit] = RATE_LIMITS,
        positions: ExchangePositionService | None = None,
        settings: ConnectorSettings | None = None,
    ) -> None:
        self.credentials = credentials
        self.recv_window_ms = recv_window_ms
        rest = RestClient(
            VENUE,
            rest_url,
            errors=ERROR_POLICY,
            signer=BinanceSigner(credentials, recv_window_ms),
            limits=limits,
            timeout_s=timeout_s,
            server_time=_server_time,
            usage=_usage,
        )
        super().__init__(
            account=account,
            scheduler=scheduler,
            products=products,
            rest=rest,
            stream_url=stream_url,
            positions=positions,
            settings=settings,
        )
        self._replacing: set[str] = set()
        self._replacements: dict[str, int] = {}

    # -- venue hooks -------------------------------------------------------------------------

    def refuse(self, order: Order, product: Product) -> str | None:
        """Return why Binance spot cannot take ``order`` (reduce-only, day orders...)."""
        return orders.local_refusal(order)

    def private_stream(self) -> PrivateStream:
        """Return the user data stream's sans-I/O side."""
        return _UserStream(self)

    async def place(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Send ``order`` (``POST /api/v3/order``, ``FULL`` answer)."""
        resp = await self.rest.request(
            "POST",
            endpoints.ORDER_PATH,
            orders.new_order_params(order, product, self.venue_client_id(order)),
            signed=True,
            cost=_cost(1, order=True),
        )
        return decode(resp.body, OrderAnswer, "order answer").to_updates()

    async def cancel_order(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Cancel ``order`` (``DELETE /api/v3/order``)."""
        resp = await self.rest.request(
            "DELETE",
            endpoints.ORDER_PATH,
            orders.cancel_params(product, self.venue_client_id(order)),
            signed=True,
            cost=_cost(1),
        )
        answer = decode(resp.body, OrderAnswer, "cancel answer")
        return [answer.to_order_update()]

    async def amend(
        self, order: Order, product: Product, *, price: Decimal | None, qty: Decimal | None
    ) -> Sequence[OrderUpdate]:
        """Cut the quantity in place, or cancel-replace for any other change."""
        same_price = price is None or price == order.price
        if same_price and qty is not None and qty < order.qty:
            resp = await self.rest.request(
                "PUT",
                endpoints.AMEND_PATH,
                orders.amend_params(product, self.venue_client_id(order), qty),
                signed=True,
                cost=_cost(4),
            )
            update = decode(resp.body, AmendAnswer, "amend answer").to_order_update()
            return [replace(update, cl_ord_id=order.cl_ord_id)]
        return await self._cancel_replace(order, product, price=price, qty=qty)

    async def query(self, order: Order, product: Product) -> OrderUpdate | None:
        """Return Binance's state of ``order`` (``GET /api/v3/order``), None if unknown."""
        try:
            resp = await self.rest.request(
                "GET",
                endpoints.ORDER_PATH,
                orders.query_params(product, self.venue_client_id(order)),
                signed=True,
                cost=_cost(4),
            )
        except VenueError as exc:
            if exc.code == errors.NO_SUCH_ORDER:
                return None
            raise
        return decode(resp.body, OrderAnswer, "order query answer").to_order_update()

    async def snapshot(self, *, since_ns: int) -> VenueSnapshot:
        """Return open orders and fills (since ``since_ns``, at most a day back) of the
        traded symbols, and the account's balances."""
        now = time.time_ns()
        start_ms = max(since_ns // _NS_PER_MS, now // _NS_PER_MS - _DAY_MS + 60_000)
        open_orders: list[OrderUpdate] = []
        fills: list[VenueFill] = []
        for symbol in sorted({p.symbol for p in self.products.values()}):
            resp = await self.rest.request(
                "GET",
                endpoints.OPEN_ORDERS_PATH,
                [("symbol", symbol)],
                signed=True,
                cost=_cost(6),
            )
            answers = decode(resp.body, list[OrderAnswer], "open orders")
            open_orders.extend(a.to_order_update() for a in answers)
            params: list[tuple[str, str | int]] = [
                ("symbol", symbol),
                ("startTime", start_ms),
                ("limit", _TRADES_PAGE),
            ]
            while True:
                resp = await self.rest.request(
                    "GET", endpoints.MY_TRADES_PATH, params, signed=True, cost=_cost(20)
                )
                trades = decode(resp.body, list[MyTrade], "trades")
                fills.extend(t.to_fill() for t in trades)
                if len(trades) < _TRADES_PAGE:
                    break
                params = [
                    ("symbol", symbol),
                    ("fromId", trades[-1].id + 1),
                    ("limit", _TRADES_PAGE),
                ]
        resp = await self.rest.request(
            "GET",
            endpoints.ACCOUNT_PATH,
            [("omitZeroBalances", "true")],
            signed=True,
            cost=_cost(20),
        )
        balances = decode(resp.body, Account, "account").to_balances(now)
        return VenueSnapshot(
            venue=VENUE,
            ts=now,
            open_orders=open_orders,
            fills=fills,
            balances=balances,
        )

    # -- cancel-replace ------------------------------------------------------------------------

    async def _cancel_replace(
        self, order: Order, product: Product, *, price: Decimal | None, qty: Decimal | None
    ) -> Sequence[OrderUpdate]:
        old_client = self.venue_client_id(order)
        n = self._replacements.get(order.cl_ord_id, 0) + 1
        self._replacements[order.cl_ord_id] = n
        new_client = orders.replacement_client_id(order.cl_ord_id, n)
        total = qty if qty is not None else order.qty
        old_venue_id = order.venue_order_id
        # name the new order before it exists, so its stream events find our order, and
        # keep the old one's cancel (ours, not the order manager's) out of the reports
        self.set_venue_client_id(order, new_client)
        if old_venue_id:
            self._replacing.add(old_venue_id)
        try:
            resp = await self.rest.request(
                "POST",
                endpoints.CANCEL_REPLACE_PATH,
                orders.cancel_replace_params(
                    order,
                    product,
                    cancel_client_id=old_client,
                    new_client_id=new_client,
                    qty=total - order.cum_qty,
                    price=price,
                ),
                signed=True,
                cost=_cost(1, order=True),
            )
        except OutcomeUnknownError:
            if await self._exists(product, new_client):
                raise  # replaced after all: settled by querying the new order
            self._undo_replace(order, old_client, old_venue_id)
            raise
        except VenueError:
            self._undo_replace(order, old_client, old_venue_id)
            raise
        answer = decode(resp.body, CancelReplaceAnswer, "cancel-replace answer")
        new = answer.new_order_response
        out = []
        for update in new.to_updates():
            if update.exec_type is ExecType.NEW:
                status = OrderStatus.PARTIALLY_FILLED if order.cum_qty else OrderStatus.NEW
                update = replace(
                    update,
                    exec_type=ExecType.REPLACED,
                    status=status,
                    exec_id=f"replaced:{new.order_id}:new",
                )
            out.append(
                replace(
                    update,
                    cl_ord_id=order.cl_ord_id,
                    qty=order.cum_qty + update.qty,
                    cum_qty=order.cum_qty + update.cum_qty,
                )
            )
        return out

    def _undo_replace(self, order: Order, old_client: str, old_venue_id: str | None) -> None:
        self.set_venue_client_id(order, old_client)
        if old_venue_id:
            self._replacing.discard(old_venue_id)

    async def _exists(self, product: Product, client_id: str) -> bool:
        try:
            await self.rest.request(
                "GET",
                endpoints.ORDER_PATH,
                orders.query_params(product, client_id),
                signed=True,
                cost=_cost(4),
            )
        except VenueError as exc:
            if exc.code == errors.NO_SUCH_ORDER:
                return False
            return True  # unknown: keep the new name, queries settle it
        return True

    def _is_replaced_cancel(self, update: OrderUpdate) -> bool:
        """Return True for the stream's report of the cancel half of our cancel-replace."""
        if update.exec_type is ExecType.CANCELED and update.venue_order_id in self._replacing:
            self._replacing.discard(update.venue_order_id)
            return True
        return False


def create_placer(context: ConnectorContext) -> BinanceConnector:
    """Build the Binance connector of a live run (placer ``binance:prod`` or
    ``binance:testnet``).

    Credentials come from the environment or a credentials file (see
    :class:`~serenity.trading.connector.Credentials`); ``context.rest_url`` and
    ``context.ws_url`` replace the instance's endpoints (a base websocket URL gets the
    WebSocket API's path).

    Raises
    ------
    ConfigError
        For an unknown instance or missing credentials.
    """
    instance = str(context.instance).lower()
    try:
        environment = Environment(instance)
    except ValueError:
        raise ConfigError(
            f"{VENUE}: unknown placer instance {context.instance!r}; use binance:prod or "
            "binance:testnet"
        ) from None
    credentials = Credentials.load(VENUE, instance=instance)
    rest_url = context.rest_url or ENDPOINTS[environment].rest
    stream_url = ws_api_url(context.ws_url) if context.ws_url else WS_API[environment]
    products = {i: p for i, p in context.products.items() if i.venue == VENUE}
    log.info(
        "connector.create",
        extra={"venue": VENUE, "instance": instance, "rest_url": rest_url, "ws_url": stream_url},
    )
    return BinanceConnector(
        credentials=credentials,
        account=context.account,
        scheduler=context.scheduler,
        products=products,
        rest_url=rest_url,
        stream_url=stream_url,
    )
