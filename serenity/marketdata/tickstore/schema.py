"""The two table kinds of the tick store, their Arrow schemas, and strict input validation."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum, unique
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from serenity.errors import DataError
from serenity.marketdata.tickstore.args import NS_PER_DAY, check_table, day_start_ns
from serenity.tau import format_ns

__all__ = [
    "BOOKS_SCHEMA",
    "TRADES_SCHEMA",
    "TableKind",
    "empty_table",
    "schema_of",
    "table_kind",
    "to_arrow",
]

TRADES_SCHEMA: Final = pa.schema(
    [
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("ts_recv", pa.int64(), nullable=False),
        pa.field("trade_id", pa.string(), nullable=False),
        pa.field("side", pa.int8(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("qty", pa.float64(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
    ]
)
"""Trades: venue and receive times (int ns UTC), the venue's trade id, the aggressor's side
(+1 buy, -1 sell), price, quantity and our sequence number. A non-empty trade id names one
trade: an insert that repeats one is refused (empty ids, for venues that give none, may
repeat)."""

BOOKS_SCHEMA: Final = pa.schema(
    [
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("ts_recv", pa.int64(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("is_snapshot", pa.bool_(), nullable=False),
        pa.field("side", pa.int8(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("qty", pa.float64(), nullable=False),
    ]
)
"""L2 book deltas: one row per level change (+1 bid, -1 ask; qty 0 deletes the level); rows
with ``is_snapshot`` true and the same ``seq`` form a full snapshot that replaces the book."""


@unique
class TableKind(StrEnum):
    """What a table holds, read from its name's suffix."""

    TRADES = "trades"
    BOOKS = "books"


_SCHEMAS: Final = {TableKind.TRADES: TRADES_SCHEMA, TableKind.BOOKS: BOOKS_SCHEMA}


def table_kind(table: str) -> TableKind:
    """Return the kind of ``table`` from its suffix: ``PHEMEX_TRADES`` holds trades.

    Raises
    ------
    InvalidValueError
        When the name does not end in ``_TRADES`` or ``_BOOKS``.
    """
    check_table(table)
    return TableKind.TRADES if table.endswith("_TRADES") else TableKind.BOOKS


def schema_of(kind: TableKind) -> pa.Schema:
    """Return the Arrow schema of a table kind."""
    return _SCHEMAS[kind]


def empty_table(kind: TableKind) -> pa.Table:
    """Return a table with no rows and the schema of ``kind``."""
    return schema_of(kind).empty_table()


def to_arrow(data: pd.DataFrame | pa.Table, kind: TableKind, day: dt.date) -> pa.Table:
    """Return ``data`` as an Arrow table of ``kind``'s schema for UTC ``day``, or refuse it.

    The checks are strict: exactly the schema's columns (in any order; a DataFrame's index is
    not stored), no nulls, integer times in ns or timezone-aware timestamps, ``ts`` sorted and
    inside the day, ``side`` of +1 or -1, finite positive prices, finite quantities that are
    positive for trades and non-negative for books, and for trades no non-empty ``trade_id``
    twice (a duplicate is refused, not dropped: which copy is right is the caller's call).

    Parameters
    ----------
    data
        The rows, as a DataFrame or an Arrow table.
    kind
        The table kind, which decides the schema.
    day
        The UTC day every ``ts`` must fall on.

    Raises
    ------
    DataError
        Naming the column, the first bad row and what was expected.
    """
    schema = schema_of(kind)
    columns = _columns(data)
    names = list(columns)
    expected = schema.names
    missing = [n for n in expected if n not in columns]
    extra = [n for n in names if n not in expected]
    if missing or extra or len(set(names)) != len(names):
        raise DataError(
            f"{kind} rows must have exactly the columns {expected}, was {names}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else "")
        )
    arrays = [_coerce(columns[f.name], f) for f in schema]
    table = pa.Table.from_arrays(arrays, schema=schema)
    _check_values(table, kind, day)
    return table


