"""Historic market data for backtests: the tick store replayed through the scheduler, lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any, TypeVar

from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.marketdata.book import OrderBook
from serenity.marketdata.tickstore import Tickstore
from serenity.marketdata.types import BookLevel, BookUpdate, Trade
from serenity.model import InstrumentId, Side
from serenity.tau import HistoricNetworkScheduler, MutableSignal, Network, Signal
from serenity.tau.batch import Batch
from serenity.tau.signal import Function

__all__ = ["HistoricMarketdataService", "TableMarketdataService", "TradeRows"]

V = TypeVar("V")


_TRADE_COLUMNS = ["ts", "ts_recv", "trade_id", "side", "price", "qty"]
_SIDES = {1: Side.BUY, -1: Side.SELL}


class TradeRows:
    """Build :class:`Trade` values from a batch of trade rows (the tick store's trade
    columns: ``ts``, ``ts_recv``, ``trade_id``, ``side`` as +1/-1, ``price``, ``qty``).

    Whole batches are converted with C-level loops (only ``Trade.__init__`` runs Python
    code); single rows, for the cycles a batch replay runs per event, are read from the
    NumPy columns.
    """

    __slots__ = ("instrument",)

    def __init__(self, instrument: InstrumentId) -> None:
        self.instrument = instrument

    def all(self, batch: Batch) -> Sequence[Trade]:
        """Return every row as a :class:`Trade`."""
        sides = map(_SIDES.__getitem__, batch.pylist("side"))
        return list(
            map(
                Trade,
                repeat(self.instrument),
                batch.ts_list() if batch.time_column == "ts" else batch.pylist("ts"),
                batch.pylist("ts_recv"),
                batch.pylist("trade_id"),
                sides,
                batch.pylist("price"),
                batch.pylist("qty"),
            )
        )

    def one(self, batch: Batch, i: int) -> Trade:
        """Return row ``i`` as a :class:`Trade`."""
        return Trade(
            self.instrument,
            int(batch["ts"][i]),
            int(batch["ts_recv"][i]),
            batch.text("trade_id", i) or "",
            _SIDES[int(batch["side"][i])],
            float(batch["price"][i]),
            float(batch["qty"][i]),
        )


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
        source: Callable[[Tickstore, InstrumentId], Iterator[Any]],
    ) -> Signal[V]:
        """Return the instrument's signal of ``kind``, registering its replay on first use."""
        signal = signals.get(instrument)
        if signal is None:
            store = self._store(instrument, kind)
            signal = MutableSignal(name=f"{kind.lower()}:{instrument}")
            rows = TradeRows(instrument) if kind == "TRADES" else None
            self.scheduler.replay(signal, source(store, instrument), rows=rows, name=str(signal))
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

    def _trade_source(self, store: Tickstore, inst: InstrumentId) -> Iterator[Any]:
        return self._batches(store, inst.symbol, _TRADE_COLUMNS)

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


