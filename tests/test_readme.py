"""The README's command-line block runs as written after ``serenity demo``.

The block is run by bash in a fresh ``$HOME`` (so ``~/.serenity`` is the demo's home), with
``set -eo pipefail``: every command must succeed, ``| head`` included.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _block() -> str:
    section = (ROOT / "README.md").read_text().split("## Command line", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "README.md has no bash block under ## Command line"
    return match.group(1)


@pytest.mark.slow
def test_the_command_line_block_works_after_the_demo(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERENITY_")}
    env |= {"HOME": str(tmp_path), "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    env["TQDM_DISABLE"] = "1"
    script = "set -eo pipefail\nserenity demo --events 2000 > /dev/null\n" + _block()

    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "(up to date)" in out and "coinbase  BTC-USD" in out
    assert re.search(r"COINBASE_TRADES\s+BTC-USD\s+2024-01-02\s+[\d,]+\s+1\s+new", out)
    assert re.search(r"BTC-USD\s+1\s+2024-01-02\s+2024-01-02", out)  # tickstore ls
    assert "COINBASE_TRADES BTC-USD [2024-01-02T12:00:00" in out  # tickstore show | head
    assert re.search(r"report\s+.*report\.html", out)  # backtest run
    assert re.search(r"backtest\s+bbands1\s+completed", out)  # runs ls
    assert "benchmark buy and hold AAA" in out and "sessions  1" in out  # invest run x2
    assert re.search(r"point\s+window\s+num_std\s+sharpe", out)  # sweep run
    assert result.stderr == ""
    assert (tmp_path / ".serenity" / "serenity.db").is_file() and (tmp_path / "ticks").is_dir()


def test_the_block_uses_only_offline_commands() -> None:
    commands = [line.split()[1] for line in _block().splitlines() if line.startswith("serenity")]
    assert "marketdata" not in commands and "demo" not in commands
    assert set(commands) <= {
        "db",
        "refdata",
        "journal",
        "tickstore",
        "backtest",
        "runs",
        "invest",
        "sweep",
    }
