"""Shared fixtures: real services (PostgreSQL, Azurite) and the venue captures.

A test that needs a missing service skips with a reason that starts with ``[service]``.
With ``SERENITY_REQUIRE_SERVICES=1`` (set by ``.ci/run``) such a skip is turned into a
failure by :func:`pytest_runtest_makereport`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Final, NoReturn

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


LOCAL_PG: Final = ("127.0.0.1", 5432, "postgres")
"""Where PostgreSQL is tried when SERENITY_TEST_PG_URL is unset: host, port, user."""
LOCAL_AZURITE: Final = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
"""Azurite's documented default account on its default port, tried when
SERENITY_TEST_AZURE_CONN is unset (the key is the emulator's public one)."""


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _check_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    finally:
        engine.dispose()


@contextmanager
def _local_pg_database() -> Iterator[str]:
    """Create a throwaway database on the local server, yield its URL, then drop it."""
    import psycopg2
    from psycopg2 import sql

    host, port, user = LOCAL_PG
    name = f"serenity_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=3)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"postgresql+psycopg2://{user}@{host}:{port}/{name}"
        finally:
            with admin.cursor() as cur:
                drop = "DROP DATABASE IF EXISTS {} WITH (FORCE)"
                cur.execute(sql.SQL(drop).format(sql.Identifier(name)))
    finally:
        admin.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Return the URL of an empty PostgreSQL database for this test run.

    ``SERENITY_TEST_PG_URL`` when set; else a throwaway database created on the server at
    127.0.0.1:5432 (user ``postgres``) and dropped after the run; else the test skips.
    """
    url = os.environ.get("SERENITY_TEST_PG_URL")
    if url:
        try:
            _check_pg(url)
        except Exception as exc:  # any failure to reach the server means: no service
            skip_missing_service(f"PostgreSQL at SERENITY_TEST_PG_URL is unreachable: {exc}")
        yield url
        return
    host, port, user = LOCAL_PG
    if not port_open(host, port):
        skip_missing_service(
            f"PostgreSQL tests need SERENITY_TEST_PG_URL or a server on {host}:{port}"
        )
    with ExitStack() as stack:
        try:
            url = stack.enter_context(_local_pg_database())
        except Exception as exc:
            skip_missing_service(
                f"PostgreSQL on {host}:{port} (user {user}) could not make a test database: "
                f"{exc}; set SERENITY_TEST_PG_URL"
            )
        yield url


@pytest.fixture(scope="session")
def azure_conn() -> str:
    """Return a connection string for Azurite (or another Azure Blob endpoint).

    ``SERENITY_TEST_AZURE_CONN`` when set; else Azurite's default account on 127.0.0.1:10000
    when something listens there; else the test skips.
    """
    conn = os.environ.get("SERENITY_TEST_AZURE_CONN")
    if conn:
        return conn
    if not port_open("127.0.0.1", 10000):
        skip_missing_service(
            "Azure Blob tests need SERENITY_TEST_AZURE_CONN or Azurite on 127.0.0.1:10000"
        )
    return LOCAL_AZURITE


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


@pytest.fixture
def pg_schema_url(pg_url: str) -> Generator[str]:
    """Return a URL of the test PostgreSQL database whose search path is a fresh schema.

    The schema is dropped with everything in it after the test, so tests never see each
    other's tables.
    """
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty database: a SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'serenity.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def db_engine(db_url: str) -> Generator[Any]:
    """Return an engine on a throwaway database with the models' tables (``create_all``)."""
    from serenity.db import create_engine_from_url
    from serenity.model import Base

    engine = create_engine_from_url(db_url)
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
