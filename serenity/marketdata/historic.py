"""Historic market data for backtests: the tick store replayed through the scheduler, lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain, repeat
from typing import Any, TypeVar

from serenity.errors import UnknownSymbolError
from serenity.marketdata.book import OrderBook
from serenity.marketdata.tickstore import Tickstore
from serenity.marketdata.types import BookLevel, BookUpdate, Trade
from serenity.model import InstrumentId, Side
from serenity.tau import HistoricNetworkScheduler, MutableSignal, Network, Signal
from serenity.tau.signal import Function

__all__ = ["HistoricMarketdataService"]

V = TypeVar("V")


_TRADE_COLUMNS = ["ts", "ts_recv", "trade_id", "side", "price", "qty"]
_BOOK_COLUMNS = ["ts", "ts_recv", "seq", "is_snapshot", "side", "price", "qty"]


class _BookBuilder(Function[OrderBook]):
    """Apply each book event to one :class:`OrderBook` and emit the book."""

    __slots__ = ("_book", "_events")

    def __init__(self, network: Network, events: Signal[BookUpdate], instrument: InstrumentId):
        self._events = events
        self._book = OrderBook(instrument)
        super().__init__(network, [events], name=f"books:{instrument}")

    def _call(self) -> bool:
        self._book.apply(self._events._value)
        self._update(self._book)
        return True


class HistoricMarketdataService:
    """A :class:`~serenity.marketdata.MarketdataService` over tick-store tables, for backtests.

    Each requested stream is replayed into the scheduler as a lazy source over the
    scheduler's ``[start, end]`` window: the store is read one row group at a time and rows
    become :class:`Trade` or :class:`BookUpdate` objects only as the replay reaches them, so
    memory is bounded by the data in flight, not by the length of the backtest. The
    scheduler merges every stream, across symbols and venues, in time order.

    Parameters
    ----------
    scheduler
        The historic scheduler the backtest runs on.
    tickstores
        Tables such as ``PHEMEX_TRADES`` and ``PHEMEX_BOOKS``; an instrument's trades come
        from the ``<VENUE>_TRADES`` table and its books from ``<VENUE>_BOOKS``.
    as_of
        Read the data as it was at this instant (int ns); the newest versions by default.
    """

    def __init__(
        self, scheduler: HistoricNetworkScheduler, *tickstores: Tickstore, as_of: int | None = None
    ) -> None:
        self.scheduler = scheduler
        self.as_of = as_of
        self._tables = {store.table: store for store in tickstores}
        self._trades: dict[InstrumentId, MutableSignal[Trade]] = {}
        self._book_events: dict[InstrumentId, MutableSignal[BookUpdate]] = {}
        self._books: dict[InstrumentId, Signal[OrderBook]] = {}
        self._subscribed: MutableSignal[frozenset[InstrumentId]] = MutableSignal(frozenset())

    def get_subscribed_instruments(self) -> Signal[frozenset[InstrumentId]]:
        """Return a signal holding the instruments requested so far."""
        return self._subscribed

    def get_trades(self, instrument: InstrumentId) -> Signal[Trade]:
        """Return the signal of ``instrument``'s stored trades, replayed in time order.

        Raises
        ------
        UnknownSymbolError
            When no ``<VENUE>_TRADES`` table was given or it has no such symbol.
        """
        return self._replayed(self._trades, instrument, "TRADES", self._trade_source)

    def get_order_book_events(self, instrument: InstrumentId) -> Signal[BookUpdate]:
        """Return the signal of ``instrument``'s stored snapshots and deltas, in time order.

        Raises
        ------
        UnknownSymbolError
            When no ``<VENUE>_BOOKS`` table was given or it has no such symbol.
        """
        return self._replayed(self._book_events, instrument, "BOOKS", self._book_source)

    def get_order_books(self, instrument: InstrumentId) -> Signal[OrderBook]:
        """Return the signal of ``instrument``'s full-depth book, rebuilt from the deltas.

        The value is one live :class:`OrderBook` updated in place: copy what you keep.
        """
        books = self._books.get(instrument)
        if books is None:
            events = self.get_order_book_events(instrument)
            books = _BookBuilder(self.scheduler.network, events, instrument)
            self._books[instrument] = books
        return books

    # -- internals ---------------------------------------------------------------------

    def _replayed(
        self,
        signals: dict[InstrumentId, MutableSignal[V]],
        instrument: InstrumentId,
        kind: str,
        source: Callable[[Tickstore, InstrumentId], Iterator[tuple[int, V]]],
    ) -> Signal[V]:
        """Return the instrument's signal of ``kind``, registering its replay on first use."""
        signal = signals.get(instrument)
        if signal is None:
            store = self._store(instrument, kind)
            signal = MutableSignal(name=f"{kind.lower()}:{instrument}")
            self.scheduler.replay(signal, source(store, instrument), name=str(signal))
            signals[instrument] = signal
            self._subscribe(instrument)
        return signal

    def _store(self, instrument: InstrumentId, kind: str) -> Tickstore:
        table = f"{instrument.venue.upper()}_{kind}"
        store = self._tables.get(table)
        if store is None:
            raise UnknownSymbolError(
                f"no {table} table for {instrument}; tables given: {sorted(self._tables) or 'none'}"
            )
        if instrument.symbol not in store.symbols():
            raise UnknownSymbolError(f"{table} has no symbol {instrument.symbol!r}")
        return store

    def _subscribe(self, instrument: InstrumentId) -> None:
        current = self._subscribed.get_value() or frozenset()
        self._subscribed.set_value(current | {instrument})

    def _batches(self, store: Tickstore, symbol: str, columns: list[str]) -> Iterator[Any]:
        sched = self.scheduler
        return store.scan(symbol, sched.start, sched.end + 1, self.as_of, columns=columns)

    def _trade_source(self, store: Tickstore, inst: InstrumentId) -> Iterator[tuple[int, Trade]]:
        # chain/zip/map keep the per-row loop in C: only Trade.__init__ runs Python code, and
        # no generator frame is resumed per trade.
        side_of = {1: Side.BUY, -1: Side.SELL}.__getitem__

        def pairs(batch: Any) -> Iterator[tuple[int, Trade]]:
            ts, ts_recv, ids, sides, prices, qtys = (c.to_pylist() for c in batch.columns)
            trades = map(Trade, repeat(inst), ts, ts_recv, ids, map(side_of, sides), prices, qtys)
            return zip(ts, trades, strict=True)

        batches = self._batches(store, inst.symbol, _TRADE_COLUMNS)
        return chain.from_iterable(map(pairs, batches))

    def _book_source(
        self, store: Tickstore, inst: InstrumentId
    ) -> Iterator[tuple[int, BookUpdate]]:
        pending: BookUpdate | None = None
        for batch in self._batches(store, inst.symbol, _BOOK_COLUMNS):
            for t, tr, seq, snap, side, price, qty in zip(
                *(c.to_pylist() for c in batch.columns), strict=True
            ):
                if pending is None or pending.seq != seq or pending.ts != t:
                    if pending is not None:
                        yield pending.ts, pending
                    pending = BookUpdate(inst, t, tr, seq, [], [], snap)
                levels: list[BookLevel] = pending.bids if side > 0 else pending.asks  # type: ignore[assignment]
                levels.append((price, qty))
        if pending is not None:
            yield pending.ts, pending
