"""``serenity algo run`` live against a loopback venue, as the connectors' end-to-end tests
run it: the ``bid_each`` strategy's config, the run's environment, the process itself and
its stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_algo import _until_metric

ROOT = Path(__file__).resolve().parents[3]


def write_config(path: Path, *, instrument: str, placer: str, qty: float, **extra: Any) -> Path:
    """Write the config of a live ``bid_each`` run of ``qty`` on ``instrument`` through
    ``placer`` (with ``extra`` top-level keys, e.g. ``account``) to ``path``."""
    config = {
        "api-version": "v1",
        "strategy": {
            "name": "bid_each",
            "module": "tests.algo.live_strategies",
            "class": "BidEach",
            "params": {"qty": qty, "offset": 1.0},
        },
        "instruments": [instrument],
        "placer": placer,
        **extra,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def run_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """Return the run's environment: ours with its own home, no database, and
    ``variables`` (the venue's credentials)."""
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "SERENITY_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
        **variables,
    }
    env.pop("SERENITY_DB_URL", None)
    return env


@asynccontextmanager
async def algo_run(
    config: Path,
    *,
    out: Path,
    ws_url: str,
    rest_url: str,
    env: dict[str, str],
    log: Path,
    metrics_port: int | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``serenity algo run config`` into ``out`` against the venue at ``ws_url`` and
    ``rest_url`` (serving metrics on ``metrics_port``, if given), with its stderr in
    ``log``; kill it if it is still running when the block ends."""
    metrics = [] if metrics_port is None else [f"--metrics-port={metrics_port}"]
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "serenity", "--log-level=INFO", "algo", "run", str(config)),
            *(f"--out={out}", f"--ws-url={ws_url}", f"--rest-url={rest_url}", *metrics),
            "--noreport",
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=ROOT,
        )
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def until_started(
    proc: asyncio.subprocess.Process, port: int, log: Path, frame: Callable[[], Awaitable[None]]
) -> None:
    """Send market-data frames (``frame()``, below the touch) until the strategy started:
    the feed is live once its book synced and a frame came after."""
    started = "serenity_algo_strategies_started 1.0"
    for _ in range(100):
        await frame()
        try:
            await _until_metric(proc, port, started, log, timeout_s=0.3)
            break
        except AssertionError:
            if proc.returncode is not None:
                raise


async def stop_run(proc: asyncio.subprocess.Process) -> str:
    """Stop the run with SIGTERM (its working orders are cancelled); return what it
    printed."""
    proc.send_signal(signal.SIGTERM)
    stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
    return stdout.decode()
