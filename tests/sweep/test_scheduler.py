"""``serenity sweep run`` against a Dask scheduler and worker started on their own, and
in this process; the repeated ``--grid`` flag."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from serenity.cli import main
from serenity.sweep import RESULTS_FILE, SWEEP_PAGE

DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dask scheduler`` and one ``dask worker`` on loopback, as separate processes, in a
    folder of their own (so they find nothing by relative path); killed at the end."""
    from dask.distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    common: dict[str, Any] = {
        "cwd": folder,
        "env": env,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "start_new_session": True,  # each its own process group, killed whole at the end
    }
    port = address.rsplit(":", 1)[1]
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], **common
        )
    ]
    try:
        processes.append(
            subprocess.Popen(
                [
                    DASK,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                **common,
            )
        )
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_sweep_runs_on_a_separately_started_scheduler_and_worker(
    scheduler: str,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "sweep"
    code, printed, err = run(
        capsys,
        "sweep",
        "run",
        "reference_bbands",
        "--start",
        "2024-01-02",
        "--end",
        "2024-01-04",
        "--grid",
        "window=10,20",
        "--grid=num_std=2",
        "--store",
        store_url,
        "--scheduler",
        scheduler,
        "--out",
        str(out),
        "--metric",
        "total_return",
        "--noreports",
    )
    assert code == 0, err
    table = pd.read_parquet(out / RESULTS_FILE)
    assert sorted(table.window) == [10, 20] and set(table.num_std) == {2}
    assert table.error.isna().all()
    returns = table.total_return.tolist()
    assert returns == sorted(returns, reverse=True)
    assert printed.splitlines()[0].split() == [
        "point",
        "window",
        "num_std",
        "total_return",
        "sharpe",
        "max_drawdown",
        "fills",
        "error",
    ]
    assert f"results   {out}/{RESULTS_FILE}" in printed
    assert (out / SWEEP_PAGE).is_file()
    for folder in table.folder:
        assert (Path(folder) / "summary.json").is_file() and not (
            Path(folder) / "report.html"
        ).exists()


def test_a_serial_sweep_from_the_command_line_lists_its_failed_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    code, printed, err = run(
        capsys,
        "sweep",
        "run",
        "equal_weight",
        "--start=2024-01-01",
        "--end=2024-02-01",
        "--grid",
        "cash_buffer=0,2",
        "--workers",
        "0",
        f"--out={out}",
        "--noreports",
    )
    assert code == 0, err
    assert "1 of 2 points failed" in printed and "InvalidValueError: weights must be" in printed


def test_a_sweep_without_a_grid_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "sweep", "run", "equal_weight", "--start=2024-01-01", "--end=2024-02-01"
    )
    assert code == 2 and "give at least one --grid" in err
