"""Reading a journal back: records in order, stopping cleanly at a torn or corrupt tail."""

from __future__ import annotations

import base64
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serenity.errors import DataError
from serenity.marketdata._codec import (
    MAGIC,
    Record,
    check_tail,
    decode_header,
    decode_record,
    iter_frames,
)
from serenity.marketdata._layout import NS_PER_HOUR, Segment, StreamKey, find_segments, find_streams
from serenity.marketdata.manifest import (
    SegmentManifest,
    read_manifest_file,
    write_manifest_file,
)
from serenity.marketdata.quality import DataQualityEvent, RawFrame
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import InstrumentId

__all__ = [
    "JournalDefect",
    "JournalReader",
    "journal_time",
    "load_manifest",
    "rebuild_manifest",
    "record_to_dict",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JournalDefect:
    """Where and why reading a segment stopped early.

    Attributes
    ----------
    path
        The segment file.
    offset
        Byte offset of the first frame that could not be read; every record before it was
        read.
    reason
        What was wrong, e.g. ``torn record (12 of 40 payload bytes)`` or
        ``checksum mismatch``.
    trailing_bytes
        Bytes from ``offset`` to the end of the file, not read.
    """

    path: Path
    offset: int
    reason: str
    trailing_bytes: int

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.reason} at offset {self.offset} "
            f"({self.trailing_bytes} bytes not read)"
        )


def journal_time(record: Record) -> int:
    """Return the time a record is filed under: ``ts`` for events, else ``ts_recv``."""
    return record.ts if isinstance(record, DataQualityEvent) else record.ts_recv


def _scan(
    segment: Segment, defects: list[JournalDefect], data: bytes | None = None
) -> Iterator[Record]:
    """Yield a segment's records (read from ``data`` when given); note a defect if it ends early."""
    path = segment.path
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            defects.append(JournalDefect(path, 0, f"unreadable: {exc}", 0))
            return
    size = len(data)
    if not data.startswith(MAGIC):
        reason = "torn segment header" if MAGIC.startswith(data) else "not a journal segment"
        defects.append(JournalDefect(path, 0, reason, size))
        return
    frames = iter_frames(data, len(MAGIC))
    first = next(frames, None)
    if first is None:
        tail = check_tail(data, len(MAGIC)) or "missing segment header"
        defects.append(JournalDefect(path, len(MAGIC), tail, size - len(MAGIC)))
        return
    try:
        header = decode_header(first[1])
    except DataError as exc:
        defects.append(JournalDefect(path, len(MAGIC), str(exc), size - len(MAGIC)))
        return
    instrument = InstrumentId(header.venue, header.symbol)
    channel = header.channel
    pos = len(MAGIC) + 8 + len(first[1])
    for offset, payload in frames:
        try:
            record = decode_record(payload, instrument, channel)
        except DataError as exc:
            defects.append(JournalDefect(path, offset, str(exc), size - offset))
            return
        pos = offset + 8 + len(payload)
        yield record
    torn = check_tail(data, pos)
    if torn is not None:
        defects.append(JournalDefect(path, pos, torn, size - pos))


def rebuild_manifest(segment: Segment, data: bytes | None = None) -> SegmentManifest:
    """Return the manifest of ``segment`` computed from its records (not sealed).

    Parameters
    ----------
    segment
        The segment.
    data
        Its bytes, when the caller has read them already.
    """
    if data is None:
        try:
            data = segment.path.read_bytes()
        except OSError:
            data = None
    key = segment.stream
    manifest = SegmentManifest(
        venue=key.venue,
        channel=key.channel,
        symbol=key.symbol,
        segment=segment.path.name,
        hour=segment.hour,
    )
    defects: list[JournalDefect] = []
    for record in _scan(segment, defects, data):
        if isinstance(record, DataQualityEvent):
            manifest.observe_event(record)
        elif isinstance(record, RawFrame):
            manifest.observe_raw(record.ts_recv)
        else:
            kind = "trade" if isinstance(record, Trade) else "book"
            manifest.observe_market_data(kind, record.ts, record.ts_recv)
    manifest.segment_bytes = len(data) if data is not None else 0
    manifest.segment_crc32 = zlib.crc32(data) if data is not None else None
    if defects:
        manifest.defect = {"offset": defects[0].offset, "reason": defects[0].reason}
    return manifest


def load_manifest(
    segment: Segment, *, persist: bool = False, verify: bool = True
) -> SegmentManifest:
    """Return the manifest of ``segment``, rebuilt from the segment when missing or stale.

    A stored manifest is fresh when its ``segment_bytes`` equal the segment's size and its
    ``segment_crc32`` the CRC-32 of the segment's bytes. A segment that changed after it was
    sealed (damaged in place) is logged as ``journal.segment_changed``, and its rebuilt
    manifest names the first bad frame in ``defect``.

    Parameters
    ----------
    segment
        The segment.
    persist
        Write a rebuilt manifest beside the segment (needs write access).
    verify
        Check the CRC-32 (reads the whole segment). With False a manifest whose size and
        modification time both match is trusted unread: for callers that read the segment
        next anyway, whose frame checksums then catch damage.

    Raises
    ------
    StoreError
        When ``persist`` and the manifest cannot be written.
    """
    path = segment.path
    stored = read_manifest_file(path)
    try:
        st = path.stat()
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime = -1, None
    data: bytes | None = None
    if stored is not None and stored.segment_bytes == size:
        if not verify and mtime is not None and stored.segment_mtime_ns == mtime:
            return stored
        if stored.segment_crc32 is None and not verify:
            return stored  # a manifest from before checksums: judged by size, as then
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        if data is not None and zlib.crc32(data) == stored.segment_crc32:
            return stored
        if stored.sealed and stored.segment_crc32 is not None:
            log.warning(
                "journal.segment_changed",
                extra={"path": str(path), "reason": "CRC-32 differs from the sealed manifest's"},
            )
    manifest = rebuild_manifest(segment, data)
    if persist:
        write_manifest_file(path, manifest)
    log.debug("journal.manifest_rebuilt", extra={"path": str(path)})
    return manifest


