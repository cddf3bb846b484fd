"""Per-segment data-quality manifests: small JSON files beside each journal segment.

A manifest says what a segment holds (record counts per kind, first and last timestamps) and
where the recording is incomplete (gaps, resyncs, reconnects, crossed books, parse errors,
and a torn or corrupt tail). The writer writes it when it seals a segment, with the segment's
size, modification time and CRC-32. After a crash the manifest is missing or stale (its
``segment_bytes`` differ from the segment's size), and a segment changed in place after it was
sealed (a flipped byte) no longer matches its CRC-32; readers then rebuild the manifest from
the segment itself, so a manifest can always be trusted to describe the bytes it names.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from serenity.errors import DataError, StoreError
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind

__all__ = [
    "MANIFEST_EVENTS_MAX",
    "MANIFEST_SUFFIX",
    "SegmentManifest",
    "manifest_path",
    "read_manifest_file",
    "write_manifest_file",
]

log = logging.getLogger(__name__)

MANIFEST_SUFFIX: Final = ".manifest.json"
MANIFEST_EVENTS_MAX: Final = 100
"""At most this many data-quality events are listed in a manifest; all are counted."""

_DQ_FIELDS: Final = {
    DataQualityKind.GAP: "gaps",
    DataQualityKind.RESYNC: "resyncs",
    DataQualityKind.RECONNECT: "reconnects",
    DataQualityKind.CROSSED_BOOK: "crossed_books",
    DataQualityKind.PARSE_ERROR: "parse_errors",
    DataQualityKind.STUCK: "stuck",
    DataQualityKind.VENUE_ERROR: "venue_errors",
}


def _zero_counts() -> dict[str, int]:
    return {"trade": 0, "book": 0, "event": 0, "raw": 0}


@dataclass(slots=True, kw_only=True)
class SegmentManifest:
    """What one segment holds and where it is incomplete.

    Attributes
    ----------
    venue, channel, symbol
        The segment's stream.
    segment
        The segment's file name.
    hour
        Start of the segment's UTC hour, int ns; every record's journal time (``ts_recv``,
        or ``ts`` for data-quality events) lies in ``[hour, hour + 1 h)``.
    segment_bytes
        Size of the segment file this manifest describes.
    segment_crc32
        ``zlib.crc32`` of the whole segment file (None in manifests written before it).
    segment_mtime_ns
        The segment file's modification time when sealed, int ns (None when rebuilt).
    sealed
        True when the writer closed the segment cleanly; False for a manifest rebuilt from a
        segment that was still open or whose writer died.
    records
        Records after the header.
    counts
        Records per kind: ``trade``, ``book``, ``event`` (data quality) and ``raw``.
    first_ts, last_ts
        Venue timestamps of the first and last trade or book record (None without any).
    first_ts_recv, last_ts_recv
        Journal times of the first and last record (None without any).
    gaps, resyncs, reconnects, crossed_books, parse_errors, stuck, venue_errors
        Data-quality events by kind.
    events
        The first :data:`MANIFEST_EVENTS_MAX` data-quality events, as
        ``{"kind", "ts", "details"}`` objects.
    defect
        None, or ``{"offset", "reason"}`` of a torn or corrupt tail.
    """

    venue: str
    channel: str
    symbol: str
    segment: str
    hour: int
    segment_bytes: int = 0
    segment_crc32: int | None = None
    segment_mtime_ns: int | None = None
    sealed: bool = False
    records: int = 0
    counts: dict[str, int] = field(default_factory=_zero_counts)
    first_ts: int | None = None
    last_ts: int | None = None
    first_ts_recv: int | None = None
    last_ts_recv: int | None = None
    gaps: int = 0
    resyncs: int = 0
    reconnects: int = 0
    crossed_books: int = 0
    parse_errors: int = 0
    stuck: int = 0
    venue_errors: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    defect: dict[str, Any] | None = None

    def observe_market_data(self, kind: str, ts: int, ts_recv: int) -> None:
        """Count a ``trade`` or ``book`` record with its venue and receive times."""
        self.records += 1
        self.counts[kind] += 1
        if self.first_ts is None:
            self.first_ts = ts
        self.last_ts = ts
        if self.first_ts_recv is None:
            self.first_ts_recv = ts_recv
        self.last_ts_recv = ts_recv

    def observe_event(self, event: DataQualityEvent) -> None:
        """Count a data-quality event and list it while there is room."""
        self.records += 1
        self.counts["event"] += 1
        name = _DQ_FIELDS[event.kind]
        setattr(self, name, getattr(self, name) + 1)
        if len(self.events) < MANIFEST_EVENTS_MAX:
            self.events.append({"kind": event.kind.value, "ts": event.ts, "details": event.details})
        self._saw(event.ts)

    def observe_raw(self, ts_recv: int) -> None:
        """Count a raw (unparsed) frame."""
        self.records += 1
        self.counts["raw"] += 1
        self._saw(ts_recv)

    def _saw(self, t: int) -> None:
        if self.first_ts_recv is None:
            self.first_ts_recv = t
        self.last_ts_recv = t

    def to_json(self) -> bytes:
        """Return the manifest as indented JSON."""
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, text: bytes) -> SegmentManifest:
        """Return the manifest in ``text``.

        Raises
        ------
        DataError
            When ``text`` is not a manifest.
        """
        try:
            doc = orjson.loads(text)
            manifest = cls(**doc)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise DataError(f"unreadable manifest: {exc}") from exc
        if not isinstance(manifest.segment_bytes, int) or not isinstance(manifest.counts, dict):
            raise DataError(f"unreadable manifest: segment_bytes={manifest.segment_bytes!r}")
        return manifest


def manifest_path(segment: Path) -> Path:
    """Return where the manifest of ``segment`` lives: beside it, with a suffix added."""
    return segment.with_name(segment.name + MANIFEST_SUFFIX)


def write_manifest_file(segment: Path, manifest: SegmentManifest) -> Path:
    """Write ``manifest`` beside ``segment`` atomically (temporary file, then rename).

    Raises
    ------
    StoreError
        When the file cannot be written.
    """
    path = manifest_path(segment)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(manifest.to_json())
        os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot write manifest {path}: {exc}") from exc
    return path


def read_manifest_file(segment: Path) -> SegmentManifest | None:
    """Return the manifest stored beside ``segment``, or None when missing or unreadable."""
    path = manifest_path(segment)
    try:
        return SegmentManifest.from_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, DataError) as exc:
        log.warning("journal.manifest_unreadable", extra={"path": str(path), "error": str(exc)})
        return None
