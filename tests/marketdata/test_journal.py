"""The journal writer and reader: segments, restarts, flushing, manifests and defects."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serenity.errors import InvalidValueError, StoreError
from serenity.marketdata import (
    BookUpdate,
    DataQualityEvent,
    DataQualityKind,
    JournalReader,
    JournalWriter,
    RawFrame,
    StreamKey,
    Trade,
    load_manifest,
)
from serenity.marketdata._codec import encode_trade
from serenity.marketdata.journal_reader import journal_time, record_to_dict
from serenity.marketdata.manifest import manifest_path
from serenity.model import InstrumentId, Side

from .strategies import HOUR, T0, book_updates, events, raw_frames, trade, trades


def segment_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.journal"))


def gap(ts: int, **details: int) -> DataQualityEvent:
    return DataQualityEvent(
        venue="phemex",
        channel="trades",
        symbol="BTCUSD",
        ts=ts,
        kind=DataQualityKind.GAP,
        details=details,
    )


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(trades(), book_updates(), events(), raw_frames()), max_size=30))
def test_everything_written_reads_back_per_stream_in_order(tmp_path_factory, batch) -> None:
    root = tmp_path_factory.mktemp("j")
    with JournalWriter(root) as writer:
        for record in batch:
            writer.append(record)
    by_stream: dict[str, list] = {}
    for key, record in JournalReader(root).entries():
        by_stream.setdefault(key.channel, []).append(record_to_dict(record))
    want: dict[str, list] = {}
    for record in batch:
        channel = {"Trade": "trades", "BookUpdate": "book"}.get(type(record).__name__)
        want.setdefault(channel or record.channel, []).append(record_to_dict(record))
    assert by_stream == want


def test_streams_are_separate_and_names_are_encoded(tmp_path: Path) -> None:
    odd = InstrumentId("coinbase", "../BTC/USD")
    with JournalWriter(tmp_path) as writer:
        writer.append_trade(trade(1))
        writer.append_trade(Trade(odd, 1, T0, "x", Side.BUY, 1.0, 1.0))
        writer.append_book(BookUpdate(odd, 1, T0, 1, [(1.0, 1.0)], [], True), channel="depth")
        assert writer.streams == [
            StreamKey("coinbase", "depth", "../BTC/USD"),
            StreamKey("coinbase", "trades", "../BTC/USD"),
            StreamKey("phemex", "trades", "BTCUSD"),
        ]
    assert {p.parent.name for p in segment_files(tmp_path)} == {"%2E.%2FBTC%2FUSD", "BTCUSD"}
    reader = JournalReader(tmp_path, venue="coinbase", channel="depth")
    assert reader.streams() == [StreamKey("coinbase", "depth", "../BTC/USD")]
    assert [type(r).__name__ for r in reader] == ["BookUpdate"]


def test_each_utc_hour_gets_its_own_segment(tmp_path: Path) -> None:
    times = [T0, T0 + HOUR - 1, T0 + HOUR, T0 + 3 * HOUR + 5, T0 + 10]
    with JournalWriter(tmp_path) as writer:
        for i, t in enumerate(times):
            writer.append_trade(trade(i, ts_recv=t))
    names = [p.name for p in segment_files(tmp_path)]
    assert names == [
        "20240102T03Z.0000.journal",
        "20240102T03Z.0001.journal",
        "20240102T04Z.0000.journal",
        "20240102T06Z.0000.journal",
    ]
    read = [r.ts_recv for r in JournalReader(tmp_path)]
    assert sorted(read) == sorted(times)
    for seg in JournalReader(tmp_path).segments():
        for record in JournalReader(tmp_path).read(seg):
            assert seg.hour <= journal_time(record) < seg.hour + HOUR


def test_restarted_writer_opens_a_new_segment_and_keeps_the_old_bytes(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(10):
            writer.append_trade(trade(i))
    [first] = segment_files(tmp_path)
    before = first.read_bytes()
    with JournalWriter(tmp_path) as writer:
        for i in range(10, 15):
            writer.append_trade(trade(i))
    assert first.read_bytes() == before
    assert [p.name[-12:] for p in segment_files(tmp_path)] == ["0000.journal", "0001.journal"]
    assert [r.trade_id for r in JournalReader(tmp_path)] == [str(i) for i in range(15)]


def test_time_window_and_symbol_filters(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(6):
            writer.append_trade(trade(i, ts_recv=T0 + i * HOUR // 2))
        writer.append_event(gap(T0 + HOUR, expected=3, seen=5))
    reader = JournalReader(tmp_path, start=T0 + HOUR // 2, end=T0 + 2 * HOUR)
    # the late event went back to hour 04 in a new part, read after the first part
    assert [journal_time(r) for r in reader] == [
        T0 + HOUR // 2,
        T0 + HOUR,
        T0 + 3 * HOUR // 2,
        T0 + HOUR,
    ]
    assert [(s.hour, s.part) for s in reader.segments()] == [
        (T0, 0),
        (T0 + HOUR, 0),
        (T0 + HOUR, 1),
    ]
    assert list(JournalReader(tmp_path, symbol="ETHUSD")) == []


def test_appends_flush_within_the_interval(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, flush_interval_s=0.05).open()
    writer.append_trade(trade(0))
    [path] = writer.segment_paths()
    header_only = path.stat().st_size
    deadline = time.monotonic() + 5
    while path.stat().st_size == header_only and time.monotonic() < deadline:
        time.sleep(0.01)
        writer.append_trade(trade(1))
    assert path.stat().st_size > header_only
    writer.close()


async def test_flush_periodically_writes_while_idle(tmp_path: Path) -> None:
    async with JournalWriter(tmp_path, flush_interval_s=0.05) as writer:
        writer.append_trade(trade(0))
        [path] = writer.segment_paths()
        size = path.stat().st_size
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(writer.flush_periodically())
            deadline = time.monotonic() + 5
            while path.stat().st_size == size and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            task.cancel()
        assert path.stat().st_size > size
    assert [r.trade_id for r in JournalReader(tmp_path)] == ["0"]


def test_close_writes_sealed_manifests(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(4):
            writer.append_trade(trade(i))
        writer.append_event(gap(T0 + 10, expected=2, seen=4))
        writer.append_event(
            DataQualityEvent(
                venue="phemex",
                channel="trades",
                symbol="BTCUSD",
                ts=T0 + 11,
                kind=DataQualityKind.RECONNECT,
            )
        )
        writer.append_raw(
            RawFrame(
                venue="phemex", channel="trades", symbol="BTCUSD", ts_recv=T0 + 12, data=b"{oops"
            )
        )
    [seg] = JournalReader(tmp_path).segments()
    doc = json.loads(manifest_path(seg.path).read_text())
    assert doc["sealed"] is True
    assert doc["segment_bytes"] == seg.path.stat().st_size
    assert doc["counts"] == {"trade": 4, "book": 0, "event": 2, "raw": 1}
    assert (doc["gaps"], doc["reconnects"], doc["resyncs"]) == (1, 1, 0)
    assert doc["first_ts"] == T0 and doc["last_ts"] == T0 + 3
    assert (doc["first_ts_recv"], doc["last_ts_recv"]) == (T0, T0 + 12)
    assert doc["events"][0] == {"kind": "gap", "ts": T0 + 10, "details": {"expected": 2, "seen": 4}}
    assert load_manifest(seg) == load_manifest(seg)


def test_missing_or_stale_manifest_is_rebuilt_from_the_segment(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(5):
            writer.append_trade(trade(i))
    [seg] = JournalReader(tmp_path).segments()
    sealed = load_manifest(seg)
    manifest_path(seg.path).unlink()
    rebuilt = load_manifest(seg)
    assert not rebuilt.sealed and rebuilt.records == 5 and rebuilt.defect is None
    assert rebuilt.segment_bytes == sealed.segment_bytes
    with seg.path.open("ab") as f:  # a crash left half a record: the manifest is stale
        f.write(b"\x10\x00")
    manifest_path(seg.path).write_bytes(sealed.to_json())
    stale = load_manifest(seg, persist=True)
    assert stale.records == 5 and stale.defect is not None
    assert "torn" in stale.defect["reason"]
    assert load_manifest(seg) == stale  # persisted, and fresh now
    manifest_path(seg.path).write_text("{not json")
    assert load_manifest(seg).records == 5


def test_a_segment_damaged_in_place_after_sealing_is_not_judged_by_its_size(
    tmp_path: Path, caplog, capsys
) -> None:
    # issue 9, defect 8: one flipped byte, and stats still reported 1,000 trades
    from serenity.cli.journal import JournalCommands

    with JournalWriter(tmp_path) as writer:
        for i in range(1_000):
            writer.append_trade(trade(i))
    [seg] = JournalReader(tmp_path).segments()
    sealed = load_manifest(seg)
    assert sealed.segment_crc32 is not None and sealed.segment_mtime_ns is not None
    with seg.path.open("r+b") as f:  # in place: same size
        f.seek(seg.path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))

    [manifest] = JournalReader(tmp_path).manifests()
    readable = sum(1 for _ in JournalReader(tmp_path))
    assert manifest.counts["trade"] == readable < 1_000
    assert manifest.defect is not None and not manifest.sealed
    assert any(r.getMessage() == "journal.segment_changed" for r in caplog.records)
    JournalCommands().stats(str(tmp_path))
    header, row = capsys.readouterr().out.splitlines()
    cells = dict(zip(header.split(), row.split(), strict=False))
    assert cells["trades"] == str(readable) and cells["defects"] == "1"


def test_a_copied_journal_with_new_modification_times_keeps_its_manifests(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        writer.append_trade(trade(1))
    [seg] = JournalReader(tmp_path).segments()
    sealed = load_manifest(seg)
    os.utime(seg.path, ns=(1, 1))  # as a copy without -p leaves it
    assert load_manifest(seg) == sealed and load_manifest(seg, verify=False) == sealed


def test_reader_reports_torn_tail_with_file_and_offset(tmp_path: Path, caplog) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(3):
            writer.append_trade(trade(i))
    [path] = segment_files(tmp_path)
    size = path.stat().st_size
    os.truncate(path, size - 3)
    reader = JournalReader(tmp_path)
    assert [r.trade_id for r in reader] == ["0", "1"]
    [defect] = reader.defects
    assert defect.path == path and defect.reason.startswith("torn record")
    assert str(path) in str(defect) and defect.offset + defect.trailing_bytes == size - 3
    assert any(r.getMessage() == "journal.defect" for r in caplog.records)


def test_corrupt_record_in_the_middle_stops_that_segment_only(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(3):
            writer.append_trade(trade(i))
        writer.append_trade(trade(3), channel="other")
    first = segment_files(tmp_path)[1]  # phemex/trades/...
    data = bytearray(first.read_bytes())
    data[-60] ^= 0x01
    first.write_bytes(bytes(data))
    reader = JournalReader(tmp_path)
    ids = [r.trade_id for r in reader]
    assert ids[0] == "3" and len(ids) < 4
    assert reader.defects and reader.defects[0].path == first


def test_broken_segment_headers_are_defects(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        writer.append_trade(trade(0))
    [path] = segment_files(tmp_path)
    for content, reason in [
        (b"", "torn segment header"),
        (b"SRN", "torn segment header"),
        (b"garbage!", "not a journal segment"),
        (path.read_bytes()[:12], "torn frame header"),
    ]:
        path.write_bytes(content)
        reader = JournalReader(tmp_path)
        assert list(reader) == []
        assert reader.defects[0].reason.startswith(reason)


def test_writer_misuse_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError):
        JournalWriter(tmp_path, flush_interval_s=0)
    with pytest.raises(InvalidValueError):
        JournalWriter(tmp_path, buffer_bytes=0)
    writer = JournalWriter(tmp_path / "new")
    assert not (tmp_path / "new").exists()  # the constructor creates nothing
    with pytest.raises(StoreError, match="not open"):
        writer.append_trade(trade(0))
    writer.open()
    with pytest.raises(InvalidValueError, match="channel"):
        writer.append_trade(trade(0), channel="")
    with pytest.raises(InvalidValueError, match="Trade, BookUpdate"):
        writer.append("nonsense")  # type: ignore[arg-type]
    writer.close()
    writer.close()
    with pytest.raises(StoreError, match="closed"):
        writer.append_trade(trade(0))
    with pytest.raises(StoreError, match="closed"):
        writer.open()


def test_small_buffer_writes_early(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, buffer_bytes=100, flush_interval_s=3600) as writer:
        for i in range(10):
            writer.append_trade(trade(i))
        [path] = writer.segment_paths()
        assert len(list(JournalReader(tmp_path))) >= 9
    assert path.stat().st_size > 0


def test_segment_truncated_at_every_offset_of_its_last_record_reads_the_rest(
    tmp_path: Path,
) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(3):
            writer.append_trade(trade(i))
    [path] = segment_files(tmp_path)
    data = path.read_bytes()
    last = len(data) - (8 + len(encode_trade(trade(2))))
    for cut in range(last, len(data)):
        path.write_bytes(data[:cut])
        reader = JournalReader(tmp_path)
        assert [r.trade_id for r in reader] == ["0", "1"]
        if cut == last:
            assert reader.defects == []
        else:
            [defect] = reader.defects
            assert (defect.path, defect.offset, defect.trailing_bytes) == (path, last, cut - last)
            assert "torn" in defect.reason
