"""The tick store: versioned, bitemporal Parquet tables of trades and book deltas.

A table such as ``PHEMEX_TRADES`` or ``BINANCE_BOOKS`` is partitioned by symbol and UTC day in
hive-style folders (``symbol=BTCUSD/date=2024-01-05/``). Every write of a partition is a new
immutable zstd Parquet file and a new version in the partition's version index, which records
when each version became current. Reads return the newest version of each day, or the one
current at an earlier ``as_of``, as pandas, Arrow or Polars. Two backends share one
implementation over the :class:`BlobStore` port: :class:`LocalTickstore` (a directory) and
:class:`AzureBlobTickstore` (Azure Blob Storage); :func:`open_tickstore` picks one from a URL
and :func:`sync` copies versions between them. Each table also keeps a Delta Lake log
(:class:`DeltaLog`) so that Polars, DuckDB, Dask and Spark read its current data without
Serenity.

>>> from serenity.marketdata.tickstore import open_tickstore
>>> store = open_tickstore("file:///tmp/ticks", "PHEMEX_TRADES")
>>> store.kind
<TableKind.TRADES: 'trades'>
"""

from __future__ import annotations

from serenity.marketdata.tickstore.azure import (
    AzureBlobStore,
    AzureBlobTickstore,
    azure_storage_options,
)
from serenity.marketdata.tickstore.blobstore import (
    BlobConflictError,
    BlobStore,
    LocalBlobStore,
    ObjectLocation,
    StoredBlob,
)
from serenity.marketdata.tickstore.delta import DeltaLog, PublishStats
from serenity.marketdata.tickstore.index import VersionIndex, VersionInfo
from serenity.marketdata.tickstore.migrate import MigrateStats, migrate_table
from serenity.marketdata.tickstore.protocol import Tickstore
from serenity.marketdata.tickstore.schema import (
    BOOKS_SCHEMA,
    TRADES_SCHEMA,
    TableKind,
    schema_of,
    table_kind,
)
from serenity.marketdata.tickstore.store import BlobTickstore, LocalTickstore
from serenity.marketdata.tickstore.sync import SyncPlan, SyncStats, plan_sync, run_sync, sync
from serenity.marketdata.tickstore.url import AZURE_ENV, list_tables, open_blobstore, open_tickstore

__all__ = [
    "AZURE_ENV",
    "BOOKS_SCHEMA",
    "TRADES_SCHEMA",
    "AzureBlobStore",
    "AzureBlobTickstore",
    "BlobConflictError",
    "BlobStore",
    "BlobTickstore",
    "DeltaLog",
    "LocalBlobStore",
    "LocalTickstore",
    "MigrateStats",
    "ObjectLocation",
    "PublishStats",
    "StoredBlob",
    "SyncPlan",
    "SyncStats",
    "TableKind",
    "Tickstore",
    "VersionIndex",
    "VersionInfo",
    "azure_storage_options",
    "list_tables",
    "migrate_table",
    "open_blobstore",
    "open_tickstore",
    "plan_sync",
    "run_sync",
    "schema_of",
    "sync",
    "table_kind",
]
