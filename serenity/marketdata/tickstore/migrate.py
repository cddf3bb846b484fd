"""Move a store from the old ``<SYMBOL>/<DATE>/`` folders to ``symbol=<SYMBOL>/date=<DATE>/``.

Stores written before hive-style partitions kept each partition in ``<TABLE>/<SYMBOL>/<DATE>/``.
:func:`migrate_table` moves one table, partition by partition, in an order that loses nothing
wherever it is interrupted, and is safe to run again (it resumes where it stopped):

1. copy every Parquet file of the old folder to the new one (a hard link locally), skipping
   those already there, and check that every version's file is in the new folder;
2. write the version index to the new folder unchanged, unless it is already there (a copy
   made by an interrupted run, perhaps with versions appended since);
3. remove the old data files, then the old index last, so an old folder that still has an
   index is always complete in the new folder too.

Then the table's Delta log is published from the moved indexes. Until a table is migrated the
store refuses to read it or to create a new-layout partition beside an old one, naming
``serenity tickstore migrate``. Stop writers first; a migration only moves files, so version
numbers, validity times and ``as_of`` reads are unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from serenity.errors import StoreError
from serenity.marketdata.tickstore.args import check_table
from serenity.marketdata.tickstore.blobstore import BlobConflictError, BlobStore, LocalBlobStore
from serenity.marketdata.tickstore.delta import PublishStats
from serenity.marketdata.tickstore.index import VersionIndex
from serenity.marketdata.tickstore.layout import (
    INDEX_NAME,
    legacy_folder,
    parse_legacy_key,
    partition_folder,
)
from serenity.marketdata.tickstore.store import BlobTickstore

__all__ = ["MigrateStats", "legacy_partitions", "migrate_partition", "migrate_table"]

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class MigrateStats:
    """What a migration of one table did.

    Parameters
    ----------
    table
        The table.
    partitions
        Old-layout partitions moved by this run (0 when the table was already migrated).
    files
        Data files copied (or linked) to the new folders by this run.
    published
        What publishing the table's Delta log did.
    """

    table: str
    partitions: int
    files: int
    published: PublishStats


def legacy_partitions(blobs: BlobStore, table: str) -> dict[tuple[str, dt.date], list[str]]:
    """Return the old-layout partitions of a table and the names in each folder, sorted."""
    found: dict[tuple[str, dt.date], list[str]] = {}
    for key in blobs.list_keys(f"{check_table(table)}/"):
        parts = key.split("/")
        partition = parse_legacy_key(parts)
        if partition is not None:
            found.setdefault(partition, []).append(parts[3])
    return dict(sorted(found.items()))


def _copy(blobs: BlobStore, src: str, dst: str) -> int:
    """Copy one immutable data file unless it is already there; return 1 if copied."""
    have, size = blobs.size(dst), blobs.size(src)
    if have is not None:
        if size is None or have == size:
            return 0
        raise StoreError(f"{blobs.url}: {dst} has {have} bytes but {src} has {size}; not moved")
    if size is None:
        return 0  # gone meanwhile; the index check below says whether it mattered
    if isinstance(blobs, LocalBlobStore):
        target = blobs.root / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(blobs.root / src, target)  # atomic, and no bytes copied
        except FileExistsError:
            return 0
        except OSError:
            blobs.put(dst, (blobs.root / src).read_bytes())  # another file system
        return 1
    with blobs.open(src) as source:
        blobs.put(dst, source.read())
    return 1


def _move_index(blobs: BlobStore, table: str, symbol: str, day: dt.date, data: bytes) -> None:
    """Write the old index to the new folder, or check the copy an earlier run wrote."""
    key = f"{table}/{partition_folder(symbol, day)}/{INDEX_NAME}"
    old = VersionIndex.decode(data, table=table, symbol=symbol, date=day)
    current = blobs.read(key)
    if current is None:
        try:
            blobs.write(key, data, etag=None)
            return
        except BlobConflictError:
            current = blobs.read(key)
            assert current is not None
    new = VersionIndex.decode(current.data, table=table, symbol=symbol, date=day)
    if new.versions[: len(old.versions)] != old.versions:
        raise StoreError(
            f"{blobs.url}: {table} {symbol} {day} has different versions in the old and the "
            f"new folder ({len(old.versions)} and {len(new.versions)}); both are left as they are"
        )


def _tidy_local(blobs: BlobStore, table: str) -> None:
    """Remove the old folders' lock and temporary files and the emptied folders."""
    if not isinstance(blobs, LocalBlobStore):
        return
    base = blobs.root / table
    if not base.is_dir():
        return
    for symbol_dir in sorted(base.iterdir()):
        name = symbol_dir.name
        if not symbol_dir.is_dir() or "=" in name or name.startswith("_"):
            continue
        for day_dir in sorted(p for p in symbol_dir.iterdir() if p.is_dir()):
            if (day_dir / INDEX_NAME).exists():
                continue  # not moved yet
            for leftover in day_dir.iterdir():
                if leftover.name.endswith((".lock", ".tmp")):
                    leftover.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                day_dir.rmdir()
        with contextlib.suppress(OSError):
            symbol_dir.rmdir()


