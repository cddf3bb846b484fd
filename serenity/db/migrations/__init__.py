"""Alembic migrations, run from Python: upgrade, downgrade, current revision, pending diff.

The migration scripts ship inside the package, beside this module: ``env.py``,
``script.py.mako`` and ``versions/``, so ``serenity db upgrade`` works from a wheel as from a
checkout. The URL is handed to ``env.py`` through the config's attributes, never through
alembic.ini (which a checkout keeps for ``alembic revision --autogenerate`` and
``alembic check``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from serenity.db.engine import create_engine_from_url, describe_db_error, redact_url
from serenity.db.settings import database_url
from serenity.errors import ConfigError
from serenity.model import Base

__all__ = [
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "schema_diff",
    "script_location",
    "upgrade",
]

log = logging.getLogger(__name__)


def script_location() -> Path:
    """Return the folder of the Alembic scripts (``serenity/db/migrations``, this package).

    Raises
    ------
    ConfigError
        When ``env.py`` or ``versions/`` is missing: a broken install.
    """
    path = Path(__file__).resolve().parent
    if not (path / "env.py").is_file() or not (path / "versions").is_dir():
        raise ConfigError(
            f"migration scripts not found in {path}; reinstall Serenity "
            "(`pip install --force-reinstall serenity`)"
        )
    return path


def alembic_config(db_url: str | None = None, *, connection: Connection | None = None) -> Config:
    """Return an Alembic config for the database at ``db_url`` (or on ``connection``)."""
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["db_url"] = database_url(db_url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(db_url: str | None = None, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest).

    Raises
    ------
    ConfigError
        When the revision is unknown or the database cannot be reached.
    """
    config = alembic_config(db_url)
    log.info("db.upgrade", extra={"url": redact_url(config.attributes["db_url"]), "to": revision})
    _run(command.upgrade, config, revision)


def downgrade(db_url: str | None = None, revision: str = "-1") -> None:
    """Migrate the database down to ``revision`` (default: one step; ``base`` empties it).

    Raises
    ------
    ConfigError
        When the revision is unknown or the database cannot be reached.
    """
    config = alembic_config(db_url)
    log.info("db.downgrade", extra={"url": redact_url(config.attributes["db_url"]), "to": revision})
    _run(command.downgrade, config, revision)


def current_revision(db_url: str | None = None) -> str | None:
    """Return the revision the database is at, or None when it was never migrated."""
    engine = create_engine_from_url(db_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        reason = describe_db_error(exc)
        raise ConfigError(
            f"cannot read the revision of {redact_url(engine.url)}: {reason}"
        ) from exc
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """Return the newest revision among the migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_diff(connection: Connection) -> list[Any]:
    """Return what autogenerate would change to make the database match the models.

    An empty list means the migrated schema and ``serenity.model`` agree (what
    ``alembic check`` asserts).
    """
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "target_metadata": Base.metadata}
    )
    return list(compare_metadata(context, Base.metadata))


def _run(action: Any, config: Config, revision: str) -> None:
    try:
        action(config, str(revision))
    except CommandError as exc:
        raise ConfigError(f"alembic: {exc}; see `serenity db current`") from exc
    except SQLAlchemyError as exc:
        url = redact_url(config.attributes["db_url"])
        raise ConfigError(f"cannot migrate database {url}: {describe_db_error(exc)}") from exc
