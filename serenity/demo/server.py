"""A loopback Coinbase Exchange that streams a generated trading day, for ``serenity demo``.

:class:`DemoCoinbaseServer` is an aiohttp app on 127.0.0.1 (a random port). It serves
``GET /products`` and ``GET /currencies`` from the catalog it is given and the websocket feed
on ``/``, speaking Coinbase's documented frames, built by :mod:`serenity.exchange.coinbase`:
a ``subscribe`` is answered with a ``subscriptions`` acknowledgement (or an ``error`` for an
unknown product or channel), a ``snapshot`` for each new ``level2_batch`` product and a
``last_match`` for each ``matches`` product that has traded; then the day's ``match`` and
``l2update`` messages of every :class:`~serenity.marketdata.synthetic.SyntheticMarket`,
merged in venue-time order, as fast as the client takes them; then only ``heartbeat`` s, one
per product every ``heartbeat_interval_s``, as on a quiet market.

The server's clock is venue time: every message carries the generated time of the event (the
snapshots and heartbeats carry the time of the last event sent), so a recording of the stream
falls on the generated day. Coinbase's documented ``snapshot`` example has no ``time``; this
server sends one (the parser takes it when present), so the day's book starts with it.

The day is streamed once, to the clients subscribed at the time; it starts with the first
subscription. The server keeps every product's book, so a client that subscribes again (a
reconnect, a resync) gets a snapshot of the book as it is then.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self

import orjson
from aiohttp import WSMsgType, web

from serenity.errors import ConfigError
from serenity.exchange import coinbase
from serenity.marketdata.synthetic import SyntheticMarket
from serenity.marketdata.types import BookUpdate, Trade

__all__ = ["CHANNELS", "DemoCoinbaseServer"]

log = logging.getLogger(__name__)

CHANNELS: Final = frozenset(
    {coinbase.TRADES_CHANNEL, coinbase.BOOK_CHANNEL, coinbase.HEARTBEAT_CHANNEL}
)
"""The feed channels the demo venue serves."""

_Book = tuple[dict[float, float], dict[float, float]]


class _Client:
    """One websocket client and the (channel, product) pairs it is subscribed to."""

    __slots__ = ("subs", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.subs: set[tuple[str, str]] = set()


class DemoCoinbaseServer:
    """Coinbase Exchange on 127.0.0.1, streaming generated markets once, as fast as taken.

    The constructor opens nothing; ``async with`` (or :meth:`start` and :meth:`close`) runs
    the server on the current event loop.

    Parameters
    ----------
    markets
        The generated markets, one per product; each instrument's symbol is the product id
        and must be listed in ``products``.
    products, currencies
        The ``/products`` and ``/currencies`` payloads (parsed JSON arrays).
    heartbeat_interval_s
        How often each subscribed product gets a ``heartbeat`` (Coinbase: every second).

    Attributes
    ----------
    total
        The day's market-data messages: one snapshot per product plus every trade and book
        change (counted by a dry run of the generators at :meth:`start`).
    sent
        Market-data messages sent so far, by kind: ``snapshot``, ``match``, ``l2update``
        and ``last_match``.
    frames
        Every frame sent, acknowledgements and heartbeats included.
    finished
        Set once the whole day was sent.

    Raises
    ------
    ConfigError
        When there are no markets, two share a product, or a product is not in ``products``.
    """

    def __init__(
        self,
        markets: Sequence[SyntheticMarket],
        *,
        products: Sequence[Mapping[str, Any]],
        currencies: Sequence[Mapping[str, Any]],
        heartbeat_interval_s: float = 1.0,
    ) -> None:
        symbols = [m.instrument.symbol for m in markets]
        listed = {str(p.get("id")) for p in products}
        if not symbols or len(set(symbols)) != len(symbols):
            raise ConfigError(f"demo server needs distinct products to stream, was {symbols}")
        unlisted = [s for s in symbols if s not in listed]
        if unlisted:
            raise ConfigError(f"demo server streams {unlisted}, which /products does not list")
        if not heartbeat_interval_s > 0:
            raise ConfigError(f"heartbeat_interval_s must be > 0, was {heartbeat_interval_s!r}")
        self.markets = tuple(markets)
        self.products = [dict(p) for p in products]
        self.currencies = [dict(c) for c in currencies]
        self.heartbeat_interval_s = float(heartbeat_interval_s)
        self.total = 0
        self.sent: Counter[str] = Counter()
        self.frames = 0
        self.finished = asyncio.Event()
        self.books: dict[str, _Book] = {s: ({}, {}) for s in symbols}
        self.clock_ns = min((m.start_ns for m in markets), default=0)
        self._sequences = dict.fromkeys(symbols, 0)
        self._trade_ids = dict.fromkeys(symbols, 0)
        self._last_match: dict[str, dict[str, Any]] = {}
        self._clients: list[_Client] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream: asyncio.Task[None] | None = None
        self._day: list[Iterator[Trade | BookUpdate]] = []
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Generate the opening books, count the day's messages and start serving."""
        self.total = sum(sum(1 for _ in m.messages()) for m in self.markets)
        self._day = [self._after_snapshot(m) for m in self.markets]
        app = web.Application()
        app.router.add_get(coinbase.PRODUCTS_PATH, self._on_products)
        app.router.add_get(coinbase.CURRENCIES_PATH, self._on_currencies)
        app.router.add_get("/", self._on_feed)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        log.info("demo.server.start", extra={"port": self._port, "messages": self.total})

    async def close(self) -> None:
        """Stop streaming, close every connection and the listening socket."""
        tasks = [t for t in (self._stream, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in list(self._clients):
            await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """Return the port the server listens on (0 before :meth:`start`)."""
        return self._port

    @property
    def ws_url(self) -> str:
        """Return the websocket feed's URL."""
        return f"ws://127.0.0.1:{self._port}/"

    @property
    def rest_url(self) -> str:
        """Return the REST API's base URL."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def market_messages(self) -> int:
        """Return the market-data messages sent so far (every kind in :attr:`sent`)."""
        return sum(self.sent.values())

    # -- HTTP ------------------------------------------------------------------------------

    async def _on_products(self, request: web.Request) -> web.Response:
        return web.json_response(self.products)

    async def _on_currencies(self, request: web.Request) -> web.Response:
        return web.json_response(self.currencies)

    async def _on_feed(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        client = _Client(ws)
        self._clients.append(client)
        beats = asyncio.create_task(self._heartbeats(client), name="demo:heartbeats")
        self._tasks.add(beats)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_request(client, msg.data)
        finally:
            beats.cancel()
            self._tasks.discard(beats)
            self._clients.remove(client)
        return ws

    # -- the feed --------------------------------------------------------------------------

    async def _on_request(self, client: _Client, text: str) -> None:
        try:
            msg = orjson.loads(text)
            kind = msg["type"]
            pairs = _requested(msg)
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            await self._send(client, coinbase.format_error("Malformed request", str(exc)))
            return
        if kind not in ("subscribe", "unsubscribe"):
            await self._send(client, coinbase.format_error(f"{kind} is not a valid request type"))
            return
        problem = self._problem(pairs)
        if problem:
            await self._send(client, coinbase.format_error(coinbase.SUBSCRIBE_FAILED, problem))
            return
        new = sorted(pairs - client.subs) if kind == "subscribe" else []
        client.subs = client.subs | pairs if kind == "subscribe" else client.subs - pairs
        channels: dict[str, list[str]] = {}
        for channel, symbol in sorted(client.subs):
            channels.setdefault(channel, []).append(symbol)
        await self._send(client, coinbase.format_subscriptions(channels))
        for channel, symbol in new:
            if channel == coinbase.BOOK_CHANNEL:
                await self._send(client, self._snapshot(symbol), count="snapshot")
            elif channel == coinbase.TRADES_CHANNEL and symbol in self._last_match:
                last = dict(self._last_match[symbol], type="last_match")
                await self._send(client, last, count="last_match")
        if new and self._stream is None:
            self._stream = asyncio.create_task(self._stream_day(), name="demo:stream")

    def _problem(self, pairs: set[tuple[str, str]]) -> str:
        for channel, symbol in sorted(pairs):
            if symbol not in self.books:
                return f"{symbol} is not a valid product"
            if channel not in CHANNELS:
                return (
                    f"{channel} is not a channel of this venue, expected one of {sorted(CHANNELS)}"
                )
        return ""

    def _snapshot(self, symbol: str) -> dict[str, Any]:
        bids, asks = self.books[symbol]
        return coinbase.format_snapshot(
            symbol, sorted(bids.items(), reverse=True), sorted(asks.items()), self.clock_ns
        )

    async def _stream_day(self) -> None:
        """Send every trade and book change of the day, then mark the day finished."""
        for message in heapq.merge(*self._day, key=_ts):
            symbol = message.instrument.symbol
            self.clock_ns = message.ts
            self._sequences[symbol] += 1
            if isinstance(message, Trade):
                trade_id = self._trade_ids[symbol] = int(message.trade_id)
                msg = coinbase.format_match(
                    symbol,
                    trade_id,
                    message.ts,
                    message.side,
                    message.price,
                    message.qty,
                    sequence=self._sequences[symbol],
                )
                self._last_match[symbol] = msg
                await self._publish(coinbase.TRADES_CHANNEL, symbol, msg, "match")
            else:
                _apply(self.books[symbol], message)
                msg = coinbase.format_l2update(symbol, message.ts, message.bids, message.asks)
                await self._publish(coinbase.BOOK_CHANNEL, symbol, msg, "l2update")
        self.finished.set()
        log.info("demo.server.finished", extra={"messages": self.market_messages})

    def _after_snapshot(self, market: SyntheticMarket) -> Iterator[Trade | BookUpdate]:
        """Apply ``market``'s snapshot to the opening book; return the messages after it."""
        messages = market.messages()
        snapshot = next(messages)
        assert isinstance(snapshot, BookUpdate) and snapshot.is_snapshot  # the generator's rule
        _apply(self.books[market.instrument.symbol], snapshot)
        return messages

    async def _publish(self, channel: str, symbol: str, msg: dict[str, Any], kind: str) -> None:
        text = orjson.dumps(msg).decode()
        key = (channel, symbol)
        for client in self._clients:
            if key in client.subs:
                await self._send_text(client, text, count=kind)

    async def _heartbeats(self, client: _Client) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            for channel, symbol in sorted(client.subs):
                if channel == coinbase.HEARTBEAT_CHANNEL:
                    beat = coinbase.format_heartbeat(
                        symbol, self._sequences[symbol], self._trade_ids[symbol], self.clock_ns
                    )
                    await self._send(client, beat)

    async def _send(self, client: _Client, msg: dict[str, Any], *, count: str = "") -> None:
        await self._send_text(client, orjson.dumps(msg).decode(), count=count)

    async def _send_text(self, client: _Client, text: str, *, count: str = "") -> None:
        if client.ws.closed:
            return
        try:
            await client.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return  # the client went away; its handler cleans up
        self.frames += 1
        if count:
            self.sent[count] += 1


def _ts(message: Trade | BookUpdate) -> int:
    return message.ts


def _apply(book: _Book, update: BookUpdate) -> None:
    for side, levels in zip(book, (update.bids, update.asks), strict=True):
        if update.is_snapshot:
            side.clear()
        for price, qty in levels:
            if qty == 0.0:
                side.pop(price, None)
            else:
                side[price] = qty


def _requested(msg: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Return the (channel, product) pairs of a request, in either documented form."""
    products = [str(p) for p in msg.get("product_ids", [])]
    pairs: set[tuple[str, str]] = set()
    for channel in msg["channels"]:
        if isinstance(channel, str):
            pairs.update((channel, p) for p in products)
        else:
            names = channel.get("product_ids", products)
            pairs.update((str(channel["name"]), str(p)) for p in names)
    return pairs