class JournalReader:
    """Read a journal folder: streams, segments, manifests and records.

    Records of a stream come in the order they were written; streams come one after
    another, sorted by (venue, channel, symbol). A segment that ends in a torn or corrupt
    frame yields every record before it; the reader then records a :class:`JournalDefect`
    in :attr:`defects`, logs a warning and goes on with the next segment.

    Parameters
    ----------
    root
        The journal folder.
    venue, channel, symbol
        Read only the streams that match each one given.
    start, end
        Read only records whose journal time (``ts_recv``, or ``ts`` for data-quality
        events) lies in ``[start, end)``, int ns.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        venue: str | None = None,
        channel: str | None = None,
        symbol: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.venue = venue
        self.channel = channel
        self.symbol = symbol
        self.start = start
        self.end = end
        self.defects: list[JournalDefect] = []

    def streams(self) -> list[StreamKey]:
        """Return the streams that match the reader's filters, sorted."""
        return [key for key, _ in self._stream_dirs()]

    def _stream_dirs(self) -> list[tuple[StreamKey, Path]]:
        return [
            (key, path)
            for key, path in find_streams(self.root)
            if (self.venue is None or key.venue == self.venue)
            and (self.channel is None or key.channel == self.channel)
            and (self.symbol is None or key.symbol == self.symbol)
        ]

    def segments(self) -> list[Segment]:
        """Return the segments of the matching streams that may hold records in the window."""
        out = []
        for key, path in self._stream_dirs():
            for seg in find_segments(key, path):
                if self.start is not None and seg.hour + NS_PER_HOUR <= self.start:
                    continue
                if self.end is not None and seg.hour >= self.end:
                    continue
                out.append(seg)
        return out

    def manifests(self, *, persist: bool = False, verify: bool = True) -> list[SegmentManifest]:
        """Return the manifest of every matching segment (see :func:`load_manifest`)."""
        return [load_manifest(seg, persist=persist, verify=verify) for seg in self.segments()]

    def entries(self) -> Iterator[tuple[StreamKey, Record]]:
        """Yield ``(stream, record)`` for every record in the window."""
        for seg in self.segments():
            for record in self.read(seg):
                yield seg.stream, record

    def __iter__(self) -> Iterator[Record]:
        for seg in self.segments():
            yield from self.read(seg)

    def read(self, seg: Segment) -> Iterator[Record]:
        """Yield the records of one segment that lie in the reader's window, in order."""
        found = len(self.defects)
        start, end = self.start, self.end
        records = _scan(seg, self.defects)
        if (start is None or start <= seg.hour) and (end is None or seg.hour + NS_PER_HOUR <= end):
            yield from records
        else:
            lo = start if start is not None else seg.hour
            hi = end if end is not None else seg.hour + NS_PER_HOUR
            for record in records:
                if lo <= journal_time(record) < hi:
                    yield record
        for defect in self.defects[found:]:
            log.warning(
                "journal.defect",
                extra={"path": str(defect.path), "offset": defect.offset, "reason": defect.reason},
            )


def record_to_dict(record: Record) -> dict[str, Any]:
    """Return ``record`` as a JSON-able dict with a ``type`` of trade, book, event or raw.

    Raw bytes appear as ``data`` when they are UTF-8 text, else base64 in ``data_b64``.
    """
    if isinstance(record, Trade):
        inst = record.instrument
        return {
            "type": "trade",
            "venue": inst.venue,
            "symbol": inst.symbol,
            "ts": record.ts,
            "ts_recv": record.ts_recv,
            "trade_id": record.trade_id,
            "side": record.side.value,
            "price": record.price,
            "qty": record.qty,
        }
    if isinstance(record, BookUpdate):
        inst = record.instrument
        return {
            "type": "book",
            "venue": inst.venue,
            "symbol": inst.symbol,
            "ts": record.ts,
            "ts_recv": record.ts_recv,
            "seq": record.seq,
            "is_snapshot": record.is_snapshot,
            "bids": [list(level) for level in record.bids],
            "asks": [list(level) for level in record.asks],
        }
    if isinstance(record, DataQualityEvent):
        return {
            "type": "event",
            "venue": record.venue,
            "channel": record.channel,
            "symbol": record.symbol,
            "ts": record.ts,
            "kind": record.kind.value,
            "details": record.details,
        }
    doc: dict[str, Any] = {
        "type": "raw",
        "venue": record.venue,
        "channel": record.channel,
        "symbol": record.symbol,
        "ts_recv": record.ts_recv,
    }
    try:
        doc["data"] = record.data.decode()
    except UnicodeDecodeError:
        doc["data_b64"] = base64.b64encode(record.data).decode()
    return doc