def migrate_partition(
    blobs: BlobStore, table: str, symbol: str, day: dt.date, names: list[str]
) -> int:
    """Move one old-layout partition (``names`` in its folder); return the files copied.

    Raises
    ------
    StoreError
        When a version's file is in neither folder, or the two indexes disagree.
    """
    old = f"{table}/{legacy_folder(symbol, day)}/"
    new = f"{table}/{partition_folder(symbol, day)}/"
    stored = blobs.read(old + INDEX_NAME)
    copied = sum(_copy(blobs, old + n, new + n) for n in names if n.endswith(".parquet"))
    if stored is not None:
        index = VersionIndex.decode(stored.data, table=table, symbol=symbol, date=day)
        for v in index.versions:
            if v.file is not None and blobs.size(new + v.file) != v.size_bytes:
                raise StoreError(
                    f"{blobs.url}: version {v.version} of {table} {symbol} {day} has no file "
                    f"{v.file} of {v.size_bytes} bytes in {old} or {new}"
                )
        _move_index(blobs, table, symbol, day, stored.data)
    for name in names:
        if name != INDEX_NAME:
            blobs.remove(old + name)
    if stored is not None:
        blobs.remove(old + INDEX_NAME)  # last: an old folder with an index is complete
    log.info(
        "tickstore.migrated",
        extra={"table": table, "symbol": symbol, "day": str(day), "copied": copied},
    )
    return copied


def migrate_table(
    blobs: BlobStore, table: str, *, progress: Progress | None = None
) -> MigrateStats:
    """Move every old-layout partition of a table, then publish the table's Delta log.

    Resumable and idempotent: a second run moves nothing and commits nothing.

    Parameters
    ----------
    blobs
        The store, e.g. ``open_blobstore("file:///data/ticks")``.
    table
        The table, e.g. ``PHEMEX_TRADES``.
    progress
        Called with 1 after each partition.

    Raises
    ------
    StoreError
        When a partition cannot be moved without losing a version (it is left as it is).
    """
    name = check_table(table)
    moved = copied = 0
    for (symbol, day), names in legacy_partitions(blobs, name).items():
        copied += migrate_partition(blobs, name, symbol, day, names)
        moved += 1
        if progress is not None:
            progress(1)
    _tidy_local(blobs, name)
    published = BlobTickstore(blobs, name).delta_log.publish(reason="migrate")
    stats = MigrateStats(table=name, partitions=moved, files=copied, published=published)
    log.info(
        "tickstore.migrate",
        extra={"table": name, "store": blobs.url, "partitions": moved, "copied": copied},
    )
    return stats
