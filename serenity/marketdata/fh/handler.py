"""The base of every venue feedhandler: config, sinks, publishing and bad-input policy.

A venue handler (``serenity.marketdata.fh.<venue>``) subclasses :class:`FeedHandler` and
implements the sans-I/O part: :meth:`FeedHandler.subscriptions`, :meth:`FeedHandler.handle`
(parse one frame, then call :meth:`FeedHandler.publish_trade` and
:meth:`FeedHandler.publish_book`) and, where the venue wants one, an application ping.
The base owns the rest: one :class:`BookSynchroniser` per symbol, fan-out to
:class:`FeedSink` s (the journal, a live market-data service), metrics, a reconnect record
in every stream, and the policy that a malformed frame is journalled raw, counted, logged
and skipped, never fatal.

What a venue sends is input, not truth. Before a trade or a book update is published its
prices and sizes pass the symbol's :class:`~serenity.marketdata.fh.plausibility.PriceGuard`
(finite, positive, on the catalog's tick grid, trades within ``price_band`` of the market);
one that fails is a malformed frame, and a book that loses an update that way resyncs.
The feed is LIVE only once it delivers: after each (re)connect it stays SYNCING until the
first trade, applied book update or venue heartbeat, and while any book waits for a snapshot.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, Final, NoReturn

import orjson

from serenity.errors import ConfigError, DataError, UnknownSymbolError, VenueError
from serenity.exchange.product import ProductCatalog
from serenity.marketdata.fh.backfill import TradeBackfill
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.book_sync import BookSynchroniser
from serenity.marketdata.fh.config import CHANNELS, FeedConfig
from serenity.marketdata.fh.connection import WebsocketConnection
from serenity.marketdata.fh.metrics import FeedMetrics
from serenity.marketdata.fh.plausibility import GRID_TOLERANCE, PriceGuard
from serenity.marketdata.fh.sinks import FeedSink, JournalSink
from serenity.marketdata.fh.state import FeedState
from serenity.marketdata.journal import BOOK, TRADES
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind, RawFrame
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import InstrumentId

__all__ = [
    "CHANNELS",
    "RAW_CHANNEL",
    "FeedConfig",
    "FeedHandler",
    "FeedSink",
    "JournalSink",
    "check_symbols",
]

log = logging.getLogger(__name__)

_GRID_LO: Final = GRID_TOLERANCE
_GRID_HI: Final = 1.0 - GRID_TOLERANCE

RAW_CHANNEL: Final = "raw"
"""Where frames that name no stream (unparseable ones) are journalled."""


class FeedHandler(ABC):
    """A venue's feedhandler: the sans-I/O session plus publishing; :meth:`run` adds I/O.

    Parameters
    ----------
    config
        Venue, symbols, channels and endpoints.
    sinks
        Where trades, book updates, data-quality events and raw frames go.
    catalog
        The venue's products (from ``serenity.exchange`` parsers or the database); symbols
        it does not list are refused here, before anything connects. Venues that scale
        prices (Phemex) take their scales from it.
    metrics
        Prometheus metrics shared by the process's feedhandlers.
    backoff
        Reconnect delays; ``config.backoff()`` when omitted.
    on_state
        Called with each new :class:`FeedState`.

    Attributes
    ----------
    parse_errors
        Frames journalled raw: malformed, or holding implausible values.
    implausible
        Of those, trades and book updates refused for an implausible price or size.

    Raises
    ------
    UnknownSymbolError
        For a symbol not in ``catalog``.
    ConfigError
        When ``config.venue`` is not this handler's venue.
    """

    venue: ClassVar[str]
    backfill: TradeBackfill | None = None
    """Fetches the trades of trade-id gaps from REST, run beside the connection (Binance,
    Coinbase, when ``config.backfill`` is on)."""
    bounded_seq_jumps: ClassVar[bool] = True
    """Whether the venue's book sequence numbers advance by at most ``max_seq_jump``."""

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
        if config.venue != self.venue:
            raise ConfigError(f"{type(self).__name__} records {self.venue}, was {config.venue!r}")
        if catalog is not None:
            if catalog.venue != self.venue:
                raise ConfigError(f"{self.venue}: catalog is of {catalog.venue!r}")
            check_symbols(self.venue, config.symbols, [p.symbol for p in catalog.products])
        self.config = config
        self.catalog = catalog
        self.sinks = list(sinks)
        self.metrics = metrics
        self.instruments = {s: InstrumentId(self.venue, s) for s in config.symbols}
        max_jump = config.max_seq_jump if self.bounded_seq_jumps else None
        self.books = (
            {
                s: BookSynchroniser(
                    i, channel=BOOK, max_jump=max_jump, stuck_after=config.stuck_after
                )
                for s, i in self.instruments.items()
            }
            if BOOK in config.channels
            else {}
        )
        self.guards: dict[str, PriceGuard] = {}
        for symbol in config.symbols:
            product = catalog.get(symbol) if catalog is not None else None
            self.guards[symbol] = PriceGuard(
                tick_size=product.tick_size if product is not None else None,
                lot_size=product.lot_size if product is not None else None,
                band=config.price_band,
                stuck_after=config.stuck_after,
            )
        self.parse_errors = 0
        self.implausible = 0
        self._delivering = False
        self.trades = 0
        self.book_updates = 0
        # Prometheus children looked up once: a labels() call per message costs more than
        # parsing the message.
        self._trade_counters: dict[str, Any] = {}
        self._book_counters: dict[str, Any] = {}
        self._lag: Any = None
        if metrics is not None:
            for symbol in self.instruments:
                labels = {"venue": self.venue, "symbol": symbol}
                self._trade_counters[symbol] = metrics.trades.labels(**labels)
                self._book_counters[symbol] = metrics.book_updates.labels(**labels)
            self._lag = metrics.receive_lag.labels(venue=self.venue)
        self.connection = WebsocketConnection(
            config.connection_config(),
            self,
            backoff=backoff if backoff is not None else config.backoff(),
            metrics=metrics,
            on_state=on_state,
        )

    # -- the venue's part ------------------------------------------------------------------

    @abstractmethod
    def subscriptions(self) -> list[str]:
        """Return the frames to send after each (re)connect."""

    @abstractmethod
    def handle(self, data: str | bytes, ts_recv: int) -> None:
        """Parse one frame and publish what it holds.

        Raise :class:`~serenity.errors.DataError` (or ``ValueError``, ``KeyError``,
        ``TypeError``, ``IndexError``) for a malformed frame: the base journals it raw and
        carries on. Raise :class:`~serenity.errors.VenueError` when the venue refused a
        subscription: that stops the feed with the venue's message.
        """

    def ping_frame(self) -> str | None:
        """Return an application-level ping frame, or None when the venue wants none."""
        return None

    async def maintain(self) -> None:
        """Run beside the connection until cancelled (e.g. fetch REST book snapshots)."""
        return None

    # -- FeedSession -----------------------------------------------------------------------

    def on_connected(self, ts: int) -> None:
        """Note a new connection; the feed is not LIVE until it delivers."""
        self._delivering = False
        log.info(
            "fh.subscribed", extra={"venue": self.venue, "symbols": ",".join(self.instruments)}
        )

    def on_frame(self, data: str | bytes, ts_recv: int) -> None:
        """Take one frame; a malformed one is journalled raw, counted and logged."""
        try:
            self.handle(data, ts_recv)
        except VenueError:
            raise
        except (DataError, ValueError, KeyError, TypeError, IndexError, ArithmeticError) as exc:
            self.parse_error(data, ts_recv, exc)

    def on_disconnected(self, ts: int, reason: str) -> None:
        """Record a reconnect in every stream and drop the books until they resync."""
        self._delivering = False
        for symbol in self.instruments:
            for channel in self.config.channels:
                self.publish_quality(
                    DataQualityEvent(
                        venue=self.venue,
                        channel=channel,
                        symbol=symbol,
                        ts=ts,
                        kind=DataQualityKind.RECONNECT,
                        details={"reason": reason},
                    )
                )
        for sync in self.books.values():
            sync.request_resync("reconnect")

    def is_synced(self) -> bool:
        """Return True when the feed delivers and every book is in sync.

        The connection asks after every frame, so this stays a plain loop.
        """
        if not self._delivering:
            return False
        for sync in self.books.values():
            if not sync.is_live:
                return False
        return True

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and record until :meth:`stop`.

        Raises
        ------
        VenueError
            When the venue refused a subscription (unwrapped from the task groups).
        """
        try:
            async with asyncio.TaskGroup() as tg:
                helpers = [tg.create_task(self.maintain(), name=f"fh:{self.venue}:maintain")]
                if self.backfill is not None:
                    backfill = self.backfill.run()
                    helpers.append(tg.create_task(backfill, name=f"fh:{self.venue}:backfill"))
                try:
                    await self.connection.run()
                finally:
                    for helper in helpers:
                        helper.cancel()
        except BaseExceptionGroup as group:
            refusal = _sole(group, VenueError)
            if refusal is None:
                raise
            raise refusal from None

    def stop(self) -> None:
        """Ask :meth:`run` to close the connection and return (on the loop thread)."""
        self.connection.stop()

    @property
    def state(self) -> FeedState:
        """Return the connection's state."""
        return self.connection.state

    # -- publishing, for venue handlers ----------------------------------------------------

    def instrument(self, symbol: str) -> InstrumentId:
        """Return the instrument of a subscribed symbol.

        Raises
        ------
        DataError
            When the venue sent data for a symbol we did not subscribe to.
        """
        try:
            return self.instruments[symbol]
        except KeyError:
            raise DataError(f"{self.venue}: frame for unsubscribed symbol {symbol!r}") from None

    def check_trade(self, symbol: str, price: float, qty: float, ts_recv: int) -> None:
        """Refuse a trade whose price or size cannot be true (see ``FeedConfig.price_band``).

        An accepted price becomes the symbol's reference. When ``stuck_after`` trades in a
        row were refused by the band but agree with one another, the reference moves to
        them and a ``stuck`` event is recorded.

        Raises
        ------
        DataError
            Naming the symbol and what is implausible; the frame is then journalled raw.
        """
        error = self.guards[symbol].check_trade(price, qty)
        if error is not None:
            self._refuse_trade(symbol, error, ts_recv)

    def _refuse_trade(self, symbol: str, error: str, ts_recv: int) -> NoReturn:
        guard = self.guards[symbol]
        self.implausible += 1
        if guard.is_stuck():
            details = {"reason": "prices outside the band", "reference": guard.reference}
            self._stuck(TRADES, symbol, ts_recv, details)
        raise DataError(f"{self.venue}: implausible trade of {symbol}: {error}")

    def publish_trade(self, trade: Trade) -> None:
        """Check a trade (:meth:`check_trade`) and deliver it to every sink.

        Raises
        ------
        DataError
            When its price or size is implausible; nothing is delivered.
        """
        guard, price = self.guards[trade.instrument.symbol], trade.price
        if (
            not (guard.rlo < price < guard.rhi and trade.qty < guard.max_qty)
            or _GRID_LO < price * guard.inv_tick % 1.0 < _GRID_HI
        ):  # not the usual case (see PriceGuard.rlo): the whole check
            error = guard.check_trade(price, trade.qty)
            if error is not None:
                self._refuse_trade(trade.instrument.symbol, error, trade.ts_recv)
        # deliver_trade, inline: this is every trade's path
        self._delivering = True
        self.trades += 1
        if self._lag is not None:
            self._trade_counters[trade.instrument.symbol].inc()
            self._lag.observe((trade.ts_recv - trade.ts) / 1e9)
        for sink in self.sinks:
            sink.on_trade(trade)

    def deliver_trade(self, trade: Trade) -> None:
        """Deliver a trade already checked by :meth:`check_trade` to every sink."""
        self._delivering = True
        self.trades += 1
        if self._lag is not None:
            self._trade_counters[trade.instrument.symbol].inc()
            self._lag.observe((trade.ts_recv - trade.ts) / 1e9)
        for sink in self.sinks:
            sink.on_trade(trade)

    def publish_book(
        self, update: BookUpdate, *, first_seq: int | None = None, checked: bool = False
    ) -> None:
        """Feed a snapshot or delta through the symbol's synchroniser; deliver what applied.

        Parameters
        ----------
        update
            The normalised update; ``update.seq`` is the last sequence number it covers.
        first_seq
            The first sequence number a ranged update covers (Binance's ``U``).
        checked
            True when the parser has already checked every level against the symbol's
            ``guards[symbol].level_bounds``; otherwise :meth:`PriceGuard.check_levels` does.

        Raises
        ------
        DataError
            For an implausible level (a live book then resyncs); nothing is delivered.
        """
        symbol = update.instrument.symbol
        sync = self.books[symbol]
        if not checked:
            error = self.guards[symbol].check_levels(update.bids, update.asks)
            if error is not None:
                self._implausible_book(sync, update, error)
        if update.is_snapshot:
            applied = sync.on_snapshot(update)
            mid = sync.book.mid() if applied else None
            if mid is not None:
                self.guards[symbol].set_reference(mid)
        elif sync.on_delta(update, first_seq):
            applied = [update]
        else:
            applied = []
        book = sync.book
        if applied:
            self._delivering = True
        for u in applied:
            self.book_updates += 1
            if self._lag is not None:
                self._book_counters[symbol].inc()
            for sink in self.sinks:
                sink.on_book(u, book)
        for event in sync.drain_events():
            self.publish_quality(event)

    def resync_book(self, symbol: str, ts_recv: int, details: dict[str, object]) -> None:
        """Record a GAP on a symbol's book and drop it until a snapshot resyncs it.

        Venues whose snapshots must be asked for (a resubscription) extend this.
        """
        self.publish_quality(
            DataQualityEvent(
                venue=self.venue,
                channel=BOOK,
                symbol=symbol,
                ts=ts_recv,
                kind=DataQualityKind.GAP,
                details=details,
            )
        )
        log.warning("fh.gap", extra={"venue": self.venue, "symbol": symbol, **details})
        self.books[symbol].request_resync(str(details.get("reason", "gap")))

    def venue_error(self, ts_recv: int, code: object, text: str, *, request: object = None) -> None:
        """Record an error the venue sent that refused nothing of ours; never raise.

        Only an error answering one of our own pending requests refuses a subscription;
        anything else (a reply to a request id we never sent, or already answered) is a
        ``venue_error`` data-quality event on the ``raw`` stream, and the feed carries on.
        """
        details = {"code": _jsonable(code), "text": str(text)[:500], "request": _jsonable(request)}
        log.warning("fh.venue_error", extra={"venue": self.venue, **details})
        self.publish_quality(
            DataQualityEvent(
                venue=self.venue,
                channel=RAW_CHANNEL,
                symbol="*",
                ts=ts_recv,
                kind=DataQualityKind.VENUE_ERROR,
                details=details,
            )
        )

    def _implausible_book(self, sync: BookSynchroniser, update: BookUpdate, error: str) -> NoReturn:
        """Refuse a book update with an implausible level; a live book has lost it: resync."""
        self.implausible += 1
        symbol = update.instrument.symbol
        if sync.is_live:
            self.resync_book(
                symbol, update.ts_recv, {"seq": update.seq, "reason": "implausible book update"}
            )
        kind = "snapshot" if update.is_snapshot else "update"
        raise DataError(f"{self.venue}: implausible book {kind} of {symbol}: {error}")

    def _stuck(self, channel: str, symbol: str, ts: int, details: Mapping[str, object]) -> None:
        """Record that a stream was stuck (dropping every message) and has been resynced."""
        log.warning(
            "fh.stuck", extra={"venue": self.venue, "channel": channel, "symbol": symbol, **details}
        )
        self.publish_quality(
            DataQualityEvent(
                venue=self.venue,
                channel=channel,
                symbol=symbol,
                ts=ts,
                kind=DataQualityKind.STUCK,
                details=dict(details),
            )
        )

    def publish_quality(self, event: DataQualityEvent) -> None:
        """Deliver a data-quality event to every sink and count it."""
        if self.metrics is not None and event.kind is not DataQualityKind.RECONNECT:
            self.metrics.observe_data_quality(event)  # reconnects are counted by the connection
        for sink in self.sinks:
            sink.on_quality(event)

    def _on_trade_gap(self, symbol: str, first: int, last: int, ts_recv: int) -> None:
        """Hand a trade-id gap (the ``on_gap`` of the trade-id sequencer) to the backfill."""
        if self.backfill is not None:
            self.backfill.schedule(symbol, first, last, ts_recv)

    def _accept_backfilled(self, trade_id: int, trade: Trade) -> bool:
        """Check a fetched trade as a streamed one and record it unless its id was seen."""
        assert self.backfill is not None  # the backfill's own callback
        self.check_trade(trade.instrument.symbol, trade.price, trade.qty, trade.ts_recv)
        return self.backfill.sequencer.fill(trade_id, trade)

    def trade_page(
        self,
        body: bytes,
        ts_recv: int,
        symbol: str,
        what: str,
        parse: Callable[[Any], tuple[int, Trade]],
    ) -> list[tuple[int, Trade]]:
        """Return a REST answer's trades as ``(trade id, trade)``, in the answer's order.

        ``parse`` turns one item into its id and :class:`Trade`; an item it refuses with
        :class:`DataError` is journalled raw (:meth:`parse_error`) and skipped.

        Raises
        ------
        DataError
            When the answer (to ``what``) is not a JSON list.
        """
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError:
            items = None
        if type(items) is not list:
            raise DataError(f"{self.venue}: {what} answered {body[:80]!r}")
        page = []
        for item in items:
            try:
                page.append(parse(item))
            except DataError as exc:
                self.parse_error(orjson.dumps(item), ts_recv, exc, symbol=symbol)
        return page

    def parse_error(
        self, data: str | bytes, ts_recv: int, exc: BaseException, *, symbol: str = "*"
    ) -> None:
        """Journal a frame that could not be parsed, count it and log it; never raise."""
        self.parse_errors += 1
        raw = data.encode() if isinstance(data, str) else bytes(data)
        log.warning(
            "fh.parse_error",
            extra={
                "venue": self.venue,
                "error": f"{type(exc).__name__}: {exc}"[:200],
                "frame": raw[:120].decode(errors="replace"),
            },
        )
        event = DataQualityEvent(
            venue=self.venue,
            channel=RAW_CHANNEL,
            symbol=symbol,
            ts=ts_recv,
            kind=DataQualityKind.PARSE_ERROR,
            details={"error": f"{type(exc).__name__}: {exc}"[:500], "bytes": len(raw)},
        )
        if self.metrics is not None:
            self.metrics.observe_data_quality(event)
        for sink in self.sinks:
            sink.on_raw(
                RawFrame(
                    venue=self.venue, channel=RAW_CHANNEL, symbol=symbol, ts_recv=ts_recv, data=raw
                )
            )
            sink.on_quality(event)


def _sole(group: BaseExceptionGroup[Any], kind: type[VenueError]) -> VenueError | None:
    """Return the error of type ``kind`` when it is all ``group`` holds (at any depth)."""
    matched, rest = group.split(kind)
    if matched is None or rest is not None:
        return None
    leaf: BaseException = matched
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf if isinstance(leaf, kind) else None


def _jsonable(value: object) -> object:
    """Return ``value`` if it is a JSON scalar, else its (shortened) repr."""
    if value is None or isinstance(value, bool | int | float | str):
        return value if not isinstance(value, str) else value[:100]
    return repr(value)[:100]


def check_symbols(venue: str, symbols: Collection[str], known: Collection[str]) -> None:
    """Refuse symbols the venue does not list, suggesting the closest ones.

    Raises
    ------
    UnknownSymbolError
        Naming the first unknown symbol and up to three close matches.
    """
    known_set = set(known)
    for symbol in symbols:
        if symbol not in known_set:
            close = difflib.get_close_matches(symbol, sorted(known_set), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownSymbolError(f"unknown symbol {symbol!r} on {venue}{hint}")
