"""The recorder end to end: refdata check, journal, CLI signals, and a SIGKILL mid-stream."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from serenity.errors import UnknownSymbolError, VenueError
from serenity.marketdata import JournalReader, Trade
from serenity.marketdata.recorder import RecordConfig, Recorder
from tests.marketdata.fh.binance_server import BinanceServer
from tests.polling import until

SYMBOLS = ("BTCUSDT", "ETHBTC")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def journal_trades(folder: Path) -> list[Trade]:
    return [r for r in JournalReader(folder) if isinstance(r, Trade)]


async def test_recorder_journals_trades_and_books_then_stops(tmp_path: Path) -> None:
    port = _free_port()
    async with BinanceServer(SYMBOLS, ping_interval_s=0.05) as venue:
        recorder = Recorder(
            RecordConfig(
                venue="binance",
                symbols=SYMBOLS,
                journal_dir=tmp_path,
                ws_url=venue.ws_url,
                rest_url=venue.rest_url,
                metrics_port=port,
                backoff_max_s=5.0,
                price_band=50.0,
            )
        )
        task = asyncio.create_task(recorder.run())
        try:
            await until(lambda: len(venue.subscribed()) == 4)
            await until(lambda: recorder.handler is not None and recorder.handler.is_synced())
            assert recorder.handler is not None
            assert recorder.handler.connection.backoff.max_s == 5.0
            assert recorder.handler.config.price_band == 50.0
            for i in range(50):
                await venue.trade(SYMBOLS[i % 2], 100 + i, 0.5, is_buyer_maker=i % 3 == 0)
                await venue.update(SYMBOLS[i % 2], bids=[(99.0 - i * 0.01, 1.0 + i)])
            await until(lambda: recorder.summary.counts["trades", "BTCUSDT"] == 25)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    metrics = await resp.text()
        finally:
            recorder.stop()
        summary = await asyncio.wait_for(task, 10)
    trades = journal_trades(tmp_path)
    assert len(trades) == 50
    assert summary.counts["trades", "ETHBTC"] == 25
    assert summary.counts["snapshots", "BTCUSDT"] >= 1 and summary.counts["deltas", "BTCUSDT"] == 25
    assert {t.side.value for t in trades} == {"buy", "sell"}
    assert 'serenity_fh_trades_total{symbol="BTCUSDT",venue="binance"} 25.0' in metrics
    assert 'serenity_fh_state{serenity_fh_state="live",venue="binance"} 1.0' in metrics
    stats = {(m.channel, m.symbol): m for m in JournalReader(tmp_path).manifests()}
    assert stats["trades", "BTCUSDT"].counts["trade"] == 25


async def test_unknown_symbol_is_refused_before_connecting(tmp_path: Path) -> None:
    async with BinanceServer(SYMBOLS) as venue:
        recorder = Recorder(
            RecordConfig(
                venue="binance",
                symbols=("BTCUSDD",),
                journal_dir=tmp_path,
                ws_url=venue.ws_url,
                rest_url=venue.rest_url,
            )
        )
        with pytest.raises(UnknownSymbolError, match="did you mean BTCUSDT"):
            await recorder.run()
        assert venue.connections == 0


def _record_command(venue: BinanceServer, folder: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "serenity",
        "marketdata",
        "record",
        "--venue=binance",
        "--symbols=BTCUSDT,ETHBTC",
        f"--journal-dir={folder}",
        f"--ws-url={venue.ws_url}",
        f"--rest-url={venue.rest_url}",
        *extra,
    ]


async def _start(command: list[str]) -> asyncio.subprocess.Process:
    env = {**os.environ, "TQDM_DISABLE": "1"}
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )


@pytest.mark.slow
async def test_cli_records_until_sigterm_and_exits_zero(tmp_path: Path) -> None:
    async with BinanceServer(SYMBOLS, ping_interval_s=0.05) as venue:
        # lifecycle records are INFO: shown when asked, the flag after the command
        proc = await _start(_record_command(venue, tmp_path, "--log-level", "INFO"))
        await until(lambda: len(venue.subscribed()) == 4, 30)
        for i in range(20):
            await venue.trade("BTCUSDT", 100 + i, 1.0, is_buyer_maker=False)
        await asyncio.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "trades       BTCUSDT" in out.decode()
    assert len(journal_trades(tmp_path)) == 20
    assert b"record.start" in err and b"fh.state" in err


@pytest.mark.slow
async def test_sigkill_loses_nothing_flushed_and_a_restart_appends(tmp_path: Path) -> None:
    async with BinanceServer(SYMBOLS, ping_interval_s=0.05) as venue:
        proc = await _start(_record_command(venue, tmp_path))
        await until(lambda: len(venue.subscribed()) == 4, 30)
        for i in range(200):
            await venue.trade("BTCUSDT", 100 + i, 1.0, is_buyer_maker=True)
        # the journal flushes at least every second: wait until all 200 are on disk
        await until(lambda: len(journal_trades(tmp_path)) == 200, 10)
        proc.kill()
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        before = journal_trades(tmp_path)
        assert [t.price for t in before] == [100.0 + i for i in range(200)]

        proc = await _start(_record_command(venue, tmp_path, "--duration=30"))
        await until(lambda: venue.connections >= 2 and len(venue.subscribed()) == 4, 30)
        for i in range(10):
            await venue.trade("BTCUSDT", 500 + i, 1.0, is_buyer_maker=False)
        await until(lambda: len(journal_trades(tmp_path)) == 210, 10)
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    after = journal_trades(tmp_path)
    assert after[:200] == before  # the first run's records are untouched
    parts = sorted(s.path.name for s in JournalReader(tmp_path, channel="trades").segments())
    assert any(".0001." in name for name in parts)  # the restart wrote a new segment


async def _coinbase_activity(server: object) -> None:
    from tests.marketdata.fh.coinbase_server import CoinbaseServer

    assert isinstance(server, CoinbaseServer)
    for i in range(30):
        await server.trade("BTC-USD", taker_side="buy" if i % 2 else "sell")


async def _phemex_activity(server: object) -> None:
    from tests.marketdata.fh.phemex_server import PhemexServer

    assert isinstance(server, PhemexServer)
    for _ in range(30):
        server.take("BTCUSD", "Buy")
        server.step(3, ["BTCUSD"])
        await asyncio.sleep(0)


@pytest.mark.slow
@pytest.mark.parametrize("venue", ["coinbase", "phemex"])
async def test_cli_records_trades_and_full_books_for_each_venue(tmp_path: Path, venue: str) -> None:
    if venue == "coinbase":
        from tests.marketdata.fh.coinbase_server import CoinbaseServer

        server: object = CoinbaseServer(heartbeat_interval_s=0.1)
        symbol, activity = "BTC-USD", _coinbase_activity
    else:
        from tests.marketdata.fh.phemex_server import PhemexServer

        server = PhemexServer(snapshot_interval_s=0.5)
        symbol, activity = "BTCUSD", _phemex_activity
    async with server as live:  # type: ignore[attr-defined]
        command = [
            sys.executable,
            "-m",
            "serenity",
            "marketdata",
            "record",
            f"--venue={venue}",
            f"--symbols={symbol}",
            f"--journal-dir={tmp_path}",
            f"--ws-url={live.ws_url}",
            f"--rest-url={live.rest_url}",
        ]
        proc = await _start(command)
        await until(lambda: bool(list(tmp_path.glob("*/book/*/*.journal"))), 30)
        await activity(live)
        await until(lambda: len(journal_trades(tmp_path)) >= 30, 15)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    records = list(JournalReader(tmp_path, venue=venue))
    assert sum(isinstance(r, Trade) for r in records) >= 30
    books = [r for r in records if not isinstance(r, Trade) and hasattr(r, "is_snapshot")]
    assert books and books[0].is_snapshot  # full book first
    assert "trades" in out.decode()


async def test_a_refused_subscription_is_a_venue_error_not_a_group(tmp_path: Path) -> None:
    async with BinanceServer(SYMBOLS) as venue:
        venue.refuse()
        recorder = Recorder(
            RecordConfig(
                venue="binance",
                symbols=SYMBOLS,
                journal_dir=tmp_path,
                ws_url=venue.ws_url,
                rest_url=venue.rest_url,
            )
        )
        with pytest.raises(VenueError, match="refused the subscription"):
            await asyncio.wait_for(recorder.run(), 30)


async def test_cli_refused_subscription_is_one_line_and_exit_2(tmp_path: Path) -> None:
    async with BinanceServer(SYMBOLS) as venue:
        venue.refuse()
        proc = await _start(_record_command(venue, tmp_path))
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = err.decode().splitlines()
    assert proc.returncode == 2, err.decode()
    assert len(lines) == 1 and lines[0].startswith("serenity: binance refused the subscription")
    assert b"Traceback" not in err and b"ExceptionGroup" not in err


def test_record_flags_for_backoff_and_price_band_are_checked() -> None:
    from serenity.cli.marketdata import _band, _positive
    from serenity.errors import ConfigError
    from serenity.marketdata.fh.plausibility import DEFAULT_PRICE_BAND

    assert _band(None) == DEFAULT_PRICE_BAND and _band(0) is None and _band("250") == 250.0
    assert _positive("5", flag="--backoff-max") == 5.0
    for bad in (-1, 0.5, "wide"):
        with pytest.raises(ConfigError, match="--price-band"):
            _band(bad)
    with pytest.raises(ConfigError, match="--backoff-max must be a number of seconds > 0"):
        _positive(0, flag="--backoff-max")
