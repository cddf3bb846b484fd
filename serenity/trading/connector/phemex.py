"""Phemex order connector: coin-margined contracts and spot, over the shared framework.

A thin I/O layer: the venue's facts (paths, signing, scaling, request builders, message
schemas, error codes) live in :mod:`serenity.exchange.phemex`; the order life cycle,
retries, reconciliation and the private stream's connection in
:class:`~serenity.trading.connector.VenueConnector`. Here:

* REST: every private request signed with HMAC-SHA256 over path + query + expiry + body
  (:class:`PhemexRestSigner`), counted against Phemex's rate-limit groups (``Contract``,
  ``SpotOrder``, ``Others``, each per minute, with each path's weight), with Phemex's
  failure policy (:data:`ERROR_POLICY`: an expired request resyncs the clock from
  ``/public/time`` and is signed again; a rate-limited one waits the announced
  ``x-ratelimit-retry-after-<group>``; engine routing errors are retried; 5xx and timeouts
  are settled by querying the order by ``clOrdID``);
* reference data: ``/public/products`` is read once at start, so every price and quantity
  is scaled with the product's own ``priceScale`` and currency ``valueScale``;
* the private stream: ``user.auth`` then ``aop.subscribe`` (contracts) and ``wo.subscribe``
  (spot) on the same websocket as the market data, read by :class:`PhemexPrivateStream`:
  every entry of a message is delivered even when another is malformed or concerns an
  unknown order; margin accounts and wallets are balances, contract positions positions.

Register: ``phemex:prod`` and ``phemex:testnet`` (see :func:`create_placer`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, ClassVar, Final

import msgspec

from serenity.errors import ConfigError, DataError, InvalidValueError, SerenityError, VenueError
from serenity.exchange.endpoints import Environment, resolve_endpoints
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill, VenuePosition
from serenity.exchange.phemex import endpoints as ep
from serenity.exchange.phemex import errors as codes
from serenity.exchange.phemex import orders as build
from serenity.exchange.phemex import private, schemas
from serenity.exchange.phemex.refdata import (
    PhemexInstrument,
    PhemexRefdata,
    ProductKind,
    parse_instruments,
)
from serenity.exchange.phemex.signing import PhemexSigner
from serenity.exchange.product import Product
from serenity.model import ExecType, InstrumentId, InstrumentType
from serenity.tau import NetworkScheduler
from serenity.trading.connector.base import (
    ConnectorSettings,
    StreamFailure,
    StreamItem,
    StreamReady,
    VenueConnector,
)
from serenity.trading.connector.credentials import Credentials
from serenity.trading.connector.limits import RateLimit
from serenity.trading.connector.positions import ExchangePositionService
from serenity.trading.connector.reconcile import VenueSnapshot
from serenity.trading.connector.rest import ErrorPolicy, RestClient, RestRequest, VenueReply
from serenity.trading.orders import Order
from serenity.trading.reports import RejectSource

__all__ = [
    "ERROR_POLICY",
    "RATE_LIMITS",
    "PhemexConnector",
    "PhemexPrivateStream",
    "PhemexRestSigner",
    "create_placer",
]

log = logging.getLogger(__name__)

_NS_PER_MS: Final = 1_000_000
_INSTANCES: Final[Mapping[str, Environment]] = {
    "prod": Environment.PROD,
    "testnet": Environment.TESTNET,
}

RATE_LIMITS: Final[tuple[RateLimit, ...]] = tuple(
    RateLimit(group.value, quota.capacity, quota.period_s)
    for group, quota in ep.RATE_LIMITS.items()
)
"""Phemex's per-user REST capacities as the limiter's quotas, one per rate-limit group."""


def _parse_reply(status: int, body: bytes) -> VenueReply | None:
    answer = codes.read_answer(status, body)
    return None if answer is None else VenueReply(*answer)


ERROR_POLICY: Final = ErrorPolicy(
    parse=_parse_reply,
    auth_codes=frozenset({codes.SIGNATURE_FAILED, 401, 39996}),
    auth_statuses=frozenset({403}),
    retry_codes=frozenset(codes.RETRYABLE_CODES | codes.RATE_LIMIT_CODES),
    retry_statuses=frozenset({429}),
    clock_codes=frozenset({codes.EXPIRED}),
    retry_after=codes.retry_after_s,
)
"""Phemex's failure policy (see :mod:`serenity.exchange.phemex.errors`): 401 is the key or
signature unless the request expired (a clock skew: the clock is read again and the request
signed anew); 403 a missing permission; 429 and the engine's routing errors are retried
after Phemex's ``retry-after``; 5xx and timeouts leave the outcome unknown."""


