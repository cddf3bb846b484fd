"""One run-output table on disk: buffered rows, an Arrow IPC journal and a Parquet file.

Rows arrive as tuples and wait in a list of at most ``flush_rows``. A flush turns them into
one Arrow record batch, appends it to the table's journal (``journal/<name>.arrows``, an
Arrow IPC stream written straight to the file, so another process, or this one after a
crash, can read every batch flushed so far) and keeps it pending for Parquet. Once
``row_group_rows`` rows are pending they go to the Parquet file as one row group (one
:class:`pyarrow.parquet.ParquetWriter` per table, writing ``journal/<name>.parquet``). Closing
writes the rest, moves the Parquet file to ``<name>.parquet`` and deletes the journal.

Memory is bounded by ``flush_rows`` Python rows plus ``row_group_rows`` Arrow rows per table,
whatever the length of the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from serenity.analytics.schema import Column
from serenity.errors import DataError

__all__: list[str] = []

JOURNAL_DIR: Final = "journal"
JOURNAL_SUFFIX: Final = ".arrows"
COMPRESSION: Final = "zstd"


class TableWriter:
    """Buffered writer of one table.

    Either ``columns`` (a fixed table) or ``infer`` (a capture channel: called with the
    first flush's columns, it returns the schema, ``ts`` first) is given. A row that does not
    fit stops the flush there: the rows before it are written, the rest dropped, and
    :class:`~serenity.errors.DataError` names the column, the value and the row's ``ts``.
    """

    def __init__(
        self,
        folder: Path,
        name: str,
        *,
        label: str,
        row_group_rows: int,
        columns: tuple[Column, ...] | None = None,
        infer: Callable[[list[tuple[Any, ...]]], pa.Schema] | None = None,
    ) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.label = label
        self.columns = columns
        self._infer = infer
        self.final_path = folder / f"{name}.parquet"
        self.journal_path = folder / JOURNAL_DIR / f"{name}{JOURNAL_SUFFIX}"
        self.parquet_path = folder / JOURNAL_DIR / f"{name}.parquet"
        self.row_group_rows = row_group_rows
        self.rows_written = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._schema: pa.Schema | None = None
        self._journal_file: Any = None
        self._journal: Any = None
        self._parquet: Any = None
        if columns is not None:
            self._open(
                pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in columns])
            )

    @property
    def buffered_rows(self) -> int:
        """Return the rows held in memory: Python rows plus Arrow rows not yet in Parquet."""
        return len(self.rows) + self._pending_rows

    def flush(self) -> None:
        """Turn buffered rows into a record batch, journal it and keep it for Parquet."""
        if not self.rows:
            return
        rows = self.rows.copy()  # the writer keeps a reference to self.rows
        self.rows.clear()
        error: _BadRow | None = None
        while rows:
            try:
                batch = self._to_batch(rows)
            except _BadRow as bad:
                error, rows = bad, rows[: bad.index]  # each retry finds an earlier bad row
                continue
            self._journal.write_batch(batch)
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            self.rows_written += batch.num_rows
            if self._pending_rows >= self.row_group_rows:
                self._write_row_group()
            break
        if error is not None:
            raise DataError(str(error))

    def close(self) -> None:
        """Flush, finish the Parquet file, move it into place and drop the journal."""
        self.flush()
        if self._schema is None:
            return  # a capture channel that never got a row
        self._write_row_group()
        self._parquet.close()
        self._journal.close()
        self._journal_file.close()
        os.replace(self.parquet_path, self.final_path)
        self.journal_path.unlink()

    def abandon(self) -> None:
        """Close the files without finishing them (after a failed flush); the journal stays."""
        for handle in (self._journal, self._journal_file, self._parquet):
            if handle is not None:
                try:
                    handle.close()
                except (OSError, pa.ArrowException):
                    pass

    def _open(self, schema: pa.Schema) -> None:
        self._schema = schema
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        self.final_path.parent.mkdir(parents=True, exist_ok=True)
        self._journal_file = pa.OSFile(str(self.journal_path), "wb")
        self._journal = pa.ipc.new_stream(self._journal_file, schema)
        self._parquet = pq.ParquetWriter(str(self.parquet_path), schema, compression=COMPRESSION)

    def _write_row_group(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._parquet.write_table(table, row_group_size=table.num_rows)
            self._pending, self._pending_rows = [], 0

    def _to_batch(self, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
        values = list(zip(*rows, strict=True))
        ts = values[0]
        if self.columns is not None:
            arrays = [self._array(c, v, ts) for c, v in zip(self.columns, values, strict=True)]
        else:
            if self._schema is None:
                assert self._infer is not None
                self._open(self._infer(values))
            schema: pa.Schema = self._schema
            arrays = [self._fit(f, v, ts) for f, v in zip(schema, values, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=self._schema)

    def _array(self, column: Column, values: Sequence[Any], ts: Sequence[Any]) -> pa.Array:
        if column.kind == "int":
            array = _int_array(values)
            if array is None:
                self._fail(column.name, values, ts, "an integer", _is_not_int)
        else:
            try:
                array = pa.array(values, type=column.arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                what = "a number" if column.kind == "float" else "text"
                self._fail(column.name, values, ts, what, _converts_not(column.arrow_type))
        if array.null_count and not column.nullable:
            self._fail(column.name, values, ts, "a value", _is_none)
        if column.upper:
            array = pc.utf8_upper(array)
            allowed = pa.array(column.choices, type=pa.string())
            if column.choices and not pc.all(pc.is_in(array, value_set=allowed)).as_py():
                expected = " or ".join(repr(c) for c in column.choices)
                values = array.to_pylist()
                self._fail(
                    column.name, values, ts, expected, column.choices.__contains__, invert=True
                )
        return array

    def _fit(self, field: pa.Field, values: Sequence[Any], ts: Sequence[Any]) -> pa.Array:
        if field.name == "ts":
            array = _int_array(values)
            if array is None or array.null_count:
                self._fail("ts", values, ts, "int ns since the epoch", _is_not_int)
            return array
        what = f"{field.type} (inferred from the first rows)"
        if pa.types.is_integer(field.type):
            array = _int_array(values)
            if array is None:
                self._fail(field.name, values, ts, what, _is_not_int_or_none)
            return array.cast(field.type)
        try:
            return pa.array(values, type=field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            self._fail(field.name, values, ts, what, _converts_not(field.type))

    def _fail(
        self,
        name: str,
        values: Sequence[Any],
        ts: Sequence[Any],
        expected: str,
        test: Callable[[Any], bool],
        *,
        invert: bool = False,
    ) -> NoReturn:
        for index, (value, at) in enumerate(zip(values, ts, strict=True)):
            if test(value) != invert:
                raise _BadRow(
                    f"{self.label} column {name!r} needs {expected}, was {value!r} (row ts={at!r})",
                    index,
                )
        raise DataError(f"{self.label} column {name!r} needs {expected}")  # pragma: no cover


class _BadRow(Exception):
    """A row that does not fit its table; ``index`` is its place in the flushed rows."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def _int_array(values: Sequence[Any]) -> pa.Array | None:
    """Return ``values`` as int64 (None allowed), or None when one is not an integer."""
    array = np.asarray(values)
    source: Any = array
    if array.dtype.kind == "O":
        if not all(v is None or _is_int(v) for v in values):
            return None
        source = list(values)
    elif array.dtype.kind not in "iu":
        return None  # floats and bools are refused: Arrow would truncate them silently
    try:
        return pa.array(source, type=pa.int64())
    except (pa.ArrowInvalid, OverflowError):
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_not_int(value: Any) -> bool:
    return not _is_int(value)


def _is_not_int_or_none(value: Any) -> bool:
    return value is not None and not _is_int(value)


def _is_none(value: Any) -> bool:
    return value is None


def _converts_not(kind: pa.DataType) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        try:
            pa.array([value], type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return True
        return False

    return check


# --- reading ------------------------------------------------------------------------------


def journal_batches(path: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch]] | None:
    """Return a journal's schema and its complete batches; None when it has no schema yet.

    A torn last batch (a crash in the middle of a write, or a writer still writing) ends the
    iteration without an error.
    """
    try:
        reader = pa.ipc.open_stream(pa.memory_map(str(path)))
    except (pa.ArrowInvalid, OSError):
        return None

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                yield reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError):
                return  # torn tail

    return reader.schema, batches()


