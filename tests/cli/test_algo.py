"""``serenity algo run``: a paper run in a subprocess stopped by SIGTERM, and refusals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from serenity.analytics import RunOutputs
from serenity.cli import main
from serenity.cli.algo import parse_urls
from serenity.errors import ConfigError
from tests.marketdata.fh.coinbase_server import CoinbaseServer

PEG = Path(__file__).resolve().parents[2] / "serenity" / "examples" / "peg.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until_metric(
    proc: asyncio.subprocess.Process, port: int, line: str, log: Path, timeout_s: float = 60
) -> None:
    """Scrape the run's metrics until ``line`` shows; fail if the process ends first."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.returncode is not None:
                raise AssertionError(f"exited {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    if line in await resp.text():
                        return
            except aiohttp.ClientError:
                pass  # not serving yet
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {line!r}")
            await asyncio.sleep(0.05)


async def test_sigterm_stops_a_paper_run_cancels_its_orders_and_exits_zero(
    tmp_path: Path,
) -> None:
    port = _free_port()
    out = tmp_path / "run"
    log = tmp_path / "stderr.log"
    env = {**os.environ, "TQDM_DISABLE": "1", "SERENITY_HOME": str(tmp_path / "home")}
    env.pop("SERENITY_DB_URL", None)
    async with CoinbaseServer(heartbeat_interval_s=0.2) as venue:
        with log.open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "serenity", "--log-level=INFO", "algo", "run"),
                *(str(PEG), "--paper"),
                f"--out={out}",
                f"--ws-url={venue.ws_url}",
                f"--rest-url={venue.rest_url}",
                f"--metrics-port={port}",
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=env,
            )
            try:
                await _until_metric(proc, port, "serenity_algo_strategies_started 1.0", log)
                await venue.update("BTC-USD", bids=[(99.75, 2.0)])  # peg bids at the touch
                await _until_metric(proc, port, "serenity_algo_working_orders 1.0", log)
                proc.send_signal(signal.SIGTERM)
                stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    printed = stdout.decode()
    assert "paper run of peg: 1 orders, 0 fills" in printed
    assert "working orders at stop: 1 cancelled, 0 left working" in printed
    assert f"outputs: {out}" in printed
    outputs = RunOutputs(out)
    orders = outputs.orders
    assert list(orders.exec_type) == ["PENDING_NEW", "NEW", "PENDING_CANCEL", "CANCELED"]
    assert list(orders.price.unique()) == [99.75]
    assert outputs.summary["orders"] == 1 and (out / "report.html").stat().st_size > 10_000
    assert json.loads((out / "run.json").read_text())["kind"] == "paper"
    assert "algo.signal" in log.read_text() and "SIGTERM" in log.read_text()


def test_a_live_run_without_a_connector_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = yaml.safe_load(PEG.read_text())
    config["placer"] = "kraken:prod"  # a venue without a connector
    config["strategy"]["module"] = str(PEG.parent / "peg.py")
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["algo", "run", str(path), f"--out={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "serenity: live trading needs an order connector for placer 'kraken:prod'"
    )
    assert not (tmp_path / "run").exists()


def test_endpoint_overrides_are_a_url_or_venue_url_pairs() -> None:
    one = ["coinbase"]
    two = ["coinbase", "binance"]
    assert parse_urls(None, one, flag="--ws-url") == {}
    assert parse_urls("ws://127.0.0.1:1/", one, flag="--ws-url") == {
        "coinbase": "ws://127.0.0.1:1/"
    }
    assert parse_urls("Coinbase=ws://a:1,binance=ws://b:2", two, flag="--ws-url") == {
        "coinbase": "ws://a:1",
        "binance": "ws://b:2",
    }
    with pytest.raises(ConfigError, match="names no venue and the run uses coinbase, binance"):
        parse_urls("ws://127.0.0.1:1/", two, flag="--ws-url")
    with pytest.raises(ConfigError, match="names venue 'phemex', which the run does not use"):
        parse_urls("phemex=ws://a:1", two, flag="--ws-url")
