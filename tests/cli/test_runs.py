"""``serenity runs ls`` and ``serenity runs show`` on a migrated SQLite database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from serenity.analytics import summarize_run
from serenity.analytics.runs import fail_run, finish_run, start_run
from serenity.cli import main
from serenity.db import create_engine_from_url
from tests.analytics.conftest import write_tiny_run


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 'serenity.db'}"
    assert main(["db", "upgrade", "--db-url", url]) == 0
    capsys.readouterr()
    return url


def test_ls_and_show_print_the_runs(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_tiny_run(tmp_path / "tiny")
    stats = summarize_run(folder)
    engine = create_engine_from_url(db)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    done = start_run(
        engine,
        kind="backtest",
        strategy="tiny",
        config={"strategy": {"name": "tiny"}},
        window_start=start,
        window_end=start + dt.timedelta(days=2),
        output_uri=str(folder),
        started_at=start,
    )
    finish_run(engine, done, statistics=stats, data_versions={"COINBASE_TRADES": {"d": 2}})
    failed = start_run(engine, kind="live", strategy="peg", config={}, started_at=start)
    fail_run(engine, failed, error="venue refused")
    engine.dispose()

    assert main(["runs", "ls", "--db-url", db]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert main(["runs", "ls", "--db-url", db, "--status", "failed"]) == 0
    failed_only = capsys.readouterr().out.splitlines()
    assert main(["runs", "show", str(done), "--db-url", db]) == 0
    shown = capsys.readouterr().out

    assert listing[0].split() == [
        "ID", "KIND", "STRATEGY", "STATUS", "STARTED", "WINDOW", "NET_PNL", "RETURN", "SHARPE",
        "MAX_DD", "FILLS",
    ]  # fmt: skip
    assert listing[1].split()[:4] == [str(failed), "live", "peg", "failed"]
    assert listing[2].split()[:4] == [str(done), "backtest", "tiny", "completed"]
    assert "2024-01-01..2024-01-03" in listing[2] and "2.00" in listing[2]
    assert "0.20%" in listing[2]
    assert len(failed_only) == 2 and failed_only[1].split()[0] == str(failed)
    assert shown.startswith(f"run {done}: backtest of tiny, completed")
    assert f"report    {folder / 'report.html'}" in shown
    assert "  net_pnl " in shown and "COINBASE_TRADES:" in shown
    assert "config:\n  strategy:\n    name: tiny" in shown


def test_no_runs_yet(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "ls", "--db-url", db]) == 0
    assert capsys.readouterr().out.strip() == "no runs"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "show", "42"], "serenity: no strategy run 42"),
        (["runs", "show", "x"], "serenity: RUN must be a run id"),
        (["runs", "ls", "--kind", "replay"], "serenity: --kind must be one of backtest"),
        (["runs", "ls", "--limit", "0"], "serenity: --limit must be a positive integer"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    db: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main([*args, "--db-url", db]) == 2
    assert capsys.readouterr().err.startswith(message)
