"""Database URL settings and engine creation."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from serenity.db import (
    create_engine_from_url,
    database_url,
    ensure_schema,
    redact_url,
    serenity_home,
)
from serenity.errors import ConfigError


def test_default_url_is_sqlite_in_serenity_home(serenity_home: Path) -> None:
    assert database_url() == f"sqlite:///{serenity_home / 'serenity.db'}"


def test_home_defaults_to_dot_serenity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERENITY_HOME", raising=False)

    assert serenity_home() == Path.home() / ".serenity"


def test_flag_beats_environment_beats_default(
    serenity_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERENITY_DB_URL", "sqlite:///env.db")

    assert database_url() == "sqlite:///env.db"
    assert database_url("sqlite:///flag.db") == "sqlite:///flag.db"
    with pytest.raises(ConfigError, match="--db-url is empty"):
        database_url("  ")


def test_sqlite_engine_creates_its_folder_and_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'a' / 'b' / 'x.db'}")
    with engine.connect() as conn:
        enabled = conn.execute(sa.text("PRAGMA foreign_keys")).scalar()
    engine.dispose()

    assert (tmp_path / "a" / "b").is_dir() and enabled == 1


def test_bad_urls_are_config_errors_and_hide_passwords() -> None:
    with pytest.raises(ConfigError, match="is not a URL"):
        create_engine_from_url("not a url")
    with pytest.raises(ConfigError, match="driver not available"):
        create_engine_from_url("postgresql+nosuchdriver://u:secret@h/db")
    assert "secret" not in redact_url("postgresql://u:secret@h/db")


def test_unmigrated_and_unreachable_databases_are_config_errors(tmp_path: Path) -> None:
    empty = create_engine_from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    gone = create_engine_from_url("postgresql+psycopg2://nobody:pw@127.0.0.1:1/none")
    try:
        with pytest.raises(ConfigError, match="no Serenity schema; run `serenity db upgrade"):
            ensure_schema(empty)
        with pytest.raises(ConfigError, match="cannot open database") as caught:
            ensure_schema(gone)
        assert "pw" not in str(caught.value)
    finally:
        empty.dispose()
        gone.dispose()
