"""A small tick store of generated Coinbase BTC-USD trades (and books) for the algo tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serenity.marketdata.tickstore import open_tickstore
from serenity.marketdata.tickstore.args import day_start_ns

DAYS = (dt.date(2024, 1, 2), dt.date(2024, 1, 3))
PER_DAY = 20_000


def day_trades(
    day: dt.date, n: int = PER_DAY, *, seed: int, start_px: float = 42_000.0
) -> pd.DataFrame:
    """``n`` trades over ``day``: a random walk wide enough to cross Bollinger bands."""
    rng = np.random.default_rng(seed)
    ts = day_start_ns(day) + np.sort(rng.integers(0, 86_400 * 10**9, n))
    return pd.DataFrame(
        {
            "ts": ts,
            "ts_recv": ts + 1_000,
            "trade_id": pd.array([f"{day:%d}-{i}" for i in range(n)], dtype="str"),
            "side": np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
            "price": np.round(start_px + np.cumsum(rng.normal(0, 6, n)), 2),
            "qty": np.round(rng.exponential(0.02, n) + 0.001, 4),
            "seq": np.arange(n, dtype=np.int64),
        }
    )


def day_books(day: dt.date, trades: pd.DataFrame, *, every: int = 20) -> pd.DataFrame:
    """Book updates around the trades: a snapshot, then each ``every``-th trade moves the
    touch to a cent around its price."""
    rows = []
    first = trades.iloc[0]
    seq = 1
    for side, px in ((1, first.price - 0.5), (-1, first.price + 0.5)):
        for k in range(5):
            step = -k if side > 0 else k
            rows.append((int(first.ts) - 1, seq, True, side, round(px + step, 2), 1.0))
    for i in range(every, len(trades), every):
        seq += 1
        t = trades.iloc[i]
        ts = int(t.ts) + 1
        rows.append((ts, seq, False, 1, round(t.price - 0.01, 2), 0.5))
        rows.append((ts, seq, False, -1, round(t.price + 0.01, 2), 0.5))
    frame = pd.DataFrame(rows, columns=["ts", "seq", "is_snapshot", "side", "price", "qty"])
    frame.insert(1, "ts_recv", frame["ts"] + 500)
    return frame.astype({"side": np.int8}).sort_values(["ts", "seq"], kind="stable")


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A local tick store with two days of COINBASE_TRADES (and books) for BTC-USD."""
    url = f"file://{tmp_path / 'ticks'}"
    trades = open_tickstore(url, "COINBASE_TRADES")
    books = open_tickstore(url, "COINBASE_BOOKS")
    px = 42_000.0
    for i, day in enumerate(DAYS):
        frame = day_trades(day, seed=11 + i, start_px=px)
        px = float(frame.price.iloc[-1])
        trades.insert("BTC-USD", day, frame)
        books.insert("BTC-USD", day, day_books(day, frame))
    return url


@pytest.fixture
def examples_dir() -> Path:
    """The example strategies and their configs."""
    return Path(__file__).resolve().parents[2] / "serenity" / "examples"
