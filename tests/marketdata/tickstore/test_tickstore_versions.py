"""Versions, bitemporal reads, tombstones, metadata and idempotent inserts on both backends."""

from __future__ import annotations

import datetime as dt
import os
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tickstore_data import DAY, NS_PER_H, day_ns, trades_frame

from serenity.errors import DataError, InvalidValueError, UnknownSymbolError
from serenity.marketdata.tickstore import (
    BlobTickstore,
    VersionIndex,
    VersionInfo,
    list_tables,
    open_tickstore,
)
from serenity.marketdata.tickstore.store import INDEX_NAME

NEXT = DAY + dt.timedelta(days=1)


def _whole_day(store: BlobTickstore, symbol: str = "BTCUSD", **kw: object) -> pd.DataFrame:
    return store.select(symbol, DAY, NEXT, **kw)  # type: ignore[arg-type]


def test_each_insert_is_a_new_version_with_recorded_validity(trades: BlobTickstore) -> None:
    before = time.time_ns()
    numbers = [trades.insert("BTCUSD", DAY, trades_frame(seed=s)) for s in range(3)]
    after = time.time_ns()
    versions = trades.versions("BTCUSD", DAY)
    assert numbers == [1, 2, 3] == [v.version for v in versions]
    stamps = [v.valid_from_ns for v in versions]
    assert before <= stamps[0] < stamps[1] < stamps[2] <= after
    assert len({v.file for v in versions}) == 3
    assert versions[-1].rows == 100 and versions[-1].ts_min is not None
    assert versions[0].valid_from.tzinfo is dt.UTC


def test_select_reads_the_newest_version_or_the_one_current_as_of(trades: BlobTickstore) -> None:
    old, new = trades_frame(seed=1), trades_frame(seed=2, n=40)
    trades.insert("BTCUSD", DAY, old)
    between = time.time_ns()
    trades.insert("BTCUSD", DAY, new)
    pd.testing.assert_frame_equal(_whole_day(trades), new)
    pd.testing.assert_frame_equal(_whole_day(trades, as_of=between), old)
    first = trades.versions("BTCUSD", DAY)[0].valid_from_ns
    assert len(_whole_day(trades, as_of=first - 1)) == 0
    pd.testing.assert_frame_equal(_whole_day(trades, as_of=first), old)
    stamp = pd.Timestamp(between, unit="ns", tz="UTC").tz_convert("America/New_York")
    pd.testing.assert_frame_equal(_whole_day(trades, as_of=stamp.isoformat()), old)


def test_delete_writes_a_tombstone_and_history_stays_readable(trades: BlobTickstore) -> None:
    frame = trades_frame()
    trades.insert("BTCUSD", DAY, frame)
    trades.insert("BTCUSD", NEXT, trades_frame(NEXT))
    before_delete = time.time_ns()
    assert trades.delete("BTCUSD", DAY, metadata={"reason": "bad feed"}) == 2
    assert trades.delete("BTCUSD", DAY) == 2  # already deleted: nothing new
    tomb = trades.versions("BTCUSD", DAY)[-1]
    assert tomb.is_tombstone and tomb.metadata == {"reason": "bad feed"}
    assert len(_whole_day(trades)) == 0
    pd.testing.assert_frame_equal(_whole_day(trades, as_of=before_delete), frame)
    assert trades.dates("BTCUSD") == [NEXT]
    assert trades.dates("BTCUSD", as_of=before_delete) == [DAY, NEXT]
    assert trades.insert("BTCUSD", DAY, frame) == 3
    pd.testing.assert_frame_equal(_whole_day(trades), frame)


def test_delete_refuses_what_was_never_stored(trades: BlobTickstore) -> None:
    with pytest.raises(UnknownSymbolError, match="unknown table 'PHEMEX_TRADES'.*no tables"):
        trades.delete("BTCUSD", DAY)
    trades.insert("BTCUSD", DAY, trades_frame())
    with pytest.raises(InvalidValueError, match="no BTCUSD data on 2024-01-06 to delete"):
        trades.delete("BTCUSD", NEXT)


