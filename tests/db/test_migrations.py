"""Alembic migrations: up, down and up again on SQLite and PostgreSQL, matching the models."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from serenity.db import create_engine_from_url, migrations
from serenity.errors import ConfigError
from serenity.model import Base

ROOT = Path(__file__).resolve().parents[2]


def _tables(url: str) -> set[str]:
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _diff(url: str) -> list[object]:
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            return migrations.schema_diff(conn)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_leaves_the_schema_of_the_models(db_url: str) -> None:
    model_tables = set(Base.metadata.tables)

    migrations.upgrade(db_url)
    after_first = _tables(db_url)
    first_diff = _diff(db_url)
    migrations.downgrade(db_url, "base")
    after_down = _tables(db_url)
    revision_after_down = migrations.current_revision(db_url)
    migrations.upgrade(db_url, "head")

    assert after_first == model_tables | {"alembic_version"}
    assert first_diff == []
    assert after_down <= {"alembic_version"} and revision_after_down is None
    assert _diff(db_url) == []
    assert migrations.current_revision(db_url) == migrations.head_revision()


def test_alembic_check_finds_no_pending_changes(db_url: str) -> None:
    migrations.upgrade(db_url)

    command.check(migrations.alembic_config(db_url))  # raises when autogenerate finds a diff


def test_diff_notices_a_table_the_migrations_lack(db_url: str) -> None:
    migrations.upgrade(db_url)
    engine = create_engine_from_url(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE instrument_mark"))
            diff = migrations.schema_diff(conn)
    finally:
        engine.dispose()

    assert any(item[0] == "add_table" and item[1].name == "instrument_mark" for item in diff)


def test_unknown_revision_is_a_config_error(db_url: str) -> None:
    with pytest.raises(ConfigError, match="alembic: .*nosuchrev"):
        migrations.upgrade(db_url, "nosuchrev")


def test_revision_files_sort_by_date() -> None:
    files = sorted(p.name for p in (migrations.script_location() / "versions").glob("*.py"))

    assert files and all(re.match(r"\d{4}_\d{2}_\d{2}_\w+\.py$", name) for name in files)


def test_scripts_ship_inside_the_package() -> None:
    location = migrations.script_location()

    assert location == Path(migrations.__file__).parent
    assert (location / "env.py").is_file() and (location / "script.py.mako").is_file()


def test_alembic_command_from_a_checkout_uses_the_packaged_scripts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serenity.db'}"
    migrations.upgrade(url)
    env = {**os.environ, "SERENITY_DB_URL": url}

    def alembic(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    heads, check = alembic("heads"), alembic("check")

    assert heads.returncode == 0, heads.stderr
    assert heads.stdout.split()[0] == migrations.head_revision()
    assert check.returncode == 0, check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
