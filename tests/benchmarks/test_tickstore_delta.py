"""What the Delta log costs: per insert, per publish commit, and its size for 30 days.

Run with ``python -m pytest tests/benchmarks/test_tickstore_delta.py --benchmark-only``
(``source /work/tools/env.sh`` first to include Azurite). Each store holds one symbol with 30
days already published; each round re-inserts one of those days, so every commit removes a
file and adds one. ``publish_ms`` is the log's share of an insert (its commit alone);
``insert_ms`` is a whole insert of a day of 1M trades with and without the log; ``log_kb``
is the size of ``_delta_log`` after 30 days (and after each was re-inserted once).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from serenity.marketdata.tickstore import AZURE_ENV, BlobTickstore, open_tickstore
from serenity.marketdata.tickstore.args import day_start_ns

DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=k) for k in range(30)]
SMALL = 1_000
BIG = 1_000_000


def _trades(day: dt.date, n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    ts = day_start_ns(day) + np.sort(rng.integers(0, 86_400 * 10**9, n))
    return pa.table(
        {
            "ts": ts,
            "ts_recv": ts + rng.integers(200_000, 5_000_000, n),
            "trade_id": pa.array(np.arange(n, dtype=np.int64) + seed * n).cast(pa.string()),
            "side": np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
            "price": 42_000.0 + 0.5 * np.cumsum(rng.integers(-1, 2, n)),
            "qty": rng.integers(1, 2_000, n) * 0.001,
            "seq": np.arange(n, dtype=np.int64),
        }
    )


def _log_bytes(store: BlobTickstore) -> int:
    keys = store.blobs.list_keys(f"{store.table}/_delta_log/")
    return sum(store.blobs.size(k) or 0 for k in keys)


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Generator[str]:
    if backend == "local":
        yield tmp_path.as_uri()
        return
    conn = request.getfixturevalue("azure_conn")
    container = f"b{uuid.uuid4().hex[:20]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(AZURE_ENV, conn)
        yield f"azure://{container}"
    from azure.storage.blob import BlobServiceClient

    BlobServiceClient.from_connection_string(conn).delete_container(container)


@pytest.fixture(params=["local", pytest.param("azure", marks=pytest.mark.azure)])
def month(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Generator[tuple[BlobTickstore, BlobTickstore]]:
    """Return a table with 30 published days, opened with and without publishing."""
    for url in _url(request.param, tmp_path, request):
        store = open_tickstore(url, "PHEMEX_TRADES")
        for k, day in enumerate(DAYS):
            store.insert("BTCUSD", day, _trades(day, SMALL, k))
        yield store, open_tickstore(url, "PHEMEX_TRADES", publish=False)


def test_publish_commit_per_insert(
    benchmark: Any, month: tuple[BlobTickstore, BlobTickstore]
) -> None:
    store, quiet = month
    days = itertools.cycle(DAYS)
    seeds = itertools.count(100)
    pending: list[dt.date] = []

    def insert_unpublished() -> tuple[tuple[()], dict[str, Any]]:
        day = next(days)
        quiet.insert("BTCUSD", day, _trades(day, SMALL, next(seeds)))
        pending.append(day)
        return (), {}

    def publish() -> None:
        stats = store.delta_log.publish([("BTCUSD", pending[-1])], reason="insert")
        assert (stats.added, stats.removed) == (1, 1)

    benchmark.pedantic(publish, setup=insert_unpublished, rounds=20, iterations=1)
    benchmark.extra_info["publish_ms"] = round(benchmark.stats["mean"] * 1e3, 1)
    benchmark.extra_info["publish_ms_median"] = round(benchmark.stats["median"] * 1e3, 1)
    benchmark.extra_info["log_versions"] = store.delta_log.publish().version + 1


@pytest.mark.parametrize("publish", [True, False], ids=["with_log", "without_log"])
def test_insert_a_day_of_1m_trades(
    benchmark: Any, month: tuple[BlobTickstore, BlobTickstore], publish: bool
) -> None:
    store = month[0] if publish else month[1]
    day = DAYS[-1]
    frame = _trades(day, BIG, 7)
    benchmark.pedantic(lambda: store.insert("BTCUSD", day, frame), rounds=8, iterations=1)
    benchmark.extra_info["insert_ms"] = round(benchmark.stats["mean"] * 1e3, 1)
    benchmark.extra_info["insert_ms_median"] = round(benchmark.stats["median"] * 1e3, 1)


def test_log_size_for_30_days(benchmark: Any, tmp_path: Path) -> None:
    def fill() -> tuple[int, int]:
        store = open_tickstore((tmp_path / uuid.uuid4().hex).as_uri(), "PHEMEX_TRADES")
        for k, day in enumerate(DAYS):
            store.insert("BTCUSD", day, _trades(day, SMALL, k))
        once = _log_bytes(store)
        for k, day in enumerate(DAYS):
            store.insert("BTCUSD", day, _trades(day, SMALL, 100 + k))
        return once, _log_bytes(store)

    once, twice = benchmark.pedantic(fill, rounds=1, iterations=1)
    benchmark.extra_info["log_kb_30_days"] = round(once / 1024, 1)
    benchmark.extra_info["log_kb_30_days_each_reinserted"] = round(twice / 1024, 1)
    benchmark.extra_info["ms_per_insert_of_1k_trades"] = round(
        benchmark.stats["mean"] * 1e3 / (2 * len(DAYS)), 1
    )
    assert 0 < once < twice
