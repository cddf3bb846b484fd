"""``serenity algo run`` live on ``binance:testnet``, pointed at the loopback Binance venue:
a strategy trades end to end (market data, orders, fills, the stop's cancel)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from serenity.analytics import RunOutputs
from tests.cli.test_algo import _free_port, _until_metric
from tests.polling import until
from tests.trading.connector.binance_venue import API_KEY, SECRET, BinanceVenue
from tests.trading.connector.live_run import (
    algo_run,
    run_env,
    stop_run,
    until_started,
    write_config,
)


async def test_a_strategy_trades_live_against_the_binance_venue(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "live.yaml",
        instrument="BINANCE:BTCUSDT",
        placer="binance:testnet",
        qty=0.1,
        account="binance-test",
    )
    port = _free_port()
    out = tmp_path / "run"
    log = tmp_path / "stderr.log"
    env = run_env(
        tmp_path,
        SERENITY_BINANCE_TESTNET_API_KEY=API_KEY,
        SERENITY_BINANCE_TESTNET_API_SECRET=SECRET,
    )
    async with BinanceVenue(ping_interval_s=0.5) as venue:
        async with algo_run(
            config,
            out=out,
            ws_url=venue.ws_url,
            rest_url=venue.rest_url,
            env=env,
            log=log,
            metrics_port=port,
        ) as proc:
            await until(lambda: venue.snapshot_requests >= 1, 30)
            await until_started(
                proc, port, log, lambda: venue.update("BTCUSDT", bids=[(95.0, 1.0)])
            )
            # on start the strategy buys at market (filled on arrival at the venue's ask)
            # and bids a point below the best bid
            await _until_metric(proc, port, "serenity_algo_working_orders 1.0", log)
            (bid,) = venue.open_orders()
            await venue.fill(bid.client_id, "0.04")  # a partial fill, on the stream
            await _until_metric(
                proc, port, 'serenity_algo_fills_total{instrument="BTCUSDT@binance"} 2.0', log
            )
            printed = await stop_run(proc)  # stop: the rest of the bid is cancelled
        await until(lambda: not venue.open_orders())
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert "live run of bid_each: 2 orders, 2 fills" in printed
    assert "working orders at stop: 1 cancelled, 0 left working" in printed
    fills = RunOutputs(out).fills
    assert sorted(fills.price) == [98.99, 100.01] and sorted(fills.qty) == [0.04, 0.1]
    assert set(fills.liquidity) == {"MAKER", "TAKER"}
    statuses = {o.client_id: o.status for o in venue.orders.values()}
    assert sorted(statuses.values()) == ["CANCELED", "FILLED"]
    assert venue.by_client_id(bid.client_id).executed == Decimal("0.04")
    assert ("POST", "/api/v3/order") in [(m, p) for m, p, _ in venue.rest_log]
