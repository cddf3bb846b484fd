"""The Coinbase Exchange feedhandler: matches, level2_batch books and heartbeats.

One websocket carries every product. After each (re)connect the handler sends one
``subscribe`` for the channels its config records (``matches`` for trades,
``level2_batch`` for books) plus ``heartbeat``, which makes every product speak at least
once a second so a silent connection is a stalled one. Wire facts and parsers live in
:mod:`serenity.exchange.coinbase`; this module adds dispatch, sequencing and book sync.

Sequencing, as the venue allows it:

- **Trades** carry ``trade_id``, consecutive per product. A jump is a GAP event on the
  ``trades`` stream (expected and seen ids); an id at or below the last one is a duplicate
  (the ``last_match`` re-sent after a reconnect) and is dropped. Ids are input, not truth:
  one of 2**62 or more, or more than ``max_seq_jump`` ahead, is implausible (journalled raw,
  never remembered). The venue's own word re-anchors the tracker: a ``last_match`` below the
  last id seen, or a ``heartbeat`` whose ``last_trade_id`` is far below it, means the
  tracker ran ahead of the venue, so it restarts (a ``resync`` event on the ``trades``
  stream). And ``stuck_after`` matches dropped in a row as duplicates mean the same: a
  ``stuck`` event, the tracker restarts and the held matches are published.
- **Books** carry no sequence number. Each product's updates are numbered here (``seq``
  strictly increasing over the handler's life); every (re)subscription starts with a
  ``snapshot``, so each reconnect resyncs every book. A loss inside a connection cannot be
  seen in the numbers, only in the book: a delta that crosses a book that was not crossed
  is recorded as a GAP and the product alone is resubscribed (``unsubscribe`` +
  ``subscribe``) for a fresh snapshot. A book that arrives crossed in its snapshot (auction
  mode) is left alone.

A ``match``'s ``side`` is the maker's; trades are published with the aggressor's side.

With ``config.backfill`` on (the default) and a REST URL (``config.rest_url``, or the one of
the Coinbase deployment whose feed ``ws_url`` is), the trades of a gap are fetched from
``GET /products/{product_id}/trades`` by a
:class:`~serenity.marketdata.fh.backfill.TradeBackfill`, newest first: the first page asks
for the trades ``after`` (older than) the gap's last id + 1, each next one ``after`` the
oldest id received. The REST ``side`` is the maker's too, converted the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Final

import aiohttp
import orjson

from serenity.errors import DataError, VenueError
from serenity.exchange import coinbase
from serenity.exchange.product import ProductCatalog
from serenity.marketdata.fh.backfill import ServerError, TradeBackfill
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.book_sync import BookSynchroniser
from serenity.marketdata.fh.config import FeedConfig
from serenity.marketdata.fh.connection import WebsocketConnection
from serenity.marketdata.fh.handler import FeedHandler, FeedSink
from serenity.marketdata.fh.metrics import FeedMetrics
from serenity.marketdata.fh.state import FeedState
from serenity.marketdata.fh.trade_ids import TradeIdSequencer
from serenity.marketdata.journal import BOOK, TRADES
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import InstrumentId

__all__ = ["CoinbaseFeedHandler", "subscribe_frame", "unsubscribe_frame"]

log = logging.getLogger(__name__)

_CHANNELS: Final = {TRADES: coinbase.TRADES_CHANNEL, BOOK: coinbase.BOOK_CHANNEL}
"""Serenity's channel -> the Coinbase channel that carries it."""
HEARTBEAT_MARGIN: Final = 1_000
"""How far our last trade id may be ahead of a heartbeat's ``last_trade_id`` (the heartbeat
may be a moment older than the matches before it) before the tracker is taken to be wrong."""


def subscribe_frame(product_ids: Iterable[str], channels: Iterable[str]) -> str:
    """Return the ``subscribe`` message for ``channels`` of ``product_ids``."""
    return _frame("subscribe", product_ids, channels)


def unsubscribe_frame(product_ids: Iterable[str], channels: Iterable[str]) -> str:
    """Return the ``unsubscribe`` message for ``channels`` of ``product_ids``."""
    return _frame("unsubscribe", product_ids, channels)


def _frame(kind: str, product_ids: Iterable[str], channels: Iterable[str]) -> str:
    body = {"type": kind, "product_ids": list(product_ids), "channels": list(channels)}
    return orjson.dumps(body).decode()


