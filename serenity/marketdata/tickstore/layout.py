"""Where a tick store table keeps its files: hive-style partition folders and version indexes.

A table's partitions sit in ``<TABLE>/symbol=<SYMBOL>/date=<YYYY-MM-DD>/``, the folder names
Hive, Spark, Polars, Dask, DuckDB and pyarrow read as ``symbol`` and ``date`` columns. Each
holds the partition's version index (:data:`INDEX_NAME`) and one Parquet file per version. The
table's Delta Lake log is ``<TABLE>/_delta_log``. Stores written before this layout kept
partitions in ``<TABLE>/<SYMBOL>/<YYYY-MM-DD>/``; ``serenity tickstore migrate`` moves them.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

__all__ = [
    "INDEX_NAME",
    "LEGACY_LAYOUT_HINT",
    "legacy_folder",
    "parse_legacy_key",
    "parse_partition_key",
    "partition_folder",
]

INDEX_NAME: Final = "index.json"
"""The name of a partition's version index."""

LEGACY_LAYOUT_HINT: Final = (
    "has partitions in the old <SYMBOL>/<DATE>/ layout; run `serenity tickstore migrate {url}` "
    "once (with writers stopped) to move them to symbol=<SYMBOL>/date=<DATE>/"
)
"""The advice given when a store still has old-layout partitions (format with ``url``)."""


def partition_folder(symbol: str, day: dt.date) -> str:
    """Return a partition's folder relative to its table, e.g. ``symbol=BTCUSD/date=2024-01-05``."""
    return f"symbol={symbol}/date={day.isoformat()}"


def legacy_folder(symbol: str, day: dt.date) -> str:
    """Return the folder the old layout kept a partition in, e.g. ``BTCUSD/2024-01-05``."""
    return f"{symbol}/{day.isoformat()}"


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_partition_key(parts: list[str]) -> tuple[str, dt.date] | None:
    """Return (symbol, day) for the key parts ``[TABLE, symbol=S, date=D, ...]``, else None."""
    if len(parts) < 3 or not parts[1].startswith("symbol=") or not parts[2].startswith("date="):
        return None
    symbol, day = parts[1].removeprefix("symbol="), _day(parts[2].removeprefix("date="))
    return (symbol, day) if symbol and day is not None else None


def parse_legacy_key(parts: list[str]) -> tuple[str, dt.date] | None:
    """Return (symbol, day) for old-layout key parts ``[TABLE, S, YYYY-MM-DD, name]``, else None.

    Symbols cannot contain ``=`` and the Delta log's folder starts with ``_``, so neither is
    taken for an old partition.
    """
    if len(parts) != 4 or "=" in parts[1] or parts[1].startswith("_"):
        return None
    day = _day(parts[2])
    return (parts[1], day) if day is not None else None
