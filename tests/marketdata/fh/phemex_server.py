"""A loopback Phemex: the public websocket and ``/public/products`` on 127.0.0.1.

It speaks the wire format Phemex documents (phemex-docs.github.io, "Contract Websocket API"
and "Hedged Contract Websocket API"), written here independently of the client's code:

* requests ``{"id", "method", "params"}``; ``trade.subscribe`` / ``orderbook.subscribe``
  for spot and coin-margined contracts (``[symbol]`` for 30 levels, ``[symbol, true]`` for
  the full book), ``trade_p.subscribe`` / ``orderbook_p.subscribe`` (``[symbol]``, 30
  levels) for ``PerpetualV2`` contracts; replies ``{"error": null, "id", "result":
  {"status": "success"}}``, refusals ``{"error": {"code": 6001, "message": "invalid
  argument"}, "id", "result": null}``, and ``server.ping`` answered with ``"pong"``;
* ``orderbook.unsubscribe`` / ``orderbook_p.unsubscribe`` with ``[]``, which end every book
  subscription of that channel ("It unsubscribes all orderbook related subscriptions");
* a book snapshot on subscription, right after the success reply ("On each successful
  subscription, DataGW will immediately send the current Order Book snapshot", also to a
  symbol subscribed again), and every ``snapshot_interval_s`` (60 s at Phemex) with the
  sequence of the symbol's last change, and ``incremental`` messages carrying the levels of
  the subscriber's window that changed (size 0 deletes);
* a trade snapshot of the recent trades, newest first, on subscription, then one
  ``incremental`` message per taker order (a sweep of two levels is two trades);
* scaled integers (``book``, ``trades``) or decimal strings (``orderbook_p``, ``trades_p``),
  and one ``sequence`` counter shared by every symbol and channel, as at Phemex.

Each symbol's market is simulated from a seeded random generator by :meth:`step`. Controls
for scenarios: :meth:`skip_next_delta`, :meth:`rewind`, :meth:`out_of_order`, :meth:`drop`,
:meth:`stall`, :meth:`send_raw` and :attr:`refused`; :attr:`Conn.sent` keeps what was sent.
:func:`serve_frames` runs a server in a child process that sends pre-built frames as fast as
the client reads them (or paced), for benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from tests.venues import payload

INVALID = {"code": 6001, "message": "invalid argument"}
HISTORY = 200  # trades in a trade snapshot ("200 history trades")
WINDOW = 30  # levels a side of a book subscription without the full-book flag


@dataclass
class Market:
    """One symbol: wire facts, the authoritative book and the trades, in integer units."""

    symbol: str
    is_scaled: bool
    price_places: int  # price = units / 10**price_places
    qty_places: int
    tick: int
    lot: int
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    last_seq: int = 0
    trades: list[list[Any]] = field(default_factory=list)  # wire rows, oldest first

    def price(self, units: int) -> Any:
        return units if self.is_scaled else _text(units, self.price_places)

    def qty(self, units: int) -> Any:
        return units if self.is_scaled else _text(units, self.qty_places)

    def as_float(self, units: int, places: int) -> float:
        """Return what a client reads for ``units``: ``Ep / 10**scale``, or the text's float."""
        return units / 10**places if self.is_scaled else float(_text(units, places))

    def read(self, wire: Any, places: int) -> float:
        """Return what a client reads for a value as sent (an integer or a decimal string)."""
        return wire / 10**places if self.is_scaled else float(wire)

    def view(self, depth: int) -> tuple[dict[int, int], dict[int, int]]:
        """Return the top ``depth`` levels a side (all for 0)."""
        if depth == 0:
            return dict(self.bids), dict(self.asks)
        bids = sorted(self.bids, reverse=True)[:depth]
        asks = sorted(self.asks)[:depth]
        return {p: self.bids[p] for p in bids}, {p: self.asks[p] for p in asks}

    def levels(self, depth: int = 0) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Return the book as a client sees it: ``(price, qty)`` floats, best first."""
        bids, asks = self.view(depth)
        pp, qp = self.price_places, self.qty_places
        return (
            [
                (self.as_float(p, pp), self.as_float(bids[p], qp))
                for p in sorted(bids, reverse=True)
            ],
            [(self.as_float(p, pp), self.as_float(asks[p], qp)) for p in sorted(asks)],
        )


@dataclass(eq=False)
class Conn:
    """One client connection: its subscriptions and an ordered outbox."""

    ws: web.WebSocketResponse
    transport: Any
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    trades: set[str] = field(default_factory=set)
    books: dict[str, list[Any]] = field(default_factory=dict)  # symbol -> [depth, bids, asks]
    stalled: bool = False
    received: list[Any] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def send(self, msg: Any) -> None:
        text = msg if isinstance(msg, str) else json.dumps(msg)
        self.sent.append(text)
        self.outbox.put_nowait(text)


def markets_from(products: Any) -> dict[str, Market]:
    """Return a market per product of a ``/public/products`` payload."""
    out = {}
    data = products["data"]
    for p in data["products"]:
        if p["type"] == "Spot":
            tick, lot = p["quoteTickSizeEv"], p["baseTickSizeEv"]
            out[p["symbol"]] = Market(p["symbol"], True, p.get("priceScale", 8), 8, tick, lot)
        elif p["type"] == "Perpetual":
            tick = int(Decimal(str(p["tickSize"])).scaleb(p["priceScale"]))
            out[p["symbol"]] = Market(p["symbol"], True, p["priceScale"], 0, tick, p["lotSize"])
    for p in data.get("perpProductsV2", []):
        places = max(0, -int(Decimal(p["tickSize"]).normalize().as_tuple().exponent))
        qplaces = max(0, -int(Decimal(p["qtyStepSize"]).normalize().as_tuple().exponent))
        tick = int(Decimal(p["tickSize"]).scaleb(places))
        lot = int(Decimal(p["qtyStepSize"]).scaleb(qplaces))
        out[p["symbol"]] = Market(p["symbol"], False, places, qplaces, tick, lot)
    return out


class PhemexServer:
    """Phemex on 127.0.0.1; ``async with PhemexServer() as venue`` starts it on a free port.

    Parameters
    ----------
    snapshot_interval_s
        How often every book subscription gets a snapshot (Phemex: 60 s).
    seed
        Seed of the simulated markets.
    """

    def __init__(self, *, snapshot_interval_s: float = 60.0, seed: int = 7) -> None:
        self.products = payload("phemex", "products")
        self.markets = markets_from(self.products)
        self.snapshot_interval_s = snapshot_interval_s
        self.rng = random.Random(seed)
        self.seq = 1_000_000
        self.clock = 1_700_000_000_000_000_000
        self.conns: list[Conn] = []
        self.connects = 0
        self.requests: list[list[dict[str, Any]]] = []  # every request, per connection
        self.refused: set[tuple[str, str]] = set()  # (method, symbol or "*") to refuse: 6001
        self._skip: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.port = 0
        for market in self.markets.values():
            self._seed_book(market)
            market.last_seq = self.seq

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> PhemexServer:
        app = web.Application()
        app.router.add_get("/ws", self._serve_ws)
        app.router.add_get("/public/products", self._serve_products)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ticker = asyncio.create_task(self._snapshots())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for conn in list(self.conns):
            conn.transport.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- controls --------------------------------------------------------------------------

    def step(self, n: int = 1, symbols: Iterable[str] | None = None) -> None:
        """Simulate ``n`` events (level changes and taker orders) on random symbols."""
        names = list(symbols) if symbols is not None else sorted(self.markets)
        for _ in range(n):
            market = self.markets[self.rng.choice(names)]
            roll = self.rng.random()
            if roll < 0.35:
                self.take(market.symbol, self.rng.choice(("Buy", "Sell")), sweep=roll < 0.07)
            elif roll < 0.55 and len(market.bids) > 3 and len(market.asks) > 3:
                book = market.bids if self.rng.random() < 0.5 else market.asks
                self._change(market, [(book, self.rng.choice(sorted(book)), 0)])
            else:
                self._place(market)

    def take(self, symbol: str, side: str, *, sweep: bool = False) -> list[list[Any]]:
        """Send a taker order: ``Buy`` lifts the best asks, ``Sell`` hits the best bids."""
        market = self.markets[symbol]
        book = market.asks if side == "Buy" else market.bids
        if len(book) < 2:
            return []
        self.clock = max(self.clock + 1, time.time_ns())
        rows, changes = [], []
        for level in range(2 if sweep and len(book) > 2 else 1):
            price = (min if side == "Buy" else max)(p for p in book if p not in dict(changes))
            qty = book[price] if sweep and level == 0 else min(book[price], market.lot)
            rows.append([self.clock, side, market.price(price), market.qty(qty)])
            changes.append((price, book[price] - qty))
        self._change(market, [(book, p, q) for p, q in changes])
        self._trades(market, rows)
        return rows

    def skip_next_delta(self, symbol: str) -> None:
        """Lose the next book update of ``symbol``: its sequence is used but it is not sent."""
        self._skip.add(symbol)

    def out_of_order(self, symbol: str, seq: int) -> None:
        """Send every subscriber of ``symbol``'s book an update numbered ``seq`` (an old one).

        It repeats the best bid as it stands, so it changes nothing if applied.
        """
        market = self.markets[symbol]
        price = max(market.bids)
        for conn in self.conns:
            sub = conn.books.get(symbol)
            if sub is not None:
                bids = {price: market.bids[price]}
                conn.send(self._book_msg(market, sub[0], bids, {}, "incremental", seq))

    def rewind(self, n: int) -> None:
        """Move the shared sequence back by ``n`` (an out-of-order stream)."""
        self.seq -= n

    async def drop(self) -> None:
        """Close every connection abruptly (no close frame)."""
        for conn in list(self.conns):
            conn.transport.close()

    def stall(self) -> None:
        """Stop sending anything, pongs included, on every open connection."""
        for conn in self.conns:
            conn.stalled = True

    def send_raw(self, text: str) -> None:
        """Send ``text`` as is (malformed JSON, unknown messages) on every connection."""
        for conn in self.conns:
            conn.send(text)

    def snapshot_all(self) -> None:
        """Send every book subscription its snapshot now (as the 60 s timer does)."""
        for conn in self.conns:
            for symbol in conn.books:
                self._send_snapshot(conn, self.markets[symbol])

    # -- the wire --------------------------------------------------------------------------

    async def _serve_products(self, request: web.Request) -> web.Response:
        return web.json_response(self.products)

    async def _serve_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = Conn(ws, request.transport)
        self.conns.append(conn)
        self.requests.append(conn.received)
        self.connects += 1
        writer = asyncio.create_task(self._write(conn))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._request(conn, msg.data)
                elif msg.type is WSMsgType.PING and not conn.stalled:
                    await ws.pong(msg.data)
        finally:
            writer.cancel()
            self.conns.remove(conn)
        return ws

    async def _write(self, conn: Conn) -> None:
        while True:
            text = await conn.outbox.get()
            if conn.stalled or conn.ws.closed:
                continue
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):  # dropped under us
                return

    def _request(self, conn: Conn, text: str) -> None:
        try:
            req = json.loads(text)
            rid, method, params = req["id"], req["method"], req["params"]
        except (ValueError, KeyError, TypeError):
            conn.send({"error": INVALID, "id": None, "result": None})
            return
        conn.received.append(req)
        if method == "server.ping":
            if not conn.stalled:
                conn.send({"error": None, "id": rid, "result": "pong"})
            return
        if method in ("orderbook.unsubscribe", "orderbook_p.unsubscribe"):
            if params != [] or (method, "*") in self.refused:
                conn.send({"error": INVALID, "id": rid, "result": None})
                return
            scaled = method == "orderbook.unsubscribe"
            for name in [s for s in conn.books if self.markets[s].is_scaled is scaled]:
                del conn.books[name]
            conn.send({"error": None, "id": rid, "result": {"status": "success"}})
            return
        symbol = params[0] if params else None
        market = self.markets.get(symbol) if isinstance(symbol, str) else None
        family = None if market is None else ("" if market.is_scaled else "_p")
        flags = params[1:]
        if (
            market is None
            or method not in (f"trade{family}.subscribe", f"orderbook{family}.subscribe")
            or (method, symbol) in self.refused
            or flags not in ([], [True], [False])
            or (flags and family == "_p")
        ):
            conn.send({"error": INVALID, "id": rid, "result": None})
            return
        conn.send({"error": None, "id": rid, "result": {"status": "success"}})
        if method.startswith("trade"):
            conn.trades.add(market.symbol)
            rows = market.trades[-HISTORY:][::-1]
            key = "trades" + family
            conn.send({"sequence": self.seq, "symbol": symbol, key: rows, "type": "snapshot"})
        else:
            conn.books[market.symbol] = [0 if flags == [True] else WINDOW, {}, {}]
            self._send_snapshot(conn, market)

    def _send_snapshot(self, conn: Conn, market: Market) -> None:
        sub = conn.books[market.symbol]
        sub[1], sub[2] = market.view(sub[0])
        conn.send(self._book_msg(market, sub[0], sub[1], sub[2], "snapshot", market.last_seq))

    def _book_msg(
        self,
        market: Market,
        depth: int,
        bids: dict[int, int],
        asks: dict[int, int],
        kind: str,
        seq: int,
    ) -> dict[str, Any]:
        key = "book" if market.is_scaled else "orderbook_p"
        return {
            key: {
                "asks": [[market.price(p), market.qty(asks[p])] for p in sorted(asks)],
                "bids": [
                    [market.price(p), market.qty(bids[p])] for p in sorted(bids, reverse=True)
                ],
            },
            "depth": depth,
            "sequence": seq,
            "symbol": market.symbol,
            "timestamp": self.clock,
            "type": kind,
        }

    async def _snapshots(self) -> None:
        while True:
            await asyncio.sleep(self.snapshot_interval_s)
            self.snapshot_all()

    # -- the simulated market --------------------------------------------------------------

    def _seed_book(self, market: Market) -> None:
        mid = {"BTC": 30_000, "ETH": 2_000, "XRP": 1, "LTC": 100}.get(
            market.symbol.lstrip("s")[:3], 50
        )
        mid_units = int(Decimal(mid).scaleb(market.price_places)) // market.tick * market.tick
        for i in range(1, 21):
            market.bids[mid_units - i * market.tick] = market.lot * self.rng.randint(1, 50)
            market.asks[mid_units + i * market.tick] = market.lot * self.rng.randint(1, 50)

    def _place(self, market: Market) -> None:
        side_is_bid = self.rng.random() < 0.5
        best_bid, best_ask = max(market.bids), min(market.asks)
        offset = self.rng.randint(0, 40) * market.tick
        price = best_ask - market.tick - offset if side_is_bid else best_bid + market.tick + offset
        if price <= 0 or not (price < best_ask if side_is_bid else price > best_bid):
            return
        book = market.bids if side_is_bid else market.asks
        self._change(market, [(book, price, market.lot * self.rng.randint(1, 50))])

    def _change(self, market: Market, changes: list[tuple[dict[int, int], int, int]]) -> None:
        for book, price, qty in changes:
            if qty:
                book[price] = qty
            else:
                book.pop(price, None)
        self.seq += self.rng.randint(1, 3)  # other symbols share the counter
        market.last_seq = self.seq
        lost = market.symbol in self._skip
        self._skip.discard(market.symbol)
        for conn in self.conns:
            sub = conn.books.get(market.symbol)
            if sub is None:
                continue
            bids, asks = market.view(sub[0])
            diff_b, diff_a = _diff(sub[1], bids), _diff(sub[2], asks)
            sub[1], sub[2] = bids, asks
            if (diff_b or diff_a) and not lost:
                conn.send(self._book_msg(market, sub[0], diff_b, diff_a, "incremental", self.seq))

    def _trades(self, market: Market, rows: list[list[Any]]) -> None:
        self.seq += 1
        market.trades.extend(rows)
        key = "trades" if market.is_scaled else "trades_p"
        msg = {"sequence": self.seq, "symbol": market.symbol, key: rows, "type": "incremental"}
        for conn in self.conns:
            if market.symbol in conn.trades:
                conn.send(msg)


def _diff(old: dict[int, int], new: dict[int, int]) -> dict[int, int]:
    """Return the levels to send to move a subscriber from ``old`` to ``new`` (0 deletes)."""
    out = {p: q for p, q in new.items() if old.get(p) != q}
    out.update((p, 0) for p in old if p not in new)
    return out


def _text(units: int, places: int) -> str:
    return format(Decimal(units).scaleb(-places).normalize(), "f")


# -- benchmarks: pre-built frames from a child process -----------------------------------------


def ws_frame(text: bytes) -> bytes:
    """Return ``text`` as one unmasked websocket text frame (server to client, RFC 6455)."""
    n = len(text)
    if n < 126:
        return bytes((0x81, n)) + text
    if n < 1 << 16:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + text
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + text


async def _blast(
    request: web.Request, scenarios: dict[str, tuple[list[bytes], float]]
) -> web.WebSocketResponse:
    frames, rate = scenarios[request.match_info["name"]]
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    first = await ws.receive()
    rid = json.loads(first.data)["id"]
    await ws.send_str(json.dumps({"error": None, "id": rid, "result": {"status": "success"}}))
    transport = request.transport
    assert transport is not None
    if rate <= 0:  # as fast as the client reads: one write, the kernel paces it
        transport.write(b"".join(frames))
    else:
        start, sent = time.perf_counter(), 0
        while sent < len(frames):
            due = min(len(frames), int((time.perf_counter() - start) * rate) + 1)
            transport.write(b"".join(frames[sent:due]))
            sent = due
            await asyncio.sleep(0.0005)
    async for _ in ws:  # keep the connection until the client closes it
        pass
    return ws


def serve_frames(pipe: Any, scenarios: dict[str, tuple[list[bytes], float]]) -> None:
    """Serve ``/<name>``: after the first request, send that scenario's frames at ``rate``/s.

    Run in a child process (``multiprocessing``, spawn) so the server does not share the
    benchmark's CPU; the port is sent on ``pipe``, and the server stops when ``pipe`` closes.
    """

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{name}", lambda request: _blast(request, scenarios))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        pipe.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # EOF on close
        await runner.cleanup()

    try:
        asyncio.run(main())
    except EOFError:
        pass
