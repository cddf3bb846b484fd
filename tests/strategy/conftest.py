"""Small price files and a runner for hand-computed investment backtests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from serenity.marketdata.tickstore import open_tickstore
from serenity.marketdata.tickstore.args import day_start_ns
from serenity.strategy import InvestResult, backtest

Row = tuple[Any, ...]  # (date, symbol, open, close, volume[, dividend[, split]])


def write_prices(folder: Path, rows: Sequence[Row], name: str = "prices.csv") -> Path:
    """Write a price file: high and low span open and close; dividend 0, split 1 unless given."""
    records = []
    for row in rows:
        date, symbol, open_, close, volume = row[:5]
        dividend = row[5] if len(row) > 5 else 0.0
        split = row[6] if len(row) > 6 else 1.0
        records.append(
            {
                "date": date,
                "symbol": symbol,
                "open": open_,
                "high": max(open_, close),
                "low": min(open_, close),
                "close": close,
                "volume": volume,
                "dividend": dividend,
                "split": split,
            }
        )
    path = folder / name
    pd.DataFrame(records).to_csv(path, index=False)
    return path


def config(prices: Path, **overrides: Any) -> dict[str, Any]:
    """A daily-rebalanced Scripted strategy on XNYS with 10,000 USD and no costs."""
    params = {k: overrides.pop(k) for k in ("orders", "weights", "account") if k in overrides}
    base: dict[str, Any] = {
        "api-version": "v1",
        "strategy": {
            "name": "scripted",
            "module": "tests.strategy.strategies",
            "class": "Scripted",
            "params": params,
        },
        "universe": "all",
        "prices": str(prices),
        "calendar": "XNYS",
        "capital": 10_000,
        "rebalance": "daily",
        "fills": "market_on_close",
        "dividends": "accumulate",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}  # None removes a key


Runner = Callable[..., InvestResult]


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    """Run a config (``config(...)`` keyword overrides) over 2024-01-02 .. 2024-01-05."""
    count = 0

    def go(
        prices: Path, *, start: str = "2024-01-02", end: str = "2024-01-06", **overrides: Any
    ) -> InvestResult:
        nonlocal count
        count += 1
        return backtest(
            config(prices, **overrides),
            start=start,
            end=end,
            out=tmp_path / f"run{count}",
            record=False,
            report=False,
        )

    return go


def crypto_store(folder: Path) -> str:
    """Three UTC days of BTC-USD and ETH-USD trades in a local tick store."""
    url = f"file://{folder / 'ticks'}"
    store = open_tickstore(url, "COINBASE_TRADES")
    rng = np.random.default_rng(3)
    for symbol, start_px in (("BTC-USD", 42_000.0), ("ETH-USD", 2_300.0)):
        px = start_px
        for k in range(3):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=k)
            ts = day_start_ns(day) + np.sort(rng.integers(0, 86_400 * 10**9, 50))
            prices = np.round(px * np.exp(np.cumsum(rng.normal(0, 0.003, 50))), 2)
            px = float(prices[-1])
            store.insert(
                symbol,
                day,
                pd.DataFrame(
                    {
                        "ts": ts,
                        "ts_recv": ts,
                        "trade_id": pd.array([f"{k}-{i}" for i in range(50)], dtype="str"),
                        "side": np.ones(50, dtype=np.int8),
                        "price": prices,
                        "qty": np.full(50, 0.5),
                        "seq": np.arange(50),
                    }
                ),
            )
    return url
