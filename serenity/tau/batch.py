"""Columnar replay: blocks of rows handed to nodes that declare a batch kernel.

The historic scheduler replays a table source as :class:`Batch` es. When every node that
listens to the source has a batch kernel, the rows between two instants that need per-event
work are consumed as NumPy slices; the rows that do need it (a timer, another source's event,
or the first row a kernel says matters) run as ordinary cycles. Both paths give the same
results. A node declares a kernel by implementing :class:`BatchKernel`'s two methods.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from serenity.errors import InvalidValueError

__all__ = ["Batch", "BatchKernel", "ColumnRows", "RowFactory", "TupleRows", "accumulate"]

Int64Array = npt.NDArray[np.int64]


@functools.cache
def _string_types() -> tuple[Any, Any]:
    """Return Arrow's string and large-string types (pyarrow imported on first use)."""
    import pyarrow as pa

    return pa.string(), pa.large_string()


FloatArray = npt.NDArray[np.float64]

_SINGLE_ROWS = 256  # rows of a batch built one by one before all are built at once


class RowFactory(Protocol):
    """Turn a batch's rows into the per-event values its signal carries."""

    def all(self, batch: Batch) -> Sequence[Any]:
        """Return every row of ``batch`` as a value, in order."""
        ...

    def one(self, batch: Batch, i: int) -> Any:
        """Return row ``i`` of ``batch`` as a value."""
        ...


class Batch:
    """A block of rows of one replay source, sorted by time.

    Columns are read lazily: as NumPy arrays with ``batch[name]`` (zero-copy for numeric
    columns without nulls), as Python lists with :meth:`pylist`, and as per-event values
    (e.g. :class:`~serenity.marketdata.Trade`) with :meth:`rows` or :meth:`row`. Each
    conversion is done at most once per batch.

    Parameters
    ----------
    table
        A ``pyarrow.RecordBatch`` (or anything with ``column(name)``, ``schema.names`` and
        ``num_rows``).
    ts
        The time of each row, int64 ns since the epoch, UTC, non-decreasing.
    rows
        Builds the per-event values; namedtuples of every column by default.
    time_column
        The name of the column ``ts`` was read from.
    """

    __slots__ = (
        "_arrays",
        "_lists",
        "_rows",
        "_rows_of",
        "_singles",
        "size",
        "table",
        "time_column",
        "ts",
    )

    def __init__(
        self,
        table: Any,
        ts: Int64Array,
        rows: RowFactory | None = None,
        *,
        time_column: str = "ts",
    ) -> None:
        self.table = table
        self.time_column = time_column
        self.ts = ts
        self.size = len(ts)
        self._rows_of: RowFactory = rows if rows is not None else TupleRows()
        self._arrays: dict[str, Any] = {}
        self._lists: dict[str, list[Any]] = {}
        self._rows: Sequence[Any] | None = None
        self._singles = 0  # rows built one by one

    @property
    def names(self) -> list[str]:
        """Return the column names."""
        return list(self.table.schema.names)

    def __len__(self) -> int:
        return self.size

    def has(self, *names: str) -> bool:
        """Return True when the batch has every one of the columns ``names``."""
        known = self._lists.get("\0names")
        if known is None:
            known = self._lists["\0names"] = list(self.table.schema.names)
        return all(name in known for name in names)

    def __getitem__(self, name: str) -> Any:
        """Return column ``name`` as a NumPy array (cached)."""
        if name == self.time_column:
            return self.ts
        arr = self._arrays.get(name)
        if arr is None:
            arr = self._arrays[name] = self.table.column(name).to_numpy(zero_copy_only=False)
        return arr

    def text(self, name: str, i: int) -> str | None:
        """Return row ``i`` of string column ``name``, read from the Arrow buffers (a few
        hundred ns, where a scalar's ``as_py()`` takes microseconds)."""
        col = self.table.column(name)
        string, large = _string_types()
        if col.null_count or (col.type != string and col.type != large):
            value: str | None = col[i].as_py()
            return value
        offsets = self._arrays.get("\0offsets:" + name)
        if offsets is None:
            width = np.int64 if col.type == large else np.int32
            offsets = np.frombuffer(col.buffers()[1], dtype=width)[col.offset :]
            self._arrays["\0offsets:" + name] = offsets
            self._arrays["\0data:" + name] = memoryview(col.buffers()[2])
        data = self._arrays["\0data:" + name]
        return str(data[offsets[i] : offsets[i + 1]], "utf-8")

    def pylist(self, name: str) -> list[Any]:
        """Return column ``name`` as a Python list (cached)."""
        values = self._lists.get(name)
        if values is None:
            values = self._lists[name] = self.table.column(name).to_pylist()
        return values

    def ts_list(self) -> list[int]:
        """Return the times as a Python list of ints (cached)."""
        values = self._lists.get("\0ts")
        if values is None:
            values = self._lists["\0ts"] = self.ts.tolist()
        return values

    def rows(self) -> Sequence[Any]:
        """Return every row as a per-event value (cached)."""
        rows = self._rows
        if rows is None:
            rows = self._rows = self._rows_of.all(self)
        return rows

    def row(self, i: int) -> Any:
        """Return row ``i`` as a per-event value: built alone for the first rows asked
        for, then from :meth:`rows` (every row built at once, in C-level loops, costs a
        fraction of building them one by one)."""
        if self._rows is not None:
            return self._rows[i]
        self._singles += 1
        if self._singles > _SINGLE_ROWS:
            return self.rows()[i]
        return self._rows_of.one(self, i)


