"""Where the database is: ``--db-url``, else ``SERENITY_DB_URL``, else SQLite in SERENITY_HOME."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from serenity.errors import ConfigError

__all__ = ["DB_URL_ENV", "HOME_ENV", "database_url", "serenity_home"]

HOME_ENV: Final = "SERENITY_HOME"
DB_URL_ENV: Final = "SERENITY_DB_URL"


def serenity_home() -> Path:
    """Return Serenity's home folder: ``$SERENITY_HOME``, or ``~/.serenity`` when unset."""
    return Path(os.environ.get(HOME_ENV) or "~/.serenity").expanduser()


def database_url(db_url: str | None = None) -> str:
    """Return the database URL to use.

    Parameters
    ----------
    db_url
        An explicit URL (the ``--db-url`` flag); it wins over the environment.

    Returns
    -------
    str
        ``db_url``, else ``$SERENITY_DB_URL``, else ``sqlite:///$SERENITY_HOME/serenity.db``.

    Raises
    ------
    ConfigError
        When the chosen URL is blank.
    """
    if db_url is not None:
        source, url = "--db-url", str(db_url)
    elif DB_URL_ENV in os.environ:
        source, url = DB_URL_ENV, os.environ[DB_URL_ENV]
    else:
        return f"sqlite:///{serenity_home() / 'serenity.db'}"
    if not url.strip():
        raise ConfigError(f"{source} is empty; give a URL such as sqlite:///serenity.db")
    return url.strip()