class PhemexRestSigner:
    """The framework's :class:`~serenity.trading.connector.Signer` for Phemex: adds the
    ``x-phemex-*`` headers signed over path + query + expiry + body."""

    def __init__(self, signer: PhemexSigner) -> None:
        self._signer = signer

    def sign(self, request: RestRequest, now_ms: int) -> RestRequest:
        """Return ``request`` with its access token, expiry and signature for ``now_ms``."""
        body = request.body.decode() if request.body else ""
        headers = self._signer.headers(request.path, request.query, body, now_s=now_ms / 1000)
        return replace(request, headers={**request.headers, **headers})

    def __repr__(self) -> str:
        return "PhemexRestSigner(***)"


async def _server_time(client: RestClient) -> int:
    answer = await client.request("GET", ep.SERVER_TIME_PATH)
    data = answer.json().get("data") or {}
    try:
        return int(data["serverTime"])
    except (KeyError, TypeError, ValueError):
        raise VenueError(f"{ep.VENUE}: /public/time has no serverTime: {data!r:.80}") from None


class PhemexConnector(VenueConnector):
    """Phemex order entry for one account (see the module docstring).

    Parameters
    ----------
    signer
        Signs the private stream's ``user.auth`` (the REST client signs with the same key).
    **kwargs
        As :class:`~serenity.trading.connector.VenueConnector`.
    """

    venue: ClassVar[str] = ep.VENUE

    def __init__(self, *, signer: PhemexSigner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.signer = signer
        self.refdata: PhemexRefdata | None = None

    # -- reference data ------------------------------------------------------------------------

    async def load_refdata(self) -> PhemexRefdata:
        """Return Phemex's products and scales, read once from ``/public/products``.

        Raises
        ------
        VenueError, DataError
            When they cannot be read.
        """
        if self.refdata is None:
            answer = await self.rest.request("GET", ep.PRODUCTS_PATH)
            self.refdata = parse_instruments(answer.json())
        return self.refdata

    async def _instrument(self, product: Product) -> tuple[PhemexInstrument, PhemexRefdata]:
        refdata = await self.load_refdata()
        return refdata.instrument(product.symbol), refdata

    # -- venue hooks -----------------------------------------------------------------------------

    async def place(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Send a new order; a request Phemex cannot take is refused locally."""
        instrument, refdata = await self._instrument(product)
        try:
            call = build.new_order(order, instrument)
        except InvalidValueError as exc:
            self._reject(order, str(exc), RejectSource.VALIDATION)
            return []
        data = await self._call(call)
        return [self._order_update(data, instrument, refdata, order=order)]

    async def cancel_order(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Cancel an order by Phemex's ``orderID`` (by ``clOrdID`` before its ack)."""
        instrument, refdata = await self._instrument(product)
        call = build.cancel_order(
            instrument, venue_order_id=order.venue_order_id, cl_ord_id=order.cl_ord_id
        )
        data = await self._call(call)
        update = self._order_update(data, instrument, refdata, order=order)
        # "this response means the cancel succeeded, not that the order is canceled": the
        # order's end comes from the private stream (or a query); only a final state counts.
        return [update] if update.status.is_terminal else []

    async def amend(
        self, order: Order, product: Product, *, price: Decimal | None, qty: Decimal | None
    ) -> Sequence[OrderUpdate]:
        """Amend an order's price and/or total quantity; answer the ``REPLACED`` order."""
        instrument, refdata = await self._instrument(product)
        try:
            call = build.amend_order(
                instrument,
                venue_order_id=order.venue_order_id,
                cl_ord_id=order.cl_ord_id,
                price=price,
                qty=qty,
            )
        except InvalidValueError as exc:
            raise VenueError(str(exc)) from None
        data = await self._call(call)
        update = self._order_update(data, instrument, refdata, order=order)
        if update.status.is_terminal:
            return [update]
        return [replace(update, exec_type=ExecType.REPLACED)]

    async def query(self, order: Order, product: Product) -> OrderUpdate | None:
        """Return Phemex's state of ``order`` by ``clOrdID``, or None when it has none."""
        instrument, refdata = await self._instrument(product)
        call = build.query_order(instrument, cl_ord_id=order.cl_ord_id)
        try:
            data = await self._call(call)
        except VenueError as exc:
            if exc.code in codes.UNKNOWN_ORDER_CODES:
                return None
            raise
        kind = _ORDER_SCHEMAS[instrument.kind]
        rows, errors = schemas.decode_rows(data, kind, where=f"{call.path} data")
        self._log_errors(errors)
        for row in rows:
            if row.cl_ord_id in ("", order.cl_ord_id):
                row.cl_ord_id = order.cl_ord_id
                state: OrderUpdate = row.to_update(instrument, refdata, state=True)
                return state
        return None

    async def snapshot(self, *, since_ns: int) -> VenueSnapshot:
        """Read open orders and fills of the traded instruments, balances and positions."""
        refdata = await self.load_refdata()
        open_orders: list[OrderUpdate] = []
        fills: list[VenueFill] = []
        balances: list[VenueBalance] = []
        positions: list[VenuePosition] = []
        settle: set[str] = set()
        has_spot = False
        for product in self.products.values():
            instrument = refdata.instrument(product.symbol)
            if instrument.kind is ProductKind.PERPETUAL_V2:
                continue
            if instrument.kind is ProductKind.SPOT:
                has_spot = True
            else:
                settle.add(instrument.value_currency)
            open_orders += await self._open_orders(instrument, refdata)
            fills += await self._fills(instrument, refdata, since_ns)
        now = time.time_ns()
        for currency in sorted(settle):
            data = await self._call(build.account_positions(currency))
            balance, held = self._account(data, refdata, now)
            balances += balance
            positions += held
        if has_spot:
            data = await self._call(build.spot_wallets())
            wallets, errors = schemas.decode_rows(data, schemas.SpotWallet, where="wallets")
            self._log_errors(errors)
            balances += self._convert(lambda w: w.to_balance(refdata, ts=now), wallets)
        return VenueSnapshot(
            venue=self.venue,
            ts=now,
            open_orders=open_orders,
            fills=fills,
            balances=balances,
            positions=positions,
        )

    def private_stream(self) -> PhemexPrivateStream:
        """Return the reader of the AOP (contracts) and Wallet-Order (spot) streams."""
        return PhemexPrivateStream(self)

    # -- helpers -----------------------------------------------------------------------------

    async def _call(self, call: build.RestCall) -> msgspec.Raw:
        route = call.route
        body = call.body.encode() if call.body else None
        answer = await self.rest.request(
            call.method,
            call.path,
            list(call.params),
            signed=True,
            cost={route.group.value: route.weight},
            body=body,
            content_type="application/json" if body else None,
        )
        try:
            envelope = msgspec.json.decode(answer.body, type=schemas.RestResponse)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise DataError(f"{ep.VENUE}: {call.method} {call.path} answered {exc}") from None
        return envelope.data

    def _order_update(
        self,
        data: msgspec.Raw,
        instrument: PhemexInstrument,
        refdata: PhemexRefdata,
        *,
        order: Order,
    ) -> OrderUpdate:
        kind = _ORDER_SCHEMAS[instrument.kind]
        rows, errors = schemas.decode_rows(data, kind, where="order answer")
        if errors or not rows:
            raise DataError(
                f"{ep.VENUE}: the answer about order {order.cl_ord_id!r} is unreadable: "
                + ("; ".join(str(e) for e in errors) or "no order in it")
            )
        row = rows[0]
        row.cl_ord_id = row.cl_ord_id or order.cl_ord_id
        update: OrderUpdate = row.to_update(instrument, refdata)
        return update

    async def _open_orders(
        self, instrument: PhemexInstrument, refdata: PhemexRefdata
    ) -> list[OrderUpdate]:
        data = await self._call(build.open_orders(instrument))
        rows, errors = schemas.decode_rows(
            data, _ORDER_SCHEMAS[instrument.kind], where=f"open orders of {instrument.symbol}"
        )
        self._log_errors(errors)
        return self._convert(lambda r: r.to_update(instrument, refdata, state=True), rows)

    async def _fills(
        self, instrument: PhemexInstrument, refdata: PhemexRefdata, since_ns: int
    ) -> list[VenueFill]:
        call = build.recent_trades(instrument, start_ms=max(0, since_ns // _NS_PER_MS))
        data = await self._call(call)
        if instrument.kind is ProductKind.SPOT:
            spot, errors = schemas.decode_rows(data, schemas.SpotTrade, where=call.path)
            self._log_errors(errors)
            return self._convert(
                lambda t: t.to_fill(instrument, refdata), [t for t in spot if t.is_fill]
            )
        trades, errors = schemas.decode_rows(data, schemas.ContractTrade, where=call.path)
        self._log_errors(errors)
        return self._convert(
            lambda t: t.to_fill(instrument, refdata), [t for t in trades if t.is_fill]
        )

    def _account(
        self, data: msgspec.Raw, refdata: PhemexRefdata, now: int
    ) -> tuple[list[VenueBalance], list[VenuePosition]]:
        try:
            parts = msgspec.json.decode(data, type=_AccountPositions)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise DataError(f"{ep.VENUE}: account and positions are unreadable: {exc}") from None
        balances = self._convert(lambda a: a.to_balance(refdata, ts=now), [parts.account])
        held = self._convert(
            lambda p: p.to_position(refdata.instrument(p.symbol), refdata, ts=now),
            parts.positions,
        )
        return balances, held

    def _convert(self, convert: Any, rows: Sequence[Any]) -> list[Any]:
        """Convert each row; one that fails is logged and left out, the others kept."""
        out = []
        for row in rows:
            try:
                out.append(convert(row))
            except SerenityError as exc:
                log.warning(
                    "connector.entry_unreadable", extra={"venue": self.venue, "error": str(exc)}
                )
        return out

    def _log_errors(self, errors: Sequence[DataError]) -> None:
        for error in errors:
            log.warning(
                "connector.entry_unreadable", extra={"venue": self.venue, "error": str(error)}
            )


class _AccountPositions(msgspec.Struct):
    account: schemas.ContractAccount
    positions: list[schemas.ContractPosition] = msgspec.field(default_factory=list)


_ORDER_SCHEMAS: Final[Mapping[ProductKind, Any]] = {
    ProductKind.PERPETUAL: schemas.ContractOrder,
    ProductKind.SPOT: schemas.SpotOrder,
}


class PhemexPrivateStream:
    """The connector's side of Phemex's private stream (frames from
    :mod:`serenity.exchange.phemex.private`): ready once every subscription was
    acknowledged; a refused ``user.auth`` is an authentication failure."""

    def __init__(self, connector: PhemexConnector) -> None:
        self.connector = connector
        self._pending: set[int] = set()

    def subscriptions(self) -> list[str]:
        """Return ``user.auth`` (signed with the venue's clock) and the subscriptions."""
        spot = [
            p.instrument_type is InstrumentType.CURRENCY_PAIR
            for p in self.connector.products.values()
        ]
        frames, self._pending = private.subscription_frames(
            self.connector.signer,
            now_s=self.connector.rest.now_ms() / 1000,
            contracts=not all(spot),
            spot=any(spot),
        )
        return frames

    def ping_frame(self) -> str | None:
        """Return ``server.ping``."""
        return private.ping_frame()

    def parse(self, data: str | bytes) -> list[StreamItem]:
        """Return every entry of one frame; a malformed entry is logged and skipped.

        Raises
        ------
        DataError
            When the frame is not a JSON object.
        """
        refdata = self.connector.refdata
        if refdata is None:
            return []
        read = private.read_frame(data, refdata, filled=self._filled)
        if isinstance(read, private.StreamReply):
            return self._reply(read)
        if read is None:
            return []
        for error in read.errors:
            log.warning(
                "connector.entry_unreadable", extra={"venue": ep.VENUE, "error": str(error)}
            )
        return list(read.entries)

    def _filled(self, cl_ord_id: str) -> Decimal:
        order = self.connector.order_for(cl_ord_id)
        return order.cum_qty if order is not None else Decimal(0)

    def _reply(self, reply: private.StreamReply) -> list[StreamItem]:
        if reply.id == private.PING_ID:
            return []
        if reply.error is not None:
            self._pending.discard(reply.id or -1)
            text = f"{ep.VENUE}: private stream request {reply.id} refused: {reply.error}"
            return [StreamFailure(text, reply.is_auth)]
        if reply.id in self._pending:
            self._pending.discard(reply.id)
            if not self._pending:
                return [StreamReady()]
        return []


def create_placer(context: Any) -> PhemexConnector:
    """Build the Phemex connector of a live run: ``phemex:prod`` or ``phemex:testnet``.

    Credentials come from ``SERENITY_PHEMEX_<INSTANCE>_API_KEY``/``_API_SECRET`` (or the
    same without the instance, or a credentials file; see
    :class:`~serenity.trading.connector.Credentials`). ``context.rest_url`` and
    ``context.ws_url`` replace the instance's endpoints (a test server).

    Raises
    ------
    ConfigError
        For an unknown instance or missing credentials, naming the venue.
    """
    instance = str(context.instance).lower()
    environment = _INSTANCES.get(instance)
    if environment is None:
        raise ConfigError(
            f"{ep.VENUE}: unknown placer instance {context.instance!r}, expected one of "
            f"{sorted(_INSTANCES)} (phemex:prod, phemex:testnet)"
        )
    endpoints = resolve_endpoints(
        ep.VENUE, ep.ENDPOINTS, environment=environment, rest_url=context.rest_url
    )
    credentials = Credentials.load(ep.VENUE, instance=instance)
    signer = PhemexSigner(credentials.api_key, credentials.secret)
    return build_connector(
        account=context.account,
        scheduler=context.scheduler,
        products={iid: p for iid, p in dict(context.products).items() if iid.venue == ep.VENUE},
        signer=signer,
        rest_url=endpoints.rest,
        ws_url=context.ws_url or endpoints.ws,
    )


def build_connector(
    *,
    account: str,
    scheduler: NetworkScheduler,
    products: Mapping[InstrumentId, Product],
    signer: PhemexSigner,
    rest_url: str,
    ws_url: str | None,
    limits: Sequence[RateLimit] = RATE_LIMITS,
    settings: ConnectorSettings | None = None,
    positions: ExchangePositionService | None = None,
    timeout_s: float = 10.0,
) -> PhemexConnector:
    """Return a Phemex connector talking to ``rest_url`` and ``ws_url``.

    Raises
    ------
    ConfigError
        For a bad URL.
    """
    rest = RestClient(
        ep.VENUE,
        rest_url,
        errors=ERROR_POLICY,
        signer=PhemexRestSigner(signer),
        limits=limits,
        timeout_s=timeout_s,
        server_time=_server_time,
        usage=codes.rate_usage,
    )
    return PhemexConnector(
        account=account,
        scheduler=scheduler,
        products=products,
        rest=rest,
        stream_url=ws_url,
        signer=signer,
        settings=settings,
        positions=positions,
    )
