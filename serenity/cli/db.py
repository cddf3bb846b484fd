"""``serenity db``: migrate the database and show its revision.

SQLAlchemy and Alembic are imported when a command runs, so ``serenity --help`` stays quick.
Reading commands (``current``, ``downgrade``'s plan) never create a database; ``downgrade``
says what it will drop and asks first (``--yes`` answers for scripts).
"""

from __future__ import annotations

import sys

from serenity.cli._args import optional_text, switch, text
from serenity.errors import ConfigError, SerenityError

__all__ = ["Db"]


def _existing_database(db_url: object) -> str:
    """Return the database URL to use, refusing a SQLite file that does not exist."""
    from serenity.db.engine import create_engine_from_url
    from serenity.db.settings import database_url

    url = database_url(optional_text(db_url, flag="--db-url"))
    create_engine_from_url(url, create=False).dispose()  # raises when there is no database
    return url


def _confirm(question: str) -> bool:
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


class Db:
    """Create, migrate and inspect Serenity's database (PostgreSQL or SQLite)."""

    def upgrade(self, revision: str = "head", db_url: str | None = None) -> None:
        """Migrate the database up to a revision, creating the schema on a new database.

        Parameters
        ----------
        revision
            Target revision; the newest (``head``) when omitted.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``. ``postgresql://user@host/db`` uses
            psycopg2 (the ``postgres`` extra).

        Examples
        --------
        serenity db upgrade
        """
        from serenity.db import migrations
        from serenity.db.engine import redact_url
        from serenity.db.settings import database_url

        url = database_url(optional_text(db_url, flag="--db-url"))
        migrations.upgrade(url, text(revision, flag="--revision"))
        print(f"{redact_url(url)} is at revision {migrations.current_revision(url)}")

    def downgrade(
        self, revision: str | None = None, yes: bool = False, db_url: str | None = None
    ) -> None:
        """Migrate the database down to a revision, after saying what that drops.

        The target is required. The revisions to revert and the tables and columns they
        drop are printed first; then the command asks for confirmation on a terminal, or
        needs ``--yes`` when there is none (scripts, CI).

        Parameters
        ----------
        revision
            Required. The target: ``-1`` (one step back), a revision id, or ``base`` (drops
            every table).
        yes
            Downgrade without asking.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity db downgrade --revision -1 --yes
        """
        from serenity.db import migrations
        from serenity.db.engine import redact_url

        if revision is None:
            raise ConfigError(
                "db downgrade needs a target: --revision -1 (one step back), a revision id, or "
                "--revision base (drops every table); see `serenity db current`"
            )
        confirmed = switch(yes, flag="--yes")
        target = text(revision, flag="--revision")
        url = _existing_database(db_url)
        where = redact_url(url)
        plan = migrations.downgrade_plan(url, target)
        print(plan.describe(where))
        if not plan.revisions:
            return
        if not confirmed:
            if not sys.stdin.isatty():
                raise ConfigError("nothing changed: add --yes to downgrade without a terminal")
            if not _confirm("Downgrade and drop these?"):
                raise SerenityError("downgrade cancelled; nothing changed")
        migrations.downgrade(url, target)
        current = migrations.current_revision(url)
        print(f"{where} is at revision {current or 'base (no schema)'}")

    def current(self, db_url: str | None = None) -> None:
        """Print the database's revision and whether it is the newest.

        Parameters
        ----------
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity db current --db-url sqlite:///serenity.db
        """
        from serenity.db import migrations
        from serenity.db.engine import redact_url

        url = _existing_database(db_url)
        current = migrations.current_revision(url)
        head = migrations.head_revision()
        if current is None:
            state = "not migrated; run `serenity db upgrade`"
        elif current == head:
            state = "up to date"
        else:
            state = f"behind head {head}; run `serenity db upgrade`"
        print(f"{redact_url(url)}: {current or 'base'} ({state})")
