"""Sweeps on a LocalCluster: every point equals a serial run, failures are rows, pages."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from serenity.algo import backtest, compare_runs, load_config
from serenity.analytics import RunOutputs
from serenity.errors import ConfigError
from serenity.sweep import RESULTS_FILE, SWEEP_PAGE, run
from tests.sweep.conftest import EXAMPLES

START, END = "2024-01-02", "2024-01-04"
REFERENCE = EXAMPLES / "reference_bbands.yaml"
EQUAL_WEIGHT = EXAMPLES / "invest" / "equal_weight.yaml"
# Differ run to run by design: wall time, and where the outputs are.
TIMING = ["wall_s", "wall_seconds", "ticks_per_second", "folder"]


def test_each_point_on_the_cluster_equals_a_serial_backtest(
    client: Any, store_url: str, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    table = run(
        REFERENCE,
        ["window=10,20", "num_std=1.5,2"],
        client,
        start=START,
        end=END,
        store=store_url,
        out=tmp_path / "sweep",
        reports=False,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert sorted(zip(table.window, table.num_std, strict=True)) == [
        (10, 1.5),
        (10, 2),
        (20, 1.5),
        (20, 2),
    ]
    assert table.error.isna().all() and (table.fills > 0).all()
    sharpe = table.sharpe.to_list()
    assert sharpe == sorted(sharpe, reverse=True)
    reference = load_config(REFERENCE)
    for row in table.itertuples():
        spec = dataclasses.replace(
            reference.strategies[0],
            params={**reference.strategies[0].params, "window": row.window, "num_std": row.num_std},
        )
        serial = backtest(
            dataclasses.replace(reference, strategies=(spec,)),
            start=START,
            end=END,
            store=store_url,
            out=tmp_path / f"serial-{row.point}",
            record=False,
            report=False,
        )
        assert compare_runs(row.folder, serial.folder) == [], row.point
        expected = serial.statistics.to_dict()
        for name in ("net_pnl", "sharpe", "fills", "fees", "max_drawdown", "turnover"):
            assert getattr(row, name) == expected[name], (row.point, name)
    saved = pd.read_parquet(tmp_path / "sweep" / RESULTS_FILE)
    assert saved.drop(columns=TIMING).equals(table.drop(columns=TIMING))
    page = (tmp_path / "sweep" / SWEEP_PAGE).read_text()
    assert '"type":"heatmap"' in page
    assert "<script src=" not in page  # plotly.js is inlined: the page works offline


def test_the_cluster_and_a_serial_sweep_give_the_same_table(client: Any, tmp_path: Path) -> None:
    grid = {"cash_buffer": [0.0, 0.05], "costs.bps": [1, 20]}
    kwargs: dict[str, Any] = {"start": "2024-01-01", "end": "2024-07-01", "metric": "total_return"}
    on_cluster = run(EQUAL_WEIGHT, grid, client, out=tmp_path / "a", reports=False, **kwargs)
    serial = run(EQUAL_WEIGHT, grid, workers=0, out=tmp_path / "b", reports=True, **kwargs)
    assert on_cluster.drop(columns=TIMING).equals(serial.drop(columns=TIMING))
    for a, b in zip(on_cluster.folder, serial.folder, strict=True):
        assert compare_runs(a, b) == []
    assert (Path(serial.folder[0]) / "report.html").is_file()
    # lower costs, less cash held back: the best total return
    assert on_cluster.iloc[0][["cash_buffer", "costs.bps"]].tolist() == [0.0, 1]


def test_a_failing_point_is_reported_and_the_others_finish(client: Any, tmp_path: Path) -> None:
    table = run(
        EQUAL_WEIGHT,
        ["cash_buffer=0.02,1.5,0.1"],  # 1.5 makes every weight negative: its rebalance raises
        client,
        start="2024-01-01",
        end="2024-03-01",
        out=tmp_path / "sweep",
        reports=False,
    )
    assert table.point.tolist()[-1] == 1  # failed points go last
    failed = table.iloc[-1]
    assert failed.error.startswith("InvalidValueError: weights must be >= 0")
    assert pd.isna(failed.sharpe) and pd.isna(failed.fills)
    assert table.error.iloc[:2].isna().all() and (table.fills.iloc[:2] > 0).all()
    assert RunOutputs(failed.folder).is_sealed  # what it wrote before failing is readable
    assert '"type":"scatter"' in (tmp_path / "sweep" / SWEEP_PAGE).read_text()


def test_a_grid_the_config_cannot_take_is_refused_before_any_work(
    store_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="'windw' is not a param of ReferenceBollinger.*'window'"):
        run(REFERENCE, ["windw=10"], start=START, end=END, store=store_url, out=tmp_path / "a")
    with pytest.raises(ConfigError, match="unknown key 'simulatr'"):
        run(REFERENCE, ["simulatr.x=1"], start=START, end=END, store=store_url, out=tmp_path / "b")
    with pytest.raises(ConfigError, match="unknown metric 'sharp'; did you mean sharpe"):
        run(REFERENCE, ["window=10"], start=START, end=END, store=store_url, metric="sharp")
    with pytest.raises(ConfigError, match="needs a tick store URL"):
        run(REFERENCE, ["window=10"], start=START, end=END)
    assert not (tmp_path / "a").exists()
