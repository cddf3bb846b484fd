"""Paper and live runs end to end against the loopback venues of the feedhandler tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from serenity.algo import LiveRun, Mode, PlacerContext, register_placer
from serenity.algo.placers import unregister_placer
from serenity.analytics import RunOutputs
from serenity.db import create_engine_from_url
from serenity.db.migrations import upgrade
from serenity.errors import ConfigError, VenueError
from serenity.marketdata.fh import FeedState
from serenity.model import OrderStatus, StrategyRun
from serenity.trading import ExchangeSimulator, OrderPlacer
from tests.algo.live_strategies import BidEach
from tests.marketdata.fh.binance_server import BinanceServer
from tests.marketdata.fh.coinbase_server import CoinbaseServer
from tests.polling import until

BTC = "COINBASE:BTC-USD"


def bid_each(*instruments: str, **params: Any) -> dict[str, Any]:
    """A config running :class:`BidEach` (params as given) on ``instruments``."""
    return {
        "api-version": "v1",
        "strategy": {
            "name": "bid_each",
            "module": "tests.algo.live_strategies",
            "class": "BidEach",
            "params": params,
        },
        "instruments": list(instruments),
        "simulator": {"taker_fee_bps": 7.5},
    }


def strategy_of(run: LiveRun) -> Any:
    assert run.engine is not None
    return run.engine.strategies[0][0]


def feed_state(run: LiveRun, venue: str) -> FeedState | None:
    if run.marketdata is None:
        return None
    return run.marketdata.get_feed_state(venue).get_value()


def orders_with(run: LiveRun, status: OrderStatus) -> list[Any]:
    if run.engine is None:
        return []
    return [o for o in run.engine.oms.all_orders() if o.status is status]


def live_run(
    config: Any, tmp_path: Path, venues: dict[str, Any], *, paper: bool = True, **options: Any
) -> LiveRun:
    """Return a run of ``config`` into ``tmp_path / "run"`` on the test ``venues``' endpoints
    (by venue name)."""
    return LiveRun(
        config,
        paper=paper,
        out=tmp_path / "run",
        ws_urls={name: venue.ws_url for name, venue in venues.items()},
        rest_urls={name: venue.rest_url for name, venue in venues.items()},
        **options,
    )


async def stop(run: LiveRun, task: asyncio.Task[Any]) -> Any:
    run.stop()
    return await asyncio.wait_for(task, 30)


async def test_the_peg_example_runs_unchanged_on_a_live_coinbase_feed(
    examples_dir: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'serenity.db'}"
    upgrade(db)
    async with CoinbaseServer(heartbeat_interval_s=0.2) as venue:
        run = live_run(
            examples_dir / "peg.yaml",
            tmp_path,
            {"coinbase": venue},
            metrics_port=0,
            db_url=db,
            flush_interval_s=0.1,
            report=False,
        )
        task = asyncio.create_task(run.run())
        try:
            await until(lambda: run.is_started, what="the strategy to start")
            peg = strategy_of(run)
            await venue.update("BTC-USD", bids=[(99.75, 2.0)])  # peg bids at the new touch
            await until(lambda: peg.order is not None and peg.order.is_working)
            await venue.update("BTC-USD", bids=[(99.8, 1.0)])  # and moves with it
            await until(lambda: peg.order.price == Decimal("99.8") and peg.order.is_working)
            await venue.trade("BTC-USD", taker_side="sell", price=99.5, size=1.0)
            await until(lambda: len(orders_with(run, OrderStatus.FILLED)) == 1)
            # written as the run goes: the fill is readable before the run stops
            await until(lambda: len(RunOutputs(tmp_path / "run").fills) == 1)
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{run.metrics_port}/metrics"
                async with http.get(url) as resp:
                    metrics = await resp.text()
        finally:
            result = await stop(run, task)
    assert result.mode is Mode.PAPER and result.started and result.node_errors == 0
    fills = result.outputs.fills
    assert list(fills.price) == [99.8] and list(fills.qty) == [0.05]
    assert list(fills.liquidity) == ["MAKER"] and list(fills.side) == ["BUY"]
    assert "REPLACED" in set(result.outputs.orders.exec_type)
    assert result.statistics.fills == 1 and result.ticks >= 4
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["fills"] == 1
    for line in (
        'serenity_algo_fills_total{instrument="BTC-USD@coinbase"} 1.0',
        "serenity_algo_orders_total 1.0",
        'serenity_algo_position{account="sim",instrument="BTC-USD@coinbase"} 0.05',
        'serenity_algo_ticks_total{kind="trade",symbol="BTC-USD",venue="coinbase"} 1.0',
        "serenity_algo_strategies_started 1.0",
        "serenity_algo_order_entry_open 1.0",
        'serenity_fh_state{serenity_fh_state="live",venue="coinbase"} 1.0',
    ):
        assert line in metrics, line
    assert 'component="net"' in metrics and "serenity_algo_loop_lag_seconds_count" in metrics
    run_file = json.loads((result.folder / "run.json").read_text())
    assert run_file["kind"] == "paper" and run_file["feeds"]["coinbase"]["symbols"] == ["BTC-USD"]
    engine = create_engine_from_url(db)
    with engine.connect() as conn:
        row = conn.execute(sa.select(StrategyRun)).one()
    engine.dispose()
    assert (row.id, row.kind, row.strategy, row.status) == (
        result.run_id,
        "paper",
        "peg",
        "completed",
    )
    assert row.statistics["fills"] == 1 and row.output_uri == str(result.folder.resolve())


async def test_strategies_start_only_once_every_feed_is_live(tmp_path: Path) -> None:
    async with (
        CoinbaseServer(heartbeat_interval_s=0.2) as coinbase,
        BinanceServer(["BTCUSDT"], ping_interval_s=0.5) as binance,
    ):
        binance.fail_snapshots(1_000)  # Binance's book cannot sync: its feed stays SYNCING
        run = live_run(
            bid_each(BTC, "BINANCE:BTCUSDT"),
            tmp_path,
            {"coinbase": coinbase, "binance": binance},
            record=False,
            report=False,
        )
        task = asyncio.create_task(run.run())
        try:
            await until(
                lambda: (
                    feed_state(run, "coinbase") is FeedState.LIVE and binance.snapshot_requests >= 1
                )
            )
            await coinbase.trade("BTC-USD", taker_side="buy")
            strategy = strategy_of(run)
            await until(lambda: strategy.trades == 1)
            assert feed_state(run, "binance") is FeedState.SYNCING
            assert not run.is_started and not strategy.started
            assert list(run.engine.oms.all_orders()) == []  # type: ignore[union-attr]

            binance._snapshot_failures.clear()  # the venue's REST API recovers
            await until(lambda: run.handlers[1].is_synced(), what="binance's book to sync")
            await binance.update("BTCUSDT", bids=[(99.5, 1.0)])  # a frame after the snapshot
            await until(lambda: run.is_started, what="the strategy to start")
            assert strategy.trades_before_start == 1
            # the market buys fill from the live books at once; the bids rest below the touch
            await until(lambda: len(orders_with(run, OrderStatus.FILLED)) == 2)
            assert len(orders_with(run, OrderStatus.NEW)) == 2
            # trades printed through the bids fill them, on both venues
            await coinbase.trade("BTC-USD", taker_side="sell", price=98.0, size=1.0)
            await binance.trade("BTCUSDT", 98.0, 1.0, is_buyer_maker=True)
            await until(lambda: len(orders_with(run, OrderStatus.FILLED)) == 4)
        finally:
            result = await stop(run, task)
    fills = result.outputs.fills
    makers = fills[fills.liquidity == "MAKER"].sort_values("instrument")
    assert list(makers.instrument) == ["BTC-USD@coinbase", "BTCUSDT@binance"]
    assert list(makers.price) == [98.5, 98.99]  # each venue's best bid less the offset
    takers = fills[fills.liquidity == "TAKER"]
    assert set(takers.instrument) == {"BTC-USD@coinbase", "BTCUSDT@binance"}
    assert (takers.price > 100.0).all()  # bought at the venues' asks
    assert result.statistics.fills == len(fills) and result.cancelled == 0
    assert list(result.outputs.capture("bids").instrument) == [
        "BTC-USD@coinbase",
        "BTCUSDT@binance",
    ]


async def test_a_stalled_or_dropped_feed_pauses_order_entry_until_it_is_live(
    tmp_path: Path,
) -> None:
    async with CoinbaseServer(heartbeat_interval_s=0.1) as venue:
        run = live_run(
            bid_each(BTC, on_start=False),
            tmp_path,
            {"coinbase": venue},
            stall_timeout_s=0.5,
            heartbeat_s=0.2,
            record=False,
            report=False,
        )
        task = asyncio.create_task(run.run())
        try:
            await until(lambda: run.is_started)
            strategy = strategy_of(run)
            gate = run.gate
            assert gate is not None
            inst = strategy.ctx.instrument(BTC)
            placed = [strategy.bid(inst)]
            refused = []
            for fault in ("stall", "drop"):
                if fault == "stall":
                    venue.stall()  # silent: the stall timeout closes and reopens the feed
                else:
                    await venue.drop()
                await until(lambda: not gate.is_open, what=f"a pause after the {fault}")
                refused.append(strategy.bid(inst))  # no await since the check: still paused
                await until(lambda: gate.is_open, what=f"the feed back after the {fault}")
                placed.append(strategy.bid(inst))
            await until(lambda: all(o.status is OrderStatus.NEW for o in placed))
        finally:
            result = await stop(run, task)
    assert all(o.status is OrderStatus.REJECTED for o in refused)
    for order in refused:
        assert order.reason.startswith("order entry paused: the coinbase feed is ")
        assert order.reason.endswith(", not live")
    assert result.pauses == 2
    assert run.metrics.registry.get_sample_value("serenity_algo_order_entry_open") == 1.0
    # at the stop the bids placed while the feed was live were cancelled
    assert result.cancelled == 3 and result.left_working == 0
    assert all(o.status is OrderStatus.CANCELED for o in placed)
    orders = result.outputs.orders
    rejected = orders[orders.exec_type == "REJECTED"]
    assert len(rejected) == 2 and rejected.reason.str.contains("coinbase feed").all()
    assert (orders[orders.exec_type == "CANCELED"].cl_ord_id.nunique()) == 3


async def test_a_live_run_without_an_order_connector_is_refused_before_connecting(
    tmp_path: Path,
) -> None:
    cfg = {**bid_each(BTC), "placer": "kraken:prod"}  # a venue without a connector
    with pytest.raises(ConfigError) as refused:
        await LiveRun(cfg, paper=False, out=tmp_path / "run").run()
    message = str(refused.value)
    assert "order connector for placer 'kraken:prod'" in message
    assert "venue 'kraken'" in message and "--paper" in message
    with pytest.raises(ConfigError, match="a live run needs `placer` in the config"):
        await LiveRun(bid_each(BTC), paper=False, out=tmp_path / "run").run()
    assert not (tmp_path / "run").exists()


@pytest.fixture
def simulated_venue() -> Iterator[list[PlacerContext]]:
    """Register the exchange simulator as Coinbase's order connector (a stand-in venue)."""
    seen: list[PlacerContext] = []

    def connector(ctx: PlacerContext) -> OrderPlacer:
        seen.append(ctx)
        return ExchangeSimulator(ctx.scheduler, ctx.marketdata, list(ctx.products))

    unregister_placer("coinbase")  # the built-in connector, if it was loaded
    register_placer("coinbase", connector)
    try:
        yield seen
    finally:
        unregister_placer("coinbase")


