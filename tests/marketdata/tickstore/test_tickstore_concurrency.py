"""Concurrent writers never lose versions; a crash mid-insert leaves no visible partial version.

The Delta log of a day raced by several writers ends showing the newest version.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import tickstore_data
from tickstore_data import DAY, StoreSpec, trades_frame

from serenity.errors import StoreError
from serenity.marketdata.tickstore import BlobConflictError, BlobTickstore, open_tickstore
from serenity.marketdata.tickstore import store as store_module

NEXT = DAY + dt.timedelta(days=1)
PER_WRITER = 4


def _check_all_versions_listed(store: BlobTickstore, expected: int) -> None:
    versions = store.versions("BTCUSD", DAY)
    assert [v.version for v in versions] == list(range(1, expected + 1))
    assert len({v.file for v in versions}) == expected
    stamps = [v.valid_from_ns for v in versions]
    assert stamps == sorted(stamps) and len(set(stamps)) == expected
    for v in versions:  # every file is complete and readable at its own as_of
        assert len(store.select("BTCUSD", DAY, NEXT, as_of=v.valid_from_ns)) == 50
    # Whatever order the writers' log commits raced in, the log ends at the newest version.
    assert store.delta_log.active_files() == [f"symbol=BTCUSD/date=2024-01-05/{versions[-1].file}"]


def test_two_processes_inserting_one_day_both_get_distinct_versions(spec: StoreSpec) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(2)
    with ctx.Pool(2) as pool:
        runs = [
            pool.apply_async(
                tickstore_data.insert_many, (spec.url, spec.env, PER_WRITER, seed, barrier)
            )
            for seed in (1, 2)
        ]
        got = [r.get(timeout=120) for r in runs]
    assert sorted(got[0] + got[1]) == list(range(1, 2 * PER_WRITER + 1))
    store = open_tickstore(spec.url, "PHEMEX_TRADES")
    _check_all_versions_listed(store, 2 * PER_WRITER)
    writers = [v.metadata["writer"] for v in store.versions("BTCUSD", DAY)]
    assert writers.count(1) == writers.count(2) == PER_WRITER


def test_threads_inserting_one_day_all_get_distinct_versions(spec: StoreSpec) -> None:
    start = threading.Barrier(4)
    frame = trades_frame(n=50)

    def write(_: int) -> list[int]:
        store = open_tickstore(spec.url, "PHEMEX_TRADES")
        start.wait(timeout=30)
        return [store.insert("BTCUSD", DAY, frame) for _ in range(3)]

    with ThreadPoolExecutor(4) as pool:
        numbers = sorted(n for batch in pool.map(write, range(4)) for n in batch)
    assert numbers == list(range(1, 13))
    _check_all_versions_listed(open_tickstore(spec.url, "PHEMEX_TRADES"), 12)


def _run_and_expect_exit(target: object, args: tuple[object, ...], code: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=target, args=args)  # type: ignore[arg-type]
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == code


def test_a_crash_between_data_and_index_leaves_no_visible_version(spec: StoreSpec) -> None:
    store = open_tickstore(spec.url, "PHEMEX_TRADES")
    frame = trades_frame(n=50)
    store.insert("BTCUSD", DAY, frame)
    files_before = set(store.blobs.list_keys("PHEMEX_TRADES/"))
    _run_and_expect_exit(tickstore_data.crash_before_index, (spec.url, spec.env), 17)
    orphans = set(store.blobs.list_keys("PHEMEX_TRADES/")) - files_before
    assert len(orphans) == 1 and next(iter(orphans)).endswith(".parquet")  # data was written
    assert [v.version for v in store.versions("BTCUSD", DAY)] == [1]
    pd.testing.assert_frame_equal(store.select("BTCUSD", DAY, NEXT), frame)
    assert store.insert("BTCUSD", DAY, trades_frame(n=50, seed=5)) == 2


def test_a_crash_inside_the_local_index_write_keeps_the_old_index(tmp_path: Path) -> None:
    url = (tmp_path / "ticks").as_uri()
    store = open_tickstore(url, "PHEMEX_TRADES")
    store.insert("BTCUSD", DAY, trades_frame(n=50))
    index_file = tmp_path / "ticks/PHEMEX_TRADES/symbol=BTCUSD/date=2024-01-05/index.json"
    before = index_file.read_bytes()
    _run_and_expect_exit(tickstore_data.crash_during_local_replace, (url,), 18)
    assert index_file.read_bytes() == before
    leftovers = [p.name for p in index_file.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers  # the torn write stayed in its temporary file
    assert not any(k.endswith(".tmp") for k in store.blobs.list_keys(""))
    assert [v.version for v in store.versions("BTCUSD", DAY)] == [1]


def test_a_write_whose_reply_was_lost_is_not_committed_twice(
    trades: BlobTickstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = trades.blobs.write
    calls = []

    def write_then_lose_reply(key: str, data: bytes, *, etag: str | None) -> str:
        real_write(key, data, etag=etag)
        calls.append(key)
        if len(calls) == 1:
            raise BlobConflictError("the reply was lost; a retry saw a changed ETag")
        return "unused"

    monkeypatch.setattr(trades.blobs, "write", write_then_lose_reply)
    assert trades.insert("BTCUSD", DAY, trades_frame()) == 1
    assert [v.version for v in trades.versions("BTCUSD", DAY)] == [1]


def test_an_index_that_stays_contended_is_a_store_error(
    trades: BlobTickstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_conflict(key: str, data: bytes, *, etag: str | None) -> str:
        raise BlobConflictError("someone else got there first")

    monkeypatch.setattr(trades.blobs, "write", always_conflict)
    monkeypatch.setattr(store_module, "_MAX_ATTEMPTS", 3)
    monkeypatch.setattr(store_module, "_FIRST_BACKOFF_S", 0.0)
    with pytest.raises(StoreError, match="stayed contended for 3 attempts"):
        trades.insert("BTCUSD", DAY, trades_frame())


def test_conditional_writes_detect_lost_races(trades: BlobTickstore) -> None:
    blobs = trades.blobs
    etag = blobs.write("X_TRADES/a/2024-01-05/index.json", b"1", etag=None)
    with pytest.raises(BlobConflictError):
        blobs.write("X_TRADES/a/2024-01-05/index.json", b"2", etag=None)
    newer = blobs.write("X_TRADES/a/2024-01-05/index.json", b"3", etag=etag)
    with pytest.raises(BlobConflictError):
        blobs.write("X_TRADES/a/2024-01-05/index.json", b"4", etag=etag)
    current = blobs.read("X_TRADES/a/2024-01-05/index.json")
    assert current is not None and current.data == b"3" and current.etag == newer
    with pytest.raises(StoreError, match="immutable"):
        blobs.put("X_TRADES/a/2024-01-05/index.json", b"5")
