"""``serenity algo run`` live on ``binance:testnet``, pointed at the loopback Binance venue:
a strategy trades end to end (market data, orders, fills, the stop's cancel)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import yaml

from serenity.analytics import RunOutputs
from tests.cli.test_algo import _free_port, _until_metric
from tests.polling import until
from tests.trading.connector.binance_venue import API_KEY, SECRET, BinanceVenue

ROOT = Path(__file__).resolve().parents[3]


async def test_a_strategy_trades_live_against_the_binance_venue(tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "api-version": "v1",
                "strategy": {
                    "name": "bid_each",
                    "module": "tests.algo.live_strategies",
                    "class": "BidEach",
                    "params": {"qty": 0.1, "offset": 1.0},
                },
                "instruments": ["BINANCE:BTCUSDT"],
                "account": "binance-test",
                "placer": "binance:testnet",
            }
        )
    )
    port = _free_port()
    out = tmp_path / "run"
    log = tmp_path / "stderr.log"
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "SERENITY_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
        "SERENITY_BINANCE_TESTNET_API_KEY": API_KEY,
        "SERENITY_BINANCE_TESTNET_API_SECRET": SECRET,
    }
    env.pop("SERENITY_DB_URL", None)
    async with BinanceVenue(ping_interval_s=0.5) as venue:
        with log.open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "serenity", "--log-level=INFO", "algo", "run"),
                str(config),
                f"--out={out}",
                f"--ws-url={venue.ws_url}",
                f"--rest-url={venue.rest_url}",
                f"--metrics-port={port}",
                "--noreport",
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=ROOT,
            )
            try:
                # the feed is live once its book synced and a frame came after: send frames
                # (below the touch) until the strategy starts
                await until(lambda: venue.snapshot_requests >= 1, 30)
                started = "serenity_algo_strategies_started 1.0"
                for _ in range(100):
                    await venue.update("BTCUSDT", bids=[(95.0, 1.0)])
                    try:
                        await _until_metric(proc, port, started, log, timeout_s=0.3)
                        break
                    except AssertionError:
                        if proc.returncode is not None:
                            raise
                # on start the strategy buys at market (filled on arrival at the venue's ask)
                # and bids a point below the best bid
                await _until_metric(proc, port, "serenity_algo_working_orders 1.0", log)
                (bid,) = venue.open_orders()
                await venue.fill(bid.client_id, "0.04")  # a partial fill, on the stream
                await _until_metric(
                    proc, port, 'serenity_algo_fills_total{instrument="BTCUSDT@binance"} 2.0', log
                )
                proc.send_signal(signal.SIGTERM)  # stop: the rest of the bid is cancelled
                stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await until(lambda: not venue.open_orders())
    assert proc.returncode == 0, log.read_text()[-3000:]
    printed = stdout.decode()
    assert "live run of bid_each: 2 orders, 2 fills" in printed
    assert "working orders at stop: 1 cancelled, 0 left working" in printed
    fills = RunOutputs(out).fills
    assert sorted(fills.price) == [98.99, 100.01] and sorted(fills.qty) == [0.04, 0.1]
    assert set(fills.liquidity) == {"MAKER", "TAKER"}
    statuses = {o.client_id: o.status for o in venue.orders.values()}
    assert sorted(statuses.values()) == ["CANCELED", "FILLED"]
    assert venue.by_client_id(bid.client_id).executed == Decimal("0.04")
    assert ("POST", "/api/v3/order") in [(m, p) for m, p, _ in venue.rest_log]
