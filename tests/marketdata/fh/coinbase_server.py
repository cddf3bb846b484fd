"""A loopback Coinbase Exchange: the websocket feed and the REST product list, as documented.

:class:`CoinbaseServer` serves ``GET /products`` and ``GET /currencies`` from
``tests/data/coinbase`` and the feed on ``/``: it answers ``subscribe`` and ``unsubscribe``
with a ``subscriptions`` acknowledgement, refuses unknown products and channels (and
``level2``, which needs authentication) with ``{"type": "error", "message": "Failed to
subscribe", "reason": ...}``, sends a ``snapshot`` for each new ``level2_batch`` product and a
``last_match`` for each new ``matches`` product, then streams ``l2update`` and ``match``
messages (``side`` = the maker's side, consecutive ``trade_id`` per product) and one
``heartbeat`` per product every ``heartbeat_interval_s``. It keeps the authoritative book of
every product. Scenario controls: ``lose=True`` on :meth:`CoinbaseServer.update` and
:meth:`CoinbaseServer.trade` (a message dropped on the way), :meth:`CoinbaseServer.drop`,
:meth:`CoinbaseServer.stall` (no data, no pongs), :meth:`CoinbaseServer.send_raw` (malformed
JSON, unknown types) and :attr:`CoinbaseServer.refusal`. ``GET /products/{id}/trades``
serves every trade printed, lost or not, as "Get product trades" documents it (newest
first, ``after`` = older, ``before`` = newer, ``CB-BEFORE``/``CB-AFTER`` headers, ``side``
the maker's); :meth:`CoinbaseServer.fail_history` makes it answer errors.

Run as a script (``python coinbase_server.py [trades:N] [book:N]``) it prepares those
workloads, prints ``PORT <n>`` and serves until its stdin closes; a websocket URL with
``?bench=trades|book&n=N&rate=R[&symbol=S]`` streams N generated messages of S (BTC-USD)
after the subscription: R per second, or, when R is 0, prepared websocket frames written
straight to the socket as fast as it takes them. The benchmarks run the server in its own
process this way. The refusal texts for channels are this server's own; Coinbase documents
the ``error`` shape and the product refusal, not every reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

DATA = Path(__file__).resolve().parents[2] / "data" / "coinbase"
CHANNELS = frozenset({"level2_batch", "matches", "heartbeat", "ticker"})
AUTHENTICATED = frozenset({"level2", "level3", "full", "user"})
TICK = 0.5
Book = tuple[dict[float, float], dict[float, float]]


def iso_time(ns: int | None = None) -> str:
    """Return ``ns`` (now when omitted) as Coinbase writes times: microseconds and ``Z``."""
    ns = time.time_ns() if ns is None else ns
    when = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{ns // 1_000 % 1_000_000:06d}Z"


def wire(number: float | str) -> str:
    """Return a price or size as the venue's decimal string."""
    return number if isinstance(number, str) else f"{number:.8f}"


