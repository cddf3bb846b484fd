"""``serenity demo`` end to end in a temporary SERENITY_HOME, with a small generated day."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from serenity.cli import demo as cli_demo
from serenity.cli import main
from serenity.db.engine import create_engine_from_url
from serenity.db.refdata import list_listings
from serenity.demo import DEFAULT_EVENTS, SYMBOLS, run_demo
from serenity.demo.run import DEFAULT_DAY, _bundled, _markets
from serenity.errors import ConfigError
from serenity.marketdata import JournalReader, Trade
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import Side

EVENTS = 5_000


def test_demo_builds_database_journal_tick_store_and_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_demo(tmp_path, events=EVENTS, quiet=True)
    out = capsys.readouterr().out

    bundled = {p["id"] for p in _bundled("coinbase_products.json")}
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'serenity.db'}")
    try:
        listings = list_listings(engine, venue="coinbase")
    finally:
        engine.dispose()
    assert {listing.symbol for listing in listings} == bundled
    assert {listing.symbol for listing in result.listings} == bundled
    assert result.is_complete

    generated = [m for market in _markets(DEFAULT_DAY, EVENTS) for m in market.messages()]
    trades = [m for m in generated if isinstance(m, Trade)]
    journalled = [r for r in JournalReader(result.journal_dir) if isinstance(r, Trade)]
    assert Counter(t.instrument.symbol for t in journalled) == Counter(
        t.instrument.symbol for t in trades
    )

    for symbol in SYMBOLS:
        want = [t for t in trades if t.instrument.symbol == symbol]
        stored = open_tickstore(result.store_url, "COINBASE_TRADES").select(
            symbol, DEFAULT_DAY, "2024-01-03"
        )
        assert stored["trade_id"].tolist() == [t.trade_id for t in want]
        assert stored["side"].tolist() == [1 if t.side is Side.BUY else -1 for t in want]
        assert stored["qty"].tolist() == [t.qty for t in want]
        assert stored["price"].tolist() == pytest.approx([t.price for t in want])
        books = open_tickstore(result.store_url, "COINBASE_BOOKS").select(
            symbol, DEFAULT_DAY, "2024-01-03"
        )
        assert books["is_snapshot"].sum() == 40  # the opening book: 20 levels a side
        bars = result.bars[symbol]
        assert 200 < len(bars) <= 288  # five-minute bars over the day (a few are empty)
        assert all(r.bar.start % (300 * 10**9) == 0 for r in bars)
        assert sum(r.bar.trade_count for r in bars) == len(want)
        assert sum(r.bar.volume for r in bars) == pytest.approx(sum(t.qty for t in want))
        assert [r.bands is None for r in bars] == [True] * 19 + [False] * (len(bars) - 19)
    assert sorted((r.table, r.symbol) for r in result.stored) == [
        (table, symbol) for table in ("COINBASE_BOOKS", "COINBASE_TRADES") for symbol in SYMBOLS
    ]
    assert all(r.version == 1 and r.created for r in result.stored)

    for step in ("[1/6] database", "[2/6] reference data", "[3/6] recording", "[4/6] splay"):
        assert step in out
    # The last step backtests bbands1 on the stored day and records the run.
    run = result.backtest
    assert run is not None and run.run_id is not None and run.ticks > 0
    assert (run.folder / "report.html").is_file() and f"report {run.folder / 'report.html'}" in out
    assert "five-minute bars and Bollinger bands (20, 2)" in out
    assert "bb lower" in out and "bb upper" in out
    last = result.bars["BTC-USD"][-1].bar
    assert f"{last.close:,.2f}" in out


def test_running_again_reuses_the_database_and_makes_the_demo_folder_afresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_demo(tmp_path, events=1_000, quiet=True)
    capsys.readouterr()
    again = run_demo(tmp_path, events=1_000, quiet=True)
    out = capsys.readouterr().out
    assert "already at head" in out
    assert again.refdata is not None and again.refdata.unchanged == len(again.listings)
    assert again.refdata.added == 0
    assert all(r.version == 1 and r.created for r in again.stored)
    journalled = sum(isinstance(r, Trade) for r in JournalReader(again.journal_dir))
    assert (
        journalled
        == again.recording.counts["trades", "BTC-USD"] + again.recording.counts["trades", "ETH-USD"]
    )


def test_a_demo_folder_the_demo_did_not_make_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "demo" / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("keep me")
    with pytest.raises(ConfigError, match="not made by `serenity demo`"):
        run_demo(tmp_path, events=1_000, quiet=True)
    assert mine.read_text() == "keep me"


def test_cli_runs_the_demo_and_checks_its_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SERENITY_HOME", str(tmp_path))
    assert main(["demo", "--events=1000", "--day=2024-03-05", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"home {tmp_path}" in out and "2024-03-05" in out
    assert (tmp_path / "serenity.db").is_file()
    assert main(["demo", "--events=10"]) == 2
    assert "--events must be a whole number >= 100" in capsys.readouterr().err
    assert main(["demo", "--day=2024-02-30"]) == 2


def test_cli_defaults_are_the_library_defaults() -> None:
    assert cli_demo.DEFAULT_EVENTS == DEFAULT_EVENTS
    assert cli_demo.DEFAULT_DAY_TEXT == DEFAULT_DAY.isoformat()


def test_cli_demo_shows_library_records_only_when_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = main(["demo", "--events=500", f"--home={tmp_path / 'a'}"])
    quiet_err = capsys.readouterr().err
    verbose = main(["demo", "--events=500", f"--home={tmp_path / 'b'}", "--verbose"])
    verbose_err = capsys.readouterr().err

    assert quiet == verbose == 0
    assert quiet_err == "" and "db.upgrade" in verbose_err and "record.start" in verbose_err
