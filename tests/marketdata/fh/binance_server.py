"""A loopback Binance spot market-data venue for feedhandler tests and benchmarks.

:class:`BinanceServer` plays ``stream.binance.com`` and ``api.binance.com`` on 127.0.0.1 with
Binance's documented wire format: the combined-stream path ``/stream`` (and the raw ``/ws``),
live ``SUBSCRIBE`` / ``GET_PROPERTY`` requests answered ``{"result": ..., "id": N}`` or
``{"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": N}``, ``trade`` and
``depthUpdate`` events (``U``..``u`` update ids), websocket pings, ``GET /api/v3/depth`` with
the authoritative book's ``lastUpdateId`` and ``GET /api/v3/exchangeInfo``
(``tests/data/binance``). One difference, on purpose: Binance accepts a well-formed stream of
an unknown symbol and sends nothing on it; this server refuses it like an invalid stream, so
tests can reach the refusal path (the feedhandler itself refuses unknown symbols before
connecting, from the catalog).

Scenario controls: :meth:`~BinanceServer.skip_updates` (a sequence gap),
:meth:`~BinanceServer.drop` (connections cut mid-stream), :meth:`~BinanceServer.stall`
(silence: no events, replies or pongs), :meth:`~BinanceServer.send_raw` (malformed JSON,
unknown event types), :meth:`~BinanceServer.refuse` (subscriptions refused) and
:meth:`~BinanceServer.fail_snapshots` (REST errors), :meth:`~BinanceServer.lose_trades`
(trades printed but not streamed, which ``GET /api/v3/historicalTrades`` serves) and
:meth:`~BinanceServer.fail_history` (its errors).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Iterable, MutableSequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Final

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from tests.venues import payload

_STREAM = re.compile(r"^([a-z0-9]+)@(trade|aggTrade|depth|depth@100ms|bookTicker|kline_1m)$")
_INVALID_STREAM = "Invalid request: invalid stream"


def fmt(x: float) -> str:
    """Return a price or quantity as Binance writes it: a decimal string with 8 places."""
    return f"{x:.8f}"


@dataclass
class ServerBook:
    """The venue's authoritative book of one symbol and its last update id."""

    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    last_update_id: int = 1_000

    def apply(
        self, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]]
    ) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, qty in levels:
                if qty == 0.0:
                    side.pop(price, None)
                else:
                    side[price] = qty

    def levels(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Return ``(bids best first, asks best first)``."""
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())


@dataclass(eq=False)
class _Client:
    ws: web.WebSocketResponse
    request: web.Request
    is_combined: bool
    streams: set[str] = field(default_factory=set)
    is_stalled: bool = False


def seeded_book(mid: float = 100.0, tick: float = 0.01, levels: int = 20) -> ServerBook:
    """Return a book of ``levels`` levels a side around ``mid``."""
    book = ServerBook()
    for i in range(1, levels + 1):
        book.bids[round(mid - i * tick, 2)] = float(i)
        book.asks[round(mid + i * tick, 2)] = float(i)
    return book


def random_change(
    rng: random.Random, mid: float = 100.0, tick: float = 0.01, width: int = 30
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Return a delta of 1-3 levels a side within ``width`` ticks of ``mid`` (30% deletes)."""
    sides: list[list[tuple[float, float]]] = [[], []]
    for side, sign in ((0, -1), (1, 1)):
        for _ in range(rng.randint(1, 3)):
            price = round(mid + sign * rng.randint(1, width) * tick, 2)
            qty = 0.0 if rng.random() < 0.3 else rng.randint(1, 5_000) / 100
            sides[side].append((price, qty))
    return sides[0], sides[1]


class BinanceServer:
    """Binance spot's public market data on 127.0.0.1 (see the module docstring).

    Use as ``async with BinanceServer(["BTCUSDT"]) as server``; ``ws_url`` and ``rest_url``
    are the base URLs to give a feedhandler. Every method runs on the test's event loop.

    Parameters
    ----------
    symbols
        Symbols with a book (seeded by :func:`seeded_book`) and trades.
    ping_interval_s
        How often the server pings each connection (Binance: every 20 s).
    """

    def __init__(self, symbols: Iterable[str] = ("BTCUSDT",), *, ping_interval_s: float = 20.0):
        self.exchange_info = payload("binance", "exchange_info")
        self.listed = {s["symbol"] for s in self.exchange_info["symbols"]}
        self.books = {symbol: seeded_book() for symbol in symbols}
        self.ping_interval_s = ping_interval_s
        self.clients: list[_Client] = []
        self.connections = 0
        self.requests: list[dict[str, Any]] = []
        self.snapshot_requests = 0
        self.pongs = 0
        self.sent_trades: list[dict[str, Any]] = []
        self.refusal: tuple[int, str] | None = None
        self._skips: dict[str, int] = {}
        self._snapshot_failures: list[tuple[int, Any]] = []
        self._next_trade_id: dict[str, int] = {}  # Binance numbers each symbol's trades
        app = web.Application()
        app.router.add_get("/stream", self._websocket)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/historicalTrades", self._historical_trades)
        self.history_requests: list[dict[str, str]] = []
        self._history_failures: list[tuple[int, Any]] = []
        self.lost_trades: dict[str, int] = {}
        self._server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> BinanceServer:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.close()

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        port = self._server.port
        assert port is not None, "the server is not started"
        return port

    @property
    def ws_url(self) -> str:
        """Return the websocket base URL (the feedhandler adds ``/stream``)."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        """Return the REST base URL."""
        return f"http://127.0.0.1:{self.port}"

    def subscribed(self) -> set[str]:
        """Return the streams the live connections listen to."""
        return {s for c in self.clients for s in c.streams}

    # -- market --------------------------------------------------------------------------

    async def trade(
        self, symbol: str, price: float, qty: float, *, is_buyer_maker: bool, tid: int | None = None
    ) -> dict[str, Any]:
        """Print a trade and stream it on ``<symbol>@trade``; return the event sent."""
        if tid is None:
            tid = self._next_trade_id.get(symbol, 5_000) + 1
        self._next_trade_id[symbol] = max(tid, self._next_trade_id.get(symbol, 5_000))
        now = time.time_ns() // 1_000_000
        event = {
            "e": "trade",
            "E": now,
            "s": symbol,
            "t": tid,
            "p": fmt(price),
            "q": fmt(qty),
            "T": now,
            "m": is_buyer_maker,
            "M": True,
        }
        self.sent_trades.append(event)
        if self.lost_trades.get(symbol, 0) > 0:
            self.lost_trades[symbol] -= 1
            return event
        await self._publish(symbol, ("trade",), event)
        return event

    async def update(
        self,
        symbol: str,
        bids: Iterable[tuple[float, float]] = (),
        asks: Iterable[tuple[float, float]] = (),
        *,
        span: int = 1,
    ) -> dict[str, Any]:
        """Change the book and stream a ``depthUpdate`` covering ``span`` update ids.

        The change always reaches the authoritative book (and so the REST snapshot); the
        event is not sent when :meth:`skip_updates` asked for it to be lost.
        """
        book = self.books[symbol]
        bids, asks = list(bids), list(asks)
        book.apply(bids, asks)
        first = book.last_update_id + 1
        book.last_update_id += span
        event = {
            "e": "depthUpdate",
            "E": time.time_ns() // 1_000_000,
            "s": symbol,
            "U": first,
            "u": book.last_update_id,
            "b": [[fmt(p), fmt(q)] for p, q in bids],
            "a": [[fmt(p), fmt(q)] for p, q in asks],
        }
        if self._skips.get(symbol, 0) > 0:
            self._skips[symbol] -= 1
            return event
        await self._publish(symbol, ("depth", "depth@100ms"), event)
        return event

    # -- scenario controls ---------------------------------------------------------------

    def skip_updates(self, symbol: str, n: int = 1) -> None:
        """Lose the next ``n`` depth events of ``symbol`` (the book still changes)."""
        self._skips[symbol] = self._skips.get(symbol, 0) + n

    async def drop(self) -> None:
        """Cut every connection without a close frame, as a network failure would."""
        for client in list(self.clients):
            transport = client.request.transport
            if transport is not None:
                transport.abort()

    def stall(self) -> None:
        """Silence the current connections: no events, replies or pongs (new ones work)."""
        for client in self.clients:
            client.is_stalled = True

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as one frame to every live connection."""
        for client in list(self.clients):
            if not client.is_stalled:
                await client.ws.send_str(text)

    def refuse(self, code: int = 2, msg: str = _INVALID_STREAM) -> None:
        """Refuse every ``SUBSCRIBE`` from now on with Binance's ``error`` reply."""
        self.refusal = (code, msg)

    def lose_trades(self, symbol: str, n: int) -> None:
        """Print the next ``n`` trades of ``symbol`` without streaming them (REST has them)."""
        self.lost_trades[symbol] = self.lost_trades.get(symbol, 0) + n

    def fail_history(self, n: int, status: int = 500, body: Any = None) -> None:
        """Answer the next ``n`` ``historicalTrades`` requests with ``status`` and ``body``."""
        answer = body if body is not None else {"code": -1001, "msg": "Internal error."}
        self._history_failures.extend([(status, answer)] * n)

    def fail_snapshots(self, n: int, status: int = 500, body: Any = None) -> None:
        """Answer the next ``n`` depth snapshot requests with ``status`` and ``body``."""
        answer = body if body is not None else {"code": -1001, "msg": "Internal error."}
        self._snapshot_failures.extend([(status, answer)] * n)

    # -- protocol ------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        client = _Client(ws, request, is_combined=request.path == "/stream")
        for name in request.query.get("streams", "").split("/"):
            if name:
                client.streams.add(name)
        self.clients.append(client)
        self.connections += 1
        pinger = asyncio.create_task(self._ping(client))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._request(client, msg.data)
                elif msg.type is WSMsgType.PING and not client.is_stalled:
                    await ws.pong(msg.data)
                elif msg.type is WSMsgType.PONG:
                    self.pongs += 1
        except ConnectionError:
            pass
        finally:
            pinger.cancel()
            self.clients.remove(client)
        return ws

    async def _ping(self, client: _Client) -> None:
        while not client.ws.closed:
            await asyncio.sleep(self.ping_interval_s)
            if not client.is_stalled and not client.ws.closed:
                try:
                    await client.ws.ping(b"binance")
                except ConnectionError:
                    return

    async def _request(self, client: _Client, text: str) -> None:
        if client.is_stalled:
            return
        try:
            request = json.loads(text)
        except ValueError:
            await self._reply(client, {"code": 3, "msg": "Invalid JSON: expected value at line 1"})
            return
        self.requests.append(request)
        rid = request.get("id")
        method, params = request.get("method"), request.get("params", [])
        if method == "GET_PROPERTY" and params == ["combined"]:
            await self._reply(client, {"result": client.is_combined, "id": rid})
        elif method == "SUBSCRIBE":
            streams = [str(p) for p in params]
            if self.refusal is not None:
                code, msg = self.refusal
                await self._reply(client, {"error": {"code": code, "msg": msg}, "id": rid})
            elif not all(self._is_valid(s) for s in streams):
                await self._reply(client, {"error": {"code": 2, "msg": _INVALID_STREAM}, "id": rid})
            else:
                client.streams.update(streams)
                await self._reply(client, {"result": None, "id": rid})
        else:
            await self._reply(
                client, {"code": 2, "msg": f"Invalid request: unknown variant {method}"}
            )

    def _is_valid(self, stream: str) -> bool:
        match = _STREAM.match(stream)
        return match is not None and match.group(1).upper() in self.listed

    async def _reply(self, client: _Client, body: dict[str, Any]) -> None:
        await client.ws.send_str(json.dumps(body))

    async def _publish(self, symbol: str, kinds: tuple[str, ...], event: dict[str, Any]) -> None:
        names = [f"{symbol.lower()}@{kind}" for kind in kinds]
        for client in list(self.clients):
            if client.is_stalled or client.ws.closed:
                continue
            for name in names:
                if name in client.streams:
                    body = {"stream": name, "data": event} if client.is_combined else event
                    try:
                        await client.ws.send_str(json.dumps(body))
                    except ConnectionError:
                        pass
                    break

    async def _depth(self, request: web.Request) -> web.Response:
        self.snapshot_requests += 1
        if self._snapshot_failures:
            status, body = self._snapshot_failures.pop(0)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            return web.Response(status=status, body=data, content_type="application/json")
        symbol = request.query.get("symbol", "")
        if not symbol:
            return web.json_response(
                {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."}, status=400
            )
        book = self.books.get(symbol)
        if book is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        limit = min(int(request.query.get("limit", "100")), 5_000)
        bids, asks = book.levels()
        return web.json_response(
            {
                "lastUpdateId": book.last_update_id,
                "bids": [[fmt(p), fmt(q)] for p, q in bids[:limit]],
                "asks": [[fmt(p), fmt(q)] for p, q in asks[:limit]],
            }
        )

    async def _historical_trades(self, request: web.Request) -> web.Response:
        """``GET /api/v3/historicalTrades``: up to ``limit`` (max 1000) trades from ``fromId``."""
        self.history_requests.append(dict(request.query))
        if self._history_failures:
            status, body = self._history_failures.pop(0)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            return web.Response(status=status, body=data, content_type="application/json")
        symbol = request.query.get("symbol", "")
        if symbol not in self.books:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        limit = int(request.query.get("limit", "500"))
        if not 1 <= limit <= 1000:
            return web.json_response(
                {"code": -1100, "msg": "Illegal characters found in parameter 'limit'."},
                status=400,
            )
        from_id = int(request.query.get("fromId", "0"))
        trades = [e for e in self.sent_trades if e["s"] == symbol and e["t"] >= from_id]
        trades.sort(key=lambda e: e["t"])
        return web.json_response(
            [
                {
                    "id": e["t"],
                    "price": e["p"],
                    "qty": e["q"],
                    "quoteQty": fmt(float(e["p"]) * float(e["q"])),
                    "time": e["T"],
                    "isBuyerMaker": e["m"],
                    "isBestMatch": True,
                }
                for e in trades[:limit]
            ]
        )

    async def _exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.exchange_info)


# -- a server process for benchmarks -----------------------------------------------------------


PACED_FIRST_ID: Final = 1_000_000
"""The trade id of the first paced trade; the ``i``-th is ``PACED_FIRST_ID + i``."""


def serve_in_process(
    conn: Connection,
    symbol: str,
    kind: str,
    n: int,
    rate: float = 0.0,
    sent: MutableSequence[int] | None = None,
) -> None:
    """Run a :class:`BinanceServer` in this process and stream ``n`` frames to one client.

    The process sends its port on ``conn``, waits for the subscription (and, for ``kind``
    ``book``, for the depth snapshot), then sends ``n`` ``trade`` or ``depthUpdate`` events
    back to back, or ``rate`` a second (trades only, numbered consecutively from
    :data:`PACED_FIRST_ID` as Binance numbers them, each one's send time in ns written to
    ``sent[i]``, a shared array, just before it goes). It then sends the book's final
    ``(last_update_id, bids, asks)`` (None for trades) and exits when it receives anything on
    ``conn``.
    """
    asyncio.run(_serve_frames(conn, symbol, kind, n, rate, sent))


async def _serve_frames(
    conn: Connection,
    symbol: str,
    kind: str,
    n: int,
    rate: float,
    sent: MutableSequence[int] | None = None,
) -> None:
    async with BinanceServer([symbol]) as server:
        name = f"{symbol.lower()}@{'trade' if kind == 'trades' else 'depth@100ms'}"
        book = ServerBook(dict(server.books[symbol].bids), dict(server.books[symbol].asks))
        book.last_update_id = server.books[symbol].last_update_id
        frames = [] if rate else _frames(symbol, name, kind, n, book)
        conn.send(server.port)
        while not (server.clients and name in server.clients[0].streams):
            await asyncio.sleep(0.001)
        if kind == "book":
            while not server.snapshot_requests:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)  # let the client apply the snapshot first
        client = server.clients[0]
        if rate:
            await _paced_trades(client.ws, symbol, name, n, rate, sent)
        else:
            await _write_frames(client, frames)
        server.books[symbol] = book
        conn.send((book.last_update_id, *book.levels()) if kind == "book" else None)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)


