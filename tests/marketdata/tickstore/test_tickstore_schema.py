"""Strict validation on insert (nothing written on bad input) and lossless round trips."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tickstore_data import DAY, books_frame, day_ns, trades_frame

from serenity.errors import DataError, InvalidValueError
from serenity.marketdata.tickstore import BlobTickstore, TableKind, table_kind
from serenity.marketdata.tickstore.schema import TRADES_SCHEMA, to_arrow

Mutation = Callable[[pd.DataFrame], pd.DataFrame]


def _set(col: str, values: object) -> Mutation:
    return lambda df: df.assign(**{col: values})


def _swap_rows(df: pd.DataFrame) -> pd.DataFrame:
    ts = df["ts"].to_numpy().copy()
    ts[[3, 4]] = ts[[4, 3]] if ts[3] != ts[4] else (ts[4] + 1, ts[3])
    return df.assign(ts=ts)


BAD_TRADES: dict[str, tuple[Mutation, str]] = {
    "missing column": (lambda df: df.drop(columns=["qty"]), "missing ['qty']"),
    "extra column": (lambda df: df.assign(venue="phemex"), "unexpected ['venue']"),
    "float ts": (lambda df: df.assign(ts=df["ts"].astype(float)), "'ts' must be int64"),
    "naive datetime ts": (
        lambda df: df.assign(ts=pd.to_datetime(df["ts"], unit="ns")),
        "naive timestamps",
    ),
    "int trade_id": (lambda df: df.assign(trade_id=np.arange(len(df))), "'trade_id' must be"),
    "int price": (lambda df: df.assign(price=np.arange(1, len(df) + 1)), "'price' must be"),
    "unsorted ts": (_swap_rows, "sorted ascending"),
    "ts on the next day": (
        lambda df: df.assign(ts=df["ts"] + 86_400 * 10**9),
        "outside the UTC day 2024-01-05",
    ),
    "side 0": (_set("side", np.zeros(100, dtype=np.int8)), "'side' must be +1 or -1"),
    "side overflows int8": (_set("side", np.full(100, 300)), "does not fit int8"),
    "null price": (lambda df: df.assign(price=df["price"].where(df.index != 5)), "null"),
    "nan via inf price": (_set("price", np.full(100, np.inf)), "'price' must be finite"),
    "zero qty": (_set("qty", np.zeros(100)), "'qty' must be finite and > 0"),
    "a trade id twice": (  # issue 9, defect 9: duplicates were stored silently
        lambda df: df.assign(trade_id=df["trade_id"].where(df.index != 9, df["trade_id"][5])),
        "column 'trade_id' holds '0-5' twice, at rows 5 and 9",
    ),
    "object column of mixed types": (
        _set("trade_id", pd.Series([1, "a"] * 50, dtype=object)),
        "cannot be stored",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TRADES))
def test_bad_trades_are_refused_and_nothing_is_written(trades: BlobTickstore, case: str) -> None:
    mutate, message = BAD_TRADES[case]
    frame = mutate(trades_frame())
    with pytest.raises(DataError, match=re.escape(message)):
        trades.insert("BTCUSD", DAY, frame)
    assert list(trades.blobs.list_keys("")) == []
    assert trades.symbols() == []


def test_empty_trade_ids_may_repeat(trades: BlobTickstore) -> None:
    frame = trades_frame().assign(trade_id="")  # Phemex gives no trade ids
    assert trades.insert("BTCUSD", DAY, frame) == 1


def test_books_refuse_negative_qty_but_accept_deletes(books: BlobTickstore) -> None:
    frame = books_frame()
    with pytest.raises(DataError, match="'qty' must be finite and >= 0"):
        books.insert("ETHUSDT", DAY, frame.assign(qty=-frame["qty"] - 1))
    assert books.insert("ETHUSDT", DAY, frame) == 1
    out = books.select("ETHUSDT", DAY, DAY + dt.timedelta(days=1))
    pd.testing.assert_frame_equal(out, frame)
    assert (out["qty"] == 0).any() and out["is_snapshot"].dtype == bool


def test_trades_round_trip_with_exact_dtypes(trades: BlobTickstore) -> None:
    frame = trades_frame(n=500)
    trades.insert("BTCUSD", DAY, frame)
    out = trades.select("BTCUSD", DAY, DAY + dt.timedelta(days=1))
    pd.testing.assert_frame_equal(out, frame)
    assert out["ts"].dtype == np.int64 and out["side"].dtype == np.int8
    assert out["trade_id"].dtype == "str"


def test_lenient_but_lossless_inputs_are_normalised(trades: BlobTickstore) -> None:
    frame = trades_frame()
    loose = frame[list(reversed(frame.columns))].assign(
        ts=pd.to_datetime(frame["ts"], unit="ns", utc=True).dt.tz_convert("Asia/Tokyo"),
        side=frame["side"].astype(np.int64),
        trade_id=frame["trade_id"].astype(object),
    )
    loose.index = loose.index + 1000
    trades.insert("BTCUSD", DAY, loose)
    out = trades.select("BTCUSD", DAY, DAY + dt.timedelta(days=1))
    pd.testing.assert_frame_equal(out, frame)


def test_an_arrow_table_and_an_empty_day_are_accepted(trades: BlobTickstore) -> None:
    table = pa.Table.from_pandas(trades_frame(n=10), preserve_index=False)
    assert trades.insert("BTCUSD", DAY, table) == 1
    assert trades.insert("BTCUSD", DAY, TRADES_SCHEMA.empty_table()) == 2
    assert trades.versions("BTCUSD", DAY)[-1].rows == 0
    out = trades.select("BTCUSD", DAY, DAY + dt.timedelta(days=1))
    assert len(out) == 0 and list(out.columns) == TRADES_SCHEMA.names


def test_table_kind_comes_from_the_name_suffix() -> None:
    assert table_kind("PHEMEX_TRADES") is TableKind.TRADES
    assert table_kind("BINANCE_US_BOOKS") is TableKind.BOOKS
    for bad in ["PHEMEX", "phemex_trades", "PHEMEX_QUOTES", "../X_TRADES", ""]:
        with pytest.raises(InvalidValueError, match="table must look like"):
            table_kind(bad)


def test_a_non_frame_is_refused() -> None:
    with pytest.raises(DataError, match="DataFrame or a pyarrow Table"):
        to_arrow([1, 2, 3], TableKind.TRADES, DAY)  # type: ignore[arg-type]


_rows = st.lists(
    st.tuples(
        st.integers(0, 86_400 * 10**9 - 1),
        st.integers(-(10**12), 10**12),
        st.text(min_size=0, max_size=12),
        st.sampled_from([1, -1]),
        st.floats(1e-8, 1e9, allow_nan=False),
        st.floats(1e-8, 1e6, allow_nan=False),
        st.integers(-(2**62), 2**62),
    ),
    max_size=60,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows, window=st.tuples(st.integers(0, 86_400), st.integers(1, 86_400)))
def test_any_valid_day_round_trips_and_windows_match_a_filter(
    trades: BlobTickstore,
    rows: list[tuple[int, int, str, int, float, float, int]],
    window: tuple[int, int],
) -> None:
    rows.sort(key=lambda r: r[0])
    t0 = day_ns()
    frame = pd.DataFrame(
        {
            "ts": np.array([t0 + r[0] for r in rows], dtype=np.int64),
            "ts_recv": np.array([t0 + r[1] for r in rows], dtype=np.int64),
            "trade_id": pd.array(  # unique, as insert requires, or empty
                [f"{r[2]}-{i}" if r[2] else "" for i, r in enumerate(rows)], dtype="str"
            ),
            "side": np.array([r[3] for r in rows], dtype=np.int8),
            "price": np.array([r[4] for r in rows], dtype=np.float64),
            "qty": np.array([r[5] for r in rows], dtype=np.float64),
            "seq": np.array([r[6] for r in rows], dtype=np.int64),
        }
    )
    trades.insert("BTCUSD", DAY, frame)
    whole = trades.select("BTCUSD", DAY, DAY + dt.timedelta(days=1))
    pd.testing.assert_frame_equal(whole, frame)
    start = t0 + window[0] * 10**9
    end = start + window[1] * 10**9
    expected = frame[(frame["ts"] >= start) & (frame["ts"] < end)].reset_index(drop=True)
    got = trades.select("BTCUSD", start, end)
    pd.testing.assert_frame_equal(got, expected)
    scanned = [b.num_rows for b in trades.scan("BTCUSD", start, end)]
    assert sum(scanned) == len(expected)
