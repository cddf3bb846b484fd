"""Engines and sessions from a database URL (PostgreSQL or SQLite)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from serenity.db.settings import database_url
from serenity.errors import ConfigError

__all__ = [
    "create_engine_from_url",
    "describe_db_error",
    "ensure_schema",
    "redact_url",
    "session_factory",
]

log = logging.getLogger(__name__)

_SCHEMA_PROBE = "exchange_instrument"


def redact_url(url: str | sa.URL) -> str:
    """Return ``url`` as text with any password hidden, for logs and error messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def describe_db_error(exc: BaseException) -> str:
    """Return the first line of a database error's driver message, for one-line errors."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def create_engine_from_url(url: str | None = None, *, echo: bool = False) -> Engine:
    """Return an engine for ``url`` (default: :func:`~serenity.db.settings.database_url`).

    SQLite gets foreign-key enforcement and its database folder is created; PostgreSQL
    connections are checked before use.

    Raises
    ------
    ConfigError
        When the URL cannot be parsed or names a driver that is not installed.
    """
    text = database_url(url)
    try:
        parsed = sa.make_url(text)
    except ArgumentError:
        raise ConfigError(
            f"database URL {text!r} is not a URL; expected e.g. "
            "postgresql+psycopg2://user@host/db or sqlite:///path/serenity.db"
        ) from None
    options: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if (
            parsed.database
            and parsed.database != ":memory:"
            and not parsed.database.startswith("file:")
        ):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        options["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"database URL {redact_url(parsed)}: driver not available ({exc})"
        ) from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    log.debug("db.engine", extra={"url": redact_url(parsed)})
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def ensure_schema(engine: Engine) -> None:
    """Check that the database is reachable and has Serenity's tables.

    Raises
    ------
    ConfigError
        When the database cannot be reached, or was never migrated (run
        ``serenity db upgrade``).
    """
    try:
        with engine.connect() as conn:
            has_tables = sa.inspect(conn).has_table(_SCHEMA_PROBE)
    except SQLAlchemyError as exc:
        reason = describe_db_error(exc)
        raise ConfigError(f"cannot open database {redact_url(engine.url)}: {reason}") from exc
    if not has_tables:
        raise ConfigError(
            f"database {redact_url(engine.url)} has no Serenity schema; "
            f"run `serenity db upgrade --db-url ...` first"
        )
