"""A loopback Coinbase Exchange for the order connector: signed REST and the ``user`` channel.

:class:`CoinbaseVenue` plays Coinbase Exchange's private API as its documentation describes
it, on 127.0.0.1:

- **Every private request is checked**: the four ``CB-ACCESS-*`` headers, the key and the
  passphrase, the timestamp within :attr:`CoinbaseVenue.window_s` (30 s) of the venue's
  clock (which :attr:`CoinbaseVenue.clock_offset_s` skews), and the signature, recomputed
  here independently of Serenity's signing code: base64 of the HMAC-SHA256, keyed with the
  base64-decoded secret, of timestamp + method + path with query + body. Failures answer
  as Coinbase does (``invalid signature``, ``Invalid API Key``, ``invalid passphrase``,
  ``request timestamp expired``) and are counted.
- **Rate limits are enforced** as token buckets: private endpoints 15 a second with bursts
  of 30, ``/fills`` 10 a second with bursts of 20, public ones 10 with bursts of 15; more is
  ``429 Private rate limit exceeded``, counted in :attr:`CoinbaseVenue.rate_limited`.
- **Orders**: ``POST /orders`` (limit, market, stop ``entry``/``loss``; GTC, IOC, FOK;
  ``post_only``; ``client_oid`` kept only when it is a canonical v4 UUID), funds checked
  against the accounts (``Insufficient funds``), marketable orders matched against the
  book (the market-data server's, when one is given) as taker, the rest resting;
  ``DELETE``, ``GET`` of one order by id or ``client:<client_oid>`` (an order canceled
  without fills is forgotten: 404), ``GET /orders`` and ``GET /fills`` paginated with
  ``CB-AFTER``, ``GET /accounts``, ``GET /time``.
- **The ``user`` channel** on the websocket feed: a ``subscribe`` signed over ``GET
  /users/self/verify`` (checked like a request; a failure is ``Authentication Failed`` and
  the socket closes), then ``received``, ``open``, ``activate``, ``match`` (with our side's
  fee rate), ``change`` and ``done`` for our orders, and a ``heartbeat`` per product. Public
  channel connections on the same URL are handed to the market-data server
  (``tests/marketdata/fh/coinbase_server.py``) when one is given.

Scenario controls: :meth:`CoinbaseVenue.fill` (a resting order trades as maker, in part or
in full), :attr:`CoinbaseVenue.fill_on_cancel` (an order fills as its cancel arrives: the
cancel is refused), :meth:`CoinbaseVenue.script` (the next matching requests are refused,
or executed with their answer lost or late), :meth:`CoinbaseVenue.drop_streams` (the
private streams drop; fills while they are down reach no one), :meth:`CoinbaseVenue.trigger`
(stops trigger at a last price), :meth:`CoinbaseVenue.stp_change`,
:meth:`CoinbaseVenue.cancel_elsewhere` (an order canceled not by us: purged when it has no
fills), :meth:`CoinbaseVenue.lose` (an order forgotten despite its fills, which Coinbase
never does) and the clock skew.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from tests.marketdata.fh.coinbase_server import CoinbaseServer

DATA = Path(__file__).resolve().parents[2] / "data" / "coinbase"
KEY = "cb-test-key-4f1c"
SECRET = base64.b64encode(b"coinbase-fake-venue-secret-bytes-0123456789abcdef!").decode()
PASSPHRASE = "cb-test-passphrase"
PROFILE = "8058d771-2d88-4f0f-ab6e-299c153d4308"
USER = "5844eceecf7e803e259d0365"
MAKER_FEE = Decimal("0.004")
TAKER_FEE = Decimal("0.006")
ZERO = Decimal(0)
PRIVATE_CHANNELS = frozenset({"user", "full"})


def iso(ns: int) -> str:
    """Return ``ns`` as Coinbase writes times: microseconds and ``Z``."""
    when = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{ns // 1_000 % 1_000_000:06d}Z"


def dec(value: Decimal) -> str:
    """Return a decimal as Coinbase writes sizes and prices (eight decimals)."""
    return f"{value:.8f}"


def expected_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    """Return the signature Coinbase expects, computed here on its own."""
    key = base64.b64decode(secret)
    digest = hmac.new(key, (timestamp + method + path + body).encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


class Refused(Exception):
    """An error answer: HTTP status and Coinbase's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Order:
    """One order on the venue."""

    id: str
    client_oid: str | None
    product_id: str
    side: str
    type: str
    size: Decimal
    price: Decimal | None
    tif: str
    post_only: bool
    stop: str | None
    stop_price: Decimal | None
    created_ns: int
    status: str = "pending"
    done_reason: str | None = None
    reject_reason: str | None = None
    done_ns: int | None = None
    filled_size: Decimal = ZERO
    executed_value: Decimal = ZERO
    fill_fees: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled_size

    @property
    def is_live(self) -> bool:
        return self.status in ("pending", "open", "active")

    def reserve(self) -> tuple[str, Decimal]:
        """Return the currency and amount this order holds while live."""
        base, _, quote = self.product_id.partition("-")
        if not self.is_live:
            return quote, ZERO
        if self.side == "sell":
            return base, self.remaining
        price = self.price if self.price is not None else (self.stop_price or ZERO)
        return quote, self.remaining * price * (1 + TAKER_FEE)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "size": dec(self.size),
            "product_id": self.product_id,
            "profile_id": PROFILE,
            "side": self.side,
            "type": self.type,
            "post_only": self.post_only,
            "created_at": iso(self.created_ns),
            "fill_fees": f"{self.fill_fees:.16f}",
            "filled_size": dec(self.filled_size),
            "executed_value": f"{self.executed_value:.16f}",
            "status": self.status,
            "settled": self.status == "done",
        }
        if self.price is not None:
            body["price"] = dec(self.price)
        if self.type == "limit":
            body["time_in_force"] = self.tif
        if self.client_oid is not None:
            body["client_oid"] = self.client_oid
        if self.stop is not None:
            body["stop"] = self.stop
            body["stop_price"] = dec(self.stop_price or ZERO)
        if self.done_reason is not None:
            body["done_reason"] = self.done_reason
            body["done_at"] = iso(self.done_ns or self.created_ns)
        if self.reject_reason is not None:
            body["reject_reason"] = self.reject_reason
        return body


