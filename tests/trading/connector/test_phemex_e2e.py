"""End to end: ``serenity algo run`` live on ``phemex:testnet``, trading against the loopback
Phemex (orders) with market data from the loopback market-data server, on one websocket."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from serenity.analytics import RunOutputs
from tests.marketdata.fh.phemex_server import PhemexServer
from tests.polling import until
from tests.trading.connector.live_run import algo_run, run_env, stop_run, write_config
from tests.trading.connector.phemex_venue import API_KEY, SECRET, PhemexVenue


async def test_a_strategy_trades_phemex_live_through_serenity_algo_run(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "live.yaml", instrument="PHEMEX:BTCUSD", placer="phemex:testnet", qty=1
    )
    out, log = tmp_path / "run", tmp_path / "stderr.log"
    env = run_env(
        tmp_path,
        SERENITY_PHEMEX_TESTNET_API_KEY=API_KEY,
        SERENITY_PHEMEX_TESTNET_API_SECRET=SECRET,
    )
    async with PhemexServer() as market, PhemexVenue(market_ws=market.ws_url) as venue:
        best_ask = min(market.markets["BTCUSD"].asks)
        venue.markets["BTCUSD"].last_ep = best_ask  # the venue trades where the feed quotes
        async with algo_run(
            path,
            out=out,
            ws_url=f"phemex={venue.ws_url}",
            rest_url=f"phemex={venue.rest_url}",
            env=env,
            log=log,
        ) as proc:
            await until(
                lambda: len(venue.orders) >= 2 or proc.returncode is not None,
                60,
                what="the strategy's orders at the venue",
            )
            assert proc.returncode is None, log.read_text()[-3000:]
            await until(
                lambda: (
                    len(venue.trades) == 1 and sum(o.is_open for o in venue.orders.values()) == 1
                )
            )
            filled = [o for o in venue.orders.values() if o.status == "Filled"]
            resting = [o for o in venue.orders.values() if o.is_open]
            printed = await stop_run(proc)
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert "live run of bid_each: 2 orders, 1 fills" in printed, printed
    assert "1 cancelled, 0 left working" in printed
    (market_order,) = filled
    assert (market_order.ord_type, market_order.qty, market_order.price_ep) == ("Market", 1, 0)
    assert resting[0].status == "Canceled" and resting[0].ord_type == "Limit"
    assert venue.positions["BTCUSD"] == 1
    outputs = RunOutputs(out)
    fills = outputs.fills
    assert len(fills) == 1 and Decimal(str(fills.price.iloc[0])) == Decimal(best_ask).scaleb(-4)
    assert venue.auths >= 1 and all(status != 401 for status, _ in venue.refusals)
