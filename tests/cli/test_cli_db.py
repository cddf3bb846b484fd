"""``serenity db``: downgrades need a target and a yes; PostgreSQL URLs with or without driver."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from serenity.cli import main
from serenity.db import create_engine_from_url, migrations
from serenity.db.engine import parse_db_url
from serenity.errors import ConfigError
from serenity.model import Base

TABLES = len(Base.metadata.tables)


def _tables(url: str) -> set[str]:
    engine = create_engine_from_url(url, create=False)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.fixture
def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'serenity.db'}"
    migrations.upgrade(url)
    return url


def test_downgrade_without_a_target_changes_nothing(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _tables(migrated)

    code = main(["db", "downgrade", "--yes", "--db-url", migrated])
    err = capsys.readouterr().err

    assert code == 2 and "db downgrade needs a target: --revision -1" in err
    assert _tables(migrated) == before
    assert migrations.current_revision(migrated) == migrations.head_revision()


def test_downgrade_without_yes_or_a_terminal_says_what_it_would_drop(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["db", "downgrade", "--revision", "base", "--db-url", migrated])
    out, err = capsys.readouterr()

    assert code == 2 and "add --yes to downgrade without a terminal" in err
    assert f"from {migrations.head_revision()} to base" in out
    assert f"drops {TABLES} tables and all their rows" in out
    assert "fill" in out and "instrument_mark" in out
    assert len(_tables(migrated)) == TABLES


def test_downgrade_with_yes_drops_what_it_said(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["db", "downgrade", "base", "--yes", "--db-url", migrated])
    out = capsys.readouterr().out

    assert code == 0 and "  0001 (Initial schema" in out
    assert out.rstrip().endswith("is at revision base (no schema)")
    assert _tables(migrated) == set()


@pytest.mark.parametrize("target", ["-1", "base"])
def test_the_plan_names_every_table_the_downgrade_drops(migrated: str, target: str) -> None:
    plan = migrations.downgrade_plan(migrated, target)
    tables = _tables(migrated)

    migrations.downgrade(migrated, target)

    assert set(plan.tables) == tables - _tables(migrated)
    assert plan.result == (migrations.current_revision(migrated) or "base")
    assert plan.revisions[0].startswith(f"{migrations.head_revision()} (")


@pytest.mark.parametrize(("answer", "code", "kept"), [("n\n", 2, True), ("y\n", 0, False)])
def test_downgrade_on_a_terminal_asks_first(
    migrated: str, answer: str, code: int, kept: bool
) -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "serenity", "db", "downgrade", "base", "--db-url", migrated],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, answer.encode())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)

    assert proc.returncode == code, err
    assert f"drops {TABLES} tables" in out and "Downgrade and drop these? [y/N]" in err
    assert (len(_tables(migrated)) == TABLES) is kept


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
def test_a_postgresql_url_gets_psycopg2(scheme: str) -> None:
    url = parse_db_url(f"{scheme}://me:pw@db.example.com:5432/serenity")

    assert url.drivername == "postgresql+psycopg2" and url.port == 5432


def test_a_url_naming_psycopg3_keeps_it() -> None:
    assert parse_db_url("postgresql+psycopg://me@h/x").drivername == "postgresql+psycopg"


def test_a_port_that_is_not_a_number_is_one_clear_line() -> None:
    with pytest.raises(ConfigError, match="has a port that is not a number") as caught:
        parse_db_url("postgresql://me:hunter2@db:notaport/serenity")
    assert "hunter2" not in str(caught.value) and "me:***@db:notaport" in str(caught.value)


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2"])
def test_both_postgresql_spellings_migrate_and_read(
    pg_schema_url: str, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sa.make_url(pg_schema_url).set(drivername=scheme).render_as_string(False)

    codes = [main(["db", "upgrade", "--db-url", url]), main(["db", "current", "--db-url", url])]
    out = capsys.readouterr().out
    engine = create_engine_from_url(url)
    engine.dispose()

    assert codes == [0, 0] and "(up to date)" in out
    assert engine.dialect.driver == "psycopg2"
