"""Parquet encoding of one partition, and time-window reads that touch only needed row groups."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from serenity.errors import DataError

__all__ = [
    "ROW_GROUP_ROWS",
    "encode",
    "iter_window",
    "read_window",
    "to_frame",
]

ROW_GROUP_ROWS: Final = 256 * 1024
"""Rows per row group: a 10M-trade day gets ~40 groups, so an hour reads two or three."""

# Sorted integers compress and decode best as deltas; price levels, sides and quantities repeat
# and get dictionaries (Parquet falls back to plain pages when a dictionary grows too big).
_DELTA: Final = ("ts", "ts_recv", "seq")
_DICTIONARY: Final = ("side", "price", "qty", "is_snapshot")
# Min/max statistics of unique strings cost a sixth of the encoding time and prune nothing.
_NO_STATISTICS: Final = ("trade_id",)


def encode(table: pa.Table, metadata: dict[str, str]) -> pa.Buffer:
    """Return ``table`` as a zstd Parquet file with ``ts`` statistics per row group."""
    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in metadata.items()})
    names = set(table.column_names)
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=[c for c in _DICTIONARY if c in names],
        column_encoding={c: "DELTA_BINARY_PACKED" for c in _DELTA if c in names},
        write_statistics=[c for c in table.column_names if c not in _NO_STATISTICS],
        store_schema=True,
    )
    return sink.getvalue()


def _parquet(source: pa.NativeFile, where: str) -> pq.ParquetFile:
    # Coalesced pre-buffering saves round trips to remote storage but only adds a copy when the
    # file is already in memory (a memory map or a downloaded buffer).
    in_memory = isinstance(source, (pa.MemoryMappedFile, pa.BufferReader))
    try:
        return pq.ParquetFile(source, pre_buffer=not in_memory)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{where}: not a readable Parquet file: {exc}") from exc


def _groups(pf: pq.ParquetFile, start_ns: int, end_ns: int) -> list[int]:
    """Return the row groups whose ``ts`` range meets ``[start_ns, end_ns)``, by statistics."""
    md = pf.metadata
    ts_col = pf.schema_arrow.get_field_index("ts")
    out = []
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        if rg.num_rows == 0:
            continue
        stats = rg.column(ts_col).statistics
        if stats is None or not stats.has_min_max:
            out.append(i)
        elif stats.min < end_ns and stats.max >= start_ns:
            out.append(i)
    return out


def _trim(table: pa.Table, start_ns: int, end_ns: int) -> pa.Table:
    """Return the rows of ``table`` (sorted by ``ts``) with ``start_ns <= ts < end_ns``."""
    if table.num_rows == 0:
        return table
    ts = table.column("ts")
    if ts[0].as_py() >= start_ns and ts[-1].as_py() < end_ns:
        return table
    values = ts.to_numpy()
    lo = int(np.searchsorted(values, start_ns, side="left"))
    hi = int(np.searchsorted(values, end_ns, side="left"))
    return table.slice(lo, hi - lo)


def read_window(
    source: pa.NativeFile,
    start_ns: int,
    end_ns: int,
    *,
    where: str,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Return the rows of one stored file with ``start_ns <= ts < end_ns``.

    Only row groups whose ``ts`` statistics meet the window are read; the rest of the file is
    never decoded (nor, from Azure, downloaded).
    """
    pf = _parquet(source, where)
    groups = _groups(pf, start_ns, end_ns)
    cols = _with_ts(columns)
    try:
        if len(groups) == pf.metadata.num_row_groups:
            table = pf.read(columns=cols, use_threads=True)
        else:
            table = pf.read_row_groups(groups, columns=cols, use_threads=True)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{where}: cannot read Parquet data: {exc}") from exc
    return _select(_trim(table, start_ns, end_ns), columns)


def iter_window(
    source: pa.NativeFile,
    start_ns: int,
    end_ns: int,
    *,
    where: str,
    columns: Sequence[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of one stored file in ``[start_ns, end_ns)``, one row group at a time."""
    pf = _parquet(source, where)
    cols = _with_ts(columns)
    for i in _groups(pf, start_ns, end_ns):
        try:
            table = pf.read_row_group(i, columns=cols, use_threads=True)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{where}: cannot read row group {i}: {exc}") from exc
        table = _select(_trim(table, start_ns, end_ns), columns)
        yield from table.to_batches()


def _with_ts(columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    return list(columns) if "ts" in columns else ["ts", *columns]


def _select(table: pa.Table, columns: Sequence[str] | None) -> pa.Table:
    return table if columns is None else table.select(list(columns))


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Return ``table`` as a DataFrame: numpy int and float columns, ``str`` for strings.

    ``split_blocks`` keeps one block per column, so no consolidation copy is made.
    """
    frame: pd.DataFrame = table.to_pandas(split_blocks=True, self_destruct=True)
    return frame
