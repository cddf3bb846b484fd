"""Phemex feedhandler: trades and order books from Phemex's public websocket.

One connection carries every symbol. Spot pairs and coin-margined contracts are recorded
from ``trade.subscribe`` and ``orderbook.subscribe`` (the full book), USDT-margined
``PerpetualV2`` contracts from ``trade_p.subscribe`` and ``orderbook_p.subscribe`` (the top
30 levels); :func:`serenity.exchange.phemex.marketdata.ws_scale` picks them and the price
scales from the :class:`~serenity.exchange.product.ProductCatalog`, so a catalog is required.

Sequence semantics. Phemex stamps each message with ``sequence``, a counter the matching
engine shares between symbols: a symbol's next book update skips ahead by any amount (1 to
thousands in the 2021 capture), so no lost update can be seen in it. The rules here are:

* a book update with a lower sequence than the symbol's previous one is out of order: a
  GAP is recorded and the book waits for a fresh snapshot, asked for at once (below);
* every newer update continues the book (so it is passed on as covering everything since
  sequence 0, the one continuity test :class:`BookSynchroniser` then applies is "newer
  than the last applied");
* Phemex repeats a book snapshot every 60 s "for client self-verification": when one
  arrives for a live book, the book's levels (the top ``depth`` of them) must equal it, or
  updates were lost: a GAP is recorded and the snapshot resyncs the book (RESYNC);
* after a reconnect every book resyncs from the snapshot that follows the subscription;
* a negative sequence, or one of 2**62 or more, is implausible (a corrupt frame): a GAP is
  recorded and the book waits for a fresh snapshot, asked for at once, and the number is
  not remembered (a trades message with one is journalled raw). No bound applies to how far
  the counter may jump: it is shared, so a quiet symbol's next update may be millions ahead
  (up to 800,000 a second in the 2021 capture).

Fresh snapshots. Phemex sends a book's snapshot right after each successful subscription,
and ``orderbook.unsubscribe`` (``orderbook_p.unsubscribe``) ends every book subscription of
its channel. So a book left waiting by a gap (or by an implausible level, or stuck) is
resynced by a round: the channel's unsubscribe and a subscribe for each of its symbols; the
first snapshot of a symbol after Phemex accepted its subscription answers it, and for the
waiting book it is the RESYNC. Updates between the gap and that snapshot are not applied
(it covers them). Trades, the other channel's books and the channel's live books carry on;
the new snapshots of live books replace them without the verification (no updates came
between the unsubscribe and them). One round per channel is outstanding at a time, and
rounds start at least 1 s apart (:mod:`serenity.marketdata.fh._phemex_resync`).

Replies. Only an error answering one of our subscriptions still waiting for its reply
refuses that subscription (and stops the feed). An error answering a resubscription is a
``venue_error`` data-quality event on the book's stream, and the book waits for the periodic
snapshot (if the unsubscribe had ended its subscription, for the channel's next round or
the next reconnect). An error with another id, or none, is a ``venue_error`` event on the
raw stream.

Trades. The ``side`` of a trade is the taker's, so it is the aggressor side as it stands.
Trades carry no id. Each subscription starts with a snapshot of recent trades, newest
first: the first one only marks where recording starts, and after a reconnect the trades
it holds that are newer than the last one recorded are published, oldest first, so an
outage shorter than the snapshot loses no trade and repeats none.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, ClassVar, Final

from orjson import dumps, loads

from serenity.errors import ConfigError, DataError, VenueError
from serenity.exchange import phemex
from serenity.exchange.product import ProductCatalog
from serenity.marketdata.book import OrderBook
from serenity.marketdata.fh._phemex_resync import Resubscriber
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.config import FeedConfig
from serenity.marketdata.fh.handler import FeedHandler, FeedSink
from serenity.marketdata.fh.metrics import FeedMetrics
from serenity.marketdata.fh.sequence import SEQ_LIMIT
from serenity.marketdata.fh.state import FeedState
from serenity.marketdata.journal import BOOK, TRADES
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import Side

__all__ = ["PhemexFeedHandler"]

log = logging.getLogger(__name__)

_PING_ID: Final = 0
"""Request id of ``server.ping``; subscriptions are numbered from 1 on each connection."""
_CONTINUES_ANY: Final = 0
"""``first_seq`` of every delta: Phemex's sequence only orders updates (see the module doc)."""
_TS: Final = itemgetter(0)
_TRADES: Final = phemex.WsMessageKind.TRADES
_BOOK: Final = phemex.WsMessageKind.BOOK

