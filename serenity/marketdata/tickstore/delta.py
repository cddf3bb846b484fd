"""The Delta Lake log that opens a tick store table to other readers (``<TABLE>/_delta_log``).

Each table's root holds a Delta table, written with the ``deltalake`` package (delta-rs), that
is partitioned by ``symbol`` and ``date`` and whose active files are exactly the Parquet files
of the partitions' current versions: a re-inserted day shows only its newest file, a deleted
day none. Polars, DuckDB, Dask, Spark and delta-rs itself read it without Serenity. The Parquet
files stay Serenity's own (the log only points at them) and the version indexes stay the
authority: the log is derived from them, and :meth:`DeltaLog.publish` rebuilds or repairs it.

After every insert and delete the store makes one commit that removes the partition's previous
current file and adds the new one (or only removes it, for a tombstone). A commit is computed
from the log as read and then from the partition's index read *after* it, and is made at
exactly the next log version (no rebase); when another writer committed first, the commit
fails and is recomputed. So whatever the order of same-day races, the last commit reflects an
index at least as new as every version already published, and the log ends equal to the index.

Delta versions are not Serenity's versions: the log's history starts when the table was first
published (a migrated or synced store's history starts then), and Delta's timestamp travel
reads the commit files' modification times, a few milliseconds after each version's
``valid_from``. Serenity's own ``as_of`` reads stay exact.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson
import pyarrow as pa

from serenity.errors import ConfigError, StoreError
from serenity.marketdata.tickstore.index import VersionInfo
from serenity.marketdata.tickstore.layout import parse_partition_key, partition_folder
from serenity.marketdata.tickstore.schema import TableKind, schema_of
from serenity.secret import redact

if TYPE_CHECKING:
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction

    from serenity.marketdata.tickstore.store import BlobTickstore

__all__ = [
    "DELTA_LOG",
    "PARTITION_COLUMNS",
    "TABLE_CONFIGURATION",
    "DeltaLog",
    "PublishStats",
    "delta_schema",
]

log = logging.getLogger(__name__)

DELTA_LOG: Final = "_delta_log"
"""The log's folder under the table's root."""

PARTITION_COLUMNS: Final = ("symbol", "date")
"""The Delta table's partition columns, named like the hive-style folders."""

TABLE_CONFIGURATION: Final[Mapping[str, str]] = {
    # Keep every commit, so time travel reaches back to the first publish ...
    "delta.logRetentionDuration": "interval 36500 days",
    "delta.enableExpiredLogCleanup": "false",
    # ... and so VACUUM never deletes a replaced version's file, which Serenity still reads.
    "delta.deletedFileRetentionDuration": "interval 36500 days",
}
"""The table properties Serenity's logs are created with."""

_MAX_ATTEMPTS: Final = 50
_FIRST_BACKOFF_S: Final = 0.005
_MAX_BACKOFF_S: Final = 0.25
_PER_PARTITION_LOOKUPS: Final = 16
"""Up to this many partitions are looked up one by one in the log; more read every file."""


