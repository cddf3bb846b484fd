"""Batch jobs: splay a journal day into the tick store, idempotently.

``splay_day`` reads every trades and book stream of a journal, keeps the records whose venue
time falls on the UTC day, and writes one tick-store version per (table, symbol) with the
day's data-quality facts beside it. A digest of the rows makes it idempotent: re-running a day
whose journal has not changed writes nothing, a changed journal writes a new version. A trade
journalled twice (the same non-empty trade id, e.g. from two recorders of one venue) is
splayed once, the first one journalled, and counted as ``duplicate_trades`` in the quality
facts: the tick store refuses repeated trade ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from serenity.marketdata.journal import BOOK, TRADES
from serenity.marketdata.journal_reader import JournalReader, load_manifest
from serenity.marketdata.manifest import SegmentManifest
from serenity.marketdata.quality import DataQualityEvent
from serenity.marketdata.tickstore import BOOKS_SCHEMA, TRADES_SCHEMA, BlobStore, open_tickstore
from serenity.marketdata.tickstore.args import NS_PER_DAY, day_of, day_start_ns
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import Side

__all__ = ["SplayResult", "journal_days", "splay_day", "table_name"]

log = logging.getLogger(__name__)

_MARGIN_NS: Final = 3_600 * 1_000_000_000  # venue time may trail receive time; look an hour wider
_TABLE_SUFFIX: Final = {TRADES: "TRADES", BOOK: "BOOKS"}


@dataclass(frozen=True, slots=True)
class SplayResult:
    """What splaying one stream's day did.

    Attributes
    ----------
    table, symbol, day
        The tick-store partition.
    rows
        Rows in the partition's version.
    version
        The version now current.
    created
        False when the journal had not changed since the last splay (nothing written).
    quality
        The day's data-quality facts stored with the version.
    """

    table: str
    symbol: str
    day: dt.date
    rows: int
    version: int
    created: bool
    quality: dict[str, Any] = field(default_factory=dict)


def table_name(venue: str, channel: str) -> str:
    """Return the tick-store table of a journal channel, e.g. ``PHEMEX_TRADES``."""
    return f"{venue.upper()}_{_TABLE_SUFFIX[channel]}"


def splay_day(
    journal_dir: str | Path,
    store: str | BlobStore,
    day: dt.date,
    *,
    venue: str | None = None,
    on_stream: Callable[[str], object] | None = None,
) -> list[SplayResult]:
    """Write one UTC day of a journal into the tick store.

    Parameters
    ----------
    journal_dir
        The journal folder.
    store
        The tick store: a URL (``file:///...``, ``azure://container``) or a blob store.
    day
        The UTC day, by venue time (``ts``).
    venue
        Splay only this venue's streams.
    on_stream
        Called with each stream's name as it is done (progress).

    Raises
    ------
    StoreError
        When the tick store cannot be written.
    """
    start = day_start_ns(day)
    end = start + NS_PER_DAY
    results = []
    reader = JournalReader(journal_dir, venue=venue)
    for stream, group in groupby(reader.segments(), key=attrgetter("stream")):
        if stream.channel not in _TABLE_SUFFIX:
            continue
        # size and mtime suffice here: the segments chosen are read next, frame by frame
        manifests = ((seg, load_manifest(seg, verify=False)) for seg in group)
        segments = [seg for seg, m in manifests if _may_hold(m, start, end)]
        if not segments:
            continue
        known_defects = len(reader.defects)
        records = (r for seg in segments for r in reader.read(seg))
        table, quality = _collect(records, stream.channel, start, end)
        quality["defects"] = [str(d) for d in reader.defects[known_defects:]]
        quality["segments"] = [seg.path.name for seg in segments]
        if on_stream is not None:
            on_stream(str(stream))
        if table.num_rows == 0:
            continue
        name = table_name(stream.venue, stream.channel)
        tickstore = open_tickstore(store, name)
        before = tickstore.latest_version(stream.symbol, day)
        metadata = {"digest": _digest(table), "quality": quality, "source": "journal"}
        version = tickstore.insert(stream.symbol, day, table, metadata=metadata, dedupe_on="digest")
        created = before is None or before.version != version
        log.info(
            "splay.partition",
            extra={
                "table": name,
                "symbol": stream.symbol,
                "day": day.isoformat(),
                "rows": table.num_rows,
                "version": version,
                "is_new": created,
            },
        )
        results.append(
            SplayResult(name, stream.symbol, day, table.num_rows, version, created, quality)
        )
    return results


def journal_days(journal_dir: str | Path, *, venue: str | None = None) -> list[dt.date]:
    """Return the UTC market days of a journal's trades and books, by venue time, in order.

    These are the days :func:`splay_day` has rows for: a recording made today of a venue
    that replays 2024 (the demo, a backfill) holds 2024's days, whatever the segment names.

    Parameters
    ----------
    journal_dir
        The journal folder.
    venue
        Only this venue's streams.
    """
    days: set[dt.date] = set()
    reader = JournalReader(journal_dir, venue=venue)
    for segment in reader.segments():
        if segment.stream.channel not in _TABLE_SUFFIX:
            continue
        manifest = load_manifest(segment)
        if manifest.first_ts is None or manifest.last_ts is None:
            continue
        lo, hi = sorted((manifest.first_ts, manifest.last_ts))
        first, last = day_of(lo), day_of(hi)
        days.update(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return sorted(days)


def _may_hold(manifest: SegmentManifest, start: int, end: int) -> bool:
    """Return True when a segment's venue or receive times come near ``[start, end)``."""
    lows = [t for t in (manifest.first_ts, manifest.first_ts_recv) if t is not None]
    highs = [t for t in (manifest.last_ts, manifest.last_ts_recv) if t is not None]
    if not lows or not highs:
        return False
    return min(lows) - _MARGIN_NS < end and max(highs) + _MARGIN_NS >= start


def _collect(
    records: Iterable[object], channel: str, start: int, end: int
) -> tuple[pa.Table, dict[str, Any]]:
    rows: list[Trade | BookUpdate] = []
    faults: list[DataQualityEvent] = []
    seen: set[str] = set()
    duplicates = 0
    for r in records:
        if isinstance(r, Trade | BookUpdate):
            if start <= r.ts < end:
                if isinstance(r, Trade) and r.trade_id:
                    if r.trade_id in seen:
                        duplicates += 1  # the tick store refuses repeats: keep the first
                        continue
                    seen.add(r.trade_id)
                rows.append(r)
        elif isinstance(r, DataQualityEvent):
            faults.append(r)
    rows.sort(key=lambda r: r.ts)  # stable: ties keep journal order
    if channel == TRADES and _are_numbered(rows):
        # backfilled trades are journalled after later ones, often in the same millisecond
        rows.sort(key=lambda r: (r.ts, int(r.trade_id)))  # type: ignore[union-attr]
    table = _trades_table(rows) if channel == TRADES else _books_table(rows)
    quality = _day_quality(faults, rows, start, end)
    if duplicates:
        quality["duplicate_trades"] = duplicates
    return table, quality


def _are_numbered(rows: list[Trade | BookUpdate]) -> bool:
    """Return True when every row is a trade whose id is a decimal number (Binance, Coinbase)."""
    return all(isinstance(r, Trade) and r.trade_id.isdecimal() for r in rows)


def _day_quality(
    faults: list[DataQualityEvent], rows: list[Trade | BookUpdate], start: int, end: int
) -> dict[str, Any]:
    """Return the data-quality facts of the day's rows.

    Events carry our clock (they are detected on receipt), rows are dated by the venue: an
    event belongs to the day when it falls on it or within the receive times of its rows
    (a recording made later than the venue day, or across midnight, keeps its faults).
    """
    lo = min((r.ts_recv for r in rows), default=start)
    hi = max((r.ts_recv for r in rows), default=start)
    kinds: Counter[str] = Counter()
    events: list[dict[str, Any]] = []
    for e in faults:
        if start <= e.ts < end or lo <= e.ts <= hi:
            kinds[str(e.kind)] += 1
            events.append({"kind": str(e.kind), "ts": e.ts, "details": e.details})
    quality: dict[str, Any] = dict(kinds)
    quality["events"] = events[:100]
    return quality


def _trades_table(trades: list[Any]) -> pa.Table:
    return pa.table(
        {
            "ts": [t.ts for t in trades],
            "ts_recv": [t.ts_recv for t in trades],
            "trade_id": [t.trade_id for t in trades],
            "side": [1 if t.side is Side.BUY else -1 for t in trades],
            "price": [t.price for t in trades],
            "qty": [t.qty for t in trades],
            "seq": list(range(1, len(trades) + 1)),
        },
        schema=TRADES_SCHEMA,
    )


def _books_table(updates: list[Any]) -> pa.Table:
    cols: dict[str, list[Any]] = {name: [] for name in BOOKS_SCHEMA.names}
    for u in updates:
        for side, levels in ((1, u.bids), (-1, u.asks)):
            for price, qty in levels:
                cols["ts"].append(u.ts)
                cols["ts_recv"].append(u.ts_recv)
                cols["seq"].append(u.seq)
                cols["is_snapshot"].append(u.is_snapshot)
                cols["side"].append(side)
                cols["price"].append(price)
                cols["qty"].append(qty)
    return pa.table(cols, schema=BOOKS_SCHEMA)


def _digest(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
