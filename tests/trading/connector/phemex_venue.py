"""A loopback Phemex for order entry: signed REST and the private websocket on 127.0.0.1.

Written from Phemex's API documentation (phemex-api-docs: "Public Contract API", "Public
Spot API", "Generic API info"), independently of the client's code:

* every private REST request must carry ``x-phemex-access-token``, ``x-phemex-request-expiry``
  (Unix seconds, after the venue's clock) and ``x-phemex-request-signature``, the hex
  HMAC-SHA256 of path + query string + expiry + body; a bad signature answers HTTP 401
  ``{"code": 10500, "msg": "API Signature verification failed."}``, an expired request 401
  ``Request Expired at <expiry>``;
* rate-limit groups ``contract``, ``spotorder`` and ``others`` with per-minute capacities
  and the ``x-ratelimit-*-<group>`` headers; a request over capacity answers 429 with
  ``x-ratelimit-retry-after-<group>``;
* ``{"code", "msg", "data"}`` answers; contract orders (``/orders``, ``/orders/replace``,
  ``/orders/cancel``, ``/orders/activeList``, ``/exchange/order``, ``/exchange/order/trade``,
  ``/accounts/accountPositions``) and spot orders (``/spot/orders``, ``/spot/wallets``,
  ``/api-data/spots/orders/by-order-id``, ``/exchange/spot/order/trades``), ``/public/time``
  and ``/public/products``;
* the websocket: ``server.ping``, ``user.auth`` (HMAC-SHA256 of key + expiry, expiry at
  most 2 minutes ahead), ``aop.subscribe`` (contracts: accounts, orders, positions) and
  ``wo.subscribe`` (spot: wallets, orders open/closed/fills), each a snapshot (with the
  recent order history) then incremental messages; any other request is relayed to a
  market-data server when one is given (Phemex serves both on one websocket).

Matching is simple and deterministic: each symbol has a last price (:meth:`PhemexVenue.trade`
moves it); market orders and marketable limit orders fill at once as taker at the last
price, post-only orders that would cross are rejected, IOC/FOK orders that cannot fill are
canceled, stops wait untriggered; resting orders fill as maker when a trade crosses them or
by :meth:`PhemexVenue.fill`. Scenario controls: :meth:`fail_next`, :meth:`hold_answers`,
:meth:`drop_streams`, ``fill_on_cancel``, ``clock_offset_s``, ``capacities``, balances.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from tests.venues import payload

API_KEY = "0c9f8c1e-5f43-4d8e-9a63-6b1d2c3e4f50"
SECRET = "dGVzdC1zZWNyZXQtb2YtdGhlLWZha2UtcGhlbWV4LXZlbnVl"
TAKER_FEE = Decimal("0.00075")
MAKER_FEE = Decimal("-0.00025")
GROUPS = {  # (method, path) -> (group, weight), from the documented API groups
    ("POST", "/orders"): ("contract", 1),
    ("PUT", "/orders/replace"): ("contract", 1),
    ("DELETE", "/orders/cancel"): ("contract", 1),
    ("GET", "/orders/activeList"): ("contract", 1),
    ("GET", "/accounts/accountPositions"): ("contract", 1),
    ("POST", "/spot/orders"): ("spotorder", 1),
    ("PUT", "/spot/orders"): ("spotorder", 1),
    ("DELETE", "/spot/orders"): ("spotorder", 2),
    ("GET", "/spot/orders"): ("spotorder", 1),
}
CAPACITY = {"contract": 500, "spotorder": 500, "others": 100}


@dataclass
class Market:
    symbol: str
    spot: bool
    price_scale: int
    qty_scale: int  # spot: the base currency's valueScale; contracts: 0
    base: str
    quote: str
    settle: str
    last_ep: int


@dataclass
class VOrder:
    """An order at the venue, in wire units (``Ep`` prices, integer or ``Ev`` quantities)."""

    order_id: str
    cl_ord_id: str
    market: Market
    side: str
    ord_type: str
    qty: int
    price_ep: int
    stop_ep: int
    tif: str
    reduce_only: bool
    status: str = "New"
    cum: int = 0
    cum_value: int = 0
    fee: int = 0
    ts: int = 0
    created: int = 0
    action: str = "New"
    reject_code: int = 0
    cxl_rej: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in ("New", "PartiallyFilled", "Untriggered", "Created")

    @property
    def leaves(self) -> int:
        return self.qty - self.cum if self.is_open else 0


@dataclass(eq=False)
class Conn:
    ws: web.WebSocketResponse
    authed: bool = False
    aop: bool = False
    wo: bool = False
    upstream: Any = None
    received: list[Any] = field(default_factory=list)


class PhemexVenue:
    """Phemex order entry on 127.0.0.1; ``async with PhemexVenue() as venue``.

    Parameters
    ----------
    api_key, secret
        The one account's credentials.
    market_ws
        A market-data websocket (``tests.marketdata.fh.phemex_server``) to relay public
        subscriptions to.
    """

    def __init__(
        self, *, api_key: str = API_KEY, secret: str = SECRET, market_ws: str | None = None
    ) -> None:
        self.api_key, self.secret = api_key, secret
        self.market_ws = market_ws
        self.products = payload("phemex", "products")
        self.markets = self._markets(self.products)
        self.value_scales = {
            c["currency"]: c["valueScale"] for c in self.products["data"]["currencies"]
        }
        self.accounts = {"BTC": 10 * 10**8, "USD": 100_000 * 10**4}  # contract margin, Ev
        self.wallets = {"USDT": 100_000 * 10**8, "BTC": 2 * 10**8, "ETH": 0}
        self.positions: dict[str, int] = {}  # signed contracts
        self.entry: dict[str, int] = {}  # avg entry Ep
        self.orders: dict[str, VOrder] = {}
        self.by_cl: dict[str, str] = {}
        self.history: list[dict[str, Any]] = []  # contract order events, newest last
        self.trades: list[dict[str, Any]] = []  # contract trade rows
        self.spot_fills: list[dict[str, Any]] = []
        self.conns: list[Conn] = []
        self.clock_offset_s = 0.0
        self.capacities = dict(CAPACITY)
        self.rate_window_s = 60.0  # Phemex counts per minute; tests may shorten it
        self.spent: dict[str, list[tuple[float, int]]] = {g: [] for g in CAPACITY}
        self.fill_on_cancel = False
        self.snapshot_history = True
        self.requests: list[tuple[str, str]] = []  # accepted private requests
        self.refusals: list[tuple[int, str]] = []  # (status, reason) of refused requests
        self.auths = 0
        self._fail: list[tuple[str, int, int | None]] = []  # (path, status, code)
        self._hold: list[tuple[str, float]] = []
        self._ids = itertools.count(1)
        self._seq = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def __aenter__(self) -> PhemexVenue:
        app = web.Application()
        app.router.add_get("/ws", self._serve_ws)
        app.router.add_route("*", "/{tail:.*}", self._serve_rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in list(self.conns):
            await self._close(conn)
        if self._runner is not None:
            await self._runner.cleanup()

    # -- controls -----------------------------------------------------------------------------

    def now_ns(self) -> int:
        return time.time_ns() + int(self.clock_offset_s * 1e9)

    def fail_next(self, path: str, status: int = 502, code: int | None = None) -> None:
        """Answer the next request to ``path`` with ``status`` (and ``code``); a 5xx is
        answered after the request was carried out (its outcome unknown to the client)."""
        self._fail.append((path, status, code))

    def hold_answers(self, path: str, seconds: float) -> None:
        """Carry out the next request to ``path`` at once but answer it ``seconds`` late."""
        self._hold.append((path, seconds))

    async def drop_streams(self) -> None:
        """Close every private-stream connection (the client reconnects)."""
        for conn in list(self.conns):
            await self._close(conn)

    def order(self, cl_ord_id: str) -> VOrder:
        return self.orders[self.by_cl[cl_ord_id]]

    def trade(
        self, symbol: str, price: Decimal | str | int, qty: Decimal | str | None = None
    ) -> None:
        """A trade at ``price``: triggers stops and fills the resting orders it crosses."""
        market = self.markets[symbol]
        market.last_ep = _ep(price, market.price_scale)
        for order in list(self.orders.values()):
            if order.market is not market or not order.is_open:
                continue
            if order.status == "Untriggered" and _triggered(order, market.last_ep):
                self._trigger(order)
            elif order.status in ("New", "PartiallyFilled") and order.ord_type in (
                "Limit",
                "StopLimit",
            ):
                crossed = (order.side == "Buy" and order.price_ep >= market.last_ep) or (
                    order.side == "Sell" and order.price_ep <= market.last_ep
                )
                if crossed:
                    size = (
                        order.leaves if qty is None else min(order.leaves, _wire_qty(qty, market))
                    )
                    self._execute(order, size, order.price_ep, maker=True)

    def fill(
        self, cl_ord_id: str, qty: Decimal | str | None = None, price: Decimal | str | None = None
    ) -> None:
        """Fill ``qty`` (all that is left by default) of a working order as maker."""
        order = self.order(cl_ord_id)
        size = order.leaves if qty is None else _wire_qty(qty, order.market)
        px = order.price_ep or order.market.last_ep
        if price is not None:
            px = _ep(price, order.market.price_scale)
        self._execute(order, size, px, maker=True)

    def place_foreign(
        self, symbol: str, side: str, qty: str, price: str, cl_ord_id: str | None = None
    ) -> VOrder:
        """Place a resting limit order as another client (e.g. an earlier run) would."""
        market = self.markets[symbol]
        order = VOrder(
            order_id=str(uuid.uuid4()),
            cl_ord_id=cl_ord_id or f"web-{next(self._ids)}",
            market=market,
            side=side,
            ord_type="Limit",
            qty=_wire_qty(qty, market),
            price_ep=_ep(price, market.price_scale),
            stop_ep=0,
            tif="GoodTillCancel",
            reduce_only=False,
        )
        order.ts = order.created = self.now_ns()
        self.orders[order.order_id] = order
        self.by_cl[order.cl_ord_id] = order.order_id
        self._publish(order)
        return order

    # -- REST ---------------------------------------------------------------------------------

    async def _serve_rest(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        body = await request.text()
        if path == "/public/products":
            return _json(self.products)
        if path == "/public/time":
            return _json({"code": 0, "msg": "", "data": {"serverTime": self.now_ns() // 10**6}})
        refused = self._check_auth(request, body)
        if refused is not None:
            return refused
        group, weight = GROUPS.get((method, path), ("others", 1))
        limited = self._take(group, weight)
        if limited is not None:
            return limited
        self.requests.append((method, path))
        fail = next((f for f in self._fail if f[0] == path), None)
        if fail is not None:
            self._fail.remove(fail)
            if fail[1] < 500:
                return _json({"code": fail[2] or fail[1], "msg": "scripted", "data": None}, fail[1])
        hold = next((h for h in self._hold if h[0] == path), None)
        try:
            answer = self._dispatch(method, path, request.query, body)
        except _Refusal as exc:
            answer = {"code": exc.code, "msg": exc.msg, "data": None}
        if fail is not None:
            return _json({"code": fail[1], "msg": "internal error", "data": None}, fail[1])
        if hold is not None:
            self._hold.remove(hold)
            await asyncio.sleep(hold[1])
        response = _json(answer)
        suffix = "" if group == "others" else f"-{group}"
        response.headers[f"x-ratelimit-capacity{suffix}"] = str(self.capacities[group])
        response.headers[f"x-ratelimit-remaining{suffix}"] = str(
            self.capacities[group] - sum(w for _, w in self.spent[group])
        )
        return response

    def _check_auth(self, request: web.Request, body: str) -> web.Response | None:
        headers = request.headers
        token = headers.get("x-phemex-access-token")
        expiry = headers.get("x-phemex-request-expiry", "")
        signature = headers.get("x-phemex-request-signature", "")
        if token != self.api_key or not expiry.isdigit():
            return self._refuse(401, 401, "Unauthorized")
        text = f"{request.path}{request.query_string}{expiry}{body}"
        expected = hmac.new(self.secret.encode(), text.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return self._refuse(401, 10500, "API Signature verification failed.")
        if int(expiry) <= self.now_ns() // 10**9:
            return self._refuse(401, 401, f"Request Expired at {expiry}")
        return None

    def _refuse(self, status: int, code: int, msg: str) -> web.Response:
        self.refusals.append((status, msg))
        return _json({"code": code, "msg": msg, "data": None}, status)

    def _take(self, group: str, weight: int) -> web.Response | None:
        now = time.monotonic()
        span = self.rate_window_s
        window = [(t, w) for t, w in self.spent[group] if t > now - span]
        self.spent[group] = window
        if sum(w for _, w in window) + weight > self.capacities[group]:
            retry = max(1, int(span - (now - window[0][0])) + 1) if window else 1
            response = self._refuse(429, 39995, "too many requests")
            suffix = "" if group == "others" else f"-{group}"
            response.headers[f"x-ratelimit-retry-after{suffix}"] = str(retry)
            return response
        window.append((now, weight))
        return None

    def _dispatch(self, method: str, path: str, query: Any, body: str) -> dict[str, Any]:
        q = dict(query)
        if (method, path) == ("POST", "/orders"):
            return _ok(self._rest_order(self._new(json.loads(body), spot=False)))
        if (method, path) == ("POST", "/spot/orders"):
            return _ok(self._spot_dict(self._new(json.loads(body), spot=True)))
        if (method, path) in (("DELETE", "/orders/cancel"), ("DELETE", "/spot/orders")):
            order = self._cancel(q)
            return _ok(self._spot_dict(order) if order.market.spot else self._rest_order(order))
        if (method, path) in (("PUT", "/orders/replace"), ("PUT", "/spot/orders")):
            order = self._amend(q)
            return _ok(self._spot_dict(order) if order.market.spot else self._rest_order(order))
        if (method, path) == ("GET", "/orders/activeList"):
            rows = [self._rest_order(o) for o in self._open(q["symbol"])]
            return _ok({"rows": rows})
        if (method, path) == ("GET", "/spot/orders"):
            return _ok([self._spot_dict(o) for o in self._open(q["symbol"])])
        if (method, path) == ("GET", "/exchange/order"):
            found = self._find(q)
            return _ok([self._rest_order(found)] if found else [])
        if (method, path) == ("GET", "/api-data/spots/orders/by-order-id"):
            found = self._find(q)
            return _ok([self._spot_dict(found, history=True)] if found else [])
        if (method, path) == ("GET", "/exchange/order/trade"):
            start = int(q.get("start", 0)) * 10**6
            rows = [
                t
                for t in self.trades
                if t["symbol"] == q["symbol"] and t["transactTimeNs"] >= start
            ]
            return _ok({"total": len(rows), "rows": rows[-int(q.get("limit", 200)) :]})
        if (method, path) == ("GET", "/exchange/spot/order/trades"):
            start = int(q.get("start", 0)) * 10**6
            rows = [
                {
                    **{k: v for k, v in f.items() if k != "execID"},
                    "execId": f["execID"],
                    "tradeType": "Trade",
                }
                for f in self.spot_fills
                if f["symbol"] == q["symbol"] and f["transactTimeNs"] >= start
            ]
            return _ok({"total": len(rows), "rows": rows})
        if (method, path) == ("GET", "/accounts/accountPositions"):
            return _ok(self._account(q["currency"]))
        if (method, path) == ("GET", "/spot/wallets"):
            return _ok([self._wallet(c) for c in sorted(self.wallets)])
        raise _Refusal(6001, f"no such endpoint {method} {path}")

    # -- order life -----------------------------------------------------------------------------

    def _new(self, req: dict[str, Any], *, spot: bool) -> VOrder:
        market = self.markets.get(req.get("symbol", ""))
        if market is None or market.spot != spot:
            raise _Refusal(11027, "TE_SYMBOL_INVALID")
        cl = str(req.get("clOrdID", ""))
        if not cl or cl in self.by_cl:
            raise _Refusal(11085, "TE_CL_ORD_ID_DUPLICATE")
        if req.get("side") not in ("Buy", "Sell"):
            raise _Refusal(11034, "TE_SIDE_INVALID")
        ord_type = req.get("ordType", "Limit")
        if ord_type not in ("Market", "Limit", "Stop", "StopLimit"):
            raise _Refusal(11035, "TE_ORD_TYPE_INVALID")
        tif = req.get("timeInForce", "GoodTillCancel")
        if tif not in ("GoodTillCancel", "ImmediateOrCancel", "FillOrKill", "PostOnly"):
            raise _Refusal(11036, "TE_TIME_IN_FORCE_INVALID")
        qty = int(req["baseQtyEv"] if spot else req["orderQty"])
        if qty <= 0:
            raise _Refusal(11058, "TE_QTY_TOO_SMALL")
        order = VOrder(
            order_id=str(uuid.uuid4()),
            cl_ord_id=cl,
            market=market,
            side=req["side"],
            ord_type=ord_type,
            qty=qty,
            price_ep=int(req.get("priceEp", 0)),
            stop_ep=int(req.get("stopPxEp", 0)),
            tif=tif,
            reduce_only=bool(req.get("reduceOnly", False)),
        )
        if ord_type in ("Limit", "StopLimit") and order.price_ep <= 0:
            raise _Refusal(11055, "TE_PRICE_TOO_SMALL")
        self._check_funds(order)
        order.ts = order.created = self.now_ns()
        self.orders[order.order_id] = order
        self.by_cl[cl] = order.order_id
        if ord_type in ("Stop", "StopLimit"):
            order.status = "Untriggered"
            self._publish(order)
            if _triggered(order, market.last_ep):
                self._trigger(order)
            return order
        order.status = "New"
        self._publish(order)
        self._match(order)
        return order

    def _check_funds(self, order: VOrder) -> None:
        market = order.market
        if market.spot:
            px = order.price_ep or market.last_ep
            if order.side == "Buy":
                need = order.qty * px // 10**market.price_scale
                if need > self.wallets.get(market.quote, 0):
                    raise _Refusal(11106, "TE_PLACE_ORDER_INSUFFICIENT_QUOTE_BALANCE")
            elif order.qty > self.wallets.get(market.base, 0):
                raise _Refusal(11105, "TE_PLACE_ORDER_INSUFFICIENT_BASE_BALANCE")
            return
        if market.settle == market.base and not order.reduce_only:  # inverse: 1 USD a contract
            px = order.price_ep or market.last_ep
            cost = order.qty * 10 ** (self.value_scales[market.settle] + market.price_scale) // px
            if cost > self.accounts.get(market.settle, 0):
                raise _Refusal(11001, "TE_NO_ENOUGH_AVAILABLE_BALANCE")

    def _match(self, order: VOrder) -> None:
        last = order.market.last_ep
        marketable = order.ord_type in ("Market", "Stop") or (
            (order.side == "Buy" and order.price_ep >= last)
            or (order.side == "Sell" and order.price_ep <= last)
        )
        if order.tif == "PostOnly" and marketable:
            order.status, order.cxl_rej, order.action = "Rejected", 101, "New"
            order.ts = self.now_ns()
            self._publish(order)
            return
        if marketable:
            self._execute(order, order.leaves, last, maker=False)
        elif order.tif in ("ImmediateOrCancel", "FillOrKill"):
            order.status, order.action, order.ts = "Canceled", "Cancel", self.now_ns()
            self._publish(order)

    def _trigger(self, order: VOrder) -> None:
        order.status, order.ts = "New", self.now_ns()
        self._publish(order)
        self._match(order)

    def _execute(self, order: VOrder, size: int, price_ep: int, *, maker: bool) -> None:
        if size <= 0 or not order.is_open:
            return
        market = order.market
        order.cum += size
        order.ts = self.now_ns()
        order.status = "Filled" if order.cum >= order.qty else "PartiallyFilled"
        rate = MAKER_FEE if maker else TAKER_FEE
        exec_id = str(uuid.uuid4())
        if market.spot:
            quote_ev = size * price_ep // 10**market.price_scale
            fee_currency = market.base if order.side == "Buy" else market.quote
            fee = int(Decimal(size if order.side == "Buy" else quote_ev) * abs(rate))
            order.cum_value += quote_ev
            order.fee += fee
            if order.side == "Buy":
                self.wallets[market.base] = self.wallets.get(market.base, 0) + size - fee
                self.wallets[market.quote] -= quote_ev
            else:
                self.wallets[market.base] -= size
                self.wallets[market.quote] += quote_ev - fee
            fill = {
                "execID": exec_id,
                "orderID": order.order_id,
                "clOrdID": order.cl_ord_id,
                "symbol": market.symbol,
                "side": order.side,
                "ordType": order.ord_type,
                "priceEp": order.price_ep,
                "baseQtyEv": order.qty,
                "execBaseQtyEv": size,
                "execPriceEp": price_ep,
                "execQuoteQtyEv": quote_ev,
                "execFeeEv": fee,
                "feeCurrency": fee_currency,
                "lastLiquidityInd": "AddedLiquidity" if maker else "RemovedLiquidity",
                "execStatus": "MakerFill" if maker else "TakerFill",
                "transactTimeNs": order.ts,
            }
            self.spot_fills.append(fill)
            self._send_wo(
                {"fills": [fill], "open" if order.is_open else "closed": [self._spot_dict(order)]}
            )
            return
        value = size * 10 ** (self.value_scales[market.settle] + market.price_scale) // price_ep
        fee = int(Decimal(value) * rate)
        order.cum_value += value
        self.accounts[market.settle] -= fee
        signed = size if order.side == "Buy" else -size
        held = self.positions.get(market.symbol, 0)
        if held == 0 or (held > 0) == (signed > 0):
            total = abs(held) + size
            self.entry[market.symbol] = (
                self.entry.get(market.symbol, 0) * abs(held) + price_ep * size
            ) // total
        self.positions[market.symbol] = held + signed
        event = self._order_dict(order)
        event.update(
            execID=exec_id,
            execQty=size,
            execPriceEp=price_ep,
            execValueEv=value,
            execFeeEv=fee,
            feeRateEr=int(rate * 10**8),
            execStatus="MakerFill" if maker else "TakerFill",
            lastLiquidityInd="AddedLiquidity" if maker else "RemovedLiquidity",
            tradeType="Trade",
        )
        self.trades.append(
            {
                k: event[k]
                for k in (
                    "transactTimeNs",
                    "symbol",
                    "currency",
                    "side",
                    "tradeType",
                    "execQty",
                    "execPriceEp",
                    "orderQty",
                    "priceEp",
                    "execValueEv",
                    "feeRateEr",
                    "execFeeEv",
                    "ordType",
                    "execID",
                    "orderID",
                    "clOrdID",
                    "execStatus",
                )
            }
        )
        self._send_aop(event, market)

    def _cancel(self, q: dict[str, str]) -> VOrder:
        order = self._find(q)
        if order is None:
            raise _Refusal(10002, "OM_ORDER_NOT_FOUND")
        if self.fill_on_cancel and order.is_open and order.status != "Untriggered":
            self.fill_on_cancel = False
            self._execute(order, order.leaves, order.price_ep or order.market.last_ep, maker=True)
        if not order.is_open:
            raise _Refusal(11063, "TE_ORD_STATUS_CANNOT_CANCEL")
        order.status = "Deactivated" if order.status == "Untriggered" else "Canceled"
        order.action, order.ts = "Cancel", self.now_ns()
        self._publish(order)
        return order

    def _amend(self, q: dict[str, str]) -> VOrder:
        ref = dict(q)
        if "origClOrdID" in ref:
            ref["clOrdID"] = ref.pop("origClOrdID")
        order = self._find(ref)
        if order is None:
            raise _Refusal(10002, "OM_ORDER_NOT_FOUND")
        if not order.is_open:
            raise _Refusal(11066, "TE_ORD_STATUS_CANNOT_REPLACE")
        if order.ord_type == "Market" or order.tif in ("ImmediateOrCancel", "FillOrKill"):
            raise _Refusal(11108, "TE_CANNOT_REPLACE_OR_CANCEL_MARKET_ORDER")
        price = int(q.get("priceEp", order.price_ep))
        qty = int(q.get("orderQty") or q.get("baseQtyEV") or order.qty)
        if (price, qty) == (order.price_ep, order.qty):
            raise _Refusal(11065, "TE_ORD_REPLACE_NOT_MODIFIED")
        if qty <= order.cum:
            raise _Refusal(11012, "TE_REPLACE_TO_INVALID_QTY")
        order.price_ep, order.qty, order.action, order.ts = price, qty, "Replace", self.now_ns()
        self._publish(order)
        self._match(order)
        return order

    def _find(self, q: dict[str, str]) -> VOrder | None:
        if q.get("orderID"):
            order = self.orders.get(q["orderID"])
        else:
            order = self.orders.get(self.by_cl.get(q.get("clOrdID", ""), ""))
        if order is None or order.market.symbol != q.get("symbol"):
            return None
        return order

    def _open(self, symbol: str) -> list[VOrder]:
        return [o for o in self.orders.values() if o.market.symbol == symbol and o.is_open]

    # -- wire shapes ----------------------------------------------------------------------------

    def _order_dict(self, order: VOrder) -> dict[str, Any]:
        market = order.market
        return {
            "accountID": 1001,
            "action": order.action,
            "actionTimeNs": order.ts,
            "bizError": order.reject_code,
            "clOrdID": order.cl_ord_id,
            "cumQty": order.cum,
            "cumValueEv": order.cum_value,
            "currency": market.settle,
            "cxlRejReason": order.cxl_rej,
            "execID": "00000000-0000-0000-0000-000000000000",
            "execQty": 0,
            "execPriceEp": 0,
            "execFeeEv": 0,
            "execStatus": order.status if order.status != "PartiallyFilled" else "New",
            "leavesQty": order.leaves,
            "ordStatus": order.status,
            "ordType": order.ord_type,
            "orderID": order.order_id,
            "orderQty": order.qty,
            "priceEp": order.price_ep,
            "reduceOnly": order.reduce_only,
            "side": order.side,
            "stopPxEp": order.stop_ep,
            "symbol": market.symbol,
            "timeInForce": order.tif,
            "transactTimeNs": order.ts,
        }

    def _rest_order(self, order: VOrder) -> dict[str, Any]:
        data = self._order_dict(order)
        data["orderType"] = data.pop("ordType")
        for key in ("execID", "execQty", "execPriceEp", "execFeeEv", "execStatus", "accountID"):
            data.pop(key)
        return data

    def _spot_dict(self, order: VOrder, *, history: bool = False) -> dict[str, Any]:
        market = order.market
        data = {
            "orderID": order.order_id,
            "clOrdID": order.cl_ord_id,
            "symbol": market.symbol,
            "side": order.side,
            "ordType": order.ord_type,
            "priceEp": order.price_ep,
            "stopPxEp": order.stop_ep,
            "qtyType": "ByBase",
            "baseQtyEv": order.qty,
            "quoteQtyEv": 0,
            "timeInForce": order.tif,
            "ordStatus": order.status,
            "action": order.action,
            "bizError": order.reject_code,
            "cxlRejReason": order.cxl_rej,
            "leavesBaseQtyEv": order.leaves,
            "cumFeeEv": order.fee,
            "feeCurrency": market.base if order.side == "Buy" else market.quote,
            "avgPriceEp": order.cum_value * 10**market.price_scale // order.cum if order.cum else 0,
            "transactTimeNs": order.ts,
            "createTimeNs": order.created,
        }
        if history:  # the order-history endpoints: no clOrdID, cumBaseValueEv
            del data["clOrdID"]
            data["cumBaseValueEv"] = order.cum
        else:
            data["cumBaseQtyEv"] = order.cum
            data["cumQuoteQtyEv"] = order.cum_value
        return data

    def _account(self, currency: str) -> dict[str, Any]:
        positions = []
        for symbol, market in self.markets.items():
            if market.spot or market.settle != currency or market.price_scale == 0:
                continue
            size = self.positions.get(symbol, 0)
            positions.append(
                {
                    "accountID": 1001,
                    "symbol": symbol,
                    "currency": currency,
                    "side": "Buy" if size > 0 else "Sell" if size < 0 else "None",
                    "size": abs(size),
                    "avgEntryPriceEp": self.entry.get(symbol, 0) if size else 0,
                    "markPriceEp": market.last_ep,
                    "transactTimeNs": self.now_ns(),
                }
            )
        account = {
            "accountId": 1001,
            "currency": currency,
            "accountBalanceEv": self.accounts.get(currency, 0),
            "totalUsedBalanceEv": 0,
        }
        return {"account": account, "positions": positions}

    def _wallet(self, currency: str) -> dict[str, Any]:
        locked = sum(
            o.leaves if o.side == "Sell" else o.leaves * o.price_ep // 10**o.market.price_scale
            for o in self.orders.values()
            if o.market.spot
            and o.is_open
            and currency == (o.market.base if o.side == "Sell" else o.market.quote)
        )
        return {
            "currency": currency,
            "balanceEv": self.wallets[currency],
            "lockedTradingBalanceEv": locked,
            "lockedWithdrawEv": 0,
            "lastUpdateTimeNs": self.now_ns(),
        }

    # -- private stream -------------------------------------------------------------------------

    def _publish(self, order: VOrder) -> None:
        if order.market.spot:
            key = "open" if order.is_open else "closed"
            self._send_wo({key: [self._spot_dict(order)]})
        else:
            self._send_aop(self._order_dict(order), order.market)

    def _send_aop(self, event: dict[str, Any], market: Market) -> None:
        self.history.append(event)
        msg = {
            "accounts": [self._account(market.settle)["account"]],
            "orders": [event],
            "positions": [
                p for p in self._account(market.settle)["positions"] if p["symbol"] == market.symbol
            ],
            "sequence": next(self._seq),
            "timestamp": self.now_ns(),
            "type": "incremental",
        }
        for conn in self.conns:
            if conn.aop:
                asyncio.ensure_future(_send(conn.ws, msg))

    def _send_wo(self, orders: dict[str, list[Any]]) -> None:
        msg = {
            "wallets": [self._wallet(c) for c in sorted(self.wallets)],
            "orders": {"open": [], "closed": [], "fills": [], **orders},
            "sequence": next(self._seq),
            "timestamp": self.now_ns(),
            "type": "incremental",
        }
        for conn in self.conns:
            if conn.wo:
                asyncio.ensure_future(_send(conn.ws, msg))

    async def _serve_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Conn(ws)
        self.conns.append(conn)
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                req = json.loads(message.data)
                conn.received.append(req)
                await self._ws_request(conn, req, message.data)
        finally:
            if conn in self.conns:
                self.conns.remove(conn)
            if conn.upstream is not None:
                await conn.upstream[1].close()
                await conn.upstream[0].close()
        return ws

    async def _ws_request(self, conn: Conn, req: dict[str, Any], raw: str) -> None:
        rid, method, params = req.get("id"), req.get("method"), req.get("params") or []
        if method == "server.ping":
            await _send(conn.ws, {"error": None, "id": rid, "result": "pong"})
        elif method == "user.auth":
            ok = self._check_ws_auth(params)
            conn.authed = ok
            self.auths += ok
            error = None if ok else {"code": 6012, "message": "user.auth failed"}
            await _send(
                conn.ws,
                {"error": error, "id": rid, "result": {"status": "success"} if ok else None},
            )
        elif method in ("aop.subscribe", "wo.subscribe"):
            if not conn.authed:
                await _send(
                    conn.ws,
                    {
                        "error": {"code": 6011, "message": "not authenticated"},
                        "id": rid,
                        "result": None,
                    },
                )
                return
            await _send(conn.ws, {"error": None, "id": rid, "result": {"status": "success"}})
            if method == "aop.subscribe":
                conn.aop = True
                await _send(conn.ws, self._aop_snapshot())
            else:
                conn.wo = True
                await _send(conn.ws, self._wo_snapshot())
        elif self.market_ws is not None:
            await self._relay(conn, raw)
        else:
            await _send(
                conn.ws,
                {"error": {"code": 6001, "message": "invalid argument"}, "id": rid, "result": None},
            )

    def _check_ws_auth(self, params: list[Any]) -> bool:
        if len(params) != 4 or params[0] != "API" or params[1] != self.api_key:
            return False
        expiry = params[3]
        now_s = self.now_ns() // 10**9
        if not isinstance(expiry, int) or not now_s < expiry <= now_s + 120:
            return False
        expected = hmac.new(
            self.secret.encode(), f"{self.api_key}{expiry}".encode(), hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, str(params[2]))

    def _aop_snapshot(self) -> dict[str, Any]:
        currencies = sorted(
            {m.settle for m in self.markets.values() if not m.spot and m.price_scale}
        )
        accounts = [self._account(c) for c in currencies]
        history = self.history[-100:] if self.snapshot_history else []
        open_now = {o.order_id for o in self.orders.values() if o.is_open and not o.market.spot}
        events = [e for e in history if e["orderID"] not in open_now or e["execQty"]]
        events += [self._order_dict(o) for o in self.orders.values() if o.order_id in open_now]
        return {
            "accounts": [a["account"] for a in accounts],
            "orders": events,
            "positions": [p for a in accounts for p in a["positions"] if p["size"]],
            "sequence": next(self._seq),
            "timestamp": self.now_ns(),
            "type": "snapshot",
        }

    def _wo_snapshot(self) -> dict[str, Any]:
        spot = [o for o in self.orders.values() if o.market.spot]
        return {
            "wallets": [self._wallet(c) for c in sorted(self.wallets)],
            "orders": {
                "open": [self._spot_dict(o) for o in spot if o.is_open],
                "closed": [self._spot_dict(o) for o in spot if not o.is_open][-100:],
                "fills": self.spot_fills[-100:] if self.snapshot_history else [],
            },
            "sequence": next(self._seq),
            "timestamp": self.now_ns(),
            "type": "snapshot",
        }

    async def _relay(self, conn: Conn, raw: str) -> None:
        if conn.upstream is None:
            http = aiohttp.ClientSession()
            upstream = await http.ws_connect(str(self.market_ws))
            conn.upstream = (http, upstream)

            async def pump() -> None:
                async for message in upstream:
                    if message.type is WSMsgType.TEXT and not conn.ws.closed:
                        await conn.ws.send_str(message.data)

            asyncio.ensure_future(pump())
        await conn.upstream[1].send_str(raw)

    async def _close(self, conn: Conn) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
        await conn.ws.close()

    @staticmethod
    def _markets(products: Any) -> dict[str, Market]:
        data = products["data"]
        scales = {c["currency"]: c["valueScale"] for c in data["currencies"]}
        last = {
            "BTCUSD": "9000",
            "ETHUSD": "200",
            "XRPUSD": "0.25",
            "LTCUSD": "50",
            "sBTCUSDT": "26000",
            "sETHUSDT": "1600",
            "sXRPUSDT": "0.5",
        }
        out = {}
        for p in data["products"]:
            spot = p["type"] == "Spot"
            scale = p.get("priceScale", 8)
            base = p.get("baseCurrency") or (
                p["settleCurrency"]
                if p["contractUnderlyingAssets"] == p["quoteCurrency"]
                else p["contractUnderlyingAssets"]
            )
            out[p["symbol"]] = Market(
                symbol=p["symbol"],
                spot=spot,
                price_scale=scale,
                qty_scale=scales[base] if spot else 0,
                base=base,
                quote=p["quoteCurrency"],
                settle=p["quoteCurrency"] if spot else p["settleCurrency"],
                last_ep=_ep(last.get(p["symbol"], "1"), scale),
            )
        return out


class _Refusal(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def _triggered(order: VOrder, last_ep: int) -> bool:
    return (order.side == "Buy" and last_ep >= order.stop_ep) or (
        order.side == "Sell" and last_ep <= order.stop_ep
    )


def _ep(value: Decimal | str | int, scale: int) -> int:
    return int(Decimal(str(value)).scaleb(scale))


def _wire_qty(qty: Decimal | str, market: Market) -> int:
    return int(Decimal(str(qty)).scaleb(market.qty_scale))


def _ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "", "data": data}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


async def _send(ws: web.WebSocketResponse, msg: Any) -> None:
    if not ws.closed:
        await ws.send_str(json.dumps(msg))


def signed_headers(
    path: str, query: str, body: str, *, expiry: int, secret: str = SECRET, key: str = API_KEY
) -> dict[str, str]:
    """Return the headers of a request signed by hand (for tests of the venue itself)."""
    text = f"{path}{query}{expiry}{body}"
    return {
        "x-phemex-access-token": key,
        "x-phemex-request-expiry": str(expiry),
        "x-phemex-request-signature": hmac.new(
            secret.encode(), text.encode(), hashlib.sha256
        ).hexdigest(),
    }


def kinds(items: Iterable[Any]) -> list[str]:
    """Return the class names of ``items`` (for assertions on event sequences)."""
    return [type(item).__name__ for item in items]
