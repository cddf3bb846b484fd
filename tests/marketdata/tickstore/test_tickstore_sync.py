"""Sync copies versions between stores, keeping numbers and validity, idempotently."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pytest
from tickstore_data import DAY, StoreSpec, trades_frame

from serenity.errors import InvalidValueError
from serenity.marketdata.tickstore import BlobTickstore, open_tickstore, plan_sync, sync

NEXT = DAY + dt.timedelta(days=1)


def _history(src: BlobTickstore) -> int:
    """Write two days with three versions and a tombstone; return an instant between them."""
    src.insert("BTCUSD", DAY, trades_frame(seed=1), metadata={"digest": "a"})
    middle = time.time_ns()
    src.insert("BTCUSD", DAY, trades_frame(seed=2), metadata={"digest": "b"})
    src.insert("ETHUSD", NEXT, trades_frame(NEXT, seed=3))
    src.delete("ETHUSD", NEXT)
    return middle


def test_sync_copies_every_version_and_answers_like_the_source(
    spec: StoreSpec, other_spec: StoreSpec
) -> None:
    src = open_tickstore(spec.url, "PHEMEX_TRADES")
    dst = open_tickstore(other_spec.url, "PHEMEX_TRADES")
    middle = _history(src)
    sizes: list[int] = []
    stats = sync(src, dst, progress=sizes.append)
    assert (stats.copied, stats.skipped, stats.conflicts) == (4, 0, ())
    assert stats.bytes_copied == sum(sizes) > 0 and len(sizes) == 3
    for symbol, day in [("BTCUSD", DAY), ("ETHUSD", NEXT)]:
        assert dst.versions(symbol, day) == src.versions(symbol, day)
    end = NEXT + dt.timedelta(days=1)
    for as_of in (None, middle):
        pd.testing.assert_frame_equal(
            dst.select("BTCUSD", DAY, end, as_of=as_of), src.select("BTCUSD", DAY, end, as_of=as_of)
        )
    tomb = dst.versions("ETHUSD", NEXT)[-1].valid_from_ns
    assert len(dst.select("ETHUSD", NEXT, end, as_of=tomb - 1)) == 100
    again = sync(src, dst)
    assert (again.copied, again.skipped, again.bytes_copied) == (0, 4, 0)


def test_sync_adds_only_new_versions_and_then_writers_continue(
    spec: StoreSpec, other_spec: StoreSpec
) -> None:
    src = open_tickstore(spec.url, "PHEMEX_TRADES")
    dst = open_tickstore(other_spec.url, "PHEMEX_TRADES")
    src.insert("BTCUSD", DAY, trades_frame(seed=1))
    sync(src, dst)
    src.insert("BTCUSD", DAY, trades_frame(seed=2))
    plan = plan_sync(src, dst)
    assert (plan.version_count, plan.skipped) == (1, 1) and plan.size_bytes > 0
    assert sync(src, dst).copied == 1
    assert dst.insert("BTCUSD", DAY, trades_frame(seed=3)) == 3


def test_diverged_partitions_are_reported_and_the_rest_synced(
    spec: StoreSpec, other_spec: StoreSpec
) -> None:
    src = open_tickstore(spec.url, "PHEMEX_TRADES")
    dst = open_tickstore(other_spec.url, "PHEMEX_TRADES")
    src.insert("BTCUSD", DAY, trades_frame(seed=1))
    dst.insert("BTCUSD", DAY, trades_frame(seed=9))  # its own version 1
    src.insert("ETHUSD", DAY, trades_frame(seed=2))
    stats = sync(src, dst)
    assert stats.copied == 1 and len(stats.conflicts) == 1
    assert "BTCUSD 2024-01-05: version 1 differs" in stats.conflicts[0]
    assert [v.version for v in dst.versions("ETHUSD", DAY)] == [1]
    assert dst.versions("BTCUSD", DAY)[0].file != src.versions("BTCUSD", DAY)[0].file


def test_a_sync_interrupted_after_copying_data_resumes(
    spec: StoreSpec, other_spec: StoreSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = open_tickstore(spec.url, "PHEMEX_TRADES")
    dst = open_tickstore(other_spec.url, "PHEMEX_TRADES")
    src.insert("BTCUSD", DAY, trades_frame())

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(dst, "commit", crash)
        with pytest.raises(KeyboardInterrupt):
            sync(src, dst)
    assert dst.symbols() == []  # the copied file is invisible without its index entry
    stats = sync(src, dst)
    assert (stats.copied, stats.bytes_copied) == (1, 0)  # the file was already there
    assert dst.versions("BTCUSD", DAY) == src.versions("BTCUSD", DAY)


def test_sync_needs_the_same_table_on_both_sides(spec: StoreSpec) -> None:
    with pytest.raises(InvalidValueError, match="one table on both sides"):
        sync(open_tickstore(spec.url, "PHEMEX_TRADES"), open_tickstore(spec.url, "PHEMEX_BOOKS"))
