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


def test_order_state_revision_fills_cum_qty_and_avg_price_from_fills(db_url: str) -> None:
    migrations.upgrade(db_url, "0001")
    engine = create_engine_from_url(db_url)
    ts = "2024-01-02 00:00:00+00:00"
    try:
        with engine.begin() as conn:
            for sql in (
                "INSERT INTO exchange (id, code, name, venue_type)"
                " VALUES (1, 'x', 'X', 'simulator')",
                "INSERT INTO exchange_account (id, exchange_id, code) VALUES (1, 1, 'a')",
                "INSERT INTO instrument (id, code, instrument_type) VALUES (1, 'BTC', 'cash')",
                'INSERT INTO "order" (id, exchange_account_id, instrument_id, cl_ord_id, side,'
                " order_type, time_in_force, is_post_only, qty, price, status, created_at,"
                f" updated_at) VALUES (1, 1, 1, 'c1', 'buy', 'limit', 'gtc', false, 3, 10,"
                f" 'filled', '{ts}', '{ts}'), (2, 1, 1, 'c2', 'buy', 'limit', 'gtc', false, 1,"
                f" 10, 'new', '{ts}', '{ts}')",
                "INSERT INTO fill (order_id, venue_fill_id, side, qty, price, fee, ts) VALUES"
                f" (1, 'f1', 'buy', 1, 10, 0, '{ts}'), (1, 'f2', 'buy', 2, 13, 0, '{ts}')",
            ):
                conn.execute(sa.text(sql))
        migrations.upgrade(db_url)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text('SELECT id, cum_qty, avg_price, version_id FROM "order" ORDER BY id')
            ).all()
        migrations.downgrade(db_url, "0001")
        with engine.connect() as conn:
            kept = conn.execute(sa.text('SELECT count(*) FROM "order"')).scalar()
            kept_fills = conn.execute(sa.text("SELECT count(*) FROM fill")).scalar()
    finally:
        engine.dispose()

    assert [(r[0], float(r[1]), None if r[2] is None else float(r[2]), r[3]) for r in rows] == [
        (1, 3.0, 12.0, 1),
        (2, 0.0, None, 1),
    ]
    assert (kept, kept_fills) == (2, 2)
