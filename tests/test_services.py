"""The service plumbing itself: skips become failures when services are required."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


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


def test_postgres_tests_use_the_local_server_when_no_url_is_set(tmp_path: Path) -> None:
    from tests.conftest import LOCAL_PG, port_open

    host, port, user = LOCAL_PG
    if not port_open(host, port):  # not a missing service: CI may run PostgreSQL elsewhere
        pytest.skip(f"no PostgreSQL on {host}:{port}: the fallback has nothing to find")
    conftest = (Path(__file__).parent / "conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(conftest)
    seen = tmp_path / "url.txt"
    (tmp_path / "test_pg.py").write_text(
        textwrap.dedent(
            f"""
            import sqlalchemy as sa

            def test_uses_pg(pg_url):
                open({str(seen)!r}, "w").write(pg_url)
                engine = sa.create_engine(pg_url)
                with engine.connect() as conn:
                    assert conn.execute(sa.text("select 1")).scalar() == 1
                engine.dispose()
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "SERENITY_TEST_PG_URL"}
    env["SERENITY_REQUIRE_SERVICES"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    url = seen.read_text()
    name = url.rsplit("/", 1)[1]
    assert url.startswith(f"postgresql+psycopg2://{user}@{host}:{port}/serenity_test_")

    import psycopg2

    admin = psycopg2.connect(host=host, port=port, user=user, dbname="postgres")
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
            (left,) = cur.fetchone()
    finally:
        admin.close()
    assert left == 0  # dropped after the run
