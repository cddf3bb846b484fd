"""Splay: journal day -> tick store, idempotent, with data-quality facts, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tickstore_data import StoreSpec

from serenity.cli import main
from serenity.marketdata import BookUpdate, DataQualityEvent, DataQualityKind, JournalWriter, Trade
from serenity.marketdata.batch import splay_day
from serenity.marketdata.synthetic import SyntheticMarket
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import InstrumentId, Side

DAY = dt.date(2024, 1, 2)
D0 = int(dt.datetime(2024, 1, 2, tzinfo=dt.UTC).timestamp()) * 10**9
NS_PER_DAY = 86_400 * 10**9
INST = InstrumentId("phemex", "BTCUSD")


def write_journal(
    folder: Path, messages: list[Trade | BookUpdate], events: list[DataQualityEvent] = ()
) -> None:  # type: ignore[assignment]
    with JournalWriter(folder) as journal:
        for m in messages:
            if isinstance(m, Trade):
                journal.append_trade(m)
            else:
                journal.append_book(m)
        for e in events:
            journal.append_event(e)


def day_of_messages(
    events: int = 2_000, start: int = D0, seed: int = 7
) -> list[Trade | BookUpdate]:
    market = SyntheticMarket(
        instrument=INST, start_ns=start, end_ns=start + NS_PER_DAY - 1, events=events, seed=seed
    )
    return list(market.messages())


def test_splay_writes_the_days_rows_and_is_idempotent(tmp_path: Path, spec: StoreSpec) -> None:
    messages = day_of_messages()
    late = Trade(INST, D0 + NS_PER_DAY + 5, D0 + NS_PER_DAY + 6, "late", Side.SELL, 1.0, 1.0)
    gap = DataQualityEvent(
        venue="phemex",
        channel="trades",
        symbol="BTCUSD",
        ts=D0 + 10,
        kind=DataQualityKind.GAP,
        details={"expected": 5, "seen": 9},
    )
    write_journal(tmp_path / "j", [*messages, late], [gap])
    results = {r.table: r for r in splay_day(tmp_path / "j", spec.url, DAY)}
    trades = [m for m in messages if isinstance(m, Trade)]
    assert results["PHEMEX_TRADES"].rows == len(trades)  # the next day's trade is not in it
    assert results["PHEMEX_TRADES"].created and results["PHEMEX_TRADES"].version == 1
    assert results["PHEMEX_TRADES"].quality["gap"] == 1
    levels = sum(len(m.bids) + len(m.asks) for m in messages if isinstance(m, BookUpdate))
    assert results["PHEMEX_BOOKS"].rows == levels

    store = open_tickstore(spec.url, "PHEMEX_TRADES")
    frame = store.select("BTCUSD", D0, D0 + NS_PER_DAY)
    assert frame["ts"].tolist() == [t.ts for t in trades]
    assert frame["side"].tolist() == [1 if t.side is Side.BUY else -1 for t in trades]
    assert frame["price"].tolist() == [t.price for t in trades]
    assert store.latest_version("BTCUSD", DAY).metadata["quality"]["gap"] == 1  # type: ignore[union-attr]

    again = splay_day(tmp_path / "j", spec.url, DAY)
    assert [(r.table, r.version, r.created) for r in again] == [
        ("PHEMEX_BOOKS", 1, False),
        ("PHEMEX_TRADES", 1, False),
    ]

    extra = Trade(INST, D0 + 3_600 * 10**9, D0 + 3_600 * 10**9, "extra", Side.BUY, 2.0, 0.5)
    write_journal(tmp_path / "j", [extra])  # a restarted recorder appends a new segment
    changed = {r.table: r for r in splay_day(tmp_path / "j", spec.url, DAY)}
    assert changed["PHEMEX_TRADES"].version == 2 and changed["PHEMEX_TRADES"].created
    assert changed["PHEMEX_TRADES"].rows == len(trades) + 1
    assert not changed["PHEMEX_BOOKS"].created


def test_splay_of_a_day_without_data_writes_nothing(tmp_path: Path, spec: StoreSpec) -> None:
    write_journal(tmp_path / "j", day_of_messages(200))
    assert splay_day(tmp_path / "j", spec.url, DAY + dt.timedelta(days=3)) == []


def test_cli_splay_prints_partitions_and_refuses_bad_arguments(
    tmp_path: Path, spec: StoreSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    write_journal(tmp_path / "j", day_of_messages(300))
    args = ["tickstore", "splay", f"--journal-dir={tmp_path / 'j'}", f"--store={spec.url}"]
    assert main([*args, "--date=2024-01-02"]) == 0
    out = capsys.readouterr().out
    assert "PHEMEX_TRADES" in out and "PHEMEX_BOOKS" in out and "new" in out
    assert main([*args, "--date=2024-01-02"]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert main(args) == 0  # no day given: the journal's market days, here 2024-01-02
    assert "2024-01-02" in (out := capsys.readouterr().out) and "unchanged" in out
    assert main([*args, "--date=2024-01-02", "--days-back=1"]) == 2
    assert "--date or --days-back, not both" in capsys.readouterr().err
    assert main([*args, "--date=2024-13-40"]) == 2
    assert main([*args, "--days-back=0"]) == 2
    assert main([*args, "--days-back=2"]) == 0
    assert "nothing to splay" in capsys.readouterr().out


def test_faults_detected_while_recording_a_past_day_stay_with_that_day(
    tmp_path: Path, spec: StoreSpec
) -> None:
    now = 1_790_000_000 * 10**9  # received long after the venue day (a replayed venue)
    trades = [Trade(INST, D0 + i, now + i, str(i), Side.BUY, 1.0, 1.0) for i in range(10)]
    reconnect = DataQualityEvent(
        venue="phemex",
        channel="trades",
        symbol="BTCUSD",
        ts=now + 5,
        kind=DataQualityKind.RECONNECT,
        details={"reason": "closed"},
    )
    unrelated = DataQualityEvent(
        venue="phemex", channel="trades", symbol="BTCUSD", ts=now + 10**12, kind=DataQualityKind.GAP
    )
    write_journal(tmp_path / "j", trades, [reconnect, unrelated])
    [result] = splay_day(tmp_path / "j", spec.url, DAY)
    assert result.quality["reconnect"] == 1 and "gap" not in result.quality


def test_a_trade_journalled_twice_is_splayed_once_and_counted(
    tmp_path: Path, spec: StoreSpec
) -> None:
    trades = [Trade(INST, D0 + i, D0 + i, str(i), Side.BUY, 1.0, 1.0) for i in range(10)]
    again = Trade(INST, D0 + 20, D0 + 20, "3", Side.SELL, 9.0, 9.0)  # e.g. a second recorder
    write_journal(tmp_path / "j", [*trades, again])

    [result] = splay_day(tmp_path / "j", spec.url, DAY)

    assert result.rows == 10 and result.quality["duplicate_trades"] == 1
    frame = open_tickstore(spec.url, "PHEMEX_TRADES").select("BTCUSD", D0, D0 + NS_PER_DAY)
    assert frame["trade_id"].tolist() == [str(i) for i in range(10)]
    assert frame["price"].tolist() == [1.0] * 10  # the first one journalled is kept


def test_backfilled_trades_journalled_late_are_splayed_in_time_and_id_order(
    tmp_path: Path, spec: StoreSpec
) -> None:
    inst = InstrumentId("binance", "BTCUSDT")
    ts = D0 + 60 * 10**9

    def trade(tid: int, at: int = ts) -> Trade:
        return Trade(inst, at, at + 10**6, str(tid), Side.BUY, 100.0, 1.0)

    # streamed 10, 11, 14, 15 (12 and 13 lost), then 12 and 13 from REST, then a late
    # streamed duplicate of 13; 12..14 share a millisecond, as trades often do
    streamed = [trade(10, ts - 2), trade(11, ts - 1), trade(14), trade(15, ts + 1)]
    write_journal(tmp_path / "j", [*streamed, trade(12), trade(13), trade(13)])

    results = {r.table: r for r in splay_day(tmp_path / "j", spec.url, DAY)}

    assert results["BINANCE_TRADES"].rows == 6
    assert results["BINANCE_TRADES"].quality["duplicate_trades"] == 1
    frame = open_tickstore(spec.url, "BINANCE_TRADES").select("BTCUSDT", D0, D0 + NS_PER_DAY)
    assert frame["trade_id"].tolist() == ["10", "11", "12", "13", "14", "15"]
    assert frame["ts"].tolist() == sorted(frame["ts"].tolist())
