"""``serenity algo run`` live on ``coinbase:sandbox``, pointed at the loopback Coinbase venue
(order entry and the ``user`` channel) with the loopback market-data server behind the same
feed URL: a strategy trades end to end, through a drop of the private stream."""

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
from tests.marketdata.fh.coinbase_server import CoinbaseServer
from tests.polling import until
from tests.trading.connector.coinbase_venue import KEY, PASSPHRASE, SECRET, CoinbaseVenue

ROOT = Path(__file__).resolve().parents[3]
FILLS = 'serenity_algo_fills_total{instrument="BTC-USD@coinbase"}'


async def test_a_strategy_trades_live_against_the_coinbase_venue(tmp_path: Path) -> None:
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
                "instruments": ["COINBASE:BTC-USD"],
                "account": "coinbase-test",
                "placer": "coinbase:sandbox",
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
        "SERENITY_COINBASE_SANDBOX_API_KEY": KEY,
        "SERENITY_COINBASE_SANDBOX_API_SECRET": SECRET,
        "SERENITY_COINBASE_SANDBOX_API_PASSPHRASE": PASSPHRASE,
    }
    env.pop("SERENITY_DB_URL", None)
    marketdata = CoinbaseServer(heartbeat_interval_s=0.2)
    async with CoinbaseVenue(marketdata=marketdata, heartbeat_interval_s=0.2) as venue:
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
                await until(lambda: marketdata.connections >= 1, 30)
                started = "serenity_algo_strategies_started 1.0"
                for _ in range(100):
                    await marketdata.update("BTC-USD", bids=[(95.0, 1.0)])
                    try:
                        await _until_metric(proc, port, started, log, timeout_s=0.3)
                        break
                    except AssertionError:
                        if proc.returncode is not None:
                            raise
                # on start the strategy buys at market (taking the venue's best ask) and bids
                # a point below the best bid
                await _until_metric(proc, port, "serenity_algo_working_orders 1.0", log)
                (bid,) = [o for o in venue.orders.values() if o.is_live]
                await venue.fill(bid.id, "0.04")  # a partial fill, on the user channel
                await _until_metric(proc, port, f"{FILLS} 2.0", log)
                # the private stream drops; a fill while it is down comes by reconciliation
                await venue.drop_streams(hold=True)
                await venue.fill(bid.id, "0.02")
                venue.release_streams()
                await _until_metric(proc, port, f"{FILLS} 3.0", log)
                proc.send_signal(signal.SIGTERM)  # stop: the rest of the bid is cancelled
                stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    printed = stdout.decode()
    assert "live run of bid_each: 2 orders, 3 fills" in printed, printed
    assert "working orders at stop: 1 cancelled, 0 left working" in printed
    outputs = RunOutputs(out)
    fills = outputs.fills
    assert round(float(outputs.positions.qty.iloc[-1]), 8) == 0.16  # the fills made a position
    assert sorted(fills.qty) == [0.02, 0.04, 0.1]
    assert sorted(fills.price) == [98.5, 98.5, 100.5]
    assert sorted(fills.liquidity) == ["MAKER", "MAKER", "TAKER"]
    assert bid.status == "done" and bid.done_reason == "canceled"
    assert bid.filled_size == Decimal("0.06") and venue.stream_connections >= 2
    assert venue.auth_failures == [] and venue.rate_limited == 0
    assert venue.balances["BTC"] == Decimal("10.16")
    output = log.read_text() + printed
    assert KEY not in output and SECRET not in output and PASSPHRASE not in output
