"""Binance spot feedhandler: raw trades, and diff-depth books synchronised with REST snapshots.

One combined-stream connection (``/stream``) carries ``<symbol>@trade`` and
``<symbol>@depth@100ms`` for every symbol, added by ``SUBSCRIBE`` requests after each
(re)connect. Depth events go through the symbol's
:class:`~serenity.marketdata.fh.BookSynchroniser`, which buffers them until
:meth:`BinanceFeedHandler.maintain` has fetched a snapshot (``GET /api/v3/depth``) and then
checks them exactly as Binance's "How to manage a local order book correctly" says: events
with ``u <= lastUpdateId`` are dropped, the first one applied must cover ``lastUpdateId + 1``
(``U <= lastUpdateId + 1 <= u``), and each later one must start at the previous ``u + 1``.
Anything else drops the book, records a gap and fetches a new snapshot.

A trade's ``m`` says whether the buyer was the maker; the aggressor is then the seller, so
trades are published with ``side`` SELL when ``m`` is true and BUY when it is false.

Trade ids (``t``) must be integers in ``[0, 2**62)``; others are journalled raw as
implausible. With ``config.backfill`` on (the default) each symbol's ids go through a
:class:`~serenity.marketdata.fh.trade_ids.TradeIdSequencer`: a repeated id is dropped, a
skipped range is a ``gap`` event and is fetched from ``GET /api/v3/historicalTrades``
(``fromId``, at most 1000 a request, no API key) by the handler's
:class:`~serenity.marketdata.fh.backfill.TradeBackfill`, then recorded like streamed trades.
``aggTrades`` is no substitute: it numbers aggregates, not trades. With backfill off the ids
are not tracked, so nothing they carry becomes the handler's state (Binance does not resend
trades, and the tick store's splay drops a repeated id).

Binance pings with websocket ping frames, which aiohttp answers; those never reach the
application, so a connection whose symbols are quiet would look stalled. Every heartbeat the
handler therefore sends a ``GET_PROPERTY`` request, whose immediate reply is a frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Final, NoReturn
from urllib.parse import urlsplit

import aiohttp
import orjson

from serenity.errors import ConfigError, DataError, VenueError
from serenity.exchange import binance
from serenity.exchange.product import ProductCatalog
from serenity.marketdata.fh.backfill import ServerError, TradeBackfill
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.config import FeedConfig
from serenity.marketdata.fh.handler import FeedHandler, FeedSink
from serenity.marketdata.fh.metrics import FeedMetrics
from serenity.marketdata.fh.state import FeedState
from serenity.marketdata.fh.trade_ids import TradeIdSequencer
from serenity.marketdata.journal import BOOK, TRADES
from serenity.marketdata.types import BookUpdate, Trade

__all__ = ["BinanceFeedHandler"]

log = logging.getLogger(__name__)

_loads: Final = orjson.loads
_parse_trade: Final = binance.parse_trade
_parse_depth_update: Final = binance.parse_depth_update
_TRADE: Final = binance.TRADE
_DEPTH_UPDATE: Final = binance.DEPTH_UPDATE
_NO_BOUNDS: Final = binance.NO_BOUNDS
_KEEPALIVE_ID: Final = 0
"""Request id of the keepalive ``GET_PROPERTY``; subscriptions count up from 1."""
_STREAMS_SHOWN: Final = 4


class BinanceFeedHandler(FeedHandler):
    """Record Binance spot trades and full-depth books.

    ``config.ws_url`` may be a deployment's base URL (``binance.PROD.ws``) or a full stream
    URL; a base URL gets the combined-stream path ``/stream``. ``config.rest_url`` defaults to
    the REST API of the same deployment and must be given for other hosts when books are
    recorded. Symbols are Binance's, upper-cased. Parameters and errors as
    :class:`~serenity.marketdata.fh.FeedHandler`.

    Attributes
    ----------
    snapshot_delay_s
        Wait after a (re)connect or a gap before fetching a snapshot, so that deltas are
        buffered first (Binance: buffer, then fetch).
    snapshot_limit
        Levels a side asked of each snapshot.
    rest_timeout_s
        Longest wait for a snapshot.
    snapshot_backoff
        Delays between failed snapshot fetches (a copy of ``backoff``'s settings).
    snapshots, snapshot_errors, replies, ignored
        Snapshots applied, snapshot fetches that failed, replies to our requests, and
        events of streams not recorded (klines, tickers) that were skipped.
    """

    venue: ClassVar[str] = binance.VENUE
    snapshot_delay_s: float = 0.25
    snapshot_limit: int = binance.DEPTH_LIMIT
    rest_timeout_s: float = 10.0
    streams_per_request: ClassVar[int] = 256

    def __init__(
        self,
        config: FeedConfig,
        *,
        sinks: Sequence[FeedSink] = (),
        catalog: ProductCatalog | None = None,
        metrics: FeedMetrics | None = None,
        backoff: Backoff | None = None,
        on_state: Callable[[FeedState], object] | None = None,
    ) -> None:
        if config.venue == binance.VENUE:
            config = _binance_config(config)
        super().__init__(
            config,
            sinks=sinks,
            catalog=catalog,
            metrics=metrics,
            backoff=backoff,
            on_state=on_state,
        )
        self._is_recording_trades = TRADES in self.config.channels
        self._trade_instruments = self.instruments if self._is_recording_trades else {}
        self._is_all_live = not self.books
        self._streams = [
            stream
            for symbol in self.config.symbols
            for stream in (
                *([binance.trade_stream(symbol)] if self._is_recording_trades else []),
                *([binance.depth_stream(symbol)] if self.books else []),
            )
        ]
        if len(self._streams) > binance.MAX_STREAMS:
            raise ConfigError(
                f"{self.venue}: one connection carries at most {binance.MAX_STREAMS} streams, "
                f"was {len(self._streams)}; split the symbols over several feeds"
            )
        self._next_id = _KEEPALIVE_ID
        self._pending: dict[object, list[str]] = {}
        self._is_connected = False
        self._epoch = 0
        self._wake = asyncio.Event()
        like = backoff if backoff is not None else Backoff()
        self.snapshot_backoff = Backoff(
            initial_s=like.initial_s, max_s=like.max_s, factor=like.factor, jitter=like.jitter
        )
        self.snapshots = 0
        self.snapshot_errors = 0
        self.replies = 0
        self.ignored = 0
        self.sequencer: TradeIdSequencer | None = None
        if self._is_recording_trades and self.config.backfill and self.config.rest_url:
            self.sequencer = TradeIdSequencer(
                self.venue,
                self._trade_instruments,
                deliver=self.deliver_trade,
                publish_quality=self.publish_quality,
                max_jump=self.config.max_seq_jump,
                stuck_after=self.config.stuck_after,
                on_gap=self._on_trade_gap,
            )
            self.backfill = TradeBackfill(
                self.venue,
                self.sequencer,
                self._fetch_trades,
                self._accept_backfilled,
                self.publish_quality,
                max_ids=self.config.backfill_max_ids,
                timeout_s=self.rest_timeout_s,
            )

    # -- the venue's part ------------------------------------------------------------------

    def subscriptions(self) -> list[str]:
        """Return the ``SUBSCRIBE`` requests for every stream, a few hundred streams each."""
        self._pending.clear()
        frames = []
        step = self.streams_per_request
        for start in range(0, len(self._streams), step):
            self._next_id += 1
            chunk = self._streams[start : start + step]
            self._pending[self._next_id] = chunk
            frames.append(binance.subscribe_request(chunk, self._next_id))
        return frames

    def ping_frame(self) -> str:
        """Return the keepalive request sent every heartbeat (see the module docstring)."""
        return binance.keepalive_request(_KEEPALIVE_ID)

    def handle(self, data: str | bytes, ts_recv: int) -> None:
        """Parse one frame: a stream event (trade, depth update, ignored kind) or a reply.

        Raises
        ------
        DataError
            For a malformed frame, an unknown event type or an unsubscribed symbol.
        VenueError
            When Binance refused a subscription.
        """
        msg = _loads(data)
        if type(msg) is not dict:
            raise DataError(f"{self.venue}: a frame must be a JSON object, was {_show(msg)}")
        payload = msg.get("data")
        if payload is None:
            if "e" not in msg:
                self._on_reply(msg, ts_recv)
                return
            payload = msg  # a raw stream (/ws) sends payloads unwrapped
        elif type(payload) is not dict:
            raise DataError(f"{self.venue}: 'data' must be a JSON object, was {_show(msg)}")
        event = payload.get("e")
        if event == _TRADE:
            symbol, ts, trade_id, side, price, qty = _parse_trade(payload)
            instrument = self._trade_instruments.get(symbol)
            if instrument is None:
                self._refuse(event, symbol, TRADES)
            trade = Trade(instrument, ts, ts_recv, trade_id, side, price, qty)
            sequencer = self.sequencer
            if sequencer is None:
                self.publish_trade(trade)
            else:
                self.check_trade(symbol, price, qty, ts_recv)
                sequencer.take(int(trade_id), trade)
        elif event == _DEPTH_UPDATE:
            guard = self.guards.get(payload.get("s", ""))  # levels are checked as parsed
            bounds = guard.level_bounds if guard is not None else _NO_BOUNDS
            symbol, ts, first, last, bids, asks = _parse_depth_update(payload, bounds)
            sync = self.books.get(symbol)
            if sync is None:
                self._refuse(event, symbol, BOOK)
            update = BookUpdate(sync.instrument, ts, ts_recv, last, bids, asks, False)
            self.publish_book(update, first_seq=first, checked=True)
        elif event == binance.AGG_TRADE:
            symbol, ts, trade_id, side, price, qty = binance.parse_agg_trade(payload)
            instrument = self._trade_instruments.get(symbol)
            if instrument is None:
                self._refuse(event, symbol, TRADES)
            self.publish_trade(Trade(instrument, ts, ts_recv, trade_id, side, price, qty))
        else:
            self._on_other(event, msg.get("stream", ""))

    def on_snapshot(self, symbol: str, body: bytes | str | Mapping[str, Any], ts_recv: int) -> bool:
        """Apply a ``GET /api/v3/depth`` answer to a symbol's book; return True when in sync.

        Sans-I/O: :meth:`maintain` fetches snapshots and calls this; tests and replays may too.
        The snapshot's ``ts`` is ``ts_recv``: Binance's answer carries no time.

        Raises
        ------
        DataError
            For a malformed snapshot, or a symbol whose book is not recorded.
        """
        sync = self.books.get(symbol)
        if sync is None:
            raise DataError(f"{self.venue}: snapshot for {symbol!r}, whose book is not recorded")
        payload = orjson.loads(body) if isinstance(body, bytes | str) else body
        last, bids, asks = binance.parse_depth_snapshot(payload)
        self.snapshots += 1
        self.publish_book(BookUpdate(sync.instrument, ts_recv, ts_recv, last, bids, asks, True))
        return sync.is_live

    async def maintain(self) -> None:
        """Fetch a REST snapshot whenever a book waits for one, until cancelled.

        A fetch waits :attr:`snapshot_delay_s` after the need arises, so deltas are buffered
        first. A failed fetch (network, HTTP error, malformed answer) or a snapshot older than
        the buffered deltas is logged, counted and retried after :attr:`snapshot_backoff`;
        it never stops the feed.
        """
        if not self.books:
            return
        self._wake = asyncio.Event()  # bound to this run's loop
        timeout = aiohttp.ClientTimeout(total=self.rest_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                self._wake.clear()
                due = self._due()
                if not due:
                    await self._wake.wait()
                    continue
                await asyncio.sleep(self.snapshot_delay_s)
                for symbol in due:
                    if not (self._is_connected and self.books[symbol].needs_snapshot):
                        continue
                    retry_s = await self._fetch_snapshot(http, symbol)
                    if retry_s is not None:
                        await asyncio.sleep(retry_s)
                        break

    # -- FeedSession -----------------------------------------------------------------------

    def on_connected(self, ts: int) -> None:
        """Note the connection and wake the snapshot fetcher."""
        super().on_connected(ts)
        self._is_connected = True
        self._epoch += 1
        self._wake.set()

    def on_disconnected(self, ts: int, reason: str) -> None:
        """Record a reconnect in every stream and drop the books until they resync."""
        self._is_connected = False
        super().on_disconnected(ts, reason)
        self._is_all_live = not self.books

    async def run(self) -> None:
        """Connect and record until :meth:`stop`.

        Raises
        ------
        VenueError
            When Binance refused a subscription, naming the streams, code and text.
        """
        self._is_connected = False
        await super().run()

    # -- internals ---------------------------------------------------------------------------

    def publish_book(
        self, update: BookUpdate, *, first_seq: int | None = None, checked: bool = False
    ) -> None:
        """Feed an update through its book's synchroniser; wake the fetcher on a gap."""
        try:
            super().publish_book(update, first_seq=first_seq, checked=checked)
        finally:
            sync = self.books[update.instrument.symbol]
            if sync.needs_snapshot:
                self._is_all_live = False
                self._wake.set()
            elif not self._is_all_live:
                self._is_all_live = all(s.is_live for s in self.books.values())

    def is_synced(self) -> bool:
        """Return True when the feed delivers and every book is in sync."""
        return self._is_all_live and self._delivering

    async def _fetch_trades(
        self, http: aiohttp.ClientSession, symbol: str, first: int, last: int
    ) -> list[tuple[int, Trade]]:
        """Fetch one ``historicalTrades`` page from ``first`` (see :data:`FetchTrades`).

        Raises
        ------
        VenueError
            For an HTTP error (Binance's code and text when it sent them).
        DataError
            For an answer that is not a JSON list; malformed items are skipped.
        """
        url = f"{self.config.rest_url}{binance.HISTORICAL_TRADES_PATH}"
        limit = min(binance.HISTORICAL_TRADES_LIMIT, last - first + 1)
        params = {"symbol": symbol, "fromId": str(first), "limit": str(limit)}
        async with http.get(url, params=params) as resp:
            body = await resp.read()
            if resp.status != 200:
                error = binance.rest_error(resp.status, body)
                if resp.status >= 500:
                    raise ServerError(str(error), code=error.code)
                raise error
        ts_recv = time.time_ns()
        instrument = self._trade_instruments[symbol]

        def parse(item: Any) -> tuple[int, Trade]:
            _, ts, trade_id, side, price, qty = binance.parse_historical_trade(symbol, item)
            return int(trade_id), Trade(instrument, ts, ts_recv, trade_id, side, price, qty)

        return self.trade_page(body, ts_recv, symbol, "historicalTrades", parse)

    def _refuse(self, event: object, symbol: str, channel: str) -> NoReturn:
        self.instrument(symbol)  # an unsubscribed symbol is the better message
        raise DataError(f"{self.venue}: {event} for {symbol}, whose {channel} channel is off")

    def _on_other(self, event: object, stream: str) -> None:
        if binance.is_informational(stream, event):
            self.ignored += 1
        elif event == binance.SERVER_SHUTDOWN:
            self.ignored += 1
            log.warning("fh.server_shutdown", extra={"venue": self.venue, "stream": stream})
        else:
            raise DataError(f"{self.venue}: unknown event type {event!r} on stream {stream!r}")

    def _on_reply(self, msg: dict[str, Any], ts_recv: int) -> None:
        reply = binance.parse_reply(msg)
        self.replies += 1
        rid = reply.request_id
        if rid == _KEEPALIVE_ID:
            if reply.is_error:
                log.warning(
                    "fh.keepalive_refused",
                    extra={"venue": self.venue, "code": reply.code, "text": reply.msg},
                )
            return
        pending = self._pending
        streams = pending.pop(rid, None) if type(rid) is int else None
        if not reply.is_error:
            if streams is not None:
                log.info(
                    "fh.subscription_ack",
                    extra={"venue": self.venue, "request": rid, "streams": streams},
                )
            return
        if streams is None:
            if rid is not None or not pending:
                # not a reply to a request of ours that is waiting: nothing was refused
                self.venue_error(ts_recv, reply.code, reply.msg, request=rid)
                return
            # {"code": 3, "msg": "Invalid JSON..."} names no request: ours, while subscribing
            streams = [s for chunk in pending.values() for s in chunk]
        shown = ", ".join(streams[:_STREAMS_SHOWN]) or "a request"
        more = f" and {len(streams) - _STREAMS_SHOWN} more" if len(streams) > _STREAMS_SHOWN else ""
        raise VenueError(
            f"{self.venue} refused the subscription to {shown}{more} "
            f"(request {reply.request_id}): code {reply.code}: {reply.msg}",
            code=reply.code,
        )

    def _due(self) -> list[str]:
        if not self._is_connected:
            return []
        return [symbol for symbol, sync in self.books.items() if sync.needs_snapshot]

    async def _fetch_snapshot(self, http: aiohttp.ClientSession, symbol: str) -> float | None:
        """Fetch and apply one snapshot; return None, or seconds to wait before a retry."""
        epoch = self._epoch
        url = f"{self.config.rest_url}{binance.DEPTH_PATH}"
        params = {"symbol": symbol, "limit": str(self.snapshot_limit)}
        try:
            async with http.get(url, params=params) as resp:
                body = await resp.read()
                if resp.status != 200:
                    error = binance.rest_error(resp.status, body)
                    return self._snapshot_failed(symbol, error, resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return self._snapshot_failed(symbol, exc)
        ts_recv = time.time_ns()
        if epoch != self._epoch or not self._is_connected:
            return None  # the connection changed meanwhile: fetch again for the new one
        try:
            is_synced = self.on_snapshot(symbol, body, ts_recv)
        except (DataError, ValueError, TypeError) as exc:
            self.parse_error(body, ts_recv, exc, symbol=symbol)
            return self._snapshot_failed(symbol, exc)
        if is_synced:
            self.snapshot_backoff.reset()
            return None
        return self._snapshot_failed(symbol, DataError("snapshot older than the buffered deltas"))

    def _snapshot_failed(
        self, symbol: str, error: BaseException, retry_after: str | None = None
    ) -> float:
        self.snapshot_errors += 1
        delay = self.snapshot_backoff.next_delay()
        try:
            delay = max(delay, float(retry_after)) if retry_after else delay
        except ValueError:
            pass
        log.warning(
            "fh.snapshot_failed",
            extra={
                "venue": self.venue,
                "symbol": symbol,
                "error": f"{type(error).__name__}: {error}"[:300],
                "retry_s": round(delay, 3),
            },
        )
        return delay


def _binance_config(config: FeedConfig) -> FeedConfig:
    """Return ``config`` with upper-cased symbols, the stream URL and a REST URL for books."""
    rest = config.rest_url
    if rest is None and BOOK in config.channels:
        rest = binance.rest_url_for(config.ws_url)
    elif rest is None and config.backfill:
        try:  # trades only: backfill wants the REST API, when the deployment is known
            rest = binance.rest_url_for(config.ws_url)
        except ConfigError:
            log.warning("fh.backfill_off", extra={"venue": binance.VENUE, "reason": "no rest_url"})
    if rest is not None:
        if urlsplit(rest).scheme not in ("http", "https"):
            raise ConfigError(f"{binance.VENUE}: rest_url must be an http(s) URL, was {rest!r}")
        rest = rest.rstrip("/")
    return replace(
        config,
        symbols=tuple(s.upper() for s in config.symbols),
        ws_url=binance.stream_url(config.ws_url),
        rest_url=rest,
    )


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
