"""Alembic migrations, run from Python: upgrade, downgrade, current revision, pending diff.

The migration scripts ship inside the package, beside this module: ``env.py``,
``script.py.mako`` and ``versions/``, so ``serenity db upgrade`` works from a wheel as from a
checkout. The URL is handed to ``env.py`` through the config's attributes, never through
alembic.ini (which a checkout keeps for ``alembic revision --autogenerate`` and
``alembic check``).
"""

from __future__ import annotations

import io
import logging
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from serenity.db.engine import create_engine_from_url, describe_db_error, redact_url, sqlite_file
from serenity.db.settings import database_url
from serenity.errors import ConfigError
from serenity.model import Base

__all__ = [
    "DowngradePlan",
    "alembic_config",
    "current_revision",
    "downgrade",
    "downgrade_plan",
    "head_revision",
    "schema_diff",
    "script_location",
    "upgrade",
]

log = logging.getLogger(__name__)

_PREVIEW_URL: Final = "postgresql://"
"""The dialect a downgrade is rendered in to preview it: offline, PostgreSQL's plain ALTERs
name every drop (SQLite's batch mode would need the live tables)."""
_RUNNING: Final = re.compile(r"^-- Running downgrade (\S+) ->", re.M)
_DROP_TABLE: Final = re.compile(r"^DROP TABLE (\S+?);?$", re.M)
_DROP_COLUMN: Final = re.compile(r"^ALTER TABLE (\S+) DROP COLUMN (\S+?);?$", re.M)


@dataclass(frozen=True, slots=True)
class DowngradePlan:
    """What a downgrade would do, worked out before anything is changed.

    Attributes
    ----------
    current
        The revision the database is at; None when it has no schema.
    target
        The target as given (``-1``, a revision id, ``base``).
    result
        The revision the database would be at afterwards (``base``: no schema).
    revisions
        The revisions that would be reverted, newest first, each ``"id (message)"``.
    tables
        The tables that would be dropped, with their data.
    columns
        The columns that would be dropped, as ``table.column``.
    """

    current: str | None
    target: str
    result: str | None
    revisions: tuple[str, ...]
    tables: tuple[str, ...]
    columns: tuple[str, ...]

    def describe(self, where: str) -> str:
        """Return the plan as lines for a person, naming the database as ``where``."""
        if not self.revisions:
            return f"{where} is at {self.current or 'base (no schema)'}; nothing to downgrade"
        lines = [f"downgrade {where} from {self.current} to {self.result}, reverting:"]
        lines += [f"  {rev}" for rev in self.revisions]
        if self.tables:
            lines.append(f"drops {len(self.tables)} tables and all their rows:")
            lines += textwrap.wrap(
                ", ".join(self.tables), 92, initial_indent="  ", subsequent_indent="  "
            )
        if self.columns:
            lines.append(f"drops {len(self.columns)} columns and their values:")
            lines += textwrap.wrap(
                ", ".join(self.columns), 92, initial_indent="  ", subsequent_indent="  "
            )
        return "\n".join(lines)


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


def downgrade(db_url: str | None, revision: str) -> None:
    """Migrate the database down to ``revision``: ``-1`` (one step), an id, or ``base``.

    There is no default target: ``base`` drops every table. :func:`downgrade_plan` says what
    a target would drop.

    Raises
    ------
    ConfigError
        When the revision is unknown or the database cannot be reached.
    """
    config = alembic_config(db_url)
    log.info("db.downgrade", extra={"url": redact_url(config.attributes["db_url"]), "to": revision})
    _run(command.downgrade, config, revision)


def downgrade_plan(db_url: str | None, revision: str) -> DowngradePlan:
    """Return what downgrading to ``revision`` would revert and drop, changing nothing.

    Raises
    ------
    ConfigError
        When the revision is unknown or not below the current one, or the database cannot
        be reached.
    """
    current = current_revision(db_url)
    if current is None:
        return DowngradePlan(None, str(revision), None, (), (), ())
    config = alembic_config(_PREVIEW_URL)
    config.output_buffer = buffer = io.StringIO()
    _run(command.downgrade, config, f"{current}:{revision}", sql=True)
    sql = buffer.getvalue()
    script = ScriptDirectory.from_config(config)
    revisions, result = [], current
    for rev_id in _RUNNING.findall(sql):
        rev = script.get_revision(rev_id)
        message = (rev.doc or "").strip().splitlines()[0] if rev is not None and rev.doc else ""
        revisions.append(f"{rev_id} ({message})" if message else rev_id)
        down = rev.down_revision if rev is not None else None
        result = "base" if not down else down if isinstance(down, str) else ",".join(down)
    return DowngradePlan(
        current,
        str(revision),
        result,
        tuple(revisions),
        tuple(_unquote(name) for name in _DROP_TABLE.findall(sql)),
        tuple(f"{_unquote(t)}.{_unquote(c)}" for t, c in _DROP_COLUMN.findall(sql)),
    )


def current_revision(db_url: str | None = None) -> str | None:
    """Return the revision the database is at, or None when it was never migrated.

    A SQLite database that does not exist has no revision; it is not created.
    """
    path = sqlite_file(database_url(db_url))
    if path is not None and not path.is_file():
        return None
    engine = create_engine_from_url(db_url, create=False)
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


def _unquote(name: str) -> str:
    return name.strip('"')


def _run(action: Any, config: Config, revision: str, **options: Any) -> None:
    try:
        action(config, str(revision), **options)
    except CommandError as exc:
        raise ConfigError(f"alembic: {exc}; see `serenity db current`") from exc
    except SQLAlchemyError as exc:
        url = redact_url(config.attributes["db_url"])
        raise ConfigError(f"cannot migrate database {url}: {describe_db_error(exc)}") from exc