@dataclass
class Fill:
    """One fill of one of our orders."""

    trade_id: int
    product_id: str
    order_id: str
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: str
    ns: int

    def to_json(self) -> dict[str, Any]:
        return {
            "created_at": iso(self.ns),
            "trade_id": self.trade_id,
            "product_id": self.product_id,
            "order_id": self.order_id,
            "user_id": USER,
            "profile_id": PROFILE,
            "liquidity": self.liquidity,
            "price": dec(self.price),
            "size": dec(self.size),
            "fee": f"{self.fee:.16f}",
            "side": self.side,
            "settled": True,
            "usd_volume": f"{self.price * self.size:.16f}",
        }


@dataclass
class Script:
    """A scripted answer for the next requests matching ``method`` and ``path`` prefix."""

    method: str
    path: str
    status: int
    message: str
    times: int
    execute: bool
    delay_s: float


class _Bucket:
    """A token bucket: ``rate`` a second, at most ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class _UserClient:
    ws: web.WebSocketResponse
    products: set[str] = field(default_factory=set)

    async def send(self, body: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(orjson.dumps(body).decode())
        except (ConnectionError, RuntimeError):
            pass


class CoinbaseVenue:
    """Coinbase Exchange's private API on 127.0.0.1 (see the module docstring).

    Parameters
    ----------
    marketdata
        A market-data server whose books orders match against and which serves the public
        channels of the feed URL and the product list; an unserved one of its own is used
        for the books when None.
    balances
        Each currency's starting balance.
    heartbeat_interval_s
        How often each subscribed product gets a ``heartbeat`` on the user channel.
    """

    def __init__(
        self,
        *,
        marketdata: CoinbaseServer | None = None,
        balances: Mapping[str, str | Decimal] | None = None,
        heartbeat_interval_s: float = 1.0,
    ) -> None:
        self.md = marketdata if marketdata is not None else CoinbaseServer()
        self.serves_md = marketdata is not None
        self.products: dict[str, dict[str, Any]] = {p["id"]: p for p in self.md.products}
        start = {"USD": "1000000", "BTC": "10", "ETH": "100", "EUR": "100000"}
        self.balances: dict[str, Decimal] = {
            k: Decimal(v) for k, v in (balances if balances is not None else start).items()
        }
        self.key, self.secret, self.passphrase = KEY, SECRET, PASSPHRASE
        self.window_s = 30.0
        self.clock_offset_s = 0.0
        self.heartbeat_interval_s = heartbeat_interval_s
        self.orders: dict[str, Order] = {}
        self.forgotten: set[str] = set()
        self.fills: list[Fill] = []
        self.fill_on_cancel: set[str] = set()
        self.trade_ids = itertools.count(7_000_000)
        self.scripts: list[Script] = []
        self.requests: list[tuple[str, str, int]] = []
        self.posts: list[dict[str, Any]] = []
        self.auth_failures: list[str] = []
        self.rate_limited = 0
        self.verified = 0
        self.stream_connections = 0
        self.user_clients: list[_UserClient] = []
        self.streams_open = asyncio.Event()
        self.streams_open.set()
        self._buckets = {
            "private": _Bucket(15, 30),
            "fills": _Bucket(10, 20),
            "public": _Bucket(10, 15),
        }
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/", self._feed)
        app.router.add_get("/time", self._time)
        app.router.add_get("/products", self._products)
        app.router.add_get("/currencies", self._currencies)
        app.router.add_post("/orders", self._post_order)
        app.router.add_get("/orders", self._list_orders)
        app.router.add_get("/orders/{key}", self._get_order)
        app.router.add_delete("/orders/{key}", self._cancel)
        app.router.add_get("/fills", self._list_fills)
        app.router.add_get("/accounts", self._accounts)
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> CoinbaseVenue:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release_streams()
        await self.drop_streams()
        await self.server.close()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/"

    def now(self) -> float:
        """Return the venue's clock in seconds (ours, skewed by :attr:`clock_offset_s`)."""
        return time.time() + self.clock_offset_s

    # -- scenario controls --------------------------------------------------------------------

    def script(
        self,
        method: str,
        path: str,
        status: int = 500,
        message: str = "Internal server error",
        *,
        times: int = 1,
        execute: bool = False,
        delay_s: float = 0.0,
    ) -> None:
        """Answer the next ``times`` requests of ``method`` on a path starting with ``path``
        with ``status`` and ``message``; with ``execute`` they are carried out first (the
        answer is what is lost), and ``delay_s`` holds the answer back that long."""
        self.scripts.append(Script(method, path, status, message, times, execute, delay_s))

    def order(self, key: str) -> Order:
        """Return the order with Coinbase id or ``client_oid`` ``key``."""
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return found

    def orders_with_client_oid(self, client_oid: str) -> list[Order]:
        """Return every order placed with ``client_oid`` (a resend would make two)."""
        return [o for o in self.orders.values() if o.client_oid == client_oid]

    async def fill(
        self, key: str, size: Decimal | str | None = None, price: Decimal | str | None = None
    ) -> Fill:
        """Fill the resting order ``key`` as maker: ``size`` (all that is left by default)
        at ``price`` (its limit by default)."""
        order = self.order(key)
        assert order.is_live, f"order {key} is {order.status}"
        qty = order.remaining if size is None else Decimal(size)
        px = Decimal(price) if price is not None else order.price
        assert px is not None
        fill = await self._trade(order, qty, px, liquidity="M")
        if order.remaining == 0:
            await self._done(order, "filled")
        return fill

    async def trigger(self, product_id: str, last_price: Decimal | str) -> None:
        """Trigger the stops of ``product_id`` that ``last_price`` reaches."""
        last = Decimal(last_price)
        for order in list(self.orders.values()):
            if order.product_id != product_id or order.status != "active":
                continue
            assert order.stop_price is not None
            hit = last >= order.stop_price if order.stop == "entry" else last <= order.stop_price
            if hit:
                order.status = "pending"
                await self._publish_user(order.product_id, self._received(order))
                await self._match(order)

    async def stp_change(self, key: str, new_size: Decimal | str) -> None:
        """Shrink a resting order as self-trade prevention does (a ``change`` message)."""
        order = self.order(key)
        old = order.remaining
        order.size = order.filled_size + Decimal(new_size)
        await self._publish_user(
            order.product_id,
            {
                "type": "change",
                "reason": "STP",
                "time": iso(self._ns()),
                "order_id": order.id,
                "side": order.side,
                "product_id": order.product_id,
                "old_size": dec(old),
                "new_size": dec(order.remaining),
                "price": dec(order.price or ZERO),
            },
        )

    async def cancel_elsewhere(self, key: str) -> None:
        """Cancel the live order ``key`` as the web interface, another key or self-trade
        prevention would: ``done`` on the stream, and purged when nothing filled."""
        order = self.order(key)
        assert order.is_live, f"order {key} is {order.status}"
        await self._done(order, "canceled")

    def lose(self, key: str) -> None:
        """Forget the order ``key`` whatever it filled, which Coinbase never does with an
        order that has fills: a real difference for reconciliation to report."""
        self.forgotten.add(self.order(key).id)

    async def drop_streams(self, *, hold: bool = False) -> None:
        """Close every user-channel connection (a network fault, a venue restart); with
        ``hold`` new ones wait for :meth:`release_streams` before they are served."""
        if hold:
            self.streams_open.clear()
        for client in list(self.user_clients):
            await client.ws.close()
            if client in self.user_clients:
                self.user_clients.remove(client)

    def release_streams(self) -> None:
        """Serve user-channel connections again."""
        self.streams_open.set()

    def available(self, currency: str) -> Decimal:
        """Return a currency's balance less what live orders hold."""
        return self.balances.get(currency, ZERO) - self._held(currency)

    # -- HTTP ----------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/" and request.method == "GET" and "Upgrade" in request.headers:
            return await handler(request)  # type: ignore[no-any-return]
        body = await request.text()
        path = request.raw_path
        try:
            kind = self._quota(request)
            if not self._buckets[kind].take():
                self.rate_limited += 1
                raise Refused(
                    429, f"{'Public' if kind == 'public' else 'Private'} rate limit exceeded"
                )
            if kind != "public":
                self._authenticate(request.headers, request.method, path, body)
            script = self._script_for(request.method, request.path)
            if script is not None and not script.execute:
                raise Refused(script.status, script.message)
            response: web.StreamResponse = await handler(request)
            if script is not None:
                if script.delay_s:
                    await asyncio.sleep(script.delay_s)
                raise Refused(script.status, script.message)
        except Refused as exc:
            self.requests.append((request.method, path, exc.status))
            return web.json_response({"message": exc.message}, status=exc.status)
        self.requests.append((request.method, path, response.status))
        return response

    def _quota(self, request: web.Request) -> str:
        if request.path in ("/time", "/products", "/currencies"):
            return "public"
        return "fills" if request.path == "/fills" else "private"

    def _script_for(self, method: str, path: str) -> Script | None:
        for script in self.scripts:
            if script.method == method and path.startswith(script.path) and script.times > 0:
                script.times -= 1
                if script.times == 0:
                    self.scripts.remove(script)
                return script
        return None

    def _authenticate(self, headers: Mapping[str, str], method: str, path: str, body: str) -> None:
        for name in (
            "CB-ACCESS-KEY",
            "CB-ACCESS-SIGN",
            "CB-ACCESS-TIMESTAMP",
            "CB-ACCESS-PASSPHRASE",
        ):
            if not headers.get(name):
                self.auth_failures.append(f"missing {name}")
                raise Refused(400, f"{name} header is required")
        self._check(
            headers["CB-ACCESS-KEY"],
            headers["CB-ACCESS-PASSPHRASE"],
            headers["CB-ACCESS-TIMESTAMP"],
            headers["CB-ACCESS-SIGN"],
            method,
            path,
            body,
        )

    def _check(
        self,
        key: str,
        passphrase: str,
        timestamp: str,
        signature: str,
        method: str,
        path: str,
        body: str,
    ) -> None:
        try:
            stamp = float(timestamp)
        except ValueError:
            self.auth_failures.append("timestamp")
            raise Refused(400, "invalid timestamp") from None
        if abs(stamp - self.now()) > self.window_s:
            self.auth_failures.append("expired")
            raise Refused(400, "request timestamp expired")
        if key != self.key:
            self.auth_failures.append("key")
            raise Refused(401, "Invalid API Key")
        if passphrase != self.passphrase:
            self.auth_failures.append("passphrase")
            raise Refused(401, "invalid passphrase")
        if not hmac.compare_digest(
            signature, expected_signature(self.secret, timestamp, method, path, body)
        ):
            self.auth_failures.append("signature")
            raise Refused(401, "invalid signature")
        self.verified += 1

    async def _time(self, request: web.Request) -> web.Response:
        now = self.now()
        return web.json_response({"iso": iso(int(now * 1e9)), "epoch": now})

    async def _products(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.products.values()))

    async def _currencies(self, request: web.Request) -> web.Response:
        return web.json_response(json.loads((DATA / "currencies.json").read_text()))

    async def _accounts(self, request: web.Request) -> web.Response:
        rows = []
        for i, (currency, balance) in enumerate(sorted(self.balances.items())):
            hold = self._held(currency)
            rows.append(
                {
                    "id": str(uuid.UUID(int=i + 1)),
                    "currency": currency,
                    "balance": f"{balance:.16f}",
                    "hold": f"{hold:.16f}",
                    "available": f"{balance - hold:.16f}",
                    "profile_id": PROFILE,
                    "trading_enabled": True,
                }
            )
        return web.json_response(rows)

    # -- orders --------------------------------------------------------------------------------

    async def _post_order(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        self.posts.append(body)
        order = self._new_order(body)
        quote_ccy, needed = self._needed(order)
        if needed > self.available(quote_ccy):
            raise Refused(400, "Insufficient funds")
        self.orders[order.id] = order
        if order.post_only and self._crosses(order):
            order.status, order.reject_reason = "rejected", "post only"
            order.done_ns = self._ns()
            return web.json_response(order.to_json())
        accepted = order.to_json()
        if order.stop is not None:
            order.status = "active"
            await self._publish_user(order.product_id, self._activate(order))
        else:
            await self._publish_user(order.product_id, self._received(order))
            await self._match(order)
        return web.json_response(accepted)

    def _new_order(self, body: dict[str, Any]) -> Order:
        product = self.products.get(body.get("product_id", ""))
        if product is None:
            raise Refused(400, "Invalid product_id")
        if product["status"] != "online" or product.get("trading_disabled"):
            raise Refused(400, f"{product['id']} is not available for trading")
        kind, side = body.get("type", "limit"), body.get("side")
        if kind not in ("limit", "market") or side not in ("buy", "sell"):
            raise Refused(400, f"Invalid order_type {kind}")
        size = self._decimal(body, "size", product["base_increment"])
        price = (
            self._decimal(body, "price", product["quote_increment"]) if kind == "limit" else None
        )
        tif = body.get("time_in_force", "GTC")
        if tif not in ("GTC", "GTT", "IOC", "FOK"):
            raise Refused(400, f"Invalid time_in_force {tif}")
        post_only = bool(body.get("post_only", False))
        if post_only and tif in ("IOC", "FOK"):
            raise Refused(400, "post_only is invalid with IOC or FOK")
        stop = body.get("stop")
        stop_price = None
        if stop is not None:
            if stop not in ("loss", "entry"):
                raise Refused(400, f"Invalid stop {stop}")
            stop_price = self._decimal(body, "stop_price", product["quote_increment"])
        oid = body.get("client_oid")
        try:
            valid = oid is not None and str(uuid.UUID(oid)) == oid and uuid.UUID(oid).version == 4
        except ValueError:
            valid = False
        return Order(
            id=str(uuid.uuid4()),
            client_oid=oid if valid else None,
            product_id=product["id"],
            side=side,
            type=kind,
            size=size,
            price=price,
            tif=tif,
            post_only=post_only,
            stop=stop,
            stop_price=stop_price,
            created_ns=self._ns(),
        )

    def _decimal(self, body: dict[str, Any], name: str, increment: str) -> Decimal:
        raw = body.get(name)
        if not isinstance(raw, str):
            raise Refused(400, f"{name} is required")
        value = Decimal(raw)
        if value <= 0:
            raise Refused(400, f"{name} must be positive")
        if value % Decimal(increment):
            raise Refused(400, f"{name} is too accurate. Smallest unit is {increment}")
        return value

    def _needed(self, order: Order) -> tuple[str, Decimal]:
        base, _, quote = order.product_id.partition("-")
        if order.side == "sell":
            return base, order.size
        price = order.price or order.stop_price
        if price is None:
            asks = self.md.book(order.product_id)[1]
            if not asks:
                raise Refused(400, "Insufficient liquidity")
            price = Decimal(repr(asks[-1][0]))  # the worst ask: what the order may pay
        return quote, order.size * price * (1 + TAKER_FEE)

    def _held(self, currency: str) -> Decimal:
        total = ZERO
        for order in self.orders.values():
            ccy, amount = order.reserve()
            if ccy == currency:
                total += amount
        return total

    def _crosses(self, order: Order) -> bool:
        bids, asks = self.md.book(order.product_id)
        assert order.price is not None
        if order.side == "buy":
            return bool(asks) and Decimal(repr(asks[0][0])) <= order.price
        return bool(bids) and Decimal(repr(bids[0][0])) >= order.price

    async def _match(self, order: Order) -> None:
        """Take what the book offers within the order's limit; rest, or finish, the rest."""
        order.status = "pending"
        levels = []
        bids, asks = self.md.book(order.product_id)
        for price, size in asks if order.side == "buy" else bids:
            px = Decimal(repr(price))
            if order.price is not None and (
                px > order.price if order.side == "buy" else px < order.price
            ):
                break
            levels.append((px, Decimal(repr(size))))
        available = sum((s for _, s in levels), ZERO)
        if order.tif == "FOK" and available < order.size:
            await self._done(order, "canceled")
            return
        for px, size in levels:
            if order.remaining == 0:
                break
            qty = min(size, order.remaining)
            await self._trade(order, qty, px, liquidity="T")
            await self._take_level(order, px, size - qty)
        if order.remaining == 0:
            await self._done(order, "filled")
        elif order.type == "market" or order.tif in ("IOC", "FOK"):
            await self._done(order, "canceled")
        else:
            order.status = "open"
            await self._publish_user(
                order.product_id,
                {
                    "type": "open",
                    "time": iso(self._ns()),
                    "product_id": order.product_id,
                    "order_id": order.id,
                    "price": dec(order.price or ZERO),
                    "remaining_size": dec(order.remaining),
                    "side": order.side,
                    "user_id": USER,
                    "profile_id": PROFILE,
                },
            )

    async def _take_level(self, order: Order, price: Decimal, left: Decimal) -> None:
        level = [(float(price), float(left))]
        if order.side == "buy":
            update = self.md.make_update(order.product_id, asks=level)
        else:
            update = self.md.make_update(order.product_id, bids=level)
        if self.serves_md:
            await self.md.publish("level2_batch", order.product_id, update)

    async def _trade(self, order: Order, qty: Decimal, price: Decimal, *, liquidity: str) -> Fill:
        rate = MAKER_FEE if liquidity == "M" else TAKER_FEE
        fee = qty * price * rate
        base, _, quote = order.product_id.partition("-")
        sign = 1 if order.side == "buy" else -1
        self.balances[base] = self.balances.get(base, ZERO) + sign * qty
        self.balances[quote] = self.balances.get(quote, ZERO) - sign * qty * price - fee
        order.filled_size += qty
        order.executed_value += qty * price
        order.fill_fees += fee
        ns = self._ns()
        fill = Fill(
            next(self.trade_ids),
            order.product_id,
            order.id,
            order.side,
            price,
            qty,
            fee,
            liquidity,
            ns,
        )
        self.fills.append(fill)
        other = str(uuid.uuid4())
        is_maker = liquidity == "M"
        maker_side = order.side if is_maker else ("sell" if order.side == "buy" else "buy")
        message: dict[str, Any] = {
            "type": "match",
            "trade_id": fill.trade_id,
            "maker_order_id": order.id if is_maker else other,
            "taker_order_id": other if is_maker else order.id,
            "side": maker_side,
            "size": dec(qty),
            "price": dec(price),
            "product_id": order.product_id,
            "time": iso(ns),
            "user_id": USER,
            "profile_id": PROFILE,
        }
        who = "maker" if is_maker else "taker"
        message[f"{who}_user_id"] = USER
        message[f"{who}_profile_id"] = PROFILE
        message[f"{who}_fee_rate"] = str(rate)
        await self._publish_user(order.product_id, message)
        if self.serves_md:
            taker = "buy" if maker_side == "sell" else "sell"
            trade = self.md.make_trade(
                order.product_id, taker_side=taker, price=float(price), size=float(qty)
            )
            await self.md.publish("matches", order.product_id, trade)
        return fill

    async def _done(self, order: Order, reason: str) -> None:
        order.status, order.done_reason, order.done_ns = "done", reason, self._ns()
        message: dict[str, Any] = {
            "type": "done",
            "time": iso(order.done_ns),
            "product_id": order.product_id,
            "order_id": order.id,
            "reason": reason,
            "side": order.side,
            "user_id": USER,
            "profile_id": PROFILE,
        }
        if order.type == "limit":
            message["price"] = dec(order.price or ZERO)
            message["remaining_size"] = dec(order.remaining)
        await self._publish_user(order.product_id, message)
        if reason == "canceled" and order.filled_size == 0:
            self.forgotten.add(order.id)  # Coinbase forgets canceled orders without fills

    def _received(self, order: Order) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "received",
            "time": iso(self._ns()),
            "product_id": order.product_id,
            "order_id": order.id,
            "size": dec(order.size),
            "side": order.side,
            "order_type": order.type,
            "user_id": USER,
            "profile_id": PROFILE,
        }
        if order.price is not None:
            message["price"] = dec(order.price)
        if order.client_oid is not None:
            message["client_oid"] = order.client_oid
        return message

    def _activate(self, order: Order) -> dict[str, Any]:
        return {
            "type": "activate",
            "product_id": order.product_id,
            "timestamp": f"{self._ns() / 1e9:.6f}",
            "user_id": USER,
            "profile_id": PROFILE,
            "order_id": order.id,
            "stop_type": order.stop,
            "side": order.side,
            "stop_price": dec(order.stop_price or ZERO),
            "size": dec(order.size),
            "private": True,
        }

    def _find(self, key: str) -> Order | None:
        if key.startswith("client:"):
            key = key[len("client:") :]
            found = next((o for o in self.orders.values() if o.client_oid == key), None)
        else:
            found = self.orders.get(key)
        if found is None:
            found = next((o for o in self.orders.values() if o.client_oid == key), None)
        if found is None or found.id in self.forgotten:
            return None
        return found

    async def _get_order(self, request: web.Request) -> web.Response:
        order = self._find(request.match_info["key"])
        if order is None:
            raise Refused(404, "NotFound")
        return web.json_response(order.to_json())

    async def _cancel(self, request: web.Request) -> web.Response:
        order = self._find(request.match_info["key"])
        if order is None:
            raise Refused(404, "NotFound")
        if order.id in self.fill_on_cancel or order.client_oid in self.fill_on_cancel:
            if order.is_live:
                await self.fill(order.id)
        if not order.is_live:
            raise Refused(400, "Order already done")
        await self._done(order, "canceled")
        return web.json_response(order.id)

    async def _list_orders(self, request: web.Request) -> web.Response:
        statuses = request.query.getall("status", ["open", "pending", "active"])
        product = request.query.get("product_id")
        found = [
            o
            for o in sorted(self.orders.values(), key=lambda o: o.created_ns, reverse=True)
            if ("all" in statuses or o.status in statuses)
            and (product is None or o.product_id == product)
            and o.id not in self.forgotten
        ]
        return self._page(request, [o.to_json() for o in found])

    async def _list_fills(self, request: web.Request) -> web.Response:
        order_id, product = request.query.get("order_id"), request.query.get("product_id")
        if order_id is None and product is None:
            raise Refused(400, "product_id or order_id is required")
        found = [
            f
            for f in sorted(self.fills, key=lambda f: f.trade_id, reverse=True)
            if (order_id is None or f.order_id == order_id)
            and (product is None or f.product_id == product)
        ]
        return self._page(request, [f.to_json() for f in found])

    def _page(self, request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
        limit = min(int(request.query.get("limit", 100)), 100)
        start = int(request.query.get("after", 0))
        page = rows[start : start + limit]
        headers = {}
        if start + limit < len(rows):
            headers["CB-AFTER"] = str(start + limit)
        if start:
            headers["CB-BEFORE"] = str(start)
        return web.json_response(page, headers=headers)

    def _ns(self) -> int:
        return int(self.now() * 1e9)

    # -- the websocket feed ---------------------------------------------------------------------

    async def _feed(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        first = await ws.receive()
        if first.type is not WSMsgType.TEXT:
            await ws.close()
            return ws
        try:
            msg = json.loads(first.data)
            names = {c if isinstance(c, str) else c.get("name") for c in msg.get("channels", [])}
        except (ValueError, AttributeError, TypeError):
            msg, names = {}, set()
        if names & PRIVATE_CHANNELS or "signature" in msg:
            await self._serve_user(ws, msg)
        elif self.serves_md:
            await self.md.serve(ws, request, first.data)
        else:
            await ws.send_str(
                orjson.dumps({"type": "error", "message": "Failed to subscribe"}).decode()
            )
            await ws.close()
        return ws

    async def _serve_user(self, ws: web.WebSocketResponse, msg: dict[str, Any]) -> None:
        await self.streams_open.wait()  # held while the test keeps the stream down
        self.stream_connections += 1
        try:
            self._check(
                str(msg.get("key", "")),
                str(msg.get("passphrase", "")),
                str(msg.get("timestamp", "")),
                str(msg.get("signature", "")),
                "GET",
                "/users/self/verify",
                "",
            )
        except Refused as exc:
            error = {"type": "error", "message": "Authentication Failed", "reason": exc.message}
            await ws.send_str(orjson.dumps(error).decode())
            await ws.close()
            return
        client = _UserClient(ws, set(msg.get("product_ids", [])))
        self.user_clients.append(client)
        channels = [
            {"name": name, "product_ids": sorted(client.products)} for name in ("user", "heartbeat")
        ]
        await client.send({"type": "subscriptions", "channels": channels})
        beats = asyncio.create_task(self._heartbeats(client))
        try:
            async for _ in ws:
                pass
        finally:
            beats.cancel()
            if client in self.user_clients:
                self.user_clients.remove(client)

    async def _heartbeats(self, client: _UserClient) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            for product in sorted(client.products):
                await client.send(
                    {
                        "type": "heartbeat",
                        "sequence": 1,
                        "last_trade_id": 1,
                        "product_id": product,
                        "time": iso(self._ns()),
                    }
                )

    async def _publish_user(self, product_id: str, message: dict[str, Any]) -> None:
        for client in list(self.user_clients):
            if product_id in client.products:
                await client.send(message)
