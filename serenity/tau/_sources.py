"""The historic scheduler's replay sources: iterables of pairs, and tables as batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Final

import numpy as np

from serenity.errors import DataError, InvalidValueError
from serenity.tau._time import to_instant_ns
from serenity.tau.batch import Batch, RowFactory
from serenity.tau.core import MutableSignal, _native

# The compiled core's row view (None in pure Python, where no source is ever ``viewable``).
_RowView: Any = None if _native is None else _native.RowView

_BATCH_ROWS: Final = 65_536


class Replay:
    """An iterable source of ``(t_ns, value)`` pairs and how far it has been read."""

    __slots__ = ("signal", "it", "last_t", "label")

    def __init__(self, signal: MutableSignal[Any], it: Iterator[tuple[int, Any]], label: str):
        self.signal = signal
        self.it = it
        self.last_t = -(2**63)
        self.label = label


class BatchReplay:
    """A table source: its batches, the position in the current one, and its plan."""

    __slots__ = (
        "batch",
        "batches",
        "blockers",
        "end_idx",
        "i",
        "kernels",
        "label",
        "last_t",
        "plan_version",
        "rows",
        "signal",
        "time_column",
        "view",
        "viewable",
    )

    def __init__(
        self,
        signal: MutableSignal[Any],
        batches: Iterator[Any],
        label: str,
        rows: RowFactory,
        time_column: str,
    ) -> None:
        self.signal = signal
        self.batches = batches
        self.label = label
        self.rows = rows
        self.time_column = time_column
        self.batch: Batch | None = None
        self.i = 0
        self.end_idx = 0
        self.last_t = -(2**63)
        self.plan_version = -1
        self.kernels: list[Any] | None = None  # the listeners' kernels; None: per event
        self.blockers: list[tuple[Any, str]] = []  # why rows go per event, when they do
        self.viewable = False  # per-event rows may go as a row view (compiled fast paths)
        self.view: Any = None  # that view, bound to ``batch`` (compiled core only)

    def bind_view(self, batch: Batch) -> bool:
        """Point the source's row view at ``batch``; False when its rows are not
        trade-shaped (``ts`` time, float64 ``price`` and ``qty``): then they go as objects."""
        view = self.view
        if view is not None and view.batch is batch:
            return True
        if batch.time_column != "ts" or not batch.has("price", "qty"):
            return False
        price, qty = batch["price"], batch["qty"]
        if price.dtype != np.float64 or qty.dtype != np.float64:
            return False
        if view is None:
            view = self.view = _RowView()
        view.bind(
            batch,
            np.ascontiguousarray(batch.ts, dtype=np.int64),
            np.ascontiguousarray(price),
            np.ascontiguousarray(qty),
        )
        return True


def open_source(source: Any) -> tuple[Iterator[Any], bool]:
    """Return the source as an iterator and whether it is a table (of record batches).

    A DataFrame, Table or RecordBatch is a table; so is an iterable whose first item is a
    RecordBatch. Anything else is an iterable of ``(t_ns, value)`` pairs.
    """
    module = type(source).__module__
    if module.startswith("pandas"):
        import pyarrow as pa

        table = pa.Table.from_pandas(source, preserve_index=False)
        return iter(table.to_batches(_BATCH_ROWS)), True
    if module.startswith("pyarrow"):
        import pyarrow as pa

        if isinstance(source, pa.Table):
            return iter(source.to_batches(_BATCH_ROWS)), True
        if isinstance(source, pa.RecordBatch):
            return iter([source]), True
    it = iter(source)
    first = next(it, None)
    if first is None:
        return iter(()), False
    return itertools.chain([first], it), type(first).__module__.startswith("pyarrow")


def checked_column(batches: Iterator[Any], column: str) -> Iterator[Any]:
    for batch in batches:
        if column not in batch.schema.names:
            raise InvalidValueError(
                f"replay table has no value column {column!r}; columns are {batch.schema.names}"
            )
        yield batch


def pair(item: Any, label: str) -> tuple[int, Any]:
    """Return a source item as ``(t_ns, value)``, converting an aware datetime time."""
    try:
        t, value = item
    except (TypeError, ValueError):
        raise DataError(
            f"replay source {label} yielded {item!r}; expected (t_ns, value) pairs"
        ) from None
    if t.__class__ is not int:
        t = to_instant_ns(t, what=f"replay source {label} time")
    return t, value
