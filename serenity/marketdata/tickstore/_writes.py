"""The write path of a tick-store table: a version's file, its index entry, its publication.

A write stores its Parquet file under a fresh unique name, appends a version to the partition's
index with :meth:`~serenity.marketdata.tickstore.BlobTickstore.commit` (a conditional write,
retried on a lost race), and then publishes the partition's current file to the table's Delta
log. The arguments arrive checked; :class:`~serenity.marketdata.tickstore.BlobTickstore` checks
them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from serenity.errors import StoreError
from serenity.marketdata.tickstore._parquet import encode
from serenity.marketdata.tickstore.index import VersionIndex, VersionInfo

if TYPE_CHECKING:
    from serenity.marketdata.tickstore.store import BlobTickstore

__all__ = ["insert_version", "write_tombstone"]

log = logging.getLogger(__name__)


def insert_version(
    store: BlobTickstore,
    sym: str,
    day: dt.date,
    table: pa.Table,
    meta: dict[str, Any],
    dedupe_on: str | None,
) -> int:
    """Store ``table`` as a new version of a partition and return its number.

    With ``dedupe_on``, nothing is stored when the current version has the same value under
    that metadata key, and the current version's number is returned.
    """

    def same(v: VersionInfo | None) -> bool:
        return (
            dedupe_on is not None
            and v is not None
            and not v.is_tombstone
            and v.metadata.get(dedupe_on) == meta[dedupe_on]
        )

    latest = store.latest_version(sym, day) if dedupe_on is not None else None
    if latest is not None and same(latest):
        _log_unchanged(store, sym, day, latest)
        return latest.version
    file = f"{uuid.uuid4().hex}.parquet"
    buffer = encode(
        table,
        {"serenity.table": store.table, "serenity.symbol": sym, "serenity.date": str(day)},
    )
    key = store.folder(sym, day) + file
    store.blobs.put(key, memoryview(buffer))
    ts = table.column("ts")
    draft = VersionInfo(
        symbol=sym,
        date=day,
        version=1,  # _appended numbers it at commit
        valid_from_ns=0,
        file=file,
        rows=table.num_rows,
        ts_min=ts[0].as_py() if table.num_rows else None,
        ts_max=ts[-1].as_py() if table.num_rows else None,
        size_bytes=buffer.size,
        metadata=meta,
    )

    def update(index: VersionIndex) -> VersionIndex | None:
        if any(v.file == file for v in index.versions):
            return None  # our own write landed although its reply was lost
        if same(index.latest()):
            return None
        return _appended(index, draft)

    committed = store.commit(sym, day, update)
    mine = next((v for v in committed.versions if v.file == file), None)
    if mine is None:
        store.blobs.remove(key)  # an identical version was committed meanwhile
        current = committed.latest()
        assert current is not None  # `same` matched it
        _log_unchanged(store, sym, day, current)
        return current.version
    log.info(
        "tickstore.insert",
        extra={
            "table": store.table,
            "symbol": sym,
            "day": str(day),
            "version": mine.version,
            "rows": mine.rows,
            "bytes": mine.size_bytes,
        },
    )
    _publish_write(store, sym, day, "insert")
    return mine.version


def write_tombstone(store: BlobTickstore, sym: str, day: dt.date, meta: dict[str, Any]) -> int:
    """Append a tombstone to a stored partition (unless it ends in one) and return its number."""
    draft = VersionInfo(symbol=sym, date=day, version=1, valid_from_ns=0, file=None, metadata=meta)

    def update(index: VersionIndex) -> VersionIndex | None:
        latest = index.latest()
        if latest is None or latest.is_tombstone:
            return None
        return _appended(index, draft)

    tombstone = store.commit(sym, day, update).latest()
    assert tombstone is not None  # the day has an index
    log.info(
        "tickstore.delete",
        extra={
            "table": store.table,
            "symbol": sym,
            "day": str(day),
            "version": tombstone.version,
        },
    )
    _publish_write(store, sym, day, "delete")
    return tombstone.version


def _appended(index: VersionIndex, draft: VersionInfo) -> VersionIndex:
    """Return ``index`` with ``draft`` as its next version (number and validity), current now."""
    return index.appended(
        replace(
            draft,
            version=index.next_version(),
            valid_from_ns=index.next_valid_from(time.time_ns()),
        )
    )


def _publish_write(store: BlobTickstore, symbol: str, day: dt.date, reason: str) -> None:
    """Publish a committed write to the Delta log; a failure leaves the version committed."""
    if not store.publishes:
        return
    try:
        store.delta_log.publish([(symbol, day)], reason=reason)
    except StoreError as exc:
        log.error(
            "tickstore.publish_failed",
            extra={
                "table": store.table,
                "symbol": symbol,
                "day": str(day),
                "error": str(exc),
                "repair": f"serenity tickstore publish {store.url} --table {store.table}",
            },
        )


def _log_unchanged(store: BlobTickstore, symbol: str, day: dt.date, v: VersionInfo) -> None:
    log.info(
        "tickstore.insert_unchanged",
        extra={"table": store.table, "symbol": symbol, "day": str(day), "version": v.version},
    )
