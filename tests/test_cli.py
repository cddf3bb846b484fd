"""The serenity console script: help, version, demo, errors as one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from serenity import __version__
from serenity.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serenity", *args], capture_output=True, text=True, check=False
    )


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "version" in result.stdout and "demo" in result.stdout


def test_bad_log_level_is_one_line_and_exit_2() -> None:
    result = run_cli("--log-level=LOUD", "version")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("serenity: --log-level must be one of")
    assert "Traceback" not in result.stderr


def test_demo_runs_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SERENITY_HOME", str(tmp_path))
    assert main(["demo", "--events=1000"]) == 0
    out = capsys.readouterr().out
    assert "five-minute bars" in out
