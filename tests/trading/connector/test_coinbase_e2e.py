"""``serenity algo run`` live on ``coinbase:sandbox``, pointed at the loopback Coinbase venue
(order entry and the ``user`` channel) with the loopback market-data server behind the same
feed URL: a strategy trades end to end, through a drop of the private stream."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from serenity.analytics import RunOutputs
from tests.cli.test_algo import _free_port, _until_metric
from tests.marketdata.fh.coinbase_server import CoinbaseServer
from tests.polling import until
from tests.trading.connector.coinbase_venue import KEY, PASSPHRASE, SECRET, CoinbaseVenue
from tests.trading.connector.live_run import (
    algo_run,
    run_env,
    stop_run,
    until_started,
    write_config,
)

FILLS = 'serenity_algo_fills_total{instrument="BTC-USD@coinbase"}'


async def test_a_strategy_trades_live_against_the_coinbase_venue(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "live.yaml",
        instrument="COINBASE:BTC-USD",
        placer="coinbase:sandbox",
        qty=0.1,
        account="coinbase-test",
    )
    port = _free_port()
    out = tmp_path / "run"
    log = tmp_path / "stderr.log"
    env = run_env(
        tmp_path,
        SERENITY_COINBASE_SANDBOX_API_KEY=KEY,
        SERENITY_COINBASE_SANDBOX_API_SECRET=SECRET,
        SERENITY_COINBASE_SANDBOX_API_PASSPHRASE=PASSPHRASE,
    )
    marketdata = CoinbaseServer(heartbeat_interval_s=0.2)
    async with CoinbaseVenue(marketdata=marketdata, heartbeat_interval_s=0.2) as venue:
        async with algo_run(
            config,
            out=out,
            ws_url=venue.ws_url,
            rest_url=venue.rest_url,
            env=env,
            log=log,
            metrics_port=port,
        ) as proc:
            await until(lambda: marketdata.connections >= 1, 30)
            await until_started(
                proc, port, log, lambda: marketdata.update("BTC-USD", bids=[(95.0, 1.0)])
            )
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
            printed = await stop_run(proc)  # stop: the rest of the bid is cancelled
    assert proc.returncode == 0, log.read_text()[-3000:]
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
