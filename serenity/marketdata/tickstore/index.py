"""The bitemporal version index of one (table, symbol, UTC day) partition.

The index is a small JSON document stored beside the partition's Parquet files. It lists every
version ever committed, with the instant it became current (``valid_from_ns``, recorded by the
writer's clock when it committed, never taken from file times), the data file it points at
(none for a tombstone written by ``delete``), row count, time range, size and free-form
metadata. Versions only ever get appended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

import orjson

from serenity.errors import DataError, InvalidValueError
from serenity.tau import format_ns

__all__ = ["INDEX_FORMAT", "VersionIndex", "VersionInfo", "check_metadata"]

INDEX_FORMAT: Final = 1
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a JSON-safe copy of a version's metadata.

    Raises
    ------
    InvalidValueError
        When ``metadata`` is not a mapping with string keys whose values JSON can hold.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidValueError(f"metadata must be a mapping, was {type(metadata).__name__}")
    try:
        return dict(orjson.loads(orjson.dumps(dict(metadata), option=orjson.OPT_SERIALIZE_NUMPY)))
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidValueError(f"metadata must be JSON-serialisable with str keys: {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionInfo:
    """One committed version of a (symbol, UTC day) partition.

    Parameters
    ----------
    symbol
        The symbol.
    date
        The UTC day.
    version
        1, 2, ... in commit order.
    valid_from_ns
        When this version became current, int ns UTC, recorded at commit.
    file
        The Parquet file's name inside the partition, or None for a tombstone.
    rows
        Number of rows (0 for a tombstone).
    ts_min, ts_max
        First and last ``ts`` in the file, or None when it has no rows.
    size_bytes
        Size of the Parquet file.
    metadata
        Free-form facts given at insert (data quality, a source ``digest``, ...).
    """

    symbol: str
    date: dt.date
    version: int
    valid_from_ns: int
    file: str | None
    rows: int = 0
    ts_min: int | None = None
    ts_max: int | None = None
    size_bytes: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise InvalidValueError(f"version must be >= 1, was {self.version}")
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def is_tombstone(self) -> bool:
        """Whether this version marks the day deleted."""
        return self.file is None

    @property
    def valid_from(self) -> dt.datetime:
        """When this version became current, as an aware UTC datetime (microseconds)."""
        return _EPOCH + dt.timedelta(microseconds=self.valid_from_ns // 1000)

    def to_json(self) -> dict[str, Any]:
        """Return the version as the JSON object stored in the index."""
        return {
            "version": self.version,
            "valid_from_ns": self.valid_from_ns,
            "valid_from": format_ns(self.valid_from_ns),
            "file": self.file,
            "rows": self.rows,
            "ts_min": self.ts_min,
            "ts_max": self.ts_max,
            "size_bytes": self.size_bytes,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], *, symbol: str, date: dt.date) -> VersionInfo:
        """Return the version stored as ``doc`` in the index of ``symbol`` on ``date``."""
        return cls(
            symbol=symbol,
            date=date,
            version=int(doc["version"]),
            valid_from_ns=int(doc["valid_from_ns"]),
            file=doc["file"],
            rows=int(doc["rows"]),
            ts_min=doc.get("ts_min"),
            ts_max=doc.get("ts_max"),
            size_bytes=int(doc.get("size_bytes", 0)),
            metadata=doc.get("metadata") or {},
        )


@dataclass(frozen=True, slots=True)
class VersionIndex:
    """The versions of one partition, oldest first; an immutable value.

    Parameters
    ----------
    table, symbol, date
        The partition.
    versions
        Its versions in increasing version number and non-decreasing ``valid_from_ns``.
    """

    table: str
    symbol: str
    date: dt.date
    versions: tuple[VersionInfo, ...] = ()

    def latest(self) -> VersionInfo | None:
        """Return the newest version, or None for an empty index."""
        return self.versions[-1] if self.versions else None

    def current_at(self, as_of_ns: int | None) -> VersionInfo | None:
        """Return the version current at ``as_of_ns`` (the newest when None), or None."""
        if as_of_ns is None:
            return self.latest()
        found = None
        for v in self.versions:
            if v.valid_from_ns > as_of_ns:
                break
            found = v
        return found

    def next_version(self) -> int:
        """Return the number the next committed version gets."""
        return self.versions[-1].version + 1 if self.versions else 1

    def next_valid_from(self, now_ns: int) -> int:
        """Return the validity start of the next version: now, but after every earlier one.

        Two writers' clocks can disagree; clamping keeps validity ordered like versions, so an
        ``as_of`` read always finds exactly one current version.
        """
        return max(now_ns, self.versions[-1].valid_from_ns + 1) if self.versions else now_ns

    def appended(self, version: VersionInfo) -> VersionIndex:
        """Return this index with ``version`` added at the end.

        Raises
        ------
        InvalidValueError
            When ``version`` would not be the newest in number and validity.
        """
        return self.merged([version])

    def merged(self, versions: list[VersionInfo]) -> VersionIndex:
        """Return this index with ``versions`` (numbers it does not hold yet) added in order.

        Raises
        ------
        InvalidValueError
            When a number is already taken or validity would not follow version order.
        """
        have = {v.version for v in self.versions}
        taken = sorted(v.version for v in versions if v.version in have)
        if taken:
            raise InvalidValueError(f"{self._where()}: versions {taken} already exist")
        merged = sorted((*self.versions, *versions), key=lambda v: v.version)
        for a, b in zip(merged, merged[1:], strict=False):
            if b.valid_from_ns < a.valid_from_ns:
                raise InvalidValueError(
                    f"{self._where()}: version {b.version} valid from "
                    f"{format_ns(b.valid_from_ns)} would precede version {a.version} "
                    f"valid from {format_ns(a.valid_from_ns)}"
                )
        return replace(self, versions=tuple(merged))

    def encode(self) -> bytes:
        """Return the index as the JSON document that is stored."""
        doc = {
            "format": INDEX_FORMAT,
            "table": self.table,
            "symbol": self.symbol,
            "date": self.date.isoformat(),
            "versions": [v.to_json() for v in self.versions],
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)

    @classmethod
    def decode(cls, data: bytes, *, table: str, symbol: str, date: dt.date) -> VersionIndex:
        """Return the index stored as ``data``.

        Raises
        ------
        DataError
            When the document is not a version index of this partition.
        """
        where = f"{table}/{symbol}/{date.isoformat()}"
        try:
            doc = orjson.loads(data)
            if doc.get("format") != INDEX_FORMAT:
                raise DataError(
                    f"{where}: index format {doc.get('format')!r} is not {INDEX_FORMAT}; "
                    "upgrade serenity to read it"
                )
            if (doc["table"], doc["symbol"], doc["date"]) != (table, symbol, date.isoformat()):
                raise DataError(
                    f"{where}: index names {doc['table']}/{doc['symbol']}/{doc['date']} instead"
                )
            versions = tuple(
                VersionInfo.from_json(v, symbol=symbol, date=date) for v in doc["versions"]
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"{where}: the version index is malformed: {exc}") from exc
        return cls(table, symbol, date, versions)

    def _where(self) -> str:
        return f"{self.table}/{self.symbol}/{self.date.isoformat()}"
