"""``serenity journal dump|stats`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serenity.cli import main
from serenity.cli._args import optional_instant
from serenity.cli.journal import parse_name
from serenity.errors import InvalidValueError
from serenity.marketdata import (
    BookUpdate,
    DataQualityEvent,
    DataQualityKind,
    JournalWriter,
    RawFrame,
    Trade,
)
from serenity.model import InstrumentId, Side

T0 = 1_704_164_400_000_000_000  # 2024-01-02T03:00:00Z
HOUR = 3_600 * 10**9
BTC = InstrumentId("phemex", "BTCUSD")
ETH = InstrumentId("coinbase", "ETH-USD")


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    root = tmp_path / "journal"
    with JournalWriter(root) as writer:
        for i in range(4):
            writer.append_trade(Trade(BTC, T0 + i, T0 + i * HOUR // 2, str(i), Side.BUY, 1.0, 2.0))
        writer.append_book(BookUpdate(ETH, T0, T0 + 1, 9, [(10.0, 1.0)], [(11.0, 2.0)], True))
        writer.append_event(
            DataQualityEvent(
                venue="coinbase",
                channel="book",
                symbol="ETH-USD",
                ts=T0 + 2,
                kind=DataQualityKind.GAP,
                details={"expected": 10, "seen": 12},
            )
        )
        writer.append_raw(
            RawFrame(
                venue="coinbase", channel="book", symbol="ETH-USD", ts_recv=T0 + 3, data=b"\xff{"
            )
        )
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--log-level", "WARNING", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_dump_prints_every_record_as_a_json_line(journal: Path, capsys) -> None:
    code, out, _ = run(capsys, "journal", "dump", str(journal))
    docs = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(docs) == 7
    assert [d["type"] for d in docs] == ["book", "event", "raw"] + ["trade"] * 4
    assert docs[0]["bids"] == [[10.0, 1.0]] and docs[0]["stream"] == "coinbase/book/ETH-USD"
    assert docs[1]["details"] == {"expected": 10, "seen": 12}
    assert docs[2]["data_b64"] == "/3s="
    assert docs[3] == {
        "stream": "phemex/trades/BTCUSD",
        "channel": "trades",
        "type": "trade",
        "venue": "phemex",
        "symbol": "BTCUSD",
        "ts": T0,
        "ts_recv": T0,
        "trade_id": "0",
        "side": "buy",
        "price": 1.0,
        "qty": 2.0,
    }


def test_dump_filters_by_stream_and_time(journal: Path, capsys) -> None:
    code, out, _ = run(
        capsys,
        "journal",
        "dump",
        str(journal),
        "--venue",
        "phemex",
        "--channel",
        "trades",
        "--symbol",
        "BTCUSD",
        "--start",
        "2024-01-02T03:30:00Z",
        "--end",
        str(T0 + 3 * HOUR // 2),
    )
    assert code == 0
    assert [json.loads(line)["trade_id"] for line in out.splitlines()] == ["1", "2"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "2024-01-02T03:00"], "--start must carry a timezone"),
        (["--start", "yesterday"], "--start must be an ISO-8601 time"),
        (["--end", "1.5"], "--end must be an aware datetime, int ns"),
        (["--start", "2024-01-03", "--end", "2024-01-02"], "--end must be after --start"),
        (["--venue"], "--venue needs a non-empty name"),
        (["--symbol", "[1,2]"], "--symbol needs a non-empty name"),
    ],
)
def test_dump_rejects_bad_arguments_with_one_line(journal: Path, capsys, argv, message) -> None:
    code, out, err = run(capsys, "journal", "dump", str(journal), *argv)
    assert code == 2 and out == ""
    assert err.startswith("serenity: ") and message in err and err.count("\n") == 1


def test_missing_folder_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "journal", "stats", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err


def test_stats_prints_a_row_per_stream(journal: Path, capsys) -> None:
    code, out, _ = run(capsys, "journal", "stats", str(journal))
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["stream", "segments", "trades"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["phemex/trades/BTCUSD"][1:3] == ["2", "4"]
    eth = rows["coinbase/book/ETH-USD"]
    assert eth[1:7] == ["1", "0", "1", "1", "1", "1"]
    assert eth[-2:] == ["2024-01-02T03:00:00Z", "2024-01-02T03:00:00Z"]


def test_stats_of_an_empty_folder(tmp_path: Path, capsys) -> None:
    code, out, _ = run(capsys, "journal", "stats", str(tmp_path))
    assert code == 0 and "no journal streams" in out


def test_dump_reports_defects_on_stderr(journal: Path, capsys) -> None:
    path = sorted(journal.rglob("*.journal"))[-1]
    path.write_bytes(path.read_bytes()[:-2])
    code, out, err = run(capsys, "journal", "dump", str(journal), "--venue", "phemex")
    assert code == 0 and len(out.splitlines()) == 3
    assert "journal defect" in err and str(path) in err


def test_argument_parsers() -> None:
    assert optional_instant(None, flag="--start") is None
    assert optional_instant(5, flag="--start") == 5
    assert optional_instant("-7", flag="--start") == -7
    assert optional_instant("2024-01-02", flag="--start") == T0 - 3 * HOUR
    assert optional_instant("2024-01-02T04:00:00+01:00", flag="--start") == T0
    assert optional_instant("2024-01-02T03:00:00.123456789Z", flag="--start") == T0 + 123456789
    assert parse_name(1000, flag="--symbol") == "1000"
    with pytest.raises(InvalidValueError, match="--start"):
        optional_instant(True, flag="--start")
    with pytest.raises(InvalidValueError, match="--symbol"):
        parse_name("", flag="--symbol")


def test_dump_keeps_nanoseconds_in_its_window(tmp_path: Path, capsys) -> None:
    root, t = tmp_path / "ns", T0 + 123_456_789
    with JournalWriter(root) as writer:
        for i in range(3):  # received 1 ns apart: ...123456789, ...790, ...791
            writer.append_trade(Trade(BTC, t + i, t + i, str(i), Side.BUY, 1.0, 2.0))
    window = [
        "--start",
        "2024-01-02T03:00:00.123456790Z",
        "--end",
        "2024-01-02T03:00:00.123456791Z",
    ]

    code, out, _ = run(capsys, "journal", "dump", str(root), *window)

    assert code == 0
    assert [json.loads(line)["trade_id"] for line in out.splitlines()] == ["1"]