_Row = tuple[int, Side, float, float]


class PhemexFeedHandler(FeedHandler):
    """Record Phemex trades and order books (see the module docstring for the rules).

    Parameters
    ----------
    config
        Symbols, channels and the websocket URL (``serenity.exchange.phemex.PROD.ws``, or a
        test server). ``heartbeat_s`` is also the interval of ``server.ping``, which Phemex
        needs at least every 30 s (it recommends 5 s).
    sinks, metrics, backoff, on_state
        As for :class:`~serenity.marketdata.fh.FeedHandler`.
    catalog
        Phemex's products (:func:`serenity.exchange.phemex.refdata.parse_products`); required, for
        each symbol's channels and price scale.

    Raises
    ------
    ConfigError
        Without a catalog, for a ``heartbeat_s`` of 30 s or more, or a symbol Phemex
        publishes no trades and books for.
    UnknownSymbolError
        For a symbol not in the catalog.
    """

    venue: ClassVar[str] = phemex.VENUE
    bounded_seq_jumps: ClassVar[bool] = False  # the sequence is shared between symbols

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
        if catalog is None:
            raise ConfigError(
                f"{phemex.VENUE}: a ProductCatalog is needed for channels and price scales; "
                "parse one with serenity.exchange.phemex.parse_products"
            )
        super().__init__(
            config,
            sinks=sinks,
            catalog=catalog,
            metrics=metrics,
            backoff=backoff,
            on_state=on_state,
        )
        if not config.heartbeat_s < phemex.WS_PING_LIMIT_S:
            raise ConfigError(
                f"{self.venue}: heartbeat_s must be < {phemex.WS_PING_LIMIT_S:g} (Phemex drops "
                f"connections that send no ping for that long), was {config.heartbeat_s!r}"
            )
        self.scales: dict[str, phemex.WsScale] = {}
        for symbol in config.symbols:
            product = catalog.get(symbol)
            assert product is not None  # the base refused symbols the catalog does not list
            try:
                self.scales[symbol] = phemex.ws_scale(product)
            except DataError as exc:
                raise ConfigError(str(exc)) from exc
        wanted = len(config.symbols) * len(config.channels)
        if wanted > phemex.WS_MAX_SUBSCRIPTIONS:
            warnings.warn(
                f"{self.venue}: {wanted} subscriptions on one connection, over the "
                f"{phemex.WS_MAX_SUBSCRIPTIONS} Phemex documents; it may refuse some",
                stacklevel=2,
            )
        self._syncs = tuple(self.books.values())
        self._trade_scales = self.scales if TRADES in config.channels else {}
        self._book_scales = self.scales if BOOK in config.channels else {}
        self._requests: dict[int, tuple[str, str]] = {}
        self._unacked: set[int] = set()
        self._book_seq: dict[str, int] = {}
        self._resync = Resubscriber(
            {
                symbol: (scale.channels.book_method, [symbol, *scale.channels.book_params])
                for symbol, scale in self._book_scales.items()
            },
            send=self.connection.send,
            waiting=lambda symbol: not self.books[symbol].is_live,
        )
        self._marks: dict[str, list[int]] = {}  # symbol -> [ts of the last trade, trades at it]
        self._ping = dumps({"id": _PING_ID, "method": "server.ping", "params": []}).decode()

    # -- the venue's part ------------------------------------------------------------------

    def subscriptions(self) -> list[str]:
        """Return one subscribe frame per symbol and channel, numbered from 1."""
        self._requests = {_PING_ID: ("server.ping", "*")}
        frames = []
        for symbol, scale in self.scales.items():
            ch = scale.channels
            for channel, method, extra in (
                (TRADES, ch.trade_method, ()),
                (BOOK, ch.book_method, ch.book_params),
            ):
                if channel in self.config.channels:
                    rid = len(self._requests)
                    self._requests[rid] = (method, symbol)
                    params = [symbol, *extra]
                    frames.append(dumps({"id": rid, "method": method, "params": params}).decode())
        self._unacked = set(self._requests) - {_PING_ID}
        self._resync.reset(next_id=len(self._requests))
        return frames

    def ping_frame(self) -> str:
        """Return ``server.ping``, sent every ``heartbeat_s``."""
        return self._ping

    def handle(self, data: str | bytes, ts_recv: int) -> None:
        """Parse one frame; publish its trades or book update, or check a reply.

        Raises
        ------
        VenueError
            When Phemex refused a subscription, with its code and message.
        DataError
            For a malformed frame or an unknown message type (kept raw by the base).
        """
        if ts_recv >= self._resync.due:
            self._resync.poll(ts_recv)
        msg = loads(data)
        if type(msg) is not dict:
            raise DataError(f"{self.venue}: a message must be a JSON object, was {msg!r:.60}")
        kind = phemex.classify(msg)
        if kind is _TRADES:
            self._on_trades(msg, ts_recv)
        elif kind is _BOOK:
            self._on_book(msg, ts_recv)
        else:
            self._on_reply(phemex.parse_reply(msg), ts_recv)

    def on_disconnected(self, ts: int, reason: str) -> None:
        """Record the reconnect and forget book sequences; books resync after resubscribing."""
        super().on_disconnected(ts, reason)
        self._book_seq.clear()

    def resync_book(self, symbol: str, ts_recv: int, details: dict[str, object]) -> None:
        """Record a GAP, drop the book and ask Phemex for a fresh snapshot at once.

        The book's channel is unsubscribed (which ends every book subscription of the
        channel) and each of its symbols subscribed again; Phemex answers a subscription
        with the book's snapshot (see the module docstring for the limits).
        """
        super().resync_book(symbol, ts_recv, details)
        self._resync.ask(symbol, ts_recv)

    # -- messages --------------------------------------------------------------------------

    def _on_trades(self, msg: dict[str, Any], ts_recv: int) -> None:
        symbol = msg.get("symbol")
        scale = self._trade_scales.get(symbol) if type(symbol) is str else None
        if scale is None:
            raise DataError(f"{self.venue}: trades message for unsubscribed symbol {symbol!r}")
        parsed = phemex.parse_trades(msg, scale)
        if not 0 <= parsed.sequence < SEQ_LIMIT:
            raise DataError(f"{self.venue}: implausible sequence {parsed.sequence} of {symbol}")
        rows = parsed.trades
        if parsed.is_snapshot:
            rows = self._unrecorded(parsed.symbol, rows, ts_recv)
        if not rows:
            return
        symbol = parsed.symbol
        check = self.check_trade
        for _, _, price, qty in rows:  # all before any, so a bad row publishes none
            check(symbol, price, qty, ts_recv)
        instrument, deliver = self.instruments[symbol], self.deliver_trade
        for ts, side, price, qty in rows:
            deliver(Trade(instrument, ts, ts_recv, "", side, price, qty))
        mark = self._marks.get(parsed.symbol)
        if len(rows) == 1 and mark is not None and ts >= mark[0]:  # the common case, inline
            if ts == mark[0]:
                mark[1] += 1
            else:
                mark[0], mark[1] = ts, 1
        else:
            self._advance_mark(parsed.symbol, rows)

    def _unrecorded(self, symbol: str, rows: list[_Row], ts_recv: int) -> list[_Row]:
        """Return a snapshot's trades newer than the last recorded, oldest first."""
        ordered = sorted(reversed(rows), key=_TS)  # stable: equal times keep their order
        mark = self._marks.get(symbol)
        if mark is None:  # the first subscription: history predates the recording
            if ordered:
                self._advance_mark(symbol, ordered)
            else:
                self._marks[symbol] = [ts_recv, 0]
            return []
        ts0, seen = mark
        fresh = [r for r in ordered if r[0] == ts0][seen:] + [r for r in ordered if r[0] > ts0]
        if fresh:
            log.info(
                "fh.trades_recovered",
                extra={"venue": self.venue, "symbol": symbol, "n": len(fresh)},
            )
        return fresh

    def _advance_mark(self, symbol: str, rows: list[_Row]) -> None:
        if len(rows) == 1:
            top, n = rows[0][0], 1
        else:
            top = max(r[0] for r in rows)
            n = sum(1 for r in rows if r[0] == top)
        mark = self._marks.get(symbol)
        if mark is None or top > mark[0]:
            self._marks[symbol] = [top, n]
        elif top == mark[0]:
            mark[1] += n

    def _on_book(self, msg: dict[str, Any], ts_recv: int) -> None:
        symbol = msg.get("symbol")
        scale = self._book_scales.get(symbol) if type(symbol) is str else None
        if scale is None:
            raise DataError(f"{self.venue}: book message for unsubscribed symbol {symbol!r}")
        parsed = phemex.parse_book(msg, scale)
        symbol, seq = parsed.symbol, parsed.sequence
        ts = ts_recv if parsed.ts is None else parsed.ts
        update = BookUpdate(
            self.instruments[symbol], ts, ts_recv, seq, parsed.bids, parsed.asks, parsed.is_snapshot
        )
        sync = self.books[symbol]
        if not 0 <= seq < SEQ_LIMIT:
            self.resync_book(symbol, ts_recv, {"seen": seq, "reason": "implausible sequence"})
            return
        last = self._book_seq.get(symbol)
        self._book_seq[symbol] = seq
        if last is not None and seq < last:
            self._gap(update, {"expected": last + 1, "seen": seq, "reason": "sequence went back"})
        elif update.is_snapshot:
            if self._resync.expects(symbol):  # it replaces the book unchecked
                self._resync.on_snapshot(symbol, ts_recv)
            elif sync.is_live and not _matches(sync.book, update, parsed.depth):
                details: dict[str, object] = {
                    "seq": seq,
                    "book_seq": sync.book.seq,
                    "reason": "snapshot differs",
                }
                self._gap(update, details)
        was_live = sync.is_live
        self.publish_book(update, first_seq=None if update.is_snapshot else _CONTINUES_ANY)
        if was_live and not sync.is_live:  # the synchroniser dropped it (stuck): ask at once
            self._resync.ask(symbol, ts_recv)

    def _gap(self, update: BookUpdate, details: dict[str, object]) -> None:
        if update.is_snapshot:  # the snapshot itself resyncs the book: nothing to ask for
            super().resync_book(update.instrument.symbol, update.ts_recv, details)
        else:
            self.resync_book(update.instrument.symbol, update.ts_recv, details)

    def _resync_reply(self, rid: int, reply: phemex.PhemexReply, ts_recv: int) -> None:
        """Take the reply to a resubscription; a refusal is recorded, never fatal."""
        method, symbol = self._resync.on_reply(rid, refused=reply.is_error, ts=ts_recv)
        if not reply.is_error:
            return
        details: dict[str, object] = {
            "code": reply.code,
            "text": (reply.message or "")[:500],
            "request": rid,
            "method": method,
            "reason": "resync refused",
        }
        log.warning("fh.resync_refused", extra={"venue": self.venue, "symbol": symbol, **details})
        event = DataQualityEvent(
            venue=self.venue,
            channel=BOOK,
            symbol=symbol or "*",
            ts=ts_recv,
            kind=DataQualityKind.VENUE_ERROR,
            details=details,
        )
        self.publish_quality(event)

    def _on_reply(self, reply: phemex.PhemexReply, ts_recv: int) -> None:
        rid = reply.id
        if rid is not None and self._resync.owns(rid):
            self._resync_reply(rid, reply, ts_recv)
            return
        if reply.is_error:
            if reply.id not in self._unacked:  # answers nothing of ours that is waiting
                self.venue_error(ts_recv, reply.code, reply.message or "", request=reply.id)
                return
            method, symbol = self._requests[reply.id]
            log.error(
                "fh.refused",
                extra={"venue": self.venue, "method": method, "symbol": symbol, "code": reply.code},
            )
            raise VenueError(
                f"{self.venue} refused {method} {symbol}: {reply.message} (code {reply.code})",
                code=reply.code,
            )
        if reply.id in self._unacked:
            self._unacked.discard(reply.id)
            if not self._unacked:
                log.info("fh.acked", extra={"venue": self.venue, "n": len(self._requests) - 1})


def _matches(book: OrderBook, snapshot: BookUpdate, depth: int) -> bool:
    """Return True when the book's top ``depth`` levels (all for 0) equal the snapshot's."""
    n = depth if depth > 0 else sys.maxsize
    bids, asks = book.depth(n)
    theirs_bids = sorted((lv for lv in snapshot.bids if lv[1] != 0.0), reverse=True)[:n]
    theirs_asks = sorted(lv for lv in snapshot.asks if lv[1] != 0.0)[:n]
    return bids == theirs_bids and asks == theirs_asks
