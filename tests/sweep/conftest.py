"""A small tick store and a local Dask cluster, each made once for the sweep tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serenity.marketdata.tickstore import open_tickstore
from tests.algo.conftest import DAYS, day_trades

EXAMPLES = Path(__file__).resolve().parents[2] / "serenity" / "examples"


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two days of 5,000 Coinbase BTC-USD trades each."""
    url = f"file://{tmp_path_factory.mktemp('ticks')}"
    trades = open_tickstore(url, "COINBASE_TRADES")
    px = 42_000.0
    for i, day in enumerate(DAYS):
        frame = day_trades(day, 5_000, seed=21 + i, start_px=px)
        px = float(frame.price.iloc[-1])
        trades.insert("BTC-USD", day, frame)
    return url


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A LocalCluster of two single-threaded worker processes, started once per module."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
