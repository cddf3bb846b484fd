"""Fixtures for booking tests: a migrated database with the test market's listing loaded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from serenity.db import create_engine_from_url, load_catalog, migrations
from serenity.exchange.product import ProductCatalog
from tests.booker.helpers import T_LOAD
from tests.trading.harness import product


def _prepare(url: str) -> None:
    migrations.upgrade(url)
    engine = create_engine_from_url(url)
    load_catalog(engine, ProductCatalog.of("coinbase", [product()]), as_of=T_LOAD)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a SQLite file migrated once per session, for tests to copy."""
    path = tmp_path_factory.mktemp("booker") / "template.db"
    _prepare(f"sqlite:///{path}")
    return path


@pytest.fixture
def booking_engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """Return an engine on a database migrated to head, with BTC-USD@coinbase listed."""
    url = sa.make_url(db_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), str(url.database))
    else:
        _prepare(db_url)
    engine = create_engine_from_url(db_url)
    yield engine
    engine.dispose()
