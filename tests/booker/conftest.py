"""Fixtures for booking tests: a migrated database with the test market's listing loaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from serenity.db import create_engine_from_url, load_catalog, migrations
from serenity.exchange.product import ProductCatalog
from tests.booker.helpers import T_LOAD
from tests.trading.harness import product


@pytest.fixture
def booking_engine(db_url: str) -> Iterator[sa.Engine]:
    """Return an engine on a database migrated to head, with BTC-USD@coinbase listed."""
    migrations.upgrade(db_url)
    engine = create_engine_from_url(db_url)
    load_catalog(engine, ProductCatalog.of("coinbase", [product()]), as_of=T_LOAD)
    yield engine
    engine.dispose()
