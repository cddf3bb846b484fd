"""Shared fixtures: real services (PostgreSQL, Azurite) and the venue captures.

A test that needs a missing service skips with a reason that starts with ``[service]``.
With ``SERENITY_REQUIRE_SERVICES=1`` (set by ``.ci/run``) such a skip is turned into a
failure by :func:`pytest_runtest_makereport`.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICE_TAG = "[service]"
REQUIRE_SERVICES = os.environ.get("SERENITY_REQUIRE_SERVICES") == "1"


def skip_missing_service(reason: str) -> NoReturn:
    """Skip the current test because a service or fixture folder is missing."""
    pytest.skip(f"{SERVICE_TAG} {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if REQUIRE_SERVICES and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if SERVICE_TAG in reason:
            report.outcome = "failed"
            report.longrepr = f"SERENITY_REQUIRE_SERVICES=1 but {reason}"
    return report


@pytest.fixture(scope="session")
def pg_url() -> str:
    """Return the URL of an empty PostgreSQL database for this test run."""
    url = os.environ.get("SERENITY_TEST_PG_URL")
    if not url:
        skip_missing_service("PostgreSQL tests need SERENITY_TEST_PG_URL (set by .ci/run)")
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to reach the server means: no service
        skip_missing_service(f"PostgreSQL at SERENITY_TEST_PG_URL is unreachable: {exc}")
    return url


@pytest.fixture(scope="session")
def azure_conn() -> str:
    """Return a connection string for Azurite (or another Azure Blob endpoint)."""
    conn = os.environ.get("SERENITY_TEST_AZURE_CONN")
    if not conn:
        skip_missing_service("Azure Blob tests need SERENITY_TEST_AZURE_CONN (set by .ci/run)")
    return conn


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """Return the folder of real venue captures (``../shared/fixtures/venue-captures``)."""
    path = Path(
        os.environ.get("SERENITY_CAPTURES_DIR", ROOT.parent / "shared/fixtures/venue-captures")
    )
    if not (path / "README.md").is_file():
        skip_missing_service(
            f"venue captures not found at {path}; set SERENITY_CAPTURES_DIR to their folder"
        )
    return path


@pytest.fixture
def serenity_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Generator[Path]:
    """Point SERENITY_HOME at an empty temporary folder."""
    home = tmp_path / "serenity-home"
    home.mkdir()
    monkeypatch.setenv("SERENITY_HOME", str(home))
    monkeypatch.delenv("SERENITY_DB_URL", raising=False)
    yield home