class _Connection(WebsocketConnection):
    """A :class:`WebsocketConnection` that lets the handler send on the open socket.

    The framework sends frames only at connect time; resubscribing one product needs a
    send in mid-stream, so the socket being pumped is kept in :attr:`socket`.
    """

    socket: aiohttp.ClientWebSocketResponse | None = None

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        self.socket = ws
        try:
            return await super()._pump(ws)
        finally:
            self.socket = None


class _BookStream:
    """One product's book: its synchroniser, the last number given, whether it is crossed."""

    __slots__ = ("crossed", "instrument", "seq", "sync")

    def __init__(self, instrument: InstrumentId, sync: BookSynchroniser) -> None:
        self.instrument = instrument
        self.sync = sync
        self.seq = 0
        self.crossed = False


class CoinbaseFeedHandler(FeedHandler):
    """Record Coinbase Exchange trades (``matches``) and full books (``level2_batch``).

    Parameters are those of :class:`~serenity.marketdata.fh.FeedHandler`; symbols are
    Coinbase product ids such as ``BTC-USD``.

    Attributes
    ----------
    venue_channels
        The Coinbase channels subscribed: ``matches`` and/or ``level2_batch``, and
        ``heartbeat``.
    trade_ids
        Per symbol, the :class:`~serenity.marketdata.fh.SequenceTracker` of ``trade_id``
        (trades feeds only).
    heartbeats
        ``heartbeat`` messages seen.
    sequencer
        The :class:`~serenity.marketdata.fh.trade_ids.TradeIdSequencer` of the trade ids.
    ignored
        Informational messages (acknowledgements, tickers) skipped.

    Raises
    ------
    UnknownSymbolError
        For a symbol not in ``catalog``.
    ConfigError
        When ``config.venue`` is not ``coinbase``.
    """

    venue: ClassVar[str] = coinbase.VENUE

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
        super().__init__(
            config,
            sinks=sinks,
            catalog=catalog,
            metrics=metrics,
            backoff=backoff,
            on_state=on_state,
        )
        self._connection = _Connection(
            config.connection_config(),
            self,
            backoff=self.connection.backoff,
            metrics=metrics,
            on_state=on_state,
        )
        self.connection = self._connection
        recorded = [_CHANNELS[c] for c in config.channels]
        self.venue_channels = (*recorded, coinbase.HEARTBEAT_CHANNEL)
        self.sequencer = TradeIdSequencer(
            self.venue,
            self.instruments if TRADES in config.channels else (),
            deliver=self.deliver_trade,
            publish_quality=self.publish_quality,
            max_jump=config.max_seq_jump,
            stuck_after=config.stuck_after,
            on_gap=self._on_trade_gap,
        )
        self.trade_ids = self.sequencer.trackers
        self.rest_timeout_s = 10.0
        self._rest_url = _rest_url(config)
        if TRADES in config.channels and config.backfill and self._rest_url is not None:
            self.backfill = TradeBackfill(
                self.venue,
                self.sequencer,
                self._fetch_trades,
                self._accept_backfilled,
                self.publish_quality,
                max_ids=config.backfill_max_ids,
                timeout_s=self.rest_timeout_s,
                ascending=False,
            )
        self.heartbeats = 0
        self.ignored = 0
        self._streams = {
            s: _BookStream(self.instruments[s], sync) for s, sync in self.books.items()
        }
        self._stream_list = list(self._streams.values())
        self._resubscribe: dict[str, None] = {}
        self._wake = asyncio.Event()
        self._acknowledged = False
        self._venue_error = ""
        self._dispatch: dict[str, Callable[[Any, int], None]] = {
            "match": self._on_match,
            "l2update": self._on_l2update,
            "last_match": self._on_last_match,
            "snapshot": self._on_snapshot,
            "heartbeat": self._on_heartbeat,
            "subscriptions": self._on_subscriptions,
            "error": self._on_error,
        }

    # -- FeedHandler -----------------------------------------------------------------------

    def subscriptions(self) -> list[str]:
        """Return the one ``subscribe`` message for every symbol and recorded channel."""
        return [subscribe_frame(self.instruments, self.venue_channels)]

    def handle(self, data: str | bytes, ts_recv: int) -> None:
        """Parse one frame and publish what it holds.

        Raises
        ------
        DataError
            For a malformed frame or an unknown message type (journalled raw by the base).
        VenueError
            When Coinbase refuses the subscription.
        """
        msg = orjson.loads(data)
        try:
            kind = msg["type"]
            on_message = self._dispatch[kind]
        except (KeyError, TypeError):
            kind = msg.get("type") if isinstance(msg, dict) else None
            if kind in coinbase.INFORMATIONAL_TYPES:
                self.ignored += 1
                return
            raise DataError(f"{self.venue}: unknown message type {kind!r:.40}") from None
        on_message(msg, ts_recv)

    def on_connected(self, ts: int) -> None:
        """Note a new connection: its subscription is not acknowledged yet."""
        self._acknowledged = False
        self._venue_error = ""
        super().on_connected(ts)

    def is_synced(self) -> bool:
        """Return True when every book is in sync (the base's answer, without a generator).

        The connection asks after every frame, so this is on the per-message path.
        """
        if not self._delivering:
            return False
        for stream in self._stream_list:
            if not stream.sync.is_live:
                return False
        return True

    def on_disconnected(self, ts: int, reason: str) -> None:
        """Record a reconnect in every stream (with the venue's last error) and drop books."""
        if self._venue_error:
            reason = f"{reason}; venue said: {self._venue_error}"
        self._resubscribe.clear()  # the reconnect resubscribes every product
        for stream in self._streams.values():
            stream.crossed = False
        super().on_disconnected(ts, reason)

    async def maintain(self) -> None:
        """Send the resubscriptions that resync single books, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            frames = self.take_resubscriptions()
            socket = self._connection.socket
            if not frames or socket is None or socket.closed:
                continue  # a reconnect resubscribes every product anyway
            try:
                for frame in frames:
                    await socket.send_str(frame)
            except (aiohttp.ClientError, OSError) as exc:
                log.warning("fh.resubscribe_failed", extra={"venue": self.venue, "error": str(exc)})

    # -- resync of one book ----------------------------------------------------------------

    def take_resubscriptions(self) -> list[str]:
        """Return the frames that resubscribe the books waiting for a resync, and forget them.

        One ``unsubscribe`` and one ``subscribe`` of the book channel for those products;
        Coinbase answers the ``subscribe`` with a fresh ``snapshot``. Empty when none wait.
        """
        if not self._resubscribe:
            return []
        symbols = list(self._resubscribe)
        self._resubscribe.clear()
        return [
            unsubscribe_frame(symbols, [coinbase.BOOK_CHANNEL]),
            subscribe_frame(symbols, [coinbase.BOOK_CHANNEL]),
        ]

    def resync_book(self, symbol: str, ts_recv: int, details: dict[str, object]) -> None:
        """Record a GAP, drop the book and resubscribe the product for a fresh snapshot."""
        super().resync_book(symbol, ts_recv, details)
        self._resubscribe[symbol] = None
        self._wake.set()

    def _lost_updates(self, symbol: str, seq: int, ts_recv: int) -> None:
        """Record that a delta crossed the book (updates were lost) and ask for a snapshot."""
        details = {"seq": seq, "reason": "a delta crossed the book: updates were lost"}
        self.resync_book(symbol, ts_recv, details)

    # -- messages --------------------------------------------------------------------------

    @property
    def duplicate_trades(self) -> int:
        """Return how many matches were dropped because their ``trade_id`` was seen."""
        return self.sequencer.duplicates

    def _on_match(self, msg: Any, ts_recv: int) -> None:
        symbol, trade_id, ts, side, price, qty = coinbase.parse_match(msg)
        if symbol not in self.trade_ids:
            raise DataError(f"{self.venue}: match for {symbol!r}, whose trades are not recorded")
        self.check_trade(symbol, price, qty, ts_recv)
        trade = Trade(self.instruments[symbol], ts, ts_recv, str(trade_id), side, price, qty)
        self.sequencer.take(trade_id, trade)

    async def _fetch_trades(
        self, http: aiohttp.ClientSession, symbol: str, first: int, last: int
    ) -> list[tuple[int, Trade]]:
        """Fetch the page of trades older than ``last + 1`` (see :data:`FetchTrades`).

        Raises
        ------
        VenueError
            For an HTTP error, with Coinbase's ``message``.
        DataError
            For an answer that is not a JSON list; malformed items are skipped.
        """
        url = f"{self._rest_url}{coinbase.product_trades_path(symbol)}"
        limit = min(coinbase.TRADES_PAGE_LIMIT, last - first + 1)
        params = {"after": str(last + 1), "limit": str(limit)}
        async with http.get(url, params=params) as resp:
            body = await resp.read()
            error = coinbase.parse_error_answer(resp.status, body)
            if error is not None:
                kind = ServerError if error.status >= 500 else VenueError
                raise kind(
                    f"{self.venue}: GET trades of {symbol}: HTTP {error.status}: {error.message}",
                    code=error.status,
                )
        ts_recv = time.time_ns()
        instrument = self.instruments[symbol]

        def parse(item: Any) -> tuple[int, Trade]:
            _, trade_id, ts, side, price, size = coinbase.parse_product_trade(symbol, item)
            return trade_id, Trade(instrument, ts, ts_recv, str(trade_id), side, price, size)

        return self.trade_page(body, ts_recv, symbol, f"GET trades of {symbol}", parse)

    def _on_last_match(self, msg: Any, ts_recv: int) -> None:
        """Take the ``last_match`` sent after subscribing: the venue's latest trade."""
        symbol, trade_id = msg.get("product_id"), msg.get("trade_id")
        tracker = self.trade_ids.get(symbol) if type(symbol) is str else None
        if tracker is not None and type(trade_id) is int and tracker.last is not None:
            if 0 <= trade_id < tracker.last:
                reason = "last_match is below the last trade id seen"
                self.sequencer.restart(symbol, ts_recv, {"seen": trade_id, "reason": reason})
        self._on_match(msg, ts_recv)

    def _on_l2update(self, msg: Any, ts_recv: int) -> None:
        symbol, ts, bids, asks = coinbase.parse_l2update(msg)
        stream = self._streams.get(symbol)
        if stream is None:
            raise DataError(f"{self.venue}: l2update for {symbol!r}, whose book is not recorded")
        stream.seq += 1
        self.publish_book(BookUpdate(stream.instrument, ts, ts_recv, stream.seq, bids, asks))
        sync = stream.sync
        if sync.is_live:
            crossed = sync.book.is_crossed()
            if crossed and not stream.crossed:
                self._lost_updates(symbol, stream.seq, ts_recv)
            else:
                stream.crossed = crossed

    def _on_snapshot(self, msg: Any, ts_recv: int) -> None:
        symbol, ts, bids, asks = coinbase.parse_snapshot(msg)
        stream = self._streams.get(symbol)
        if stream is None:
            raise DataError(f"{self.venue}: snapshot for {symbol!r}, whose book is not recorded")
        stream.seq += 1
        when = ts_recv if ts is None else ts
        try:
            self.publish_book(
                BookUpdate(stream.instrument, when, ts_recv, stream.seq, bids, asks, True)
            )
        except DataError:  # an implausible snapshot: ask for another
            self._resubscribe[symbol] = None
            self._wake.set()
            raise
        stream.crossed = stream.sync.book.is_crossed()

    def _on_heartbeat(self, msg: Any, ts_recv: int) -> None:
        symbol, _sequence, last_trade_id, _ts = coinbase.parse_heartbeat(msg)
        self.instrument(symbol)  # refuses a product we did not subscribe to
        self.heartbeats += 1
        self._delivering = True  # the venue speaks for the product
        tracker = self.trade_ids.get(symbol)
        if tracker is not None and tracker.last is not None and last_trade_id >= 0:
            if tracker.last > last_trade_id + HEARTBEAT_MARGIN:
                reason = "heartbeat last_trade_id is far below the last trade id seen"
                self.sequencer.restart(symbol, ts_recv, {"seen": last_trade_id, "reason": reason})

    def _on_subscriptions(self, msg: Any, ts_recv: int) -> None:
        channels = coinbase.parse_subscriptions(msg)
        self._acknowledged = True
        self.ignored += 1
        log.info(
            "fh.subscriptions",
            extra={"venue": self.venue, "channels": ",".join(sorted(channels))},
        )

    def _on_error(self, msg: Any, ts_recv: int) -> None:
        message, reason = coinbase.parse_error(msg)
        if message == coinbase.SUBSCRIBE_FAILED or not self._acknowledged:
            raise VenueError(
                f"{self.venue}: subscription refused: {message}: {reason or 'no reason given'}",
                code=message,
            )
        # e.g. a slow consumer: Coinbase closes the connection next, and we reconnect
        self._venue_error = f"{message}: {reason}" if reason else message
        log.warning("fh.venue_error", extra={"venue": self.venue, "error": self._venue_error})


def _rest_url(config: FeedConfig) -> str | None:
    """Return the REST base URL: the config's, or that of the deployment ``ws_url`` feeds."""
    if config.rest_url is not None:
        return config.rest_url.rstrip("/")
    for endpoints in coinbase.ENDPOINTS.values():
        if config.ws_url.rstrip("/") == endpoints.ws.rstrip("/"):
            return endpoints.rest
    return None