def test_a_window_spans_days_skips_deleted_ones_and_stays_sorted(trades: BlobTickstore) -> None:
    days = [DAY + dt.timedelta(days=i) for i in range(3)]
    frames = [trades_frame(d, seed=i) for i, d in enumerate(days)]
    for d, f in zip(days, frames, strict=True):
        trades.insert("BTCUSD", d, f)
    trades.delete("BTCUSD", days[1])
    start, end = day_ns(days[0]) + 12 * NS_PER_H, day_ns(days[2]) + 12 * NS_PER_H
    out = trades.select("BTCUSD", start, end)
    both = pd.concat([frames[0], frames[2]], ignore_index=True)
    expected = both[(both["ts"] >= start) & (both["ts"] < end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(out, expected)
    assert [v.date for v in trades.resolve("BTCUSD", start, end)] == [days[0], days[2]]
    assert out["ts"].is_monotonic_increasing


def test_metadata_is_kept_and_must_be_json(trades: BlobTickstore) -> None:
    meta = {"digest": "sha256:ab", "gaps": 2, "quality": {"resyncs": [1, 2]}, "n": np.int64(3)}
    trades.insert("BTCUSD", DAY, trades_frame(), metadata=meta)
    stored = trades.latest_version("BTCUSD", DAY)
    assert stored is not None
    assert stored.metadata == {**meta, "n": 3}
    with pytest.raises(InvalidValueError, match="JSON-serialisable"):
        trades.insert("BTCUSD", DAY, trades_frame(), metadata={"when": object()})
    with pytest.raises(InvalidValueError, match="metadata must be a mapping"):
        trades.insert("BTCUSD", DAY, trades_frame(), metadata=[1])  # type: ignore[arg-type]
    assert len(trades.versions("BTCUSD", DAY)) == 1


def test_dedupe_on_makes_a_repeated_insert_a_no_op(trades: BlobTickstore) -> None:
    frame = trades_frame()
    assert trades.latest_version("BTCUSD", DAY) is None
    assert trades.insert("BTCUSD", DAY, frame, metadata={"digest": "a"}, dedupe_on="digest") == 1
    assert trades.insert("BTCUSD", DAY, frame, metadata={"digest": "a"}, dedupe_on="digest") == 1
    assert trades.insert("BTCUSD", DAY, frame, metadata={"digest": "b"}, dedupe_on="digest") == 2
    trades.delete("BTCUSD", DAY)
    assert trades.insert("BTCUSD", DAY, frame, metadata={"digest": "b"}, dedupe_on="digest") == 4
    assert sum(k.endswith(".parquet") for k in trades.blobs.list_keys("PHEMEX_TRADES/")) == 3
    with pytest.raises(InvalidValueError, match="dedupe_on='digest' is not a metadata key"):
        trades.insert("BTCUSD", DAY, frame, dedupe_on="digest")


def test_symbols_dates_partitions_and_tables(trades: BlobTickstore) -> None:
    assert trades.symbols() == [] and list_tables(trades.blobs) == []
    trades.insert("ETHUSD", NEXT, trades_frame(NEXT))
    trades.insert("BTCUSD", DAY, trades_frame())
    trades.insert("BTCUSD", NEXT, trades_frame(NEXT))
    assert trades.symbols() == ["BTCUSD", "ETHUSD"]
    assert trades.dates("BTCUSD") == [DAY, NEXT]
    assert trades.partitions() == [("BTCUSD", DAY), ("BTCUSD", NEXT), ("ETHUSD", NEXT)]
    assert list_tables(trades.blobs) == ["PHEMEX_TRADES"]


def test_unknown_tables_get_suggestions(trades: BlobTickstore) -> None:
    trades.insert("BTCUSD", DAY, trades_frame())
    typo = open_tickstore(trades.blobs, "PHEMEXX_TRADES")
    with pytest.raises(
        UnknownSymbolError, match="unknown table 'PHEMEXX_TRADES' in .*PHEMEX_TRADES"
    ):
        typo.select("BTCUSD", DAY, NEXT)


def test_unknown_symbols_get_suggestions_and_known_ones_empty_answers(
    trades: BlobTickstore,
) -> None:
    trades.insert("BTCUSD", DAY, trades_frame())
    for call in (
        lambda: trades.select("BTCUSDD", DAY, NEXT),
        lambda: trades.versions("BTCUSDD", DAY),
        lambda: trades.dates("BTCUSDD"),
    ):
        with pytest.raises(UnknownSymbolError, match="did you mean BTCUSD"):
            call()
    assert trades.versions("BTCUSD", NEXT) == []
    assert trades.latest_version("NOSUCH", DAY) is None
    assert len(trades.select("BTCUSD", NEXT, NEXT + dt.timedelta(days=1))) == 0


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (dt.datetime(2024, 1, 5), NEXT, "start must be timezone-aware"),
        ("2024-01-05T00:00:00", NEXT, "start must carry a timezone"),
        ("yesterday", NEXT, "start must be an ISO-8601 time"),
        (1.5e18, NEXT, "start must be an aware datetime"),
        (NEXT, DAY, "end must be after start"),
        (DAY, True, "end must be an aware datetime"),
    ],
)
def test_bad_times_are_refused(
    trades: BlobTickstore, start: object, end: object, message: str
) -> None:
    trades.insert("BTCUSD", DAY, trades_frame())
    with pytest.raises(InvalidValueError, match=message):
        trades.select("BTCUSD", start, end)  # type: ignore[arg-type]