def delta_schema(kind: TableKind) -> pa.Schema:
    """Return the Delta table's schema: the kind's columns, then ``symbol`` and ``date``."""
    return (
        schema_of(kind)
        .append(pa.field("symbol", pa.string(), nullable=False))
        .append(pa.field("date", pa.date32(), nullable=False))
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishStats:
    """What a publish did to a table's Delta log.

    Parameters
    ----------
    table
        The table.
    version
        The log's version after publishing.
    created
        Whether this publish created the log.
    added, removed
        Files made active, and files no longer active, by its commit.
    """

    table: str
    version: int
    created: bool = False
    added: int = 0
    removed: int = 0

    @property
    def committed(self) -> bool:
        """Whether the log changed (False: it already matched the indexes)."""
        return self.created or bool(self.added or self.removed)


class _Conflict(Exception):
    """Another writer committed to the log (or created it) first."""


def _deltalake() -> Any:
    try:
        import deltalake
    except ImportError as exc:  # a runtime dependency; only a broken install lacks it
        raise ConfigError(
            "the tick store's Delta log needs deltalake: pip install deltalake"
        ) from exc
    return deltalake


def _relative(uri: str) -> str:
    """Return a data file's path inside the table: ``symbol=S/date=D/<file>``.

    Taken from the end of the URI, since delta-rs may spell the table's root otherwise (a
    local path with its symbolic links resolved, say).
    """
    return "/".join(uri.rsplit("/", 3)[-3:])


class DeltaLog:
    """The Delta Lake log of one tick store table, kept equal to its version indexes.

    Parameters
    ----------
    store
        The table whose files the log lists.
    """

    def __init__(self, store: BlobTickstore) -> None:
        self._store = store
        self._location = store.blobs.object_location(store.table)
        self._schema = delta_schema(store.kind)
        self._lock = threading.Lock()
        self._cached: DeltaTable | None = None
        self._cached_id: str | None = None

    def __repr__(self) -> str:
        return f"DeltaLog({self.uri!r})"

    @property
    def uri(self) -> str:
        """Return the Delta table's URI (a local path or ``az://<container>/<TABLE>``)."""
        return self._location.uri

    def _options(self) -> dict[str, str]:
        return dict(self._location.storage_options)

    def _fail(self, action: str, exc: Exception) -> StoreError:
        # object_store errors quote URLs (never the key); redact covers a SAS in a query.
        return StoreError(f"{self.uri}: cannot {action} the Delta log: {redact(str(exc))}")

    def exists(self) -> bool:
        """Return whether the table has a Delta log."""
        try:
            return bool(_deltalake().DeltaTable.is_deltatable(self.uri, self._options()))
        except (OSError, _deltalake().exceptions.DeltaError) as exc:
            raise self._fail("look for", exc) from exc

    def _identity(self) -> str | None:
        """Return the table id in the log's first commit, or None when there is no log yet."""
        blob = self._store.blobs.read(f"{self._store.table}/{DELTA_LOG}/{0:020d}.json")
        if blob is None:
            return None
        for line in blob.data.splitlines():
            if line.startswith(b'{"metaData"'):
                return str(orjson.loads(line)["metaData"]["id"])
        return ""  # no table id there: not a log this class wrote; never reuse a snapshot

    def _load(self) -> DeltaTable | None:
        """Return the log's newest snapshot, or None when there is no log yet.

        The snapshot of the previous publish is brought up to date with only the commits made
        since, unless the log was rebuilt meanwhile (its first commit then names another table
        id), which a commit after a stale snapshot would leave with a gap in its versions.
        """
        deltalake = _deltalake()
        identity = self._identity()
        try:
            if identity is None and not self.exists():
                self._cached = None
                return None
            if self._cached is not None and identity and identity == self._cached_id:
                self._cached.update_incremental()
                return self._cached
            table: DeltaTable = deltalake.DeltaTable(self.uri, storage_options=self._options())
        except deltalake.exceptions.TableNotFoundError:
            self._cached = None
            return None
        except (OSError, deltalake.exceptions.DeltaError) as exc:
            self._cached = None
            raise self._fail("read", exc) from exc
        self._cached, self._cached_id = table, identity
        return table

    def _active(
        self, table: DeltaTable | None, partitions: list[tuple[str, dt.date]] | None
    ) -> set[str]:
        """Return the active files (paths relative to the table) of ``partitions`` (all)."""
        if table is None:
            return set()
        try:
            if partitions is None or len(partitions) > _PER_PARTITION_LOOKUPS:
                paths = {_relative(uri) for uri in table.file_uris()}
                if partitions is None:
                    return paths
                wanted = set(partitions)
                return {p for p in paths if parse_partition_key(["", *p.split("/")]) in wanted}
            found: set[str] = set()
            for symbol, day in partitions:
                where = [("symbol", "=", symbol), ("date", "=", day.isoformat())]
                uris = table.file_uris(file_pruning_predicate=where)
                found.update(_relative(uri) for uri in uris)
            return found
        except (OSError, _deltalake().exceptions.DeltaError) as exc:
            raise self._fail("read", exc) from exc

    def _current(
        self, partitions: list[tuple[str, dt.date]] | None
    ) -> tuple[dict[str, VersionInfo], dict[str, int]]:
        """Return the current version of each partition by file path, and every known size."""
        current: dict[str, VersionInfo] = {}
        sizes: dict[str, int] = {}
        for symbol, day in self._store.partitions() if partitions is None else partitions:
            index, _ = self._store.load_index(symbol, day)
            folder = partition_folder(symbol, day)
            for v in index.versions:
                if v.file is not None:
                    sizes[f"{folder}/{v.file}"] = v.size_bytes
            latest = index.latest()
            if latest is not None and latest.file is not None:
                current[f"{folder}/{latest.file}"] = latest
        return current, sizes

    def active_files(self) -> list[str]:
        """Return the log's active files, relative to the table's root, sorted (empty: no log).

        Raises
        ------
        StoreError
            When the log cannot be read.
        """
        with self._lock:
            return sorted(self._active(self._load(), None))

    def publish(
        self, partitions: Iterable[tuple[str, dt.date]] | None = None, *, reason: str = "publish"
    ) -> PublishStats:
        """Make the log's active files those of the current versions; commit only a difference.

        Creates the log when there is none. Idempotent: when the log already matches the
        indexes, nothing is committed. Safe beside concurrent writers: a commit that loses a
        race is recomputed from fresh reads.

        Parameters
        ----------
        partitions
            The (symbol, day) partitions to bring up to date; every partition of the table
            (and any file of a partition that no longer exists) when None.
        reason
            What caused the commit (``insert``, ``delete``, ``sync``, ``publish``), recorded
            in its ``commitInfo`` under ``serenity``.

        Raises
        ------
        StoreError
            When the log or an index cannot be read or written, or stays contended.
        """
        wanted = None if partitions is None else sorted(set(partitions))
        delay = _FIRST_BACKOFF_S
        with self._lock:
            for attempt in range(1, _MAX_ATTEMPTS + 1):
                table = self._load()
                have = self._active(table, wanted)  # the log first, then the indexes
                current, sizes = self._current(wanted)
                removes = sorted(have - current.keys())
                adds = [current[p] for p in sorted(current.keys() - have)]
                if table is not None and not removes and not adds:
                    return PublishStats(table=self._store.table, version=table.version())
                try:
                    version = self._commit(table, adds, removes, sizes, reason)
                except StoreError:
                    self._cached = None
                    raise
                except _Conflict:
                    self._cached = None  # read afresh: whoever won may have rebuilt the log
                    log.debug(
                        "tickstore.delta_conflict",
                        extra={"table": self._store.table, "try": attempt},
                    )
                    time.sleep(random.uniform(0.0, delay))
                    delay = min(delay * 2, _MAX_BACKOFF_S)
                    continue
                stats = PublishStats(
                    table=self._store.table,
                    version=version,
                    created=table is None,
                    added=len(adds),
                    removed=len(removes),
                )
                log.info(
                    "tickstore.delta_commit",
                    extra={
                        "table": stats.table,
                        "log_version": stats.version,
                        "added": stats.added,
                        "removed": stats.removed,
                        "reason": reason,
                    },
                )
                return stats
        raise StoreError(
            f"{self.uri}: the Delta log stayed contended for {_MAX_ATTEMPTS} attempts; "
            f"retry with `serenity tickstore publish {self._store.url} --table {self._store.table}`"
        )

    def _add(self, v: VersionInfo) -> AddAction:
        from deltalake.transaction import AddAction

        assert v.file is not None
        stats: dict[str, Any] = {
            "numRecords": v.rows,
            "nullCount": dict.fromkeys(schema_of(self._store.kind).names, 0),
        }
        if v.ts_min is not None and v.ts_max is not None:
            stats["minValues"] = {"ts": v.ts_min}
            stats["maxValues"] = {"ts": v.ts_max}
        return AddAction(
            path=f"{partition_folder(v.symbol, v.date)}/{v.file}",
            size=v.size_bytes,
            partition_values={"symbol": v.symbol, "date": v.date.isoformat()},
            modification_time=v.valid_from_ns // 1_000_000,
            data_change=True,
            stats=orjson.dumps(stats).decode(),
        )

    def _commit(
        self,
        table: DeltaTable | None,
        adds: list[VersionInfo],
        removes: list[str],
        sizes: Mapping[str, int],
        reason: str,
    ) -> int:
        """Commit the difference at exactly the next log version; return that version."""
        deltalake = _deltalake()
        from deltalake.transaction import (
            CommitProperties,
            RemoveAction,
            create_table_with_add_actions,
        )

        published = [
            {"symbol": v.symbol, "date": v.date.isoformat(), "version": v.version}
            for v in adds[:100]
        ]
        props = CommitProperties(
            custom_metadata={"serenity": {"reason": reason, "versions": published}},
            max_commit_retries=0,
        )
        if table is None:
            try:
                create_table_with_add_actions(
                    self.uri,
                    deltalake.Schema.from_arrow(self._schema),
                    [self._add(v) for v in adds],
                    mode="error",
                    partition_by=list(PARTITION_COLUMNS),
                    configuration=dict(TABLE_CONFIGURATION),
                    storage_options=self._options(),
                    commit_properties=props,
                )
            except (OSError, deltalake.exceptions.DeltaError) as exc:
                if self.exists():
                    raise _Conflict from exc  # another writer created it first
                raise self._fail("create", exc) from exc
            return 0
        now_ms = time.time_ns() // 1_000_000
        actions: list[Any] = []
        for path in removes:
            key = parse_partition_key(["", *path.split("/")])
            values: dict[str, str | None] | None = (
                None if key is None else {"symbol": key[0], "date": key[1].isoformat()}
            )
            actions.append(
                RemoveAction(
                    path=path,
                    data_change=True,
                    deletion_timestamp=now_ms,
                    size=sizes.get(path),
                    partition_values=values,
                )
            )
        actions += [self._add(v) for v in adds]
        try:
            table.create_write_transaction(
                actions,
                mode="append",
                schema=table.schema(),
                partition_by=list(PARTITION_COLUMNS),
                commit_properties=props,
            )
        except deltalake.exceptions.CommitFailedError as exc:
            raise _Conflict from exc
        except (OSError, deltalake.exceptions.DeltaError) as exc:
            raise self._fail("commit to", exc) from exc
        return int(table.version()) + 1
