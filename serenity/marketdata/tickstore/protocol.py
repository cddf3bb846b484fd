"""The :class:`Tickstore` port: one table of versioned, bitemporal tick data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload, runtime_checkable

import pandas as pd
import pyarrow as pa

from serenity.marketdata.tickstore.args import Instant
from serenity.marketdata.tickstore.index import VersionInfo
from serenity.marketdata.tickstore.schema import TableKind

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Tickstore"]


@runtime_checkable
class Tickstore(Protocol):
    """One table (``PHEMEX_TRADES``, ``BINANCE_BOOKS``, ...) of a tick store.

    Data is partitioned by symbol and UTC day. Each write of a partition is a new immutable
    Parquet file and a new *version*; the partition's version index records when each version
    became current, so reads can ask for the data as it was at any earlier instant.

    Times (``start``, ``end``, ``as_of``) are aware datetimes, int ns since the epoch UTC, ISO
    strings with ``Z`` or an offset, or UTC days (``date`` or ``YYYY-MM-DD``) meaning their
    midnight. Naive datetimes are refused with :class:`~serenity.InvalidValueError`.
    """

    @property
    def table(self) -> str:
        """Return the table name, e.g. ``PHEMEX_TRADES``."""
        ...

    @property
    def kind(self) -> TableKind:
        """Return what the table holds: trades or book deltas."""
        ...

    @property
    def url(self) -> str:
        """Return the store's URL, free of secrets."""
        ...

    def insert(
        self,
        symbol: str,
        date: dt.date | str,
        data: pd.DataFrame | pa.Table,
        *,
        metadata: Mapping[str, Any] | None = None,
        dedupe_on: str | None = None,
    ) -> int:
        """Store one UTC day of rows as a new version and return its number.

        Parameters
        ----------
        symbol
            The symbol, e.g. ``BTCUSD``.
        date
            The UTC day every row's ``ts`` falls on.
        data
            The rows, with exactly the table kind's columns (see
            :data:`~serenity.marketdata.tickstore.schema.TRADES_SCHEMA`), sorted by ``ts``.
        metadata
            JSON-serialisable facts kept with the version (data quality, a source ``digest``).
        dedupe_on
            A metadata key; when the current version has the same value under it, nothing is
            written and the current version's number is returned (idempotent batch jobs).

        Raises
        ------
        DataError
            For rows that do not fit the schema; nothing is written.
        InvalidValueError
            For a bad symbol, day or metadata.
        StoreError
            When storage fails.
        """
        ...

    def delete(
        self, symbol: str, date: dt.date | str, *, metadata: Mapping[str, Any] | None = None
    ) -> int:
        """Write a tombstone version for a day and return its number; history stays readable.

        Raises
        ------
        InvalidValueError
            When the day has never been stored.
        UnknownSymbolError
            When the symbol has no data at all.
        """
        ...

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
        to: Literal["pandas", "arrow", "polars"] = "pandas",
    ) -> pd.DataFrame | pa.Table | pl.DataFrame:
        """Return the rows with ``start <= ts < end``, sorted by ``ts``.

        Each day in the window is read from its newest version, or from the version that was
        current at ``as_of``. Deleted days contribute nothing.

        Parameters
        ----------
        symbol
            The symbol.
        start, end
            The window, ``start`` inclusive and ``end`` exclusive.
        as_of
            Read the data as it was stored at this instant; the newest versions when None.
        columns
            Only these columns (``ts`` is always used to cut the window).
        to
            ``"pandas"`` (a DataFrame, the default), ``"arrow"`` (a :class:`pyarrow.Table`,
            the columns as read from Parquet) or ``"polars"`` (a ``polars.DataFrame``, built
            from the Arrow columns without a detour through Python objects; needs the
            ``polars`` extra).

        Raises
        ------
        InvalidValueError
            For naive or malformed times, ``end <= start``, or an unknown ``to``.
        UnknownSymbolError
            When the symbol has no data in the table.
        ConfigError
            For ``to="polars"`` without polars installed.
        """
        ...

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
        to: Literal["pandas", "arrow", "polars"] = "arrow",
    ) -> Iterator[pa.RecordBatch] | Iterator[pd.DataFrame] | Iterator[pl.DataFrame]:
        """Yield the rows of :meth:`select` lazily, one row group at a time, in ``ts`` order.

        Memory is bounded by a row group, whatever the window; ``scheduler.replay`` takes the
        iterator as it is. ``to`` picks the type of each piece: Arrow record batches (the
        default), pandas DataFrames or Polars DataFrames.
        """
        ...

    def resolve(
        self, symbol: str, start: Instant, end: Instant, as_of: Instant | None = None
    ) -> list[VersionInfo]:
        """Return the versions a :meth:`select` of the same arguments reads, one per day."""
        ...

    def versions(self, symbol: str, date: dt.date | str) -> list[VersionInfo]:
        """Return every version of one day, oldest first (empty when never stored)."""
        ...

    def latest_version(self, symbol: str, date: dt.date | str) -> VersionInfo | None:
        """Return the newest version of one day (maybe a tombstone), or None."""
        ...

    def symbols(self) -> list[str]:
        """Return the symbols with stored history, sorted."""
        ...

    def dates(self, symbol: str, as_of: Instant | None = None) -> list[dt.date]:
        """Return the days holding data (not deleted) now, or as of an instant, sorted."""
        ...
