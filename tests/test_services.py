"""The service plumbing itself: skips become failures when services are required."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run_pytest(tmp_path: Path, require: bool) -> subprocess.CompletedProcess[str]:
    conftest = (Path(__file__).parent / "conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_x.py").write_text(
        textwrap.dedent(
            """
            from conftest import skip_missing_service

            def test_needs_service():
                skip_missing_service("no such service here")

            def test_plain_skip():
                import pytest
                pytest.skip("not a service")
            """
        )
    )
    env = {"PATH": "", "SERENITY_REQUIRE_SERVICES": "1" if require else "0"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:benchmark",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )


def test_missing_service_skips_without_requirement(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, require=False)
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout


def test_missing_service_fails_when_services_required(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, require=True)
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout and "1 skipped" in result.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    root = Path(__file__).resolve().parent.parent
    ci = (root / ".ci/run").read_text()
    command = ci.rsplit("# The README's test command:\n", 1)[1].strip()
    assert command in (root / "README.md").read_text()
