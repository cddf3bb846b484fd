"""Deterministic rows for the tick store tests, and worker functions for spawned processes."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from serenity.marketdata.tickstore import LocalBlobStore, open_tickstore
from serenity.marketdata.tickstore.args import day_start_ns

DAY = dt.date(2024, 1, 5)
NS_PER_S = 1_000_000_000
NS_PER_H = 3600 * NS_PER_S


@dataclass(frozen=True)
class StoreSpec:
    """A store for one test: its backend, URL and the environment that opens it."""

    backend: str
    url: str
    env: dict[str, str]


def day_ns(day: dt.date = DAY) -> int:
    """Return the first nanosecond of ``day``."""
    return day_start_ns(day)


def trades_frame(day: dt.date = DAY, n: int = 100, *, seed: int = 0) -> pd.DataFrame:
    """Return ``n`` trades spread over ``day``, sorted by ts, with the trades schema."""
    rng = np.random.default_rng(seed)
    ts = day_ns(day) + np.sort(rng.integers(0, 86_400 * NS_PER_S, n))
    return pd.DataFrame(
        {
            "ts": ts,
            "ts_recv": ts + rng.integers(1_000, 1_000_000, n),
            "trade_id": pd.array([f"{seed}-{i}" for i in range(n)], dtype="str"),
            "side": np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
            "price": np.round(42_000 + np.cumsum(rng.normal(0, 5, n)), 1),
            "qty": np.round(rng.exponential(0.1, n) + 0.001, 4),
            "seq": np.arange(n, dtype=np.int64),
        }
    )


def books_frame(day: dt.date = DAY, n: int = 100, *, seed: int = 0) -> pd.DataFrame:
    """Return ``n`` L2 deltas over ``day``: a 10-row snapshot, then updates and deletes."""
    rng = np.random.default_rng(seed)
    ts = day_ns(day) + np.sort(rng.integers(0, 86_400 * NS_PER_S, n))
    snapshot = np.arange(n) < 10
    return pd.DataFrame(
        {
            "ts": ts,
            "ts_recv": ts + 500,
            "seq": np.where(snapshot, 1, np.arange(n) + 1).astype(np.int64),
            "is_snapshot": snapshot,
            "side": np.where(np.arange(n) % 2 == 0, 1, -1).astype(np.int8),
            "price": 100.0 + rng.integers(-20, 20, n) * 0.5,
            "qty": np.where(rng.random(n) < 0.2, 0.0, rng.exponential(1.0, n)),
        }
    )


def insert_many(url: str, env: dict[str, str], count: int, seed: int, barrier: Any) -> list[int]:
    """Insert ``count`` versions of one day from a spawned process; return their numbers."""
    os.environ.update(env)
    store = open_tickstore(url, "PHEMEX_TRADES")
    frame = trades_frame(n=50, seed=seed)
    barrier.wait(timeout=60)
    return [store.insert("BTCUSD", DAY, frame, metadata={"writer": seed}) for _ in range(count)]


def crash_before_index(url: str, env: dict[str, str]) -> None:
    """Write a version's data file, then die (os._exit) where the index would be updated."""
    os.environ.update(env)
    store = open_tickstore(url, "PHEMEX_TRADES")

    def die(*args: object, **kwargs: object) -> None:
        os._exit(17)

    store.blobs.write = die  # type: ignore[method-assign]
    store.insert("BTCUSD", DAY, trades_frame(n=30, seed=99))


def crash_during_local_replace(url: str) -> None:
    """Die inside the local index write, after the temporary file, before the rename."""
    store = open_tickstore(url, "PHEMEX_TRADES")

    def die(*args: object, **kwargs: object) -> None:
        os._exit(18)

    os.replace = die  # type: ignore[assignment]
    store.insert("BTCUSD", DAY, trades_frame(n=30, seed=98))


def to_legacy_layout(url: str, table: str = "PHEMEX_TRADES") -> int:
    """Move a table's partitions back to the old ``<SYMBOL>/<DATE>/`` folders; drop its log.

    Returns the number of keys moved. The files and indexes are byte for byte what the old
    layout held, so the result is a store as written before hive-style folders.
    """
    store = open_tickstore(url, table)
    blobs = store.blobs
    moved = 0
    for key in list(blobs.list_keys(f"{table}/")):
        parts = key.split("/")
        if parts[1] == "_delta_log":
            blobs.remove(key)
            continue
        symbol, day = parts[1].removeprefix("symbol="), parts[2].removeprefix("date=")
        old = f"{table}/{symbol}/{day}/{parts[3]}"
        blob = blobs.read(key)
        assert blob is not None
        if parts[3] == "index.json":
            blobs.write(old, blob.data, etag=None)
        else:
            blobs.put(old, blob.data)
        blobs.remove(key)
        moved += 1
    if isinstance(blobs, LocalBlobStore):  # no empty new-layout folders, as in an old store
        for folder in sorted((blobs.root / table).rglob("*"), reverse=True):
            if folder.is_dir() and ("=" in folder.name or folder.name == "_delta_log"):
                for lock in folder.glob("*.lock"):
                    lock.unlink()
                folder.rmdir()
    return moved


def migrate_then_die(url: str, env: dict[str, str], method: str, nth: int) -> None:
    """Run ``serenity tickstore migrate`` and SIGKILL this process at the ``nth`` call of
    ``method`` before it acts: a blob store method (``put``, ``write``, ``remove``),
    ``link`` (:func:`os.link`, how a local store copies) or ``publish`` (the Delta log)."""
    import signal

    from serenity.cli import main
    from serenity.marketdata.tickstore import DeltaLog, open_blobstore

    os.environ.update(env)
    calls = 0
    owners: dict[str, Any] = {"publish": DeltaLog, "link": os}
    owner = owners.get(method, type(open_blobstore(url)))
    real = getattr(owner, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(owner, method, counted)
    main(["--quiet", "tickstore", "migrate", url])
    os._exit(0)  # the chosen point was never reached