def read_journal(path: Path) -> pa.Table | None:
    """Return every complete batch of a journal as a table; None when it has no schema."""
    found = journal_batches(path)
    if found is None:
        return None
    schema, batches = found
    return pa.Table.from_batches(list(batches), schema=schema)


def seal_journal(journal: Path, final: Path, *, row_group_rows: int = 65_536) -> int:
    """Write the complete batches of ``journal`` to ``final`` (Parquet) and delete it.

    Batches are streamed in row groups of about ``row_group_rows``, so memory stays flat.
    Returns the rows sealed. A final file that already exists wins: the writer had moved it
    into place but not yet deleted the journal.
    """
    rows = 0
    found = None if final.exists() else journal_batches(journal)
    if found is not None:
        schema, batches = found
        tmp = final.with_name(final.name + ".tmp")
        with pq.ParquetWriter(str(tmp), schema, compression=COMPRESSION) as writer:
            group: list[pa.RecordBatch] = []
            for batch in batches:
                group.append(batch)
                rows += batch.num_rows
                if sum(b.num_rows for b in group) >= row_group_rows:
                    writer.write_table(pa.Table.from_batches(group, schema=schema))
                    group = []
            if group:
                writer.write_table(pa.Table.from_batches(group, schema=schema))
        os.replace(tmp, final)
    journal.unlink()
    return rows
