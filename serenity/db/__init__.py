"""Database access: engines and sessions from a URL, migrations, caches, reference-data loads.

:func:`create_engine_from_url` and :func:`session_factory` open the database named by
``--db-url``, ``SERENITY_DB_URL`` or the SQLite default (:func:`database_url`).
:mod:`serenity.db.migrations` runs the Alembic migrations, :class:`InstrumentCache` looks up
and creates reference data, :func:`fetch_catalog` gets a venue's products over HTTP and
:func:`load_catalog` stores them, keeping every listing's history.
"""

from __future__ import annotations

from serenity.db.cache import InstrumentCache
from serenity.db.engine import (
    create_engine_from_url,
    ensure_schema,
    parse_db_url,
    redact_url,
    session_factory,
)
from serenity.db.fetch import fetch_catalog
from serenity.db.refdata import Listing, LoadReport, list_listings, load_catalog
from serenity.db.settings import database_url, serenity_home

__all__ = [
    "InstrumentCache",
    "Listing",
    "LoadReport",
    "create_engine_from_url",
    "database_url",
    "ensure_schema",
    "fetch_catalog",
    "list_listings",
    "load_catalog",
    "parse_db_url",
    "redact_url",
    "serenity_home",
    "session_factory",
]
