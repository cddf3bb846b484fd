"""A loopback Binance spot venue for the order connector's tests: REST order entry, the
WebSocket API user data stream, and the market data of :class:`BinanceServer`, on one port.

It speaks Binance's documented wire format and enforces what Binance enforces: every signed
request's ``X-MBX-APIKEY`` and HMAC-SHA256 signature (of the query string as sent),
``timestamp`` within ``recvWindow`` of its own clock (``-1021`` otherwise), request weight a
minute and orders per 10 s (HTTP 429 with ``Retry-After``), balances (``-2010`` "Account
has insufficient balance"), ``LIMIT_MAKER`` that would take (``-2010``), cancels of orders
that are not open (``-2011`` "Unknown order sent."), queries of unknown orders (``-2013``).
Orders match against the market-data book (:attr:`BinanceServer.books`): marketable orders
fill at once as takers, the rest rest until a test fills them (:meth:`BinanceVenue.fill`).

Scenario controls: :meth:`~BinanceVenue.fill` (partial and complete fills),
:meth:`~BinanceVenue.fill_before_cancel` (a fill racing our cancel),
:meth:`~BinanceVenue.expire_next` (requests arriving after their ``recvWindow``),
:attr:`~BinanceVenue.skew_ms` (the venue's clock ahead of ours),
:meth:`~BinanceVenue.fail_next` and :meth:`~BinanceVenue.delay_next` (errors and timeouts),
:meth:`~BinanceVenue.drop_user_streams` (the private stream cut; events meanwhile are lost,
as on Binance), :meth:`~BinanceVenue.terminate_subscriptions` (the subscription ended),
:meth:`~BinanceVenue.add_order` (orders placed elsewhere, or left open by an earlier run).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from tests.marketdata.fh.binance_server import BinanceServer

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
"""Binance's published example key and secret (never a real account's)."""
FEE_RATE = Decimal("0.001")
_INSUFFICIENT = "Account has insufficient balance for requested action."
_UNKNOWN_ORDER = "Unknown order sent."


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def fmt(value: Decimal) -> str:
    return f"{value:.8f}"


@dataclass
class VenueOrder:
    """One order on the venue."""

    order_id: int
    symbol: str
    client_id: str
    side: str
    type: str
    qty: Decimal
    price: Decimal
    stop_price: Decimal
    tif: str
    time: int
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)
    update_time: int = 0
    fills: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def left(self) -> Decimal:
        return self.qty - self.executed

    def answer(self, **extra: Any) -> dict[str, Any]:
        body = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "price": fmt(self.price),
            "origQty": fmt(self.qty),
            "executedQty": fmt(self.executed),
            "cummulativeQuoteQty": fmt(self.quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "workingTime": self.time,
            "selfTradePreventionMode": "NONE",
        }
        body.update(extra)
        return body


class _Refusal(Exception):
    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None):
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}


class BinanceVenue(BinanceServer):
    """Binance spot for one account on 127.0.0.1 (see the module docstring).

    Use as ``async with BinanceVenue() as venue``; ``rest_url`` and ``ws_url`` serve market
    data, order entry and the WebSocket API alike.

    Parameters
    ----------
    symbols
        Symbols with a book (mid 100, tick 0.01) and trades.
    balances
        The account's free balances by asset.
    weight_limit, order_limit
        Request weight a minute and orders per 10 s before HTTP 429.
    """

    def __init__(
        self,
        symbols: tuple[str, ...] = ("BTCUSDT",),
        *,
        balances: dict[str, str] | None = None,
        weight_limit: int = 6000,
        order_limit: int = 50,
        order_window_s: float = 10.0,
        ping_interval_s: float = 20.0,
    ) -> None:
        super().__init__(symbols, ping_interval_s=ping_interval_s)
        self.api_key = API_KEY
        self.secret = SECRET
        self.free: dict[str, Decimal] = {
            k: Decimal(v) for k, v in (balances or {"USDT": "10000", "BTC": "10"}).items()
        }
        self.locked: dict[str, Decimal] = {k: Decimal(0) for k in self.free}
        self.orders: dict[int, VenueOrder] = {}
        self.my_trades: list[dict[str, Any]] = []
        self.skew_ms = 0
        self.weight_limit = weight_limit
        self.order_limit = order_limit
        self.order_window_s = order_window_s
        self.rest_log: list[tuple[str, str, dict[str, str]]] = []
        self.refusals: list[tuple[str, int]] = []
        self.user_streams: list[web.WebSocketResponse] = []
        self.subscriptions = 0
        self._ws_requests: dict[web.WebSocketResponse, web.Request] = {}
        self._weights: deque[tuple[float, int]] = deque()
        self._order_times: deque[float] = deque()
        self._expire = 0
        self._failures: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        self._delays: dict[tuple[str, str], list[float]] = {}
        self._fill_before_cancel: set[str] = set()
        self._order_ids = itertools.count(1001)
        self._trade_ids = itertools.count(9001)
        self._exec_ids = itertools.count(1)
        self._cancel_ids = itertools.count(1)
        app = self._server.app
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_route("*", "/api/v3/order", self._order_route)
        app.router.add_put("/api/v3/order/amend/keepPriority", self._signed(self._amend, 4))
        app.router.add_post("/api/v3/order/cancelReplace", self._signed(self._cancel_replace, 1))
        app.router.add_get("/api/v3/openOrders", self._signed(self._open_orders, 6))
        app.router.add_get("/api/v3/myTrades", self._signed(self._my_trades, 20))
        app.router.add_get("/api/v3/account", self._signed(self._account, 20))
        app.router.add_get("/ws-api/v3", self._ws_api)

    # -- scenario controls -------------------------------------------------------------------

    def server_ms(self) -> int:
        """Return the venue's clock, ms."""
        return now_ms() + self.skew_ms

    def expire_next(self, n: int = 1) -> None:
        """Treat the next ``n`` signed requests as arriving after their ``recvWindow``."""
        self._expire += n

    def fail_next(self, method: str, path: str, status: int, body: Any, n: int = 1) -> None:
        """Answer the next ``n`` ``method path`` requests with ``status`` and ``body``
        (the request is not executed)."""
        self._failures.setdefault((method, path), []).extend([(status, body)] * n)

    def delay_next(self, method: str, path: str, seconds: float) -> None:
        """Execute the next ``method path`` request, then answer it ``seconds`` late."""
        self._delays.setdefault((method, path), []).append(seconds)

    def fill_before_cancel(self, client_id: str) -> None:
        """Fill the order ``client_id`` completely when its cancel arrives (the cancel
        then finds it closed: ``-2011``)."""
        self._fill_before_cancel.add(client_id)

    async def drop_user_streams(self) -> None:
        """Cut every WebSocket API connection without a close frame."""
        for ws in list(self.user_streams):
            self.user_streams.remove(ws)
            transport = self._ws_requests[ws].transport
            if transport is not None:
                transport.abort()

    async def terminate_subscriptions(self) -> None:
        """End every user data stream subscription (``eventStreamTerminated``); the
        connections stay open."""
        streams, self.user_streams = self.user_streams, []
        for ws in streams:
            event = {"e": "eventStreamTerminated", "E": self.server_ms()}
            await ws.send_json({"subscriptionId": 0, "event": event})

    def by_client_id(self, client_id: str) -> VenueOrder:
        """Return the most recent order with ``client_id``."""
        found = [o for o in self.orders.values() if o.client_id == client_id]
        assert found, f"no order {client_id!r} on the venue"
        return found[-1]

    def open_orders(self) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.is_open]

    async def add_order(
        self, client_id: str, side: str, qty: str, price: str, symbol: str = "BTCUSDT"
    ) -> VenueOrder:
        """Place a resting limit order directly on the venue (not through the connector)."""
        return await self._place(
            {
                "symbol": symbol,
                "side": side,
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": qty,
                "price": price,
                "newClientOrderId": client_id,
            }
        )

    async def fill(self, client_id: str, qty: str | None = None, price: str | None = None) -> None:
        """Fill ``qty`` (all that is left by default) of the open order ``client_id`` as a
        maker, at its price unless ``price``; stream the events."""
        order = self.by_client_id(client_id)
        assert order.is_open, f"order {client_id!r} is {order.status}"
        amount = order.left if qty is None else Decimal(qty)
        await self._execute(order, amount, Decimal(price) if price else order.price, maker=True)

    # -- REST plumbing -------------------------------------------------------------------------

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.server_ms()})

    async def _order_route(self, request: web.Request) -> web.StreamResponse:
        handlers = {
            "POST": (self._new_order, 1),
            "DELETE": (self._cancel, 1),
            "GET": (self._query, 4),
        }
        if request.method not in handlers:
            return web.json_response({"code": -1000, "msg": "method"}, status=405)
        handler, weight = handlers[request.method]
        return await self._signed(handler, weight)(request)

    def _signed(self, handler: Any, weight: int) -> Any:
        async def route(request: web.Request) -> web.StreamResponse:
            try:
                key = (request.method, request.path)
                if self._failures.get(key):
                    status, body = self._failures[key].pop(0)
                    return web.json_response(body, status=status)
                self._take_weight(weight)
                if request.method == "POST" and request.path in (
                    "/api/v3/order",
                    "/api/v3/order/cancelReplace",
                ):
                    self._take_order()
                params = self._verify(request, await request.read())
                self.rest_log.append((request.method, request.path, params))
                result = await handler(params)
                delays = self._delays.get(key)
                if delays:
                    await asyncio.sleep(delays.pop(0))
                return web.json_response(result, headers=self._usage_headers())
            except _Refusal as refusal:
                self.refusals.append((request.path, refusal.code))
                return web.json_response(
                    {"code": refusal.code, "msg": refusal.msg},
                    status=refusal.status,
                    headers={**self._usage_headers(), **refusal.headers},
                )

        return route

    def _usage_headers(self) -> dict[str, str]:
        return {"X-MBX-USED-WEIGHT-1M": str(sum(w for _, w in self._weights))}

    def _take_weight(self, weight: int) -> None:
        now = time.monotonic()
        while self._weights and self._weights[0][0] <= now - 60:
            self._weights.popleft()
        used = sum(w for _, w in self._weights)
        if used + weight > self.weight_limit:
            retry = max(1, int(self._weights[0][0] + 60 - now) + 1)
            raise _Refusal(
                429,
                -1003,
                f"Too much request weight used; current limit is {self.weight_limit} request "
                "weight per 1 MINUTE.",
                {"Retry-After": str(retry)},
            )
        self._weights.append((now, weight))

    def _take_order(self) -> None:
        now = time.monotonic()
        span = self.order_window_s
        while self._order_times and self._order_times[0] <= now - span:
            self._order_times.popleft()
        if len(self._order_times) >= self.order_limit:
            retry = max(1, int(self._order_times[0] + span - now) + 1)
            raise _Refusal(
                429,
                -1015,
                f"Too many new orders; current limit is {self.order_limit} orders per 10 SECOND.",
                {"Retry-After": str(retry)},
            )
        self._order_times.append(now)

    def _verify(self, request: web.Request, body: bytes) -> dict[str, str]:
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            raise _Refusal(401, -2015, "Invalid API-key, IP, or permissions for action.")
        raw = request.rel_url.raw_query_string
        head, sep, signature = raw.rpartition("&signature=")
        if not sep:
            head, sep, signature = raw.partition("signature=")
            if not sep:
                raise _Refusal(400, -1102, "Mandatory parameter 'signature' was not sent.")
        expected = hmac.new(self.secret.encode(), (head + body.decode()).encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), signature.lower()):
            raise _Refusal(400, -1022, "Signature for this request is not valid.")
        params = {k: v for k, v in request.query.items() if k != "signature"}
        self._check_time(params)
        return params

    def _check_time(self, params: dict[str, str]) -> None:
        try:
            stamp = int(params["timestamp"])
        except (KeyError, ValueError):
            raise _Refusal(400, -1102, "Mandatory parameter 'timestamp' was not sent.") from None
        window = float(params.get("recvWindow", "5000"))
        if window > 60000:
            raise _Refusal(400, -1131, "recvWindow must be less than 60000")
        server = self.server_ms()
        if self._expire > 0:
            self._expire -= 1
            server = stamp + int(window) + 1
        if stamp >= server + 1000:
            raise _Refusal(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if server - stamp > window:
            raise _Refusal(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    # -- order entry -----------------------------------------------------------------------------

    async def _new_order(self, params: dict[str, str]) -> dict[str, Any]:
        order = await self._place(params)
        return order.answer(transactTime=order.time, fills=list(order.fills))

    async def _place(self, params: dict[str, str]) -> VenueOrder:
        symbol = params.get("symbol", "")
        if symbol not in self.books:
            raise _Refusal(400, -1121, "Invalid symbol.")
        client_id = params.get("newClientOrderId") or f"venue{next(self._order_ids)}"
        if any(o.client_id == client_id and o.is_open for o in self.orders.values()):
            raise _Refusal(400, -2010, "Duplicate order sent.")
        kind = params["type"]
        qty = Decimal(params["quantity"])
        price = Decimal(params.get("price", "0"))
        order = VenueOrder(
            order_id=next(self._order_ids),
            symbol=symbol,
            client_id=client_id,
            side=params["side"],
            type=kind,
            qty=qty,
            price=price,
            stop_price=Decimal(params.get("stopPrice", "0")),
            tif=params.get("timeInForce", "GTC"),
            time=self.server_ms(),
        )
        base, quote = symbol[:-4], symbol[-4:]
        levels = self._levels(order)
        if kind == "LIMIT_MAKER" and levels:
            raise _Refusal(400, -2010, "Order would immediately match and take.")
        estimate = price if price > 0 else (levels[-1][0] if levels else Decimal(0))
        need, asset = (qty * estimate, quote) if order.side == "BUY" else (qty, base)
        if self.free.get(asset, Decimal(0)) < need:
            raise _Refusal(400, -2010, _INSUFFICIENT)
        self.orders[order.order_id] = order
        self._lock(order)
        await self._report(order, "NEW")
        if order.tif == "FOK" and sum(q for _, q in levels) < qty:
            order.status = "EXPIRED"
            self._unlock(order)
            await self._report(order, "EXPIRED")
            return order
        for level_px, level_qty in levels:
            if not order.left:
                break
            await self._execute(order, min(level_qty, order.left), level_px, maker=False)
        if order.is_open and (kind == "MARKET" or order.tif in ("IOC", "FOK")):
            order.status = "EXPIRED"
            self._unlock(order)
            await self._report(order, "EXPIRED")
        return order

    def _levels(self, order: VenueOrder) -> list[tuple[Decimal, Decimal]]:
        """Return the book levels ``order`` would take, best first."""
        if order.type.startswith(("STOP", "TAKE")):
            return []
        bids, asks = self.books[order.symbol].levels()
        side = asks if order.side == "BUY" else bids
        out = []
        for px, qty in side:
            p = Decimal(repr(px))
            if order.type != "MARKET" and (
                (order.side == "BUY" and p > order.price)
                or (order.side == "SELL" and p < order.price)
            ):
                break
            out.append((p, Decimal(repr(qty))))
        return out

    def _lock(self, order: VenueOrder) -> None:
        asset, amount = self._hold(order)
        self.free[asset] -= amount
        self.locked[asset] = self.locked.get(asset, Decimal(0)) + amount

    def _unlock(self, order: VenueOrder) -> None:
        asset, amount = self._hold(order)
        self.locked[asset] -= amount
        self.free[asset] += amount

    def _hold(self, order: VenueOrder) -> tuple[str, Decimal]:
        base, quote = order.symbol[:-4], order.symbol[-4:]
        if order.side == "SELL":
            return base, order.left
        px = order.price if order.price > 0 else Decimal(0)
        return quote, order.left * px

    async def _execute(
        self, order: VenueOrder, qty: Decimal, price: Decimal, *, maker: bool
    ) -> None:
        base, quote = order.symbol[:-4], order.symbol[-4:]
        self._unlock(order)
        order.executed += qty
        order.quote += qty * price
        order.status = "FILLED" if order.executed >= order.qty else "PARTIALLY_FILLED"
        order.update_time = self.server_ms()
        fee = (qty * price * FEE_RATE).quantize(Decimal("0.00000001"))
        if order.side == "BUY":
            self.free[quote] = self.free.get(quote, Decimal(0)) - qty * price - fee
            self.free[base] = self.free.get(base, Decimal(0)) + qty
        else:
            self.free[base] = self.free.get(base, Decimal(0)) - qty
            self.free[quote] = self.free.get(quote, Decimal(0)) + qty * price - fee
        if order.is_open:
            self._lock(order)
        trade_id = next(self._trade_ids)
        order.fills.append(
            {
                "price": fmt(price),
                "qty": fmt(qty),
                "commission": fmt(fee),
                "commissionAsset": quote,
                "tradeId": trade_id,
            }
        )
        self.my_trades.append(
            {
                "symbol": order.symbol,
                "id": trade_id,
                "orderId": order.order_id,
                "orderListId": -1,
                "price": fmt(price),
                "qty": fmt(qty),
                "quoteQty": fmt(qty * price),
                "commission": fmt(fee),
                "commissionAsset": quote,
                "time": order.update_time,
                "isBuyer": order.side == "BUY",
                "isMaker": maker,
                "isBestMatch": True,
            }
        )
        await self._report(order, "TRADE", last=(qty, price, fee, quote, trade_id, maker))

    async def _cancel(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._find(params, "origClientOrderId", "orderId")
        if order is not None and order.client_id in self._fill_before_cancel:
            self._fill_before_cancel.discard(order.client_id)
            if order.is_open:
                await self._execute(order, order.left, order.price, maker=True)
        if order is None or not order.is_open:
            raise _Refusal(400, -2011, _UNKNOWN_ORDER)
        cancel_id = params.get("newClientOrderId") or f"cancel{next(self._cancel_ids)}"
        await self._close(order, "CANCELED", cancel_id)
        return order.answer(
            origClientOrderId=order.client_id,
            clientOrderId=cancel_id,
            transactTime=order.update_time,
        )

    async def _close(self, order: VenueOrder, status: str, cancel_id: str) -> None:
        self._unlock(order)
        order.status = status
        order.update_time = self.server_ms()
        await self._report(order, status, cancel_id=cancel_id)

    def _find(self, params: dict[str, str], by_client: str, by_id: str) -> VenueOrder | None:
        if params.get(by_id):
            return self.orders.get(int(params[by_id]))
        client_id = params.get(by_client, "")
        found = [o for o in self.orders.values() if o.client_id == client_id]
        return found[-1] if found else None

    async def _query(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._find(params, "origClientOrderId", "orderId")
        if order is None:
            raise _Refusal(400, -2013, "Order does not exist.")
        return order.answer(isWorking=order.is_open)

    async def _amend(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._find(params, "origClientOrderId", "orderId")
        if order is None or not order.is_open:
            raise _Refusal(400, -2011, _UNKNOWN_ORDER)
        new_qty = Decimal(params["newQty"])
        if not order.executed < new_qty < order.qty:
            raise _Refusal(400, -2038, "Order amend (quantity increase) is not supported.")
        self._unlock(order)
        order.qty = new_qty
        order.client_id = params.get("newClientOrderId") or order.client_id
        order.update_time = self.server_ms()
        self._lock(order)
        execution_id = await self._report(order, "REPLACED")
        amended = order.answer()
        amended["qty"] = amended.pop("origQty")
        amended["cumulativeQuoteQty"] = amended.pop("cummulativeQuoteQty")
        return {
            "transactTime": order.update_time,
            "executionId": execution_id,
            "amendedOrder": amended,
        }

    async def _cancel_replace(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._find(params, "cancelOrigClientOrderId", "cancelOrderId")
        if order is None or not order.is_open:
            raise _Refusal(400, -2022, "Order cancel-replace failed.")
        cancel_id = params.get("cancelNewClientOrderId") or f"cancel{next(self._cancel_ids)}"
        await self._close(order, "CANCELED", cancel_id)
        cancel = order.answer(origClientOrderId=order.client_id, clientOrderId=cancel_id)
        fresh = await self._place(params)
        return {
            "cancelResult": "SUCCESS",
            "newOrderResult": "SUCCESS",
            "cancelResponse": cancel,
            "newOrderResponse": fresh.answer(transactTime=fresh.time, fills=list(fresh.fills)),
        }

    async def _open_orders(self, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = params.get("symbol")
        return [
            o.answer(isWorking=True)
            for o in self.orders.values()
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    async def _my_trades(self, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = params["symbol"]
        limit = int(params.get("limit", "500"))
        rows = [t for t in self.my_trades if t["symbol"] == symbol]
        if "fromId" in params:
            rows = [t for t in rows if t["id"] >= int(params["fromId"])]
        elif "startTime" in params:
            rows = [t for t in rows if t["time"] >= int(params["startTime"])]
        return rows[:limit]

    async def _account(self, params: dict[str, str]) -> dict[str, Any]:
        balances = [
            {"asset": a, "free": fmt(self.free[a]), "locked": fmt(self.locked.get(a, Decimal(0)))}
            for a in sorted(self.free)
        ]
        if params.get("omitZeroBalances") == "true":
            balances = [b for b in balances if Decimal(b["free"]) or Decimal(b["locked"])]
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "accountType": "SPOT",
            "updateTime": self.server_ms(),
            "balances": balances,
            "permissions": ["SPOT"],
        }

    # -- the WebSocket API -----------------------------------------------------------------------

    async def _ws_api(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws_requests[ws] = request
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._ws_request(ws, json.loads(msg.data))
        except ConnectionError:
            pass
        finally:
            if ws in self.user_streams:
                self.user_streams.remove(ws)
            self._ws_requests.pop(ws, None)
        return ws

    async def _ws_request(self, ws: web.WebSocketResponse, req: dict[str, Any]) -> None:
        rid, method, params = req.get("id"), req.get("method"), dict(req.get("params") or {})
        if method == "ping":
            await ws.send_json({"id": rid, "status": 200, "result": {}})
            return
        if method != "userDataStream.subscribe.signature":
            await ws.send_json(
                {"id": rid, "status": 400, "error": {"code": -1020, "msg": "unsupported"}}
            )
            return
        signature = str(params.pop("signature", ""))
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        error = None
        if params.get("apiKey") != self.api_key:
            error = (401, -2015, "Invalid API-key, IP, or permissions for action.")
        elif not hmac.compare_digest(expected, signature.lower()):
            error = (400, -1022, "Signature for this request is not valid.")
        else:
            try:
                self._check_time({k: str(v) for k, v in params.items()})
            except _Refusal as refusal:
                error = (refusal.status, refusal.code, refusal.msg)
        if error is not None:
            status, code, text = error
            await ws.send_json({"id": rid, "status": status, "error": {"code": code, "msg": text}})
            return
        self.subscriptions += 1
        self.user_streams.append(ws)
        await ws.send_json({"id": rid, "status": 200, "result": {"subscriptionId": 0}})

    async def _push(self, event: dict[str, Any]) -> None:
        for ws in list(self.user_streams):
            try:
                await ws.send_json({"subscriptionId": 0, "event": event})
            except ConnectionError:
                pass

    async def _report(
        self,
        order: VenueOrder,
        exec_type: str,
        *,
        last: tuple[Decimal, Decimal, Decimal, str, int, bool] | None = None,
        cancel_id: str = "",
    ) -> int:
        execution_id = next(self._exec_ids)
        qty, price, fee, fee_asset, trade_id, maker = last or (
            Decimal(0),
            Decimal(0),
            Decimal(0),
            None,
            -1,
            False,
        )
        event = {
            "e": "executionReport",
            "E": self.server_ms(),
            "s": order.symbol,
            "c": cancel_id or order.client_id,
            "S": order.side,
            "o": order.type,
            "f": order.tif,
            "q": fmt(order.qty),
            "p": fmt(order.price),
            "P": fmt(order.stop_price),
            "F": "0.00000000",
            "g": -1,
            "C": order.client_id if cancel_id else "",
            "x": exec_type,
            "X": order.status,
            "r": "NONE",
            "i": order.order_id,
            "l": fmt(qty),
            "z": fmt(order.executed),
            "L": fmt(price),
            "n": fmt(fee),
            "N": fee_asset,
            "T": order.update_time or order.time,
            "t": trade_id,
            "I": execution_id,
            "w": order.is_open,
            "m": maker,
            "M": False,
            "O": order.time,
            "Z": fmt(order.quote),
            "Y": fmt(qty * price),
            "Q": "0.00000000",
            "V": "NONE",
        }
        await self._push(event)
        if exec_type in ("NEW", "TRADE", "CANCELED", "EXPIRED", "REPLACED"):
            await self._push(
                {
                    "e": "outboundAccountPosition",
                    "E": self.server_ms(),
                    "u": self.server_ms(),
                    "B": [
                        {"a": a, "f": fmt(self.free[a]), "l": fmt(self.locked.get(a, Decimal(0)))}
                        for a in sorted(self.free)
                    ],
                }
            )
        return execution_id