def _columns(data: pd.DataFrame | pa.Table) -> dict[str, pa.ChunkedArray | pa.Array]:
    if isinstance(data, pa.Table):
        return {name: data.column(name) for name in data.column_names}
    if isinstance(data, pd.DataFrame):
        out: dict[str, pa.ChunkedArray | pa.Array] = {}
        for name in data.columns:
            try:
                out[str(name)] = pa.array(data[name], from_pandas=True)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise DataError(f"column {name!r} cannot be stored: {exc}") from exc
        return out
    raise DataError(f"rows must be a pandas DataFrame or a pyarrow Table, was {type(data)!r}")


def _coerce(column: pa.ChunkedArray | pa.Array, field: pa.Field) -> pa.ChunkedArray | pa.Array:
    name, want, have = field.name, field.type, column.type
    if column.null_count:
        raise DataError(f"column {name!r} has {column.null_count} null values; none are allowed")
    if pa.types.is_timestamp(have) and pa.types.is_int64(want):
        if have.tz is None:
            raise DataError(
                f"column {name!r} holds naive timestamps ({have}); use int64 ns since the epoch "
                "or timezone-aware timestamps"
            )
        return pc.cast(pc.cast(column, pa.timestamp("ns", tz=have.tz)), pa.int64())
    ok = (
        (pa.types.is_integer(want) and pa.types.is_integer(have))
        or (pa.types.is_floating(want) and pa.types.is_floating(have))
        or (
            pa.types.is_string(want)
            and (pa.types.is_string(have) or pa.types.is_large_string(have))
        )
        or (pa.types.is_boolean(want) and pa.types.is_boolean(have))
    )
    if not ok:
        raise DataError(f"column {name!r} must be {want}, was {have}")
    if have == want:
        return column
    try:
        return pc.cast(column, want, safe=True)
    except pa.ArrowInvalid as exc:
        raise DataError(f"column {name!r} does not fit {want}: {exc}") from exc


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_values(table: pa.Table, kind: TableKind, day: dt.date) -> None:
    if table.num_rows == 0:
        return
    ts = table.column("ts").to_numpy()
    if ts.size > 1:
        back = ts[1:] < ts[:-1]
        if back.any():
            i = _first(back) + 1
            raise DataError(
                f"column 'ts' must be sorted ascending; row {i} ({format_ns(int(ts[i]))}) is "
                f"before row {i - 1} ({format_ns(int(ts[i - 1]))})"
            )
    lo = day_start_ns(day)
    outside = (ts < lo) | (ts >= lo + NS_PER_DAY)
    if outside.any():
        i = _first(outside)
        raise DataError(
            f"row {i} has ts {format_ns(int(ts[i]))} outside the UTC day {day.isoformat()}; "
            "each insert holds one UTC day"
        )
    side = table.column("side").to_numpy()
    bad = (side != 1) & (side != -1)
    if bad.any():
        i = _first(bad)
        raise DataError(f"column 'side' must be +1 or -1, was {int(side[i])} at row {i}")
    price = table.column("price").to_numpy()
    bad = ~(np.isfinite(price) & (price > 0))
    if bad.any():
        i = _first(bad)
        raise DataError(f"column 'price' must be finite and > 0, was {price[i]!r} at row {i}")
    qty = table.column("qty").to_numpy()
    ok = np.isfinite(qty) & ((qty > 0) if kind is TableKind.TRADES else (qty >= 0))
    if not ok.all():
        i = _first(~ok)
        bound = "> 0" if kind is TableKind.TRADES else ">= 0 (0 deletes a level)"
        raise DataError(f"column 'qty' must be finite and {bound}, was {qty[i]!r} at row {i}")
    if kind is TableKind.TRADES:
        _check_unique_trade_ids(table.column("trade_id"))


def _check_unique_trade_ids(ids: pa.ChunkedArray) -> None:
    """Refuse a non-empty trade id that appears twice, naming it and both rows."""
    named = pc.filter(ids, pc.not_equal(ids, ""))
    if len(named) == 0 or pc.count_distinct(named).as_py() == len(named):
        return
    values = ids.to_pandas()
    repeated = values.duplicated(keep="first") & (values != "")
    i = _first(repeated.to_numpy())
    first = _first((values == values.iloc[i]).to_numpy())
    raise DataError(
        f"column 'trade_id' holds {values.iloc[i]!r} twice, at rows {first} and {i}; a trade id "
        "names one trade, so drop the repeats (e.g. frame.drop_duplicates('trade_id')) first"
    )