def test_times_in_every_accepted_form_agree(trades: BlobTickstore) -> None:
    frame = trades_frame(n=500)
    trades.insert("BTCUSD", DAY, frame)
    t0 = day_ns()
    forms = [
        (t0 + NS_PER_H, t0 + 2 * NS_PER_H),
        ("2024-01-05T01:00:00Z", "2024-01-05T02:00:00.000000000Z"),
        ("2024-01-05T03:00:00+02:00", "2024-01-05T04:00:00+02:00"),
        (
            dt.datetime(2024, 1, 5, 1, tzinfo=dt.UTC),
            pd.Timestamp("2024-01-05 02:00", tz="UTC"),
        ),
    ]
    results = [trades.select("BTCUSD", s, e) for s, e in forms]
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0], other)
    expected = frame[(frame["ts"] >= t0 + NS_PER_H) & (frame["ts"] < t0 + 2 * NS_PER_H)]
    assert len(results[0]) == len(expected) > 0


def test_bad_symbols_and_days_are_refused(trades: BlobTickstore) -> None:
    for bad in ["", "../etc", "a/b", "x" * 65]:
        with pytest.raises(InvalidValueError, match="symbol must be"):
            trades.insert(bad, DAY, trades_frame())
    for day in ["2024-13-01", "05/01/2024", dt.datetime(2024, 1, 5, tzinfo=dt.UTC)]:
        with pytest.raises(InvalidValueError, match="date must be a UTC day"):
            trades.versions("BTCUSD", day)  # type: ignore[arg-type]
    assert trades.symbols() == []


def test_column_selection(trades: BlobTickstore) -> None:
    frame = trades_frame()
    trades.insert("BTCUSD", DAY, frame)
    out = trades.select("BTCUSD", DAY, NEXT, columns=["price", "qty"])
    pd.testing.assert_frame_equal(out, frame[["price", "qty"]])
    batches = list(trades.scan("BTCUSD", DAY, NEXT, columns=["price"]))
    assert all(b.schema.names == ["price"] for b in batches)
    with pytest.raises(InvalidValueError, match="columns must be among"):
        trades.select("BTCUSD", DAY, NEXT, columns=["bid"])


def test_validity_is_recorded_not_taken_from_file_times(trades: BlobTickstore) -> None:
    trades.insert("BTCUSD", DAY, trades_frame(seed=1))
    between = time.time_ns()
    trades.insert("BTCUSD", DAY, trades_frame(seed=2))
    if trades.url.startswith("file:"):
        root = trades.url.removeprefix("file://")
        for dirpath, _, names in os.walk(root):
            for name in names:
                os.utime(os.path.join(dirpath, name), ns=(0, 0))
    pd.testing.assert_frame_equal(_whole_day(trades, as_of=between), trades_frame(seed=1))


def test_a_corrupt_index_is_a_data_error(trades: BlobTickstore) -> None:
    trades.insert("BTCUSD", DAY, trades_frame())
    key = trades.folder("BTCUSD", DAY) + INDEX_NAME
    blob = trades.blobs.read(key)
    assert blob is not None
    trades.blobs.write(key, b"{not json", etag=blob.etag)
    with pytest.raises(DataError, match="version index is malformed"):
        trades.versions("BTCUSD", DAY)


def test_the_index_refuses_out_of_order_versions() -> None:
    index = VersionIndex("PHEMEX_TRADES", "BTCUSD", DAY)

    def v(n: int, t: int) -> VersionInfo:
        return VersionInfo(symbol="BTCUSD", date=DAY, version=n, valid_from_ns=t, file=None)

    index = index.appended(v(1, 100))
    assert index.next_valid_from(50) == 101
    with pytest.raises(InvalidValueError, match="already exist"):
        index.appended(v(1, 200))
    with pytest.raises(InvalidValueError, match="would precede"):
        index.appended(v(2, 99))
    with pytest.raises(InvalidValueError, match="version must be >= 1"):
        v(0, 1)
    round_trip = VersionIndex.decode(
        index.encode(), table="PHEMEX_TRADES", symbol="BTCUSD", date=DAY
    )
    assert round_trip == index
    with pytest.raises(DataError, match="index names"):
        VersionIndex.decode(index.encode(), table="PHEMEX_TRADES", symbol="ETHUSD", date=DAY)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(st.sampled_from(["insert", "delete"]), min_size=1, max_size=6))
def test_as_of_every_commit_returns_what_was_current_then(
    trades: BlobTickstore, ops: list[str]
) -> None:
    symbol = f"S{time.time_ns() % 10**12}"  # hypothesis reuses the store across examples
    expected: list[tuple[int, int]] = []  # (as_of, rows current then)
    for i, op in enumerate(ops):
        if op == "insert":
            trades.insert(symbol, DAY, trades_frame(n=5 + i, seed=i))
        elif trades.latest_version(symbol, DAY) is not None:
            trades.delete(symbol, DAY)
        else:
            continue
        latest = trades.latest_version(symbol, DAY)
        assert latest is not None
        expected.append((latest.valid_from_ns, latest.rows))
    for as_of, rows in expected:
        assert len(trades.select(symbol, DAY, NEXT, as_of=as_of)) == rows