async def test_a_live_run_sends_orders_to_the_registered_connector(
    simulated_venue: list[PlacerContext], db_url: str, tmp_path: Path
) -> None:
    upgrade(db_url)
    cfg = {**bid_each(BTC), "placer": "coinbase:sandbox", "cancel_on_stop": False}
    async with CoinbaseServer(heartbeat_interval_s=0.2) as venue:
        urls = venue.rest_url, venue.ws_url
        run = live_run(cfg, tmp_path, {"coinbase": venue}, paper=False, db_url=db_url, report=False)
        task = asyncio.create_task(run.run())
        try:
            await until(lambda: len(orders_with(run, OrderStatus.FILLED)) == 1)
            await until(lambda: len(orders_with(run, OrderStatus.NEW)) == 1)
        finally:
            result = await stop(run, task)
    (ctx,) = simulated_venue
    assert (ctx.uri, ctx.venue, ctx.instance, ctx.account) == (
        "coinbase:sandbox",
        "coinbase",
        "sandbox",
        "sim",
    )
    assert (ctx.rest_url, ctx.ws_url) == urls
    assert run.engine is not None and run.engine.simulator is None  # not the paper simulator
    assert result.mode is Mode.LIVE and result.cancelled == 0 and result.left_working == 1
    assert isinstance(strategy_of(run), BidEach) and strategy_of(run).stopped
    engine = create_engine_from_url(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(StrategyRun)).one()
    engine.dispose()
    assert (row.kind, row.status, row.statistics["fills"]) == ("live", "completed", 1)
    assert json.loads((result.folder / "run.json").read_text())["placer"] == "coinbase:sandbox"


