"""Alembic environment for Serenity's schema (``serenity.model.Base.metadata``).

The URL comes from Serenity's settings, never from alembic.ini: ``config.attributes["db_url"]``
when set by :mod:`serenity.db.migrations` (the ``--db-url`` flag), else ``SERENITY_DB_URL``,
else the SQLite default. A caller may also hand over an open connection in
``config.attributes["connection"]``. Types are compared (``compare_type=True``) and SQLite gets
batch ALTERs (``render_as_batch=True``).

A batch ALTER on SQLite copies the table and drops the old one, which SQLite refuses while
other rows reference it and foreign keys are enforced. So on SQLite foreign keys are switched
off for the migration, and ``PRAGMA foreign_key_check`` must come back empty before it commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.types import TypeDecorator

from serenity.db.engine import create_engine_from_url
from serenity.db.settings import database_url
from serenity.model import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)  # only under the `alembic` command, never the library


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render Serenity's column types as plain SQLAlchemy types, so migrations stay frozen."""
    if type_ != "type":
        return False
    if isinstance(obj, sa.Enum) and not obj.native_enum:
        return f"sa.String(length={obj.length})"
    if isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "compare_type": True,
    "render_as_batch": True,
    "render_item": _render_item,
}


def run_migrations_offline() -> None:
    """Emit SQL for the migrations to stdout instead of running them."""
    url = config.attributes.get("db_url") or database_url()
    context.configure(url=url, literal_binds=True, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_off(conn: sa.Connection) -> Iterator[None]:
    """Switch SQLite's foreign keys off around a migration (a no-op inside a transaction)."""
    if conn.dialect.name != "sqlite" or conn.in_transaction():
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


def _migrate(conn: sa.Connection) -> None:
    with _sqlite_foreign_keys_off(conn):
        context.configure(connection=conn, **_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
            if conn.dialect.name == "sqlite":
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left rows with dangling foreign keys: {broken}")


def run_migrations_online() -> None:
    """Run the migrations on the given connection or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine_from_url(config.attributes.get("db_url") or database_url())
    try:
        with engine.connect() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
