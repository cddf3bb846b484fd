"""Engines and sessions from a database URL (PostgreSQL or SQLite).

PostgreSQL URLs may name the driver (``postgresql+psycopg2://``, ``postgresql+psycopg://``) or
not (``postgresql://``, ``postgres://``): a bare scheme gets the installed driver, psycopg2
(the ``postgres`` extra) first, then psycopg 3. SQLAlchemy 2.1 alone would pick psycopg 3.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from serenity.db.settings import database_url
from serenity.errors import ConfigError
from serenity.secret import redact

__all__ = [
    "create_engine_from_url",
    "describe_db_error",
    "ensure_schema",
    "parse_db_url",
    "redact_url",
    "session_factory",
    "sqlite_file",
]

log = logging.getLogger(__name__)

_SCHEMA_PROBE = "exchange_instrument"
_PG_DRIVERS: Final = ("psycopg2", "psycopg")
"""PostgreSQL drivers for a bare ``postgresql://`` URL, in order of preference."""
_EXAMPLES: Final = "postgresql://user@host:5432/db or sqlite:///path/serenity.db"


def redact_url(url: str | sa.URL) -> str:
    """Return ``url`` as text with any password hidden, for logs and error messages."""
    if isinstance(url, sa.URL):
        return url.render_as_string(hide_password=True)
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return redact(url) if "://" in url else "<not a URL>"


def parse_db_url(url: str | sa.URL) -> sa.URL:
    """Return ``url`` parsed, with a bare PostgreSQL scheme given the installed driver.

    ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg2://`` when psycopg2 is
    installed (the ``postgres`` extra), else ``postgresql+psycopg://`` (psycopg 3). A URL that
    names its driver is kept as it is.

    Raises
    ------
    ConfigError
        When the text is not a URL, its port is not a number, or a bare PostgreSQL URL finds
        no driver. The message never shows the password.
    """
    try:
        parsed = url if isinstance(url, sa.URL) else sa.make_url(str(url).strip())
    except ArgumentError:
        # Text without scheme:// may be anything (a password pasted in the wrong place):
        # it is described, never echoed.
        shown = repr(redact(str(url))) if "://" in str(url) else "(text without scheme://)"
        raise ConfigError(f"database URL {shown} is not a URL; expected e.g. {_EXAMPLES}") from None
    except ValueError:  # the port: SQLAlchemy converts it with int()
        raise ConfigError(
            f"database URL {redact(str(url))!r} has a port that is not a number; "
            f"expected e.g. {_EXAMPLES}"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        driver = next((d for d in _PG_DRIVERS if importlib.util.find_spec(d) is not None), None)
        if driver is None:
            raise ConfigError(
                f"database URL {redact_url(parsed)} needs a PostgreSQL driver; "
                "install it with `pip install 'serenity[postgres]'` (psycopg2)"
            )
        parsed = parsed.set(drivername=f"postgresql+{driver}")
    return parsed


def sqlite_file(url: str | sa.URL) -> Path | None:
    """Return the file of a SQLite URL, or None for another backend or an in-memory database.

    Raises
    ------
    ConfigError
        When the URL cannot be parsed.
    """
    parsed = parse_db_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        return None if "mode=memory" in name else Path(name[5:].split("?", 1)[0]).expanduser()
    return Path(name).expanduser()


def describe_db_error(exc: BaseException) -> str:
    """Return the first line of a database error's driver message, for one-line errors."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def create_engine_from_url(
    url: str | None = None, *, echo: bool = False, create: bool = True
) -> Engine:
    """Return an engine for ``url`` (default: :func:`~serenity.db.settings.database_url`).

    SQLite gets foreign-key enforcement and its database folder is created; PostgreSQL
    connections are checked before use. A bare ``postgresql://`` URL gets the installed
    driver (:func:`parse_db_url`).

    Parameters
    ----------
    url
        The database URL; the configured one when omitted.
    echo
        Log every SQL statement.
    create
        Let a SQLite database file be created on first use. Reading commands pass False, so
        looking at a home that has no database leaves none behind.

    Raises
    ------
    ConfigError
        When the URL cannot be parsed or names a driver that is not installed, or, with
        ``create=False``, when the SQLite file does not exist.
    """
    parsed = parse_db_url(database_url(url))
    options: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is not None and not create and not path.is_file():
            raise ConfigError(
                f"no database at {path}; create it with `serenity db upgrade` "
                "(or run `serenity demo`)"
            )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    else:
        options["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"database URL {redact_url(parsed)}: driver not available ({redact(str(exc))})"
        ) from exc
    except (ArgumentError, TypeError, ValueError) as exc:  # e.g. ?port=x in the query
        raise ConfigError(
            f"database URL {redact_url(parsed)} is not usable: {redact(str(exc))}"
        ) from None
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