async def test_a_venue_refusing_the_feed_fails_the_run_with_its_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'serenity.db'}"
    upgrade(db)
    async with BinanceServer(["BTCUSDT"]) as venue:
        venue.refuse()
        run = live_run(
            bid_each("BINANCE:BTCUSDT"), tmp_path, {"binance": venue}, db_url=db, report=False
        )
        with pytest.raises(VenueError, match="binance refused the subscription"):
            await asyncio.wait_for(run.run(), 30)
    assert RunOutputs(tmp_path / "run").is_sealed  # what the run wrote stays readable
    engine = create_engine_from_url(db)
    with engine.connect() as conn:
        row = conn.execute(sa.select(StrategyRun)).one()
    engine.dispose()
    assert row.status == "failed" and "VenueError: binance refused" in row.error


async def test_a_run_ends_by_itself_after_its_duration(tmp_path: Path) -> None:
    async with CoinbaseServer(heartbeat_interval_s=0.1) as venue:
        run = live_run(
            bid_each(BTC, on_start=False),
            tmp_path,
            {"coinbase": venue},
            duration_s=0.5,
            record=False,
        )
        result = await asyncio.wait_for(run.run(), 30)
    assert result.wall_s >= 0.5 and result.statistics.orders == 0
    assert result.outputs.has_summary and (result.folder / "report.html").is_file()


async def test_a_failing_stop_still_cancels_the_working_orders(tmp_path: Path) -> None:
    async with CoinbaseServer(heartbeat_interval_s=0.2) as venue:
        run = live_run(
            bid_each(BTC, fail_on_stop=True),
            tmp_path,
            {"coinbase": venue},
            record=False,
            report=False,
        )
        task = asyncio.create_task(run.run())
        try:
            await until(lambda: len(orders_with(run, OrderStatus.NEW)) == 1)
        finally:
            result = await stop(run, task)
    assert strategy_of(run).stopped and result.node_errors == 1
    assert result.cancelled == 1 and result.left_working == 0