def _frames(symbol: str, name: str, kind: str, n: int, book: ServerBook) -> list[str]:
    rng = random.Random(42)
    frames = []
    for i in range(n):
        if kind == "trades":
            event: dict[str, Any] = {
                "e": "trade",
                "E": 1_704_164_400_000 + i,
                "s": symbol,
                "t": 1_000_000 + i,
                "p": fmt(round(100 + rng.randint(-50, 50) * 0.01, 2)),
                "q": fmt(rng.randint(1, 10_000) / 1_000),
                "T": 1_704_164_400_000 + i,
                "m": rng.random() < 0.5,
                "M": True,
            }
        else:
            bids, asks = random_change(rng, width=200)
            book.apply(bids, asks)
            first = book.last_update_id + 1
            book.last_update_id += rng.randint(1, 3)
            event = {
                "e": "depthUpdate",
                "E": 1_704_164_400_000 + i,
                "s": symbol,
                "U": first,
                "u": book.last_update_id,
                "b": [[fmt(p), fmt(q)] for p, q in bids],
                "a": [[fmt(p), fmt(q)] for p, q in asks],
            }
        frames.append(json.dumps({"stream": name, "data": event}, separators=(",", ":")))
    return frames


async def _paced_trades(
    ws: web.WebSocketResponse,
    symbol: str,
    name: str,
    n: int,
    rate: float,
    sent: MutableSequence[int] | None,
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    head = f'{{"stream":"{name}","data":{{"e":"trade","E":1,"s":"{symbol}","t":'
    tail = ',"p":"100.01000000","q":"0.10000000","T":1704164400000,"m":false,"M":true}}'
    for i in range(n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if sent is not None:
            sent[i] = time.time_ns()
        await ws.send_str(f"{head}{PACED_FIRST_ID + i}{tail}")


def ws_text_frame(text: str) -> bytes:
    """Return ``text`` as one unmasked websocket text frame (RFC 6455, server to client)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 1 << 16:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + data


async def _write_frames(client: _Client, frames: list[str], chunk: int = 256) -> None:
    """Write pre-encoded frames straight to the socket, so the server costs next to nothing.

    The bytes are exactly what ``send_str`` would send; skipping its per-frame bookkeeping
    keeps the server process from being what a benchmark measures.
    """
    transport = client.request.transport
    assert transport is not None
    for start in range(0, len(frames), chunk):
        transport.write(b"".join(ws_text_frame(f) for f in frames[start : start + chunk]))
        while transport.get_write_buffer_size() > 1 << 20:
            await asyncio.sleep(0.0005)
