"""The tick store over any :class:`BlobStore`, and its local-directory flavour.

Layout under the store's root (a directory or an Azure container)::

    PHEMEX_TRADES/symbol=BTCUSD/date=2024-01-05/index.json          the version index (JSON)
    PHEMEX_TRADES/symbol=BTCUSD/date=2024-01-05/3f9c...e1.parquet   one file per version
    PHEMEX_TRADES/_delta_log/                                        the Delta Lake log

A write first stores its Parquet file under a fresh unique name, then appends a version to the
index with a conditional write, retrying on a lost race, and then publishes the partition's
current file to the table's Delta log (:mod:`~serenity.marketdata.tickstore.delta`). A crash
after the file leaves an unreferenced file that no read ever sees; a crash after the index
leaves the log a version behind until the next write of the partition or
``serenity tickstore publish``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, overload

import pandas as pd
import pyarrow as pa

from serenity.errors import ConfigError, InvalidValueError, StoreError
from serenity.marketdata.tickstore._parquet import iter_window, read_window, to_frame
from serenity.marketdata.tickstore._writes import insert_version, write_tombstone
from serenity.marketdata.tickstore.args import (
    Instant,
    check_symbol,
    check_table,
    days_overlapping,
    is_table,
    to_day,
    to_ns,
    unknown_symbol,
    unknown_table,
)
from serenity.marketdata.tickstore.blobstore import (
    BlobConflictError,
    BlobStore,
    LocalBlobStore,
    ObjectLocation,
)
from serenity.marketdata.tickstore.delta import DeltaLog
from serenity.marketdata.tickstore.index import VersionIndex, VersionInfo, check_metadata
from serenity.marketdata.tickstore.layout import (
    INDEX_NAME,
    LEGACY_LAYOUT_HINT,
    legacy_folder,
    parse_legacy_key,
    parse_partition_key,
    partition_folder,
)
from serenity.marketdata.tickstore.schema import TableKind, schema_of, table_kind, to_arrow
from serenity.tau import format_ns

if TYPE_CHECKING:
    import polars as pl

    from serenity.marketdata.tickstore.protocol import Tickstore

__all__ = ["INDEX_NAME", "OUTPUTS", "BlobTickstore", "LocalTickstore", "Output"]

log = logging.getLogger(__name__)

Output = Literal["pandas", "arrow", "polars"]
"""What ``select`` and ``scan`` return: pandas, Arrow or Polars."""
OUTPUTS: Final[tuple[Output, ...]] = ("pandas", "arrow", "polars")
_MAX_ATTEMPTS: Final = 50
_FIRST_BACKOFF_S: Final = 0.005
_MAX_BACKOFF_S: Final = 0.25

Update = Callable[[VersionIndex], VersionIndex | None]


def _window(start: Instant, end: Instant) -> tuple[int, int]:
    start_ns, end_ns = to_ns(start, what="start"), to_ns(end, what="end")
    if end_ns <= start_ns:
        raise InvalidValueError(
            f"end must be after start, was start={format_ns(start_ns)} end={format_ns(end_ns)}"
        )
    return start_ns, end_ns


def _meets(v: VersionInfo, start_ns: int, end_ns: int) -> bool:
    return (v.ts_min is None or v.ts_min < end_ns) and (v.ts_max is None or v.ts_max >= start_ns)


def _as_of(as_of: Instant | None) -> int | None:
    return None if as_of is None else to_ns(as_of, what="as_of")


def _output(to: object) -> Output:
    for name in OUTPUTS:
        if to == name:
            return name
    raise InvalidValueError(f"to must be one of {', '.join(map(repr, OUTPUTS))}, was {to!r}")


def _polars() -> Any:
    try:
        import polars
    except ImportError as exc:
        raise ConfigError("to='polars' needs polars: pip install 'serenity[polars]'") from exc
    return polars


class BlobTickstore:
    """A :class:`~serenity.marketdata.tickstore.Tickstore` table kept in a :class:`BlobStore`.

    Parameters
    ----------
    blobs
        Where the files and indexes live.
    table
        The table, e.g. ``PHEMEX_TRADES``; its suffix decides the schema.
    publish
        Publish every insert and delete to the table's Delta log (the default). A bulk load
        may turn it off and run :meth:`DeltaLog.publish` once at the end.

    Raises
    ------
    InvalidValueError
        For a table name that does not end in ``_TRADES`` or ``_BOOKS``.
    """

    def __init__(self, blobs: BlobStore, table: str, *, publish: bool = True) -> None:
        self._blobs = blobs
        self._table = check_table(table)
        self._kind = table_kind(table)
        self._publish = publish
        self._delta_log: DeltaLog | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, {self._table!r})"

    @property
    def table(self) -> str:
        """Return the table name."""
        return self._table

    @property
    def kind(self) -> TableKind:
        """Return what the table holds."""
        return self._kind

    @property
    def url(self) -> str:
        """Return the store's URL, free of secrets."""
        return self._blobs.url

    @property
    def blobs(self) -> BlobStore:
        """Return the blob store underneath (for sync and maintenance)."""
        return self._blobs

    @property
    def publishes(self) -> bool:
        """Return whether inserts and deletes publish to the table's Delta log."""
        return self._publish

    @property
    def delta_log(self) -> DeltaLog:
        """Return the table's Delta Lake log (``<TABLE>/_delta_log``)."""
        if self._delta_log is None:
            self._delta_log = DeltaLog(self)
        return self._delta_log

    @property
    def location(self) -> ObjectLocation:
        """Return where Polars, deltalake, Dask or DuckDB find the table, with storage options.

        Examples
        --------
        >>> import polars as pl  # doctest: +SKIP
        >>> where = store.location  # doctest: +SKIP
        >>> pl.scan_delta(where.uri, storage_options=dict(where.storage_options))  # doctest: +SKIP
        """
        return self._blobs.object_location(self._table)

    # -- keys and indexes ---------------------------------------------------------------------

    def folder(self, symbol: str, day: dt.date) -> str:
        """Return the key prefix of one partition, ending in ``/``."""
        return f"{self._table}/{partition_folder(symbol, day)}/"

    def _legacy_layout(self) -> StoreError:
        return StoreError(f"{self.url}: {self._table} " + LEGACY_LAYOUT_HINT.format(url=self.url))

    def data_key(self, version: VersionInfo) -> str:
        """Return the key of a version's Parquet file.

        Raises
        ------
        InvalidValueError
            For a tombstone, which has no file.
        """
        if version.file is None:
            raise InvalidValueError(f"version {version.version} is a tombstone; it has no file")
        return self.folder(version.symbol, version.date) + version.file

    def load_index(self, symbol: str, day: dt.date) -> tuple[VersionIndex, str | None]:
        """Return a partition's index and its entity tag (None when there is no index yet)."""
        blob = self._blobs.read(self.folder(symbol, day) + INDEX_NAME)
        if blob is None:
            return VersionIndex(self._table, symbol, day), None
        index = VersionIndex.decode(blob.data, table=self._table, symbol=symbol, date=day)
        return index, blob.etag

    def commit(self, symbol: str, day: dt.date, update: Update) -> VersionIndex:
        """Apply ``update`` to a partition's index with optimistic concurrency.

        ``update`` gets the current index and returns the new one, or None to change nothing.
        It is called again with a fresh index whenever another writer got in first.

        Returns
        -------
        VersionIndex
            The index as written, or as found when ``update`` returned None.

        Raises
        ------
        StoreError
            When the index stays contended for every attempt.
        """
        key = self.folder(symbol, day) + INDEX_NAME
        delay = _FIRST_BACKOFF_S
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            index, etag = self.load_index(symbol, day)
            new = update(index)
            if new is None:
                return index
            legacy = f"{self._table}/{legacy_folder(symbol, day)}/{INDEX_NAME}"
            if etag is None and self._blobs.size(legacy) is not None:
                raise self._legacy_layout()  # a new index would hide the old one's versions
            try:
                self._blobs.write(key, new.encode(), etag=etag)
            except BlobConflictError:
                log.debug(
                    "tickstore.index_conflict",
                    extra={"table": self._table, "symbol": symbol, "day": str(day), "try": attempt},
                )
                time.sleep(random.uniform(0.0, delay))
                delay = min(delay * 2, _MAX_BACKOFF_S)
                continue
            return new
        raise StoreError(
            f"{self.url}: the index of {self._table} {symbol} {day} stayed contended for "
            f"{_MAX_ATTEMPTS} attempts; retry later"
        )

    def partitions(self, symbol: str | None = None) -> list[tuple[str, dt.date]]:
        """Return every (symbol, day) with a version index, deleted days included, sorted.

        One listing of the table (or of one symbol's folder); no index is read.

        Raises
        ------
        StoreError
            When the table still has partitions in the old ``<SYMBOL>/<DATE>/`` layout.
        """
        prefix = f"{self._table}/"
        if symbol is not None:
            prefix += f"symbol={check_symbol(symbol)}/"
        found = []
        for key in self._blobs.list_keys(prefix):
            parts = key.split("/")
            if len(parts) != 4 or parts[3] != INDEX_NAME:
                continue
            partition = parse_partition_key(parts)
            if partition is not None:
                found.append(partition)
            elif parse_legacy_key(parts) is not None:
                raise self._legacy_layout()
        return sorted(found)

    def _days(self, symbol: str) -> list[dt.date]:
        return [day for _, day in self.partitions(symbol)]

    def _require_days(self, symbol: str) -> list[dt.date]:
        days = self._days(symbol)
        if not days:
            symbols = self.symbols()
            if not symbols:
                tables = [t for t in self._blobs.children("") if is_table(t) and t != self._table]
                raise unknown_table(self._table, self.url, tables)
            raise unknown_symbol(symbol, self._table, symbols)
        return days

    # -- writes -------------------------------------------------------------------------------

    def insert(
        self,
        symbol: str,
        date: dt.date | str,
        data: pd.DataFrame | pa.Table,
        *,
        metadata: Mapping[str, Any] | None = None,
        dedupe_on: str | None = None,
    ) -> int:
        """Store one UTC day of rows as a new version; see :meth:`Tickstore.insert`."""
        sym, day = check_symbol(symbol), to_day(date)
        meta = check_metadata(metadata)
        if dedupe_on is not None and dedupe_on not in meta:
            raise InvalidValueError(
                f"dedupe_on={dedupe_on!r} is not a metadata key; keys are {sorted(meta)}"
            )
        return insert_version(self, sym, day, to_arrow(data, self._kind, day), meta, dedupe_on)

    def delete(
        self, symbol: str, date: dt.date | str, *, metadata: Mapping[str, Any] | None = None
    ) -> int:
        """Write a tombstone version for a day; see :meth:`Tickstore.delete`."""
        sym, day = check_symbol(symbol), to_day(date)
        meta = check_metadata(metadata)
        days = self._require_days(sym)
        if day not in days:
            raise InvalidValueError(
                f"{self._table} has no {sym} data on {day} to delete; "
                f"stored days run {days[0]} to {days[-1]}"
            )
        return write_tombstone(self, sym, day, meta)

    # -- reads --------------------------------------------------------------------------------

    def versions(self, symbol: str, date: dt.date | str) -> list[VersionInfo]:
        """Return every version of one day, oldest first; see :meth:`Tickstore.versions`."""
        sym, day = check_symbol(symbol), to_day(date)
        index, _ = self.load_index(sym, day)
        if not index.versions:
            self._require_days(sym)
        return list(index.versions)

    def latest_version(self, symbol: str, date: dt.date | str) -> VersionInfo | None:
        """Return the newest version of one day, or None; see :meth:`Tickstore.latest_version`."""
        return self.load_index(check_symbol(symbol), to_day(date))[0].latest()

    def symbols(self) -> list[str]:
        """Return the symbols with stored history, sorted."""
        return sorted({symbol for symbol, _ in self.partitions()})

    def dates(self, symbol: str, as_of: Instant | None = None) -> list[dt.date]:
        """Return the days holding data now, or as of an instant; see :meth:`Tickstore.dates`."""
        sym = check_symbol(symbol)
        return [v.date for v in self._current(sym, self._require_days(sym), _as_of(as_of))]

    def resolve(
        self, symbol: str, start: Instant, end: Instant, as_of: Instant | None = None
    ) -> list[VersionInfo]:
        """Return the version each day of a window is read from; see :meth:`Tickstore.resolve`."""
        sym = check_symbol(symbol)
        start_ns, end_ns = _window(start, end)
        return self._resolve(sym, start_ns, end_ns, _as_of(as_of))

    def _resolve(
        self, symbol: str, start_ns: int, end_ns: int, as_of_ns: int | None
    ) -> list[VersionInfo]:
        wanted = set(days_overlapping(start_ns, end_ns))
        days = [day for day in self._require_days(symbol) if day in wanted]
        return self._current(symbol, days, as_of_ns)

    def _current(
        self, symbol: str, days: Sequence[dt.date], as_of_ns: int | None
    ) -> list[VersionInfo]:
        """Return the version current at ``as_of_ns`` of each of ``days`` that holds data then."""
        current = (self.load_index(symbol, day)[0].current_at(as_of_ns) for day in days)
        return [v for v in current if v is not None and not v.is_tombstone]

    def _columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        names = schema_of(self._kind).names
        cols = [columns] if isinstance(columns, str) else list(columns)
        bad = [c for c in cols if c not in names]
        if bad or not cols:
            raise InvalidValueError(f"columns must be among {names}, was {cols}")
        return cols

    def _plan(
        self, symbol: str, start: Instant, end: Instant, as_of: Instant | None
    ) -> tuple[list[VersionInfo], int, int]:
        sym = check_symbol(symbol)
        start_ns, end_ns = _window(start, end)
        chosen = self._resolve(sym, start_ns, end_ns, _as_of(as_of))
        needed = [v for v in chosen if v.rows and _meets(v, start_ns, end_ns)]
        return needed, start_ns, end_ns

    def _sources(self, needed: Sequence[VersionInfo]) -> Iterator[tuple[pa.NativeFile, str]]:
        """Yield each version's open file and where it is, closing it when the next is asked."""
        for v in needed:
            key = self.data_key(v)
            with self._blobs.open(key) as source:
                yield source, f"{self.url}/{key}"

    @overload
    def select(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Literal["pandas"] = "pandas",
    ) -> pd.DataFrame: ...

    @overload
    def select(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Literal["arrow"],
    ) -> pa.Table: ...

    @overload
    def select(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Literal["polars"],
    ) -> pl.DataFrame: ...

    def select(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Output = "pandas",
    ) -> pd.DataFrame | pa.Table | pl.DataFrame:
        """Return the rows with ``start <= ts < end``; see :meth:`Tickstore.select`."""
        output = _output(to)
        cols = self._columns(columns)
        needed, start_ns, end_ns = self._plan(symbol, start, end, as_of)
        parts = [
            read_window(source, start_ns, end_ns, where=where, columns=cols)
            for source, where in self._sources(needed)
        ]
        schema = schema_of(self._kind)
        empty = schema.empty_table() if cols is None else schema.empty_table().select(cols)
        table = pa.concat_tables(parts) if parts else empty
        if output == "arrow":
            return table
        if output == "polars":
            return _polars().from_arrow(table, rechunk=False)
        return to_frame(table)

    @overload
    def scan(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Literal["arrow"] = "arrow",
    ) -> Iterator[pa.RecordBatch]: ...

    @overload
    def scan(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Literal["pandas"],
    ) -> Iterator[pd.DataFrame]: ...

    @overload
    def scan(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Literal["polars"],
    ) -> Iterator[pl.DataFrame]: ...

    def scan(
        self,
        symbol: str,
        start: Instant,
        end: Instant,
        as_of: Instant | None = None,
        *,
        columns: Sequence[str] | None = None,
        to: Output = "arrow",
    ) -> Iterator[pa.RecordBatch] | Iterator[pd.DataFrame] | Iterator[pl.DataFrame]:
        """Yield the rows of :meth:`select` one row group at a time; see :meth:`Tickstore.scan`."""
        output = _output(to)
        convert = _polars().from_arrow if output == "polars" else None
        cols = self._columns(columns)
        needed, start_ns, end_ns = self._plan(symbol, start, end, as_of)

        def batches() -> Iterator[pa.RecordBatch]:
            for source, where in self._sources(needed):
                yield from iter_window(source, start_ns, end_ns, where=where, columns=cols)

        if output == "pandas":
            return (to_frame(pa.Table.from_batches([b])) for b in batches())
        if convert is not None:
            return (convert(b, rechunk=False) for b in batches())
        return batches()


class LocalTickstore(BlobTickstore):
    """A tick store table in a local directory (see :class:`LocalBlobStore`).

    Parameters
    ----------
    root
        The store's directory; ``table`` is a sub-directory of it.
    table
        The table, e.g. ``PHEMEX_TRADES``.

    Examples
    --------
    >>> store = LocalTickstore("/tmp/ticks", "PHEMEX_TRADES")  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str], table: str, *, publish: bool = True) -> None:
        super().__init__(LocalBlobStore(root), table, publish=publish)


if TYPE_CHECKING:

    def _conforms(store: BlobTickstore) -> Tickstore:
        return store  # mypy checks that BlobTickstore implements the Tickstore protocol
