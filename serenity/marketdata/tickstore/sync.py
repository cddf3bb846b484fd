"""Copy versions between two tick stores (local to Azure, or back), idempotently.

Sync preserves each version's number, file name and validity time, so the destination answers
every bitemporal query exactly as the source does. A version the destination already has is
skipped; re-running a sync copies nothing. A destination whose version N differs from the
source's version N has diverged: that partition is reported as a conflict and left alone.

The Delta log is not copied: the destination's own log is brought up to date from its indexes
once the versions are in (one commit, or none when nothing changed). A copied log would name
the same files but carry the copy's file times, which Delta's timestamp travel reads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from serenity.errors import InvalidValueError, StoreError
from serenity.marketdata.tickstore.delta import PublishStats
from serenity.marketdata.tickstore.index import VersionIndex, VersionInfo
from serenity.marketdata.tickstore.store import BlobTickstore

__all__ = ["PendingPartition", "SyncPlan", "SyncStats", "plan_sync", "run_sync", "sync"]

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class PendingPartition:
    """The versions of one (symbol, day) that the destination lacks."""

    symbol: str
    date: dt.date
    versions: tuple[VersionInfo, ...]

    @property
    def size_bytes(self) -> int:
        """Return the bytes of data to copy."""
        return sum(v.size_bytes for v in self.versions)


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What a sync of one table will copy, found by comparing the two version indexes."""

    src: BlobTickstore
    dst: BlobTickstore
    pending: tuple[PendingPartition, ...]
    skipped: int
    conflicts: tuple[str, ...]

    @property
    def size_bytes(self) -> int:
        """Return the bytes of data to copy."""
        return sum(p.size_bytes for p in self.pending)

    @property
    def version_count(self) -> int:
        """Return the number of versions to copy."""
        return sum(len(p.versions) for p in self.pending)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncStats:
    """What a sync did; ``published`` is the destination's log update (None: not published)."""

    table: str
    copied: int
    skipped: int
    bytes_copied: int
    conflicts: tuple[str, ...]
    published: PublishStats | None = None


def _same(a: VersionInfo, b: VersionInfo) -> bool:
    return (a.file, a.valid_from_ns, a.rows, a.size_bytes) == (
        b.file,
        b.valid_from_ns,
        b.rows,
        b.size_bytes,
    )


def _missing(src: VersionIndex, dst: VersionIndex) -> list[VersionInfo]:
    """Return the source versions the destination lacks.

    Raises
    ------
    StoreError
        When the two have diverged: a shared number with other content, or validity out of order.
    """
    have = {v.version: v for v in dst.versions}
    for v in src.versions:
        other = have.get(v.version)
        if other is not None and not _same(v, other):
            raise StoreError(
                f"{src.table} {src.symbol} {src.date}: version {v.version} differs between the "
                f"stores (file {v.file} vs {other.file})"
            )
    missing = [v for v in src.versions if v.version not in have]
    try:
        dst.merged(missing)
    except InvalidValueError as exc:
        raise StoreError(f"stores have diverged: {exc}") from exc
    return missing


def plan_sync(src: BlobTickstore, dst: BlobTickstore) -> SyncPlan:
    """Compare the indexes of two stores' copies of one table and return what to copy.

    Raises
    ------
    InvalidValueError
        When the two stores hold different tables.
    """
    if src.table != dst.table:
        raise InvalidValueError(
            f"sync needs one table on both sides, was {src.table} and {dst.table}"
        )
    pending, conflicts, skipped = [], [], 0
    for symbol, day in src.partitions():
        src_index, _ = src.load_index(symbol, day)
        dst_index, _ = dst.load_index(symbol, day)
        try:
            missing = _missing(src_index, dst_index)
        except StoreError as exc:
            conflicts.append(str(exc))
            continue
        skipped += len(src_index.versions) - len(missing)
        if missing:
            pending.append(PendingPartition(symbol, day, tuple(missing)))
    return SyncPlan(src, dst, tuple(pending), skipped, tuple(conflicts))


def _copy_file(plan: SyncPlan, v: VersionInfo) -> int:
    key = plan.src.data_key(v)
    if plan.dst.blobs.size(key) == v.size_bytes:
        return 0  # copied by an earlier, interrupted sync
    with plan.src.blobs.open(key) as source:
        data = source.read()
    if len(data) != v.size_bytes:
        raise StoreError(f"{plan.src.url}/{key}: {len(data)} bytes, the index says {v.size_bytes}")
    plan.dst.blobs.put(key, data)
    return len(data)


def run_sync(plan: SyncPlan, *, progress: Progress | None = None) -> SyncStats:
    """Copy what ``plan`` found missing: data files first, then the index entries.

    Each partition's index is updated with optimistic concurrency, so a sync can run while
    others write to the destination; versions that appeared meanwhile are not copied twice.
    Then the destination's Delta log is published: the synced partitions when it has a log,
    every partition when it has none yet.

    Parameters
    ----------
    plan
        From :func:`plan_sync`.
    progress
        Called with the byte count of each file copied.
    """
    copied = copied_bytes = 0
    skipped = plan.skipped
    conflicts = list(plan.conflicts)
    for part in plan.pending:
        for v in part.versions:
            if not v.is_tombstone:
                n = _copy_file(plan, v)
                copied_bytes += n
                if progress is not None:
                    progress(v.size_bytes)
        added: list[VersionInfo] = []

        def update(
            index: VersionIndex, part: PendingPartition = part, added: list[VersionInfo] = added
        ) -> VersionIndex | None:
            src_index = VersionIndex(plan.src.table, part.symbol, part.date, part.versions)
            fresh = _missing(src_index, index)
            added[:] = fresh
            return index.merged(fresh) if fresh else None

        try:
            plan.dst.commit(part.symbol, part.date, update)
        except StoreError as exc:
            conflicts.append(str(exc))
            continue
        copied += len(added)
        skipped += len(part.versions) - len(added)
    for text in conflicts:
        log.warning("tickstore.sync_conflict", extra={"table": plan.src.table, "detail": text})
    published = None
    if plan.dst.publishes:
        delta = plan.dst.delta_log
        if delta.exists():
            published = delta.publish([(p.symbol, p.date) for p in plan.pending], reason="sync")
        else:
            published = delta.publish(reason="sync")  # build the destination's log
    stats = SyncStats(
        table=plan.src.table,
        copied=copied,
        skipped=skipped,
        bytes_copied=copied_bytes,
        conflicts=tuple(conflicts),
        published=published,
    )
    log.info(
        "tickstore.sync",
        extra={
            "table": stats.table,
            "src": plan.src.url,
            "dst": plan.dst.url,
            "copied": stats.copied,
            "skipped": stats.skipped,
            "bytes": stats.bytes_copied,
            "conflicts": len(stats.conflicts),
        },
    )
    return stats


def sync(src: BlobTickstore, dst: BlobTickstore, *, progress: Progress | None = None) -> SyncStats:
    """Copy every version of one table that ``dst`` lacks from ``src``, keeping numbers and times.

    Idempotent: a second run copies nothing. Diverged partitions are skipped and listed in
    :attr:`SyncStats.conflicts` (and logged as warnings).

    Parameters
    ----------
    src, dst
        The same table in two stores, e.g. ``open_tickstore("file:///data", "PHEMEX_TRADES")``
        and ``open_tickstore("azure://ticks", "PHEMEX_TRADES")``.
    progress
        Called with the byte count of each file copied.

    Raises
    ------
    InvalidValueError
        When the two stores hold different tables.
    StoreError
        When storage fails.
    """
    return run_sync(plan_sync(src, dst), progress=progress)