class _Client:
    """One websocket client: its subscriptions and whether it is stalled."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.subs: set[tuple[str, str]] = set()
        self.stalled = False

    async def send(self, text: str) -> None:
        if self.stalled or self.ws.closed:
            return
        try:
            await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            pass  # the client went away; its handler cleans up


class CoinbaseServer:
    """Coinbase Exchange on 127.0.0.1 (a random port), for one event loop.

    Parameters
    ----------
    heartbeat_interval_s
        How often each subscribed product gets a ``heartbeat`` (the venue: 1 s).
    depth
        Levels a side in each product's initial book.
    seed
        Seeds the initial books.
    """

    def __init__(
        self, *, heartbeat_interval_s: float = 1.0, depth: int = 10, seed: int = 1
    ) -> None:
        self.heartbeat_interval_s = heartbeat_interval_s
        self.products: list[dict[str, Any]] = json.loads((DATA / "products.json").read_text())
        self.currencies: list[dict[str, Any]] = json.loads((DATA / "currencies.json").read_text())
        symbols = [p["id"] for p in self.products]
        rng = random.Random(seed)
        self.books: dict[str, Book] = {}
        self.mids: dict[str, float] = {}
        for i, symbol in enumerate(symbols):
            mid = self.mids[symbol] = 100.0 * (i + 1)
            bids = {
                mid - TICK * k: float(wire(rng.randint(1, 500) / 100)) for k in range(1, 1 + depth)
            }
            asks = {
                mid + TICK * k: float(wire(rng.randint(1, 500) / 100)) for k in range(1, 1 + depth)
            }
            self.books[symbol] = (bids, asks)
        self.trade_ids = dict.fromkeys(symbols, 1000)
        self.sequences = dict.fromkeys(symbols, 50_000)
        self.last_match: dict[str, dict[str, Any]] = {}
        self.clients: list[_Client] = []
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.refusal: str | None = None
        self._bench_frames: dict[str, list[str]] = {}
        self._bench_wire: dict[str, list[bytes]] = {}
        app = web.Application()
        app.router.add_get("/", self._feed)
        app.router.add_get("/products", self._products)
        app.router.add_get("/currencies", self._currencies)
        app.router.add_get("/products/{product_id}/trades", self._product_trades)
        self.history: dict[str, list[dict[str, Any]]] = {symbol: [] for symbol in symbols}
        self.history_requests: list[dict[str, str]] = []
        self._history_failures: list[tuple[int, Any]] = []
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> CoinbaseServer:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every connection and stop serving."""
        for client in list(self.clients):
            await client.ws.close()
        await self.server.close()

    @property
    def ws_url(self) -> str:
        """Return the feed's URL."""
        return f"ws://127.0.0.1:{self.server.port}/"

    @property
    def rest_url(self) -> str:
        """Return the REST base URL."""
        return f"http://127.0.0.1:{self.server.port}"

    # -- the authoritative state ----------------------------------------------------------

    def book(self, symbol: str) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Return the book of ``symbol`` as ``(bids, asks)``, best first."""
        bids, asks = self.books[symbol]
        return sorted(bids.items(), reverse=True), sorted(asks.items())

    def make_update(
        self,
        symbol: str,
        bids: Iterable[tuple[float | str, float | str]] = (),
        asks: Iterable[tuple[float | str, float | str]] = (),
    ) -> dict[str, Any]:
        """Apply changes to the book and return their ``l2update`` (not sent)."""
        changes = [self._change(symbol, "buy", p, s) for p, s in bids]
        changes += [self._change(symbol, "sell", p, s) for p, s in asks]
        return self._l2update(symbol, changes)

    def make_random_update(self, symbol: str, rng: random.Random) -> dict[str, Any]:
        """Return a random ``l2update`` within 6 of the first mid, so the book never crosses."""
        mid = self.mids[symbol]
        changes = []
        for _ in range(rng.randint(1, 3)):
            side = rng.choice(("buy", "sell"))
            book = self.books[symbol][0 if side == "buy" else 1]
            if len(book) > 3 and rng.random() < 0.3:
                price = rng.choice(sorted(book)[-3:] if side == "buy" else sorted(book)[:3])
                changes.append(self._change(symbol, side, price, 0.0))
            else:
                price = mid + (-TICK if side == "buy" else TICK) * rng.randint(1, 12)
                changes.append(self._change(symbol, side, price, rng.randint(1, 9_999) / 1_000))
        return self._l2update(symbol, changes)

    def _change(self, symbol: str, side: str, price: float | str, size: float | str) -> list[str]:
        book = self.books[symbol][0 if side == "buy" else 1]
        p, s = wire(price), wire(size)
        if float(s) == 0.0:
            book.pop(float(p), None)
        else:
            book[float(p)] = float(s)
        return [side, p, s]

    def _l2update(self, symbol: str, changes: list[list[str]]) -> dict[str, Any]:
        self.sequences[symbol] += 1
        return {"type": "l2update", "product_id": symbol, "changes": changes, "time": iso_time()}

    def make_trade(
        self,
        symbol: str,
        *,
        taker_side: str = "buy",
        price: float | str | None = None,
        size: float | str = 0.01,
    ) -> dict[str, Any]:
        """Record a trade and return its ``match`` (not sent); ``side`` is the maker's."""
        bids, asks = self.books[symbol]
        if price is None:
            price = (
                (min(asks) if asks else 100.0)
                if taker_side == "buy"
                else (max(bids) if bids else 100.0)
            )
        self.trade_ids[symbol] += 1
        self.sequences[symbol] += 1
        msg = {
            "type": "match",
            "trade_id": self.trade_ids[symbol],
            "sequence": self.sequences[symbol],
            "maker_order_id": str(uuid.uuid4()),
            "taker_order_id": str(uuid.uuid4()),
            "time": iso_time(),
            "product_id": symbol,
            "size": wire(size),
            "price": wire(price),
            "side": "sell" if taker_side == "buy" else "buy",
        }
        self.last_match[symbol] = msg
        self.history[symbol].append(msg)
        return msg

    # -- scenario controls ----------------------------------------------------------------

    async def update(
        self,
        symbol: str,
        *,
        bids: Iterable[tuple[float | str, float | str]] = (),
        asks: Iterable[tuple[float | str, float | str]] = (),
        lose: bool = False,
    ) -> dict[str, Any]:
        """Change the book and send the ``l2update``; with ``lose`` it is lost on the way."""
        msg = self.make_update(symbol, bids, asks)
        if not lose:
            await self.publish("level2_batch", symbol, msg)
        return msg

    async def random_update(self, symbol: str, rng: random.Random) -> dict[str, Any]:
        """Send a random ``l2update`` that keeps the book uncrossed."""
        msg = self.make_random_update(symbol, rng)
        await self.publish("level2_batch", symbol, msg)
        return msg

    async def trade(
        self,
        symbol: str,
        *,
        taker_side: str = "buy",
        price: float | str | None = None,
        size: float | str = 0.01,
        lose: bool = False,
    ) -> dict[str, Any]:
        """Print a trade and send its ``match``; with ``lose`` it is lost on the way."""
        msg = self.make_trade(symbol, taker_side=taker_side, price=price, size=size)
        if not lose:
            await self.publish("matches", symbol, msg)
        return msg

    async def publish(self, channel: str, symbol: str, msg: dict[str, Any] | str) -> None:
        """Send ``msg`` to every client subscribed to ``channel`` of ``symbol``."""
        text = msg if isinstance(msg, str) else orjson.dumps(msg).decode()
        for client in list(self.clients):
            if (channel, symbol) in client.subs:
                await client.send(text)

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as it is to every client (malformed JSON, unknown types)."""
        for client in list(self.clients):
            await client.send(text)

    async def drop(self) -> None:
        """Close every open connection, as a venue restart or a network fault would."""
        for client in list(self.clients):
            await client.ws.close()

    def fail_history(self, n: int, status: int = 500, body: Any = None) -> None:
        """Answer the next ``n`` product-trades requests with ``status`` and ``body``."""
        answer = body if body is not None else {"message": "Internal server error"}
        self._history_failures.extend([(status, answer)] * n)

    def stall(self) -> None:
        """Make every open connection go silent: no data, no heartbeats, no pongs."""
        for client in self.clients:
            client.stalled = True

    # -- HTTP -----------------------------------------------------------------------------

    async def _products(self, request: web.Request) -> web.Response:
        return web.json_response(self.products)

    async def _product_trades(self, request: web.Request) -> web.Response:
        """``GET /products/{id}/trades``: newest first, ``after`` older / ``before`` newer."""
        self.history_requests.append(dict(request.query))
        if self._history_failures:
            status, body = self._history_failures.pop(0)
            return web.json_response(body, status=status)
        trades = self.history.get(request.match_info["product_id"])
        if trades is None:
            return web.json_response({"message": "NotFound"}, status=404)
        try:
            limit = int(request.query.get("limit", "1000"))
            after = int(request.query["after"]) if "after" in request.query else None
            before = int(request.query["before"]) if "before" in request.query else None
        except ValueError:
            return web.json_response({"message": "invalid request"}, status=400)
        if not 1 <= limit <= 1000:
            return web.json_response({"message": "limit must be 1..1000"}, status=400)
        newest_first = sorted(trades, key=lambda m: -m["trade_id"])
        if before is not None:
            page = [m for m in newest_first if m["trade_id"] > before][-limit:]
        else:
            page = [m for m in newest_first if after is None or m["trade_id"] < after][:limit]
        body = [{k: m[k] for k in ("time", "trade_id", "price", "size", "side")} for m in page]
        headers = {}
        if page:
            headers = {"CB-BEFORE": str(page[0]["trade_id"]), "CB-AFTER": str(page[-1]["trade_id"])}
        return web.json_response(body, headers=headers)

    async def _currencies(self, request: web.Request) -> web.Response:
        return web.json_response(self.currencies)

    async def _feed(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await self.serve(ws, request)
        return ws

    async def serve(
        self, ws: web.WebSocketResponse, request: web.Request, first: str | None = None
    ) -> None:
        """Serve the feed on an open websocket until it closes; ``first`` is a text frame
        already read from it (how the order venue of the connector tests hands over the
        public connections of its shared feed URL)."""
        client = _Client(ws)
        self.clients.append(client)
        self.connections += 1
        heartbeats = asyncio.create_task(self._heartbeats(client))
        bench: asyncio.Task[None] | None = None
        try:
            if first is not None:
                await self._request(client, first)
            async for msg in ws:
                if msg.type is WSMsgType.PING:
                    if not client.stalled:
                        await ws.pong(msg.data)
                elif msg.type is WSMsgType.TEXT:
                    await self._request(client, msg.data)
                    if "bench" in request.query and bench is None:
                        bench = asyncio.create_task(self._bench(client, request))
        finally:
            heartbeats.cancel()
            if bench is not None:
                bench.cancel()
            self.clients.remove(client)

    async def _heartbeats(self, client: _Client) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            for channel, symbol in sorted(client.subs):
                if channel == "heartbeat":
                    beat = {
                        "type": "heartbeat",
                        "sequence": self.sequences[symbol],
                        "last_trade_id": self.trade_ids[symbol],
                        "product_id": symbol,
                        "time": iso_time(),
                    }
                    await client.send(orjson.dumps(beat).decode())

    async def _request(self, client: _Client, text: str) -> None:
        try:
            msg = json.loads(text)
            kind = msg["type"]
            pairs = _requested(msg)
        except (ValueError, KeyError, TypeError) as exc:
            await self._error(client, "Malformed subscription request", str(exc))
            return
        self.requests.append(msg)
        if kind not in ("subscribe", "unsubscribe"):
            await self._error(client, f"{kind} is not a valid request type", "")
            return
        problem = self.refusal or _problem(pairs, self.books)
        if problem:
            await self._error(client, "Failed to subscribe", problem)
            return
        if kind == "unsubscribe":
            client.subs -= pairs
            await client.send(self._acknowledgement(client))
            return
        new = sorted(pairs - client.subs)
        client.subs |= pairs
        await client.send(self._acknowledgement(client))
        for channel, symbol in new:
            if channel == "level2_batch":
                bids, asks = self.book(symbol)
                snapshot = {
                    "type": "snapshot",
                    "product_id": symbol,
                    "bids": [[wire(p), wire(s)] for p, s in bids],
                    "asks": [[wire(p), wire(s)] for p, s in asks],
                }
                await client.send(orjson.dumps(snapshot).decode())
            elif channel == "matches" and symbol in self.last_match:
                last = dict(self.last_match[symbol], type="last_match")
                await client.send(orjson.dumps(last).decode())

    def _acknowledgement(self, client: _Client) -> str:
        channels: dict[str, list[str]] = {}
        for channel, symbol in sorted(client.subs):
            channels.setdefault(channel, []).append(symbol)
        body = [{"name": c, "product_ids": p} for c, p in channels.items()]
        return orjson.dumps({"type": "subscriptions", "channels": body}).decode()

    async def _error(self, client: _Client, message: str, reason: str) -> None:
        await client.send(
            orjson.dumps({"type": "error", "message": message, "reason": reason}).decode()
        )

    def prepare_bench(self, kind: str, n: int, *, symbol: str = "BTC-USD") -> list[str]:
        """Return ``n`` encoded matches or l2updates of ``symbol``, leaving the book as it was.

        Every connection of a ``?bench=<kind>&n=<n>&rate=0`` URL gets these same frames after
        the snapshot of the unchanged book, so repeated runs see identical input.
        """
        key = f"{kind}:{n}"
        if key not in self._bench_frames:
            rng = random.Random(5)
            book = tuple(dict(side) for side in self.books[symbol])
            ids = self.trade_ids[symbol], self.sequences[symbol], self.last_match.get(symbol)
            frames = [
                orjson.dumps(self._bench_message(kind, symbol, rng)).decode() for _ in range(n)
            ]
            self.books[symbol] = (book[0], book[1])
            self.trade_ids[symbol], self.sequences[symbol], last = ids
            self.last_match.pop(symbol, None)
            if last is not None:
                self.last_match[symbol] = last
            self._bench_frames[key] = frames
        return self._bench_frames[key]

    def _bench_message(self, kind: str, symbol: str, rng: random.Random) -> dict[str, Any]:
        if kind == "trades":
            return self.make_trade(symbol, taker_side=rng.choice(("buy", "sell")))
        return self.make_random_update(symbol, rng)

    async def _bench(self, client: _Client, request: web.Request) -> None:
        """Stream bench frames: made and paced at ``rate``, or pre-framed and written at once.

        Unpaced frames go to the socket's transport as ready-made websocket frames, in
        chunks of a thousand, so the server's own cost per message stays far below the
        client's and the benchmark measures the client.
        """
        query = request.query
        kind, n, rate = query["bench"], int(query.get("n", 1000)), float(query.get("rate", 0))
        symbol = query.get("symbol", "BTC-USD")
        if rate <= 0:
            transport = request.transport
            assert transport is not None
            for chunk in self.framed(kind, n, symbol):
                while transport.get_write_buffer_size() > 1 << 22:
                    await asyncio.sleep(0.0005)
                if transport.is_closing():
                    return
                transport.write(chunk)
            return
        rng = random.Random(6)
        start = time.monotonic()
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            msg = self._bench_message(kind, symbol, rng)
            msg["time"] = iso_time()  # stamped at send: the client can time send-to-journal
            await client.send(orjson.dumps(msg).decode())

    def framed(self, kind: str, n: int, symbol: str) -> list[bytes]:
        """Return :meth:`prepare_bench` frames as websocket frames, a thousand to a chunk."""
        key = f"{kind}:{n}:{symbol}:framed"
        if key not in self._bench_wire:
            frames = [_text_frame(f) for f in self.prepare_bench(kind, n, symbol=symbol)]
            self._bench_wire[key] = [
                b"".join(frames[i : i + 1000]) for i in range(0, len(frames), 1000)
            ]
        return self._bench_wire[key]


def _text_frame(text: str) -> bytes:
    """Return ``text`` as one unmasked, final websocket text frame (RFC 6455, server side)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


def _requested(msg: dict[str, Any]) -> set[tuple[str, str]]:
    """Return the (channel, product) pairs of a request in either documented form."""
    products = list(msg.get("product_ids", []))
    pairs = set()
    for channel in msg["channels"]:
        if isinstance(channel, str):
            pairs.update((channel, p) for p in products)
        else:
            pairs.update((channel["name"], p) for p in channel.get("product_ids", products))
    return pairs


def _problem(pairs: set[tuple[str, str]], books: dict[str, Book]) -> str:
    for channel, symbol in sorted(pairs):
        if symbol not in books:
            return f"{symbol} is not a valid product"
        if channel in AUTHENTICATED:
            return f"{channel} channel requires authentication"
        if channel not in CHANNELS:
            return f"{channel} is not a valid channel"
    return ""


async def _serve_until_stdin_closes(prepare: list[str]) -> None:
    async with CoinbaseServer() as server:
        for item in prepare:  # e.g. trades:200000, made before the port is announced
            kind, _, n = item.partition(":")
            server.framed(kind, int(n), "BTC-USD")
        print(f"PORT {server.server.port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(_serve_until_stdin_closes(sys.argv[1:]))
