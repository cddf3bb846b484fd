"""``serenity db``: migrate the database and show its revision.

SQLAlchemy and Alembic are imported when a command runs, so ``serenity --help`` stays quick.
"""

from __future__ import annotations

from serenity.cli._args import optional_text, text

__all__ = ["Db"]


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
            ``sqlite:///$SERENITY_HOME/serenity.db``.
        """
        from serenity.db import migrations
        from serenity.db.engine import redact_url
        from serenity.db.settings import database_url

        url = database_url(optional_text(db_url, flag="--db-url"))
        migrations.upgrade(url, text(revision, flag="--revision"))
        print(f"{redact_url(url)} is at revision {migrations.current_revision(url)}")

    def downgrade(self, revision: str = "-1", db_url: str | None = None) -> None:
        """Migrate the database down to a revision.

        Parameters
        ----------
        revision
            Target revision: ``-1`` (one step back, the default), a revision id, or ``base``
            to remove every table.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.
        """
        from serenity.db import migrations
        from serenity.db.engine import redact_url
        from serenity.db.settings import database_url

        url = database_url(optional_text(db_url, flag="--db-url"))
        migrations.downgrade(url, text(revision, flag="--revision"))
        current = migrations.current_revision(url)
        print(f"{redact_url(url)} is at revision {current or 'base (no schema)'}")

    def current(self, db_url: str | None = None) -> None:
        """Print the database's revision and whether it is the newest.

        Parameters
        ----------
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.
        """
        from serenity.db import migrations
        from serenity.db.engine import redact_url
        from serenity.db.settings import database_url

        url = database_url(optional_text(db_url, flag="--db-url"))
        current = migrations.current_revision(url)
        head = migrations.head_revision()
        if current is None:
            state = "not migrated; run `serenity db upgrade`"
        elif current == head:
            state = "up to date"
        else:
            state = f"behind head {head}; run `serenity db upgrade`"
        print(f"{redact_url(url)}: {current or 'base'} ({state})")
