"""``serenity db`` and ``serenity refdata`` end to end, against SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from serenity.cli import main
from serenity.db import migrations
from serenity.exchange import binance
from tests.venues import VenueServer, binance_exchange_info


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--log-level=WARNING", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_upgrade_load_list_then_a_failed_load_changes_nothing(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    info = binance_exchange_info(400)
    with VenueServer({binance.EXCHANGE_INFO_PATH: info}) as server:
        load = [
            "refdata",
            "load",
            "--venue",
            "binance",
            "--base-url",
            server.url,
            "--db-url",
            db_url,
        ]
        upgraded = _run(capsys, "db", "upgrade", "--db-url", db_url)
        current = _run(capsys, "db", "current", "--db-url", db_url)
        loaded = _run(capsys, *load)
        listed = _run(capsys, "refdata", "ls", "--symbol", "C000*", "--db-url", db_url)
        server.routes[binance.EXCHANGE_INFO_PATH] = (500, b"maintenance")
        failed = _run(capsys, *load)
        listed_again = _run(capsys, "refdata", "ls", "--symbol", "C000*", "--db-url", db_url)

    head = migrations.head_revision()
    assert upgraded[0] == 0 and f"is at revision {head}" in upgraded[1]
    assert current[0] == 0 and f"{head} (up to date)" in current[1]
    assert loaded == (
        0,
        "binance: 400 added, 0 changed, 0 delisted, 0 unchanged; "
        "85 new currencies, 400 new instruments\n",
        "",
    )
    header, *rows = listed[1].splitlines()
    assert (
        header.split()
        == "VENUE SYMBOL INSTRUMENT TYPE TICK LOT MIN_QTY SCALE STATUS VALID_FROM".split()
    )
    first = rows[0].split()
    assert (
        len(rows) == 50
        and first[:7] == "binance C0000BNB C0000/BNB currency_pair 0.01 0.00001 0.00001".split()
    )
    assert failed[0] == 2 and failed[2].count("\n") == 1
    assert failed[2].startswith("serenity: binance: GET http://127.0.0.1:")
    assert "answered HTTP 500: 'maintenance'" in failed[2]
    assert listed_again == listed


def test_commands_on_an_unmigrated_database_say_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    current = _run(capsys, "db", "current", "--db-url", url)
    listed = _run(capsys, "refdata", "ls", "--db-url", url)
    unknown = _run(capsys, "refdata", "load", "--venue", "kraken", "--db-url", url)

    assert current[0] == 0 and "base (not migrated; run `serenity db upgrade`)" in current[1]
    assert listed[0] == 2 and "no Serenity schema; run `serenity db upgrade" in listed[2]
    assert unknown[0] == 2
    assert "unknown venue 'kraken', expected one of ['binance', 'coinbase', 'phemex']" in unknown[2]


def test_downgrade_to_base_removes_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    _run(capsys, "db", "upgrade", "--db-url", url)

    down = _run(capsys, "db", "downgrade", "--revision", "base", "--db-url", url)

    assert down[0] == 0 and "is at revision base (no schema)" in down[1]


def test_console_script_upgrades_the_default_database(serenity_home: Path) -> None:
    script = Path(sys.executable).with_name("serenity")
    env = {**os.environ, "SERENITY_HOME": str(serenity_home)}

    result = subprocess.run(
        [str(script), "--log-level=WARNING", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert (serenity_home / "serenity.db").is_file()
    head = migrations.head_revision()
    assert f"sqlite:///{serenity_home / 'serenity.db'} is at revision {head}" in result.stdout


def test_unreachable_database_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql+psycopg2://serenity:hunter2@127.0.0.1:1/none"

    results = [_run(capsys, "db", cmd, "--db-url", url) for cmd in ("upgrade", "current")]

    for code, _out, err in results:
        assert code == 2 and err.count("\n") == 1 and "hunter2" not in err
        assert "serenity:***@127.0.0.1:1/none" in err
