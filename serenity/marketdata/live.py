"""The live market-data service: running feedhandlers published as tau signals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from serenity.errors import UnknownSymbolError
from serenity.marketdata.book import OrderBook
from serenity.marketdata.fh.handler import FeedHandler
from serenity.marketdata.fh.state import FeedState
from serenity.marketdata.quality import DataQualityEvent, RawFrame
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import InstrumentId
from serenity.tau import MutableSignal, Network, RealtimeNetworkScheduler, Signal
from serenity.tau.signal import Function

__all__ = ["FeedHandlerMarketdataService"]

V = TypeVar("V")


class _LiveBook(Function[OrderBook]):
    """Emit the feedhandler's book in every cycle in which one of its updates is applied."""

    __slots__ = ("_book",)

    def __init__(self, network: Network, events: Signal[BookUpdate], book: OrderBook) -> None:
        self._book = book
        super().__init__(network, [events], name=f"books:{book.instrument}")

    def _call(self) -> bool:
        self._update(self._book)
        return True


class FeedHandlerMarketdataService:
    """A :class:`~serenity.marketdata.MarketdataService` over running feedhandlers.

    It registers itself as a sink of each handler. Every trade and applied book update is
    published into the scheduler's network on the event loop thread, in the same call that
    received the frame, so a strategy reacts without an extra hop. Signals exist per
    instrument from construction; a node that raises is logged and counted by the
    scheduler and never stops a feed.

    Parameters
    ----------
    scheduler
        The realtime scheduler whose network strategies run in.
    handlers
        The feedhandlers to publish from (they are not started here).
    """

    def __init__(self, scheduler: RealtimeNetworkScheduler, handlers: Iterable[FeedHandler]):
        self.scheduler = scheduler
        self._trades: dict[InstrumentId, MutableSignal[Trade]] = {}
        self._book_events: dict[InstrumentId, MutableSignal[BookUpdate]] = {}
        self._books: dict[InstrumentId, Signal[OrderBook]] = {}
        self._quality: MutableSignal[DataQualityEvent] = MutableSignal(name="data-quality")
        self._states: dict[str, MutableSignal[FeedState]] = {}
        for handler in handlers:
            handler.sinks.append(self)
            state: MutableSignal[FeedState] = MutableSignal(
                handler.state, name=f"state:{handler.venue}"
            )
            self._states[handler.venue] = state
            handler.connection.add_state_listener(self._state_publisher(state))
            for symbol, instrument in handler.instruments.items():
                name = str(instrument)
                self._trades[instrument] = MutableSignal(name=f"trades:{name}")
                events: MutableSignal[BookUpdate] = MutableSignal(name=f"book-events:{name}")
                self._book_events[instrument] = events
                sync = handler.books.get(symbol)
                self._books[instrument] = (
                    _LiveBook(scheduler.network, events, sync.book)
                    if sync is not None
                    else MutableSignal(name=f"books:{name}")  # a trades-only feed: never fires
                )
        self._subscribed: MutableSignal[frozenset[InstrumentId]] = MutableSignal(
            frozenset(self._trades), name="subscribed"
        )

    # -- MarketdataService -----------------------------------------------------------------

    def get_subscribed_instruments(self) -> Signal[frozenset[InstrumentId]]:
        """Return a signal holding the set of instruments the feeds record."""
        return self._subscribed

    def get_trades(self, instrument: InstrumentId) -> Signal[Trade]:
        """Return the signal of ``instrument``'s trades."""
        return self._lookup(self._trades, instrument)

    def get_order_book_events(self, instrument: InstrumentId) -> Signal[BookUpdate]:
        """Return the signal of ``instrument``'s applied snapshots and deltas."""
        return self._lookup(self._book_events, instrument)

    def get_order_books(self, instrument: InstrumentId) -> Signal[OrderBook]:
        """Return the signal of ``instrument``'s book, activated after every applied update.

        The value is the feedhandler's live book: read it in the cycle, copy what you keep.
        """
        return self._lookup(self._books, instrument)

    def get_feed_state(self, venue: str) -> Signal[FeedState]:
        """Return the signal of a venue feed's state (INITIALIZING ... LIVE ... STOPPED).

        Raises
        ------
        UnknownSymbolError
            When no feed of these handlers records ``venue``.
        """
        try:
            return self._states[venue]
        except KeyError:
            raise UnknownSymbolError(
                f"no feed for venue {venue!r}; feeds: {', '.join(sorted(self._states))}"
            ) from None

    def get_data_quality(self) -> Signal[DataQualityEvent]:
        """Return the signal of every data-quality event from the feeds."""
        return self._quality

    def _state_publisher(self, signal: MutableSignal[FeedState]) -> Callable[[FeedState], None]:
        def publish(state: FeedState) -> None:
            self.scheduler.publish(signal, state)

        return publish

    # -- FeedSink --------------------------------------------------------------------------

    def on_trade(self, trade: Trade) -> None:
        """Publish a trade."""
        self.scheduler.publish(self._trades[trade.instrument], trade)

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        """Publish an applied update; the book signal follows it in the same cycle."""
        self.scheduler.publish(self._book_events[update.instrument], update)

    def on_quality(self, event: DataQualityEvent) -> None:
        """Publish a data-quality event."""
        self.scheduler.publish(self._quality, event)

    def on_raw(self, raw: RawFrame) -> None:
        """Ignore raw frames (the journal keeps them)."""

    def _lookup(
        self, table: Mapping[InstrumentId, Signal[V]], instrument: InstrumentId
    ) -> Signal[V]:
        try:
            return table[instrument]
        except KeyError:
            known = ", ".join(sorted(str(i) for i in self._trades)) or "none"
            raise UnknownSymbolError(
                f"{instrument} is not recorded by these feeds; recorded: {known}"
            ) from None