class TupleRows:
    """Rows as namedtuples of every column (the default for tables)."""

    __slots__ = ("_type",)

    def __init__(self) -> None:
        self._type: Any = None

    def _row_type(self, batch: Batch) -> Any:
        names = tuple(batch.names)
        if self._type is None or self._type._fields != names:
            self._type = namedtuple("Row", names, rename=True)  # type: ignore[misc]  # per schema
        return self._type

    def all(self, batch: Batch) -> Sequence[Any]:
        """Return every row as a namedtuple."""
        make = self._row_type(batch)._make
        return list(map(make, zip(*(batch.pylist(n) for n in batch.names), strict=True)))

    def one(self, batch: Batch, i: int) -> Any:
        """Return row ``i`` as a namedtuple."""
        row_type = self._row_type(batch)
        return row_type._make(batch.table.column(n)[i].as_py() for n in batch.names)


class ColumnRows:
    """Rows as the values of one column."""

    __slots__ = ("column",)

    def __init__(self, column: str) -> None:
        self.column = column

    def all(self, batch: Batch) -> Sequence[Any]:
        """Return the column's values."""
        return batch.pylist(self.column)

    def one(self, batch: Batch, i: int) -> Any:
        """Return the column's value in row ``i``."""
        return batch.table.column(self.column)[i].as_py()


@runtime_checkable
class BatchKernel(Protocol):
    """What a node implements to take a source's rows as NumPy slices.

    The scheduler calls :meth:`batch_scan` on every child of a source, takes the smallest
    answer ``k``, calls :meth:`batch_absorb` for rows ``[lo, k)`` on each child, and then
    delivers row ``k`` as an ordinary cycle. A kernel must leave the node exactly as
    ``k - lo`` per-event activations would, so it may absorb only rows whose per-event
    activation would not propagate (return False) or would propagate to no child, and
    that schedule nothing earlier than the slice's last time.
    """

    def batch_scan(self, batch: Batch, lo: int, hi: int) -> int:
        """Return the first row in ``[lo, hi)`` that must run per event, or ``hi``.

        Must not change the node: the scheduler may ask again with other bounds.
        """
        ...

    def batch_absorb(self, batch: Batch, lo: int, hi: int) -> None:
        """Take rows ``[lo, hi)`` in, as per-event activations would."""
        ...


def accumulate(initial: float, values: FloatArray, scratch: FloatArray | None = None) -> float:
    """Return ``initial + values[0] + values[1] + ...`` added left to right.

    The same float as a Python loop of ``+=`` (NumPy's ``sum`` adds pairwise and can differ
    in the last bits), so batch kernels agree with per-event updates bit for bit. A
    ``scratch`` array of at least ``len(values) + 1`` floats saves an allocation.
    """
    n = len(values)
    if not n:
        return initial
    out = np.empty(n + 1) if scratch is None or len(scratch) <= n else scratch[: n + 1]
    out[0] = initial
    out[1:] = values
    np.add.accumulate(out, out=out)
    return float(out[n])


def time_column(table: Any, name: str) -> Int64Array:
    """Return ``table``'s column ``name`` as int64 ns (integers, or aware timestamps).

    Raises
    ------
    InvalidValueError
        When the column is missing, holds naive timestamps or is of another type.
    """
    import pyarrow as pa

    names = table.schema.names
    if name not in names:
        raise InvalidValueError(f"replay table has no time column {name!r}; columns are {names}")
    col = table.column(name)
    if pa.types.is_timestamp(col.type):
        if col.type.tz is None:
            raise InvalidValueError(
                f"replay time column {name!r} holds naive timestamps; localize to UTC"
            )
        col = col.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    elif not pa.types.is_integer(col.type):
        raise InvalidValueError(
            f"replay time column {name!r} must be int64 ns or timestamps, was {col.type}"
        )
    if col.null_count:
        raise InvalidValueError(f"replay time column {name!r} has {col.null_count} null(s)")
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)
