"""Price files, daily bars from trades, split-adjusted history and the total-return index."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.errors import DataError, UnknownSymbolError
from serenity.strategy import PriceFile, PriceTable, PricingContext, daily_bars, read_prices
from tests.strategy.conftest import write_prices

D = [dt.date(2024, 1, d) for d in (2, 3, 4, 5)]


def test_a_price_file_reads_csv_and_parquet_with_yahoo_style_names(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Date": ["2024-01-02", "2024-01-03"],
            "Symbol": ["AAA", "AAA"],
            "Open": [1.0, 2.0],
            "High": [1.5, 2.5],
            "Low": [0.5, 1.5],
            "Close": [1.2, 2.2],
            "Volume": [10, 20],
            "Dividends": [0.0, 0.1],
            "Stock Splits": [0.0, 2.0],
        }
    )
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.to_parquet(tmp_path / "p.parquet")
    for name in ("p.csv", "p.parquet"):
        read = read_prices(tmp_path / name)
        assert read.columns.tolist() == [
            "date",
            "symbol",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "dividend",
            "split",
        ]
        assert read.date.tolist() == D[:2]
        assert read.split.tolist() == [1.0, 2.0]  # 0 means no split
        assert read.dividend.tolist() == [0.0, 0.1]


def test_a_bad_price_file_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame({"date": ["2024-01-02"], "symbol": ["AAA"], "close": [1.0]}).to_csv(path)
    with pytest.raises(DataError, match=r"lacks column\(s\) \['open', 'high', 'low', 'volume'\]"):
        read_prices(path)
    write_prices(tmp_path, [("2024-01-02", "AAA", 1, 0, 10)], name="zero.csv")
    with pytest.raises(DataError, match="AAA on 2024-01-02 has open 1.0, close 0.0"):
        read_prices(tmp_path / "zero.csv")
    twice = write_prices(tmp_path, [("2024-01-02", "A", 1, 1, 1)] * 2, name="twice.csv")
    with pytest.raises(DataError, match="A on 2024-01-02 appears twice"):
        read_prices(twice)
    once = write_prices(tmp_path, [("2024-01-02", "A", 1, 1, 1)], name="once.csv")
    with pytest.raises(UnknownSymbolError, match="no prices of 'ZZZ'; it has A"):
        PriceFile(once).load(["ZZZ"], D[0], D[-1])


def test_history_is_split_adjusted_as_of_the_session(tmp_path: Path) -> None:
    rows = [
        ("2024-01-02", "CCC", 50, 50, 100, 1.0),
        ("2024-01-03", "CCC", 52, 52, 100),
        ("2024-01-04", "CCC", 26, 27, 200, 0.0, 2.0),
        ("2024-01-05", "CCC", 27, 28, 200),
    ]
    frame = read_prices(write_prices(tmp_path, rows))
    table = PriceTable(frame, D, ["CCC"])
    before = PricingContext(table, 1)
    after = PricingContext(table, 3)
    assert before.history("CCC").tolist() == [50.0, 52.0]  # nothing later is seen
    assert after.history("CCC").tolist() == [25.0, 26.0, 27.0, 28.0]
    assert after.history("CCC", adjusted=False).tolist() == [50.0, 52.0, 27.0, 28.0]
    assert after.history("CCC", "volume").tolist() == [200.0, 200.0, 200.0, 200.0]
    assert after.history("CCC", days=2).index.tolist() == D[2:]
    assert after.price("CCC") == Decimal(28) and PricingContext(table, 2).close("CCC") == 27
    # 1 unit at the first close (50) -> 2 units after the split; a dividend only before
    index = table.total_return_index("CCC", 0, 3)
    assert index.tolist() == pytest.approx([50.0, 52.0, 54.0, 56.0])


def test_the_total_return_index_reinvests_dividends(tmp_path: Path) -> None:
    rows = [
        ("2024-01-02", "BBB", 20, 20, 1),
        ("2024-01-03", "BBB", 20, 19, 1, 1.0),  # 19 + 1 paid: no change in value
        ("2024-01-05", "BBB", 19, 21, 1),  # no bar on the 4th: the value carries
    ]
    table = PriceTable(read_prices(write_prices(tmp_path, rows)), D, ["BBB"])
    assert table.total_return_index("BBB", 0, 3).tolist() == pytest.approx(
        [20.0, 20.0, 20.0, 20.0 * 21 / 19]
    )
    assert math.isnan(table.last_close(0, "BBB")) is False


def trades(ts: list[int], px: list[float], qty: list[float]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"ts": ts, "price": px, "qty": qty})


def test_daily_bars_from_trades_span_utc_days_across_batches() -> None:
    day = 86_400 * 10**9
    t0 = int(pd.Timestamp("2024-01-02", tz="UTC").value)
    batches = [
        trades([t0 + 1, t0 + 2], [10.0, 12.0], [1.0, 2.0]),
        trades([t0 + 3, t0 + day], [9.0, 20.0], [0.5, 4.0]),  # the 2nd goes on, then the 3rd
        trades([], [], []),
    ]
    bars = daily_bars(batches, symbol="BTC-USD@coinbase")
    assert bars.date.tolist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert bars[["open", "high", "low", "close", "volume"]].values.tolist() == [
        [10.0, 12.0, 9.0, 9.0, 3.5],
        [20.0, 20.0, 20.0, 20.0, 4.0],
    ]
    assert (bars.dividend == 0).all() and (bars.split == 1).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 3 * 86_400), min_size=1, max_size=60),
    st.integers(1, 7),
)
def test_daily_bars_match_a_groupby_however_the_trades_are_batched(
    seconds: list[int], size: int
) -> None:
    ts = np.sort(np.array(seconds, dtype=np.int64)) * 10**9
    px = 100.0 + np.arange(ts.size) % 7
    qty = 1.0 + np.arange(ts.size) % 3
    batches = [
        trades(ts[i : i + size].tolist(), px[i : i + size].tolist(), qty[i : i + size].tolist())
        for i in range(0, ts.size, size)
    ]
    bars = daily_bars(batches, symbol="X")
    frame = pd.DataFrame({"day": ts // (86_400 * 10**9), "px": px, "qty": qty})
    expected = frame.groupby("day").agg(
        open=("px", "first"),
        high=("px", "max"),
        low=("px", "min"),
        close=("px", "last"),
        volume=("qty", "sum"),
    )
    assert bars[["open", "high", "low", "close", "volume"]].values.tolist() == (
        expected.values.tolist()
    )
