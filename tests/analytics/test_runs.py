"""Runs in the strategy_run table: start, finish, fail, list and show, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from serenity.analytics import RunOutputs, run_statistics
from serenity.analytics.runs import fail_run, finish_run, get_run, list_runs, start_run
from serenity.errors import ConfigError, InvalidValueError
from serenity.model import RunKind, RunStatus

UTC = dt.UTC
START = dt.datetime(2024, 1, 1, tzinfo=UTC)
END = dt.datetime(2024, 1, 3, tzinfo=UTC)
CONFIG = {"strategy": {"name": "bbands", "params": {"window": 20, "num_std": 2.0}}}


def test_a_run_is_started_then_finished_with_its_statistics(db_engine: Any, tiny_run: Path) -> None:
    stats = run_statistics(RunOutputs(tiny_run), ticks=10)
    run_id = start_run(
        db_engine,
        kind="backtest",
        strategy="bbands",
        config=CONFIG,
        window_start=START,
        window_end=END,
        output_uri=str(tiny_run),
        started_at=dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    )
    running = get_run(db_engine, run_id)
    finish_run(
        db_engine,
        run_id,
        statistics=stats,
        data_versions={"COINBASE_TRADES": {"BTC-USD": {"2024-01-01": 3}}},
    )
    done = get_run(db_engine, run_id)

    assert running.status is RunStatus.RUNNING and running.finished_at is None
    assert running.started_at == dt.datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert running.window_start == START and running.kind is RunKind.BACKTEST
    assert done.status is RunStatus.COMPLETED and done.finished_at is not None
    assert done.config == CONFIG and done.output_uri == str(tiny_run)
    assert done.statistics is not None and done.statistics["net_pnl"] == 2.0
    assert done.statistics["sortino"] is None or isinstance(done.statistics["sortino"], float)
    assert done.data_versions == {"COINBASE_TRADES": {"BTC-USD": {"2024-01-01": 3}}}
    assert done.error is None


def test_a_failed_run_keeps_its_error_and_nan_becomes_null(db_engine: Any) -> None:
    run_id = start_run(db_engine, kind=RunKind.PAPER, strategy="peg", config={"x": float("nan")})
    fail_run(
        db_engine,
        run_id,
        error=RuntimeError("feed went stale"),
        statistics={"net_pnl": float("inf"), "fills": 3},
    )
    run = get_run(db_engine, run_id)

    assert run.status is RunStatus.FAILED and run.error == "RuntimeError: feed went stale"
    assert run.config == {"x": None} and run.statistics == {"net_pnl": None, "fills": 3}
    with pytest.raises(InvalidValueError, match=f"strategy run {run_id} is already failed"):
        finish_run(db_engine, run_id, statistics={})


def test_runs_are_listed_newest_first_and_filtered(db_engine: Any) -> None:
    ids = [
        start_run(
            db_engine,
            kind=kind,
            strategy=name,
            config={},
            started_at=START + dt.timedelta(hours=i),
        )
        for i, (kind, name) in enumerate(
            [("backtest", "a"), ("backtest", "b"), ("live", "a"), ("backtest", "a")]
        )
    ]
    finish_run(db_engine, ids[0], statistics={})

    assert [r.id for r in list_runs(db_engine)] == ids[::-1]
    assert [r.id for r in list_runs(db_engine, strategy="a")] == [ids[3], ids[2], ids[0]]
    assert [r.id for r in list_runs(db_engine, kind="live")] == [ids[2]]
    assert [r.id for r in list_runs(db_engine, status="completed")] == [ids[0]]
    assert [r.id for r in list_runs(db_engine, limit=2)] == [ids[3], ids[2]]


def test_bad_arguments_are_named(db_engine: Any) -> None:
    with pytest.raises(InvalidValueError, match="run kind 'replay' is not one of backtest"):
        start_run(db_engine, kind="replay", strategy="x", config={})
    with pytest.raises(InvalidValueError, match="needs a strategy name"):
        start_run(db_engine, kind="live", strategy=" ", config={})
    with pytest.raises(InvalidValueError, match="window_start must be a timezone-aware"):
        start_run(
            db_engine, kind="live", strategy="x", config={}, window_start=dt.datetime(2024, 1, 1)
        )
    with pytest.raises(InvalidValueError, match="run status 'done' is not one of running"):
        list_runs(db_engine, status="done")
    with pytest.raises(InvalidValueError, match="no strategy run 999"):
        get_run(db_engine, 999)
    with pytest.raises(InvalidValueError, match="no strategy run 999"):
        fail_run(db_engine, 999, error="x")


def test_an_unmigrated_database_is_a_config_error(tmp_path: Path) -> None:
    from serenity.db import create_engine_from_url

    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(ConfigError, match="serenity db upgrade"):
            list_runs(engine)
    finally:
        engine.dispose()