class TableMarketdataService:
    """A :class:`~serenity.marketdata.MarketdataService` over in-memory data, for research,
    tests and generated markets.

    Trades are tables (a pandas DataFrame, a pyarrow Table, or an iterable of pyarrow
    RecordBatches for data larger than memory) with columns ``ts`` (int64 ns, UTC, sorted),
    ``price`` and ``qty``, and optionally ``side`` (+1 buy, -1 sell aggressor; +1 when
    absent), ``ts_recv`` (``ts`` when absent) and ``trade_id``. They replay as batches, so
    nodes with batch kernels take them as slices. Books are sequences of
    :class:`BookUpdate` in time order.

    Parameters
    ----------
    scheduler
        The historic scheduler to replay into; every table is registered now.
    trades
        Trade tables by instrument.
    books
        Book snapshots and deltas by instrument.
    """

    def __init__(
        self,
        scheduler: HistoricNetworkScheduler,
        trades: Mapping[InstrumentId, Any] | None = None,
        books: Mapping[InstrumentId, Iterable[BookUpdate]] | None = None,
    ) -> None:
        self.scheduler = scheduler
        network = scheduler.network
        self._trades: dict[InstrumentId, MutableSignal[Trade]] = {}
        self._book_events: dict[InstrumentId, MutableSignal[BookUpdate]] = {}
        self._books: dict[InstrumentId, Signal[OrderBook]] = {}
        for inst, table in (trades or {}).items():
            signal: MutableSignal[Trade] = MutableSignal(name=f"trades:{inst}")
            batches = map(_standard_trades, _record_batches(table))
            scheduler.replay(signal, batches, rows=TradeRows(inst), name=str(signal))
            self._trades[inst] = signal
        for inst, updates in (books or {}).items():
            events: MutableSignal[BookUpdate] = MutableSignal(name=f"books:{inst}")
            scheduler.replay(events, ((u.ts, u) for u in updates), name=str(events))
            self._book_events[inst] = events
            self._books[inst] = _BookBuilder(network, events, inst)
        self._subscribed: MutableSignal[frozenset[InstrumentId]] = MutableSignal(
            frozenset(self._trades) | frozenset(self._book_events)
        )

    def get_subscribed_instruments(self) -> Signal[frozenset[InstrumentId]]:
        """Return a signal holding every instrument with data."""
        return self._subscribed

    def get_trades(self, instrument: InstrumentId) -> Signal[Trade]:
        """Return ``instrument``'s trade signal.

        Raises
        ------
        UnknownSymbolError
            When no trades were given for it.
        """
        return _lookup(self._trades, instrument, "trades")

    def get_order_book_events(self, instrument: InstrumentId) -> Signal[BookUpdate]:
        """Return ``instrument``'s book-update signal.

        Raises
        ------
        UnknownSymbolError
            When no books were given for it.
        """
        return _lookup(self._book_events, instrument, "books")

    def get_order_books(self, instrument: InstrumentId) -> Signal[OrderBook]:
        """Return ``instrument``'s order-book signal (one live book, updated in place).

        Raises
        ------
        UnknownSymbolError
            When no books were given for it.
        """
        return _lookup(self._books, instrument, "books")


def _lookup(signals: Mapping[InstrumentId, V], instrument: InstrumentId, what: str) -> V:
    try:
        return signals[instrument]
    except KeyError:
        known = ", ".join(sorted(map(str, signals))) or "none"
        raise UnknownSymbolError(f"no {what} for {instrument}; {what} given for: {known}") from None


def _record_batches(table: Any) -> Iterator[Any]:
    import pyarrow as pa

    if type(table).__module__.startswith("pandas"):
        table = pa.Table.from_pandas(table, preserve_index=False)
    if isinstance(table, pa.Table):
        return iter(table.to_batches(65_536))
    if isinstance(table, pa.RecordBatch):
        return iter([table])
    return iter(table)


def _standard_trades(batch: Any) -> Any:
    """Return ``batch`` with the tick store's trade columns, filling optional ones."""
    import pyarrow as pa

    names = batch.schema.names
    missing = [c for c in ("ts", "price", "qty") if c not in names]
    if missing:
        raise InvalidValueError(f"trade table lacks column(s) {missing}; columns are {names}")
    n = batch.num_rows
    ts = batch.column("ts")
    columns = {
        "ts": ts,
        "ts_recv": batch.column("ts_recv") if "ts_recv" in names else ts,
        "trade_id": batch.column("trade_id")
        if "trade_id" in names
        else pa.nulls(n, pa.string()).fill_null(""),
        "side": batch.column("side").cast(pa.int8())
        if "side" in names
        else pa.array([1] * n, pa.int8()),
        "price": batch.column("price").cast(pa.float64()),
        "qty": batch.column("qty").cast(pa.float64()),
    }
    return pa.RecordBatch.from_pydict(columns)
