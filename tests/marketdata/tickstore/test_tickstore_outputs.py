"""``select`` and ``scan`` return pandas, Arrow or Polars (``to=``), never via Python objects."""

from __future__ import annotations

import datetime as dt
import sys
import tracemalloc
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from tickstore_data import DAY, NS_PER_H, day_ns, trades_frame

from serenity.errors import ConfigError, InvalidValueError
from serenity.marketdata.tickstore import TRADES_SCHEMA, BlobTickstore, LocalTickstore

NEXT = DAY + dt.timedelta(days=1)
POLARS_TYPES = {
    "ts": pl.Int64,
    "ts_recv": pl.Int64,
    "trade_id": pl.String,
    "side": pl.Int8,
    "price": pl.Float64,
    "qty": pl.Float64,
    "seq": pl.Int64,
}


def test_select_returns_the_same_rows_as_arrow_polars_and_pandas(trades: BlobTickstore) -> None:
    trades.insert("BTCUSD", DAY, trades_frame(n=300, seed=1))
    trades.insert("BTCUSD", NEXT, trades_frame(NEXT, n=200, seed=2))
    start, end = day_ns() + 6 * NS_PER_H, day_ns(NEXT) + 6 * NS_PER_H
    frame = trades.select("BTCUSD", start, end)
    table = trades.select("BTCUSD", start, end, to="arrow")
    polars = trades.select("BTCUSD", start, end, to="polars")
    assert isinstance(table, pa.Table) and table.schema == TRADES_SCHEMA
    assert isinstance(polars, pl.DataFrame) and dict(polars.schema) == POLARS_TYPES
    assert 0 < len(frame) == table.num_rows == polars.height < 500
    pd.testing.assert_frame_equal(table.to_pandas(), frame)
    assert polars.equals(pl.from_pandas(frame))
    cols = trades.select("BTCUSD", start, end, columns=["price", "qty"], to="polars")
    assert cols.columns == ["price", "qty"] and cols.height == len(frame)
    later = NEXT + dt.timedelta(days=1)
    empty = trades.select("BTCUSD", later, later + dt.timedelta(days=1), columns=["ts"], to="arrow")
    assert empty.num_rows == 0 and empty.schema == TRADES_SCHEMA.empty_table().select(["ts"]).schema


def test_scan_yields_arrow_batches_or_pandas_or_polars_frames(trades: BlobTickstore) -> None:
    trades.insert("BTCUSD", DAY, trades_frame(n=300, seed=1))
    whole = trades.select("BTCUSD", DAY, NEXT, to="polars")
    batches = list(trades.scan("BTCUSD", DAY, NEXT))
    frames = list(trades.scan("BTCUSD", DAY, NEXT, to="pandas"))
    pieces = list(trades.scan("BTCUSD", DAY, NEXT, to="polars"))
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert all(isinstance(f, pd.DataFrame) for f in frames)
    assert all(isinstance(p, pl.DataFrame) for p in pieces)
    assert pl.concat(pieces).equals(whole)
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), whole.to_pandas())
    assert pa.Table.from_batches(batches).num_rows == whole.height == 300


def test_an_unknown_output_or_missing_polars_is_refused(
    trades: BlobTickstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    trades.insert("BTCUSD", DAY, trades_frame(n=10))
    with pytest.raises(InvalidValueError, match="to must be one of 'pandas', 'arrow', 'polars'"):
        trades.select("BTCUSD", DAY, NEXT, to="numpy")  # type: ignore[call-overload]
    monkeypatch.setitem(sys.modules, "polars", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'serenity\[polars\]'"):
        trades.select("BTCUSD", DAY, NEXT, to="polars")
    with pytest.raises(ConfigError, match="needs polars"):
        trades.scan("BTCUSD", DAY, NEXT, to="polars")


def _peak_python_bytes(fn: object) -> int:
    """Return the peak of memory allocated through Python's allocator while ``fn`` runs.

    Arrow and Polars allocate their buffers outside it; a Python object per value does not.
    """
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_arrow_and_polars_outputs_make_no_python_object_per_value(tmp_path: Path) -> None:
    store = LocalTickstore(tmp_path, "PHEMEX_TRADES", publish=False)
    n = 200_000
    store.insert("BTCUSD", DAY, trades_frame(n=n))
    store.select("BTCUSD", DAY, NEXT, to="polars")  # warm imports and caches
    per_value = _peak_python_bytes(
        lambda: store.select("BTCUSD", DAY, NEXT, to="arrow").column("trade_id").to_pylist()
    )
    assert per_value > 20 * n  # the control: a str object for each trade id
    for to in ("arrow", "polars"):
        peak = _peak_python_bytes(lambda to=to: store.select("BTCUSD", DAY, NEXT, to=to))
        assert peak < n, f"to={to}: {peak:,} bytes through Python objects"
