"""``serenity tickstore migrate`` moves old stores to hive-style folders, losing nothing.

An old store is made by moving a table written now back to ``<SYMBOL>/<DATE>/`` folders
(byte for byte the files and indexes the old layout held). A migration killed with SIGKILL at
chosen points (mid-copy, mid-index, mid-removal, mid-publish) and run again ends exactly like
one that was never interrupted.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from typing import Any

import pandas as pd
import pytest
import tickstore_data
from tickstore_data import DAY, StoreSpec, to_legacy_layout, trades_frame

from serenity.cli import main
from serenity.errors import StoreError
from serenity.marketdata.tickstore import BlobTickstore, migrate_table, open_tickstore
from serenity.marketdata.tickstore.migrate import legacy_partitions

NEXT = DAY + dt.timedelta(days=1)
END = NEXT + dt.timedelta(days=1)


def _history(store: BlobTickstore) -> list[int | None]:
    """Write two symbols over two days with a re-insert and a delete; return as_of instants."""
    store.insert("BTCUSD", DAY, trades_frame(seed=1), metadata={"digest": "a"})
    store.insert("BTCUSD", NEXT, trades_frame(NEXT, seed=2))
    store.insert("ETHUSD", DAY, trades_frame(seed=3, n=40))
    middle = time.time_ns()
    store.insert("BTCUSD", DAY, trades_frame(seed=4, n=70), metadata={"digest": "b"})
    store.delete("BTCUSD", NEXT)
    return [None, middle]


def _state(store: BlobTickstore, instants: list[int | None]) -> dict[str, Any]:
    """Return every version and every as_of read of the store, to compare before and after."""
    state: dict[str, Any] = {}
    for symbol, day in store.partitions():
        state[f"{symbol} {day}"] = store.versions(symbol, day)
    for symbol in ("BTCUSD", "ETHUSD"):
        for as_of in instants:
            state[f"{symbol} as of {as_of}"] = store.select(symbol, DAY, END, as_of=as_of)
    return state


def _assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], value)
        else:
            assert got[key] == value, key


def _migrated(
    spec: StoreSpec, store: BlobTickstore, want: dict[str, Any], instants: list[int | None]
) -> None:
    assert legacy_partitions(store.blobs, store.table) == {}
    _assert_same(_state(open_tickstore(spec.url, store.table), instants), want)
    current = sorted(
        f"symbol={s}/date={d}/{v.file}"
        for s, d in store.partitions()
        if (v := store.versions(s, d)[-1]).file is not None
    )
    assert store.delta_log.active_files() == current


@pytest.fixture
def old_store(spec: StoreSpec) -> tuple[BlobTickstore, dict[str, Any], list[int | None]]:
    """Return a store in the old layout, its state as written, and the as_of instants."""
    store = open_tickstore(spec.url, "PHEMEX_TRADES")
    instants = _history(store)
    want = _state(store, instants)
    assert to_legacy_layout(spec.url) == 7  # 4 data files and 3 indexes
    return store, want, instants


def test_an_old_store_is_refused_until_migrated(
    spec: StoreSpec,
    old_store: tuple[BlobTickstore, dict[str, Any], list[int | None]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, want, instants = old_store
    with pytest.raises(StoreError, match="serenity tickstore migrate"):
        store.select("BTCUSD", DAY, END)
    with pytest.raises(StoreError, match="old <SYMBOL>/<DATE>/ layout"):
        store.insert("ETHUSD", DAY, trades_frame(seed=9))  # would hide the old versions
    assert main(["tickstore", "ls", spec.url, "--table", "PHEMEX_TRADES"]) == 2
    assert "serenity tickstore migrate" in capsys.readouterr().err

    assert main(["tickstore", "migrate", spec.url]) == 0
    out = capsys.readouterr().out
    assert "PHEMEX_TRADES: moved 3 partitions (4 files); created the Delta log" in out
    _migrated(spec, store, want, instants)
    assert main(["tickstore", "migrate", spec.url, "--table", "PHEMEX_TRADES"]) == 0
    out = capsys.readouterr().out
    assert "moved 0 partitions (0 files); Delta log up to date (version 0)" in out
    assert store.insert("ETHUSD", DAY, trades_frame(seed=9)) == 2  # writers carry on


def _copy_partition(store: BlobTickstore, symbol: str, day: dt.date) -> None:
    """Copy an old partition to its new folder, as an interrupted migration leaves it."""
    old = f"PHEMEX_TRADES/{symbol}/{day}/"
    new = f"PHEMEX_TRADES/symbol={symbol}/date={day}/"
    for key in list(store.blobs.list_keys(old)):
        blob, name = store.blobs.read(key), key.removeprefix(old)
        assert blob is not None
        if name == "index.json":
            store.blobs.write(new + name, blob.data, etag=None)
        else:
            store.blobs.put(new + name, blob.data)


def test_versions_written_after_an_index_moved_are_kept(
    old_store: tuple[BlobTickstore, dict[str, Any], list[int | None]],
) -> None:
    store, _, _ = old_store
    _copy_partition(store, "ETHUSD", DAY)
    assert store.insert("ETHUSD", DAY, trades_frame(seed=9)) == 2  # the moved index takes it
    stats = migrate_table(store.blobs, "PHEMEX_TRADES")
    assert (stats.partitions, stats.files) == (3, 3)  # ETHUSD's file was already there
    assert [v.version for v in store.versions("ETHUSD", DAY)] == [1, 2]
    assert len(store.select("ETHUSD", DAY, END)) == 100


def test_a_partition_whose_two_indexes_differ_is_left_alone(
    old_store: tuple[BlobTickstore, dict[str, Any], list[int | None]],
) -> None:
    store, _, _ = old_store
    old_key = "PHEMEX_TRADES/ETHUSD/2024-01-05/index.json"
    old_index = store.blobs.read(old_key)
    assert old_index is not None
    store.blobs.remove(old_key)  # hidden for a moment, so a writer starts a new history
    writer = open_tickstore(store.blobs, "PHEMEX_TRADES", publish=False)
    writer.insert("ETHUSD", DAY, trades_frame(seed=8, n=10))
    store.blobs.write(old_key, old_index.data, etag=None)  # two histories of one day
    with pytest.raises(StoreError, match="different versions in the old and the new folder"):
        migrate_table(store.blobs, "PHEMEX_TRADES")
    left = store.blobs.read(old_key)
    assert left is not None and left.data == old_index.data  # left as it was


@pytest.mark.parametrize(
    ("spec", "method", "nth"),
    [
        ("local", "copy", 3),  # mid-copy: the first partition's files are in both folders
        ("local", "write", 2),  # the first partition moved, the second's index not yet
        ("local", "remove", 2),  # between removing an old data file and its old index
        ("local", "publish", 1),  # every partition moved, the log not yet written
        pytest.param("azure", "remove", 2, marks=pytest.mark.azure),
    ],
    indirect=["spec"],
)
def test_a_migration_killed_midway_resumes_and_loses_nothing(
    spec: StoreSpec,
    old_store: tuple[BlobTickstore, dict[str, Any], list[int | None]],
    method: str,
    nth: int,
) -> None:
    store, want, instants = old_store
    method = "link" if method == "copy" else method
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=tickstore_data.migrate_then_die, args=(spec.url, spec.env, method, nth)
    )
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -9  # killed by SIGKILL at the chosen point
    stats = migrate_table(store.blobs, "PHEMEX_TRADES")
    assert stats.published.committed
    _migrated(spec, store, want, instants)
