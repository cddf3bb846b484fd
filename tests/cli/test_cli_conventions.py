"""The ``serenity`` command behaves as Unix tools do: flags anywhere, clean help, quiet pipes,
typos refused with the valid choices, and nothing created by looking."""

from __future__ import annotations

import inspect
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from serenity import __version__
from serenity.cli import COMMANDS, main
from serenity.cli._help import commands_of
from serenity.db import migrations
from serenity.demo import DemoResult, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoResult]:
    """A home built by the demo: a database, a journal and a tick store of 2024-01-02."""
    home = tmp_path_factory.mktemp("home")
    yield run_demo(home, events=1_000, quiet=True, out=io.StringIO())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def serenity(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serenity", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _paths() -> list[list[str]]:
    found: list[list[str]] = [[]]
    for name, target in COMMANDS.items():
        module, _, attribute = target.partition(":")
        loaded = getattr(__import__(module, fromlist=[attribute]), attribute)
        found.append([name])
        if inspect.isclass(loaded):
            found += [[name, command] for command in sorted(commands_of(loaded()))]
    return found


def test_version_as_a_flag_and_as_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"{__version__}\n", "")
    assert run(capsys, "version") == (0, f"{__version__}\n", "")


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p) or "serenity")
def test_every_help_page_has_a_usage_line_flags_and_an_example(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *path, "--help")
    short_code, short_out, _ = run(capsys, "-h", *path)

    assert code == 0 and err == "" and (short_code, short_out) == (code, out)
    assert out.startswith(f"usage: {' '.join(['serenity', *path])}")
    assert "example:" in out or "examples:" in out or "commands:" in out
    assert "--log-level" in out
    for fire_internal in ("NAME", "SYNOPSIS", "Type:", "Showing help", "<flags>", "FLAGS"):
        assert fire_internal not in out


def test_a_command_page_lists_its_flags_with_placeholders(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "tickstore", "splay", "--help")

    assert code == 0
    usage = " ".join(out.split("\n\n")[0].split())
    assert usage.startswith("usage: serenity tickstore splay JOURNAL_DIR STORE")
    assert "[--date YYYY-MM-DD]" in usage and "[--venue VENUE]" in usage
    assert "serenity tickstore splay --journal-dir" in out  # the example


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_flags_work_before_or_after_the_command(tmp_path: Path, where: str) -> None:
    url = f"sqlite:///{tmp_path / 'serenity.db'}"
    flags = ["--log-json", "--log-level", "INFO", "--quiet"]
    command = ["db", "upgrade", "--db-url", url]

    result = serenity(*(flags + command if where == "before" else command + flags))

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(r["event"] == "db.upgrade" and r["level"] == "INFO" for r in records)


def test_default_output_has_no_library_chatter(tmp_path: Path) -> None:
    result = serenity("db", "upgrade", "--db-url", f"sqlite:///{tmp_path / 'serenity.db'}")

    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip().endswith(f"is at revision {migrations.head_revision()}")


def test_unknown_commands_and_flags_name_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        run(capsys, "tickstor", "ls"),
        run(capsys, "db", "upgrad"),
        run(capsys, "db", "upgrade", "--revison", "head"),
        run(capsys, "tickstore", "show", "file:///x"),
    ]

    assert all(code == 2 and out == "" and err.count("\n") == 1 for code, out, err in results)
    assert "did you mean tickstore?" in results[0][2]
    assert "did you mean upgrade?" in results[1][2]
    assert "has no flag --revison; flags: --revision, --db-url" in results[2][2]
    assert "needs TABLE SYMBOL START END; usage: serenity tickstore show" in results[3][2]


def test_typos_that_used_to_succeed_are_errors_naming_the_valid_choices(
    demo: DemoResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, journal = demo.store_url, str(demo.journal_dir)
    missing = (tmp_path / "nowhere").as_uri()
    results = [
        run(capsys, "refdata", "ls", "--venue", "kraken", "--db-url", demo.db_url),
        run(capsys, "tickstore", "ls", missing),
        run(capsys, "tickstore", "ls", store, "--table", "NOPE_TRADES"),
        run(capsys, "tickstore", "versions", store, "COINBASEE_TRADES", "BTC-USD", "2024-01-02"),
        run(capsys, "tickstore", "splay", journal, (tmp_path / "s").as_uri(), "--venue", "krakn"),
        run(capsys, "tickstore", "sync", "--from", missing, "--to", store),
    ]

    assert [code for code, _, _ in results] == [2] * len(results)
    errors = [err for _, _, err in results]
    assert "unknown venue 'kraken', expected one of ['binance', 'coinbase', 'phemex']" in errors[0]
    assert f"no tick store at {tmp_path / 'nowhere'}" in errors[1]
    assert "unknown table 'NOPE_TRADES'" in errors[2] and "COINBASE_TRADES" in errors[2]
    assert "did you mean COINBASE_TRADES" in errors[3]
    assert "unknown venue 'krakn'" in errors[4] and "venues recorded there: coinbase" in errors[4]
    assert "no tick store at" in errors[5]
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "s").exists()


def test_reading_a_missing_azure_container_is_an_error_that_creates_nothing(
    azure_conn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from azure.storage.blob import BlobServiceClient

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azure_conn)
    missing = f"azure://serenity-missing-{os.getpid()}"
    target = tmp_path / "copy"
    results = [
        run(capsys, "tickstore", "ls", missing),
        run(capsys, "tickstore", "sync", "--from", missing, "--to", target.as_uri()),
    ]

    assert [code for code, _, _ in results] == [2, 2]
    assert all(out == "" and err.count("\n") == 1 for _, out, err in results)
    assert f"URL {missing}: the Azure account has no such container" in results[0][2]
    assert f"--from {missing}: the Azure account has no such container" in results[1][2]
    service = BlobServiceClient.from_connection_string(azure_conn)
    assert not service.get_container_client(missing.removeprefix("azure://")).exists()
    assert not target.exists()


def test_splay_without_a_date_takes_the_market_days_in_the_journal(
    demo: DemoResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = (tmp_path / "ticks").as_uri()

    code, out, _ = run(capsys, "tickstore", "splay", "--journal-dir", str(demo.journal_dir), store)
    again = run(capsys, "tickstore", "splay", str(demo.journal_dir), store, "--venue", "coinbase")

    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert {(r[0], r[1], r[2], r[5]) for r in rows} == {
        (table, symbol, "2024-01-02", "new")
        for table in ("COINBASE_BOOKS", "COINBASE_TRADES")
        for symbol in ("BTC-USD", "ETH-USD")
    }
    assert again[0] == 0 and again[1].count("unchanged") == 4


def test_a_reader_that_stops_early_ends_the_output_quietly(demo: DemoResult) -> None:
    command = [sys.executable, "-m", "serenity", "tickstore", "show", demo.store_url]
    command += ["COINBASE_TRADES", "BTC-USD", "--start", "2024-01-02", "--end", "2024-01-03"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head -0` does: every write meets a closed pipe

    err = proc.stderr.read()
    code = proc.wait(timeout=60)

    assert code == 0 and err == b""


def test_reading_commands_create_no_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERENITY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SERENITY_DB_URL", raising=False)
    results = [
        run(capsys, "refdata", "ls"),
        run(capsys, "db", "current"),
        run(capsys, "db", "downgrade", "--revision", "base", "--yes"),
        run(capsys, "refdata", "load", "--venue", "coinbase", "--base-url", "http://127.0.0.1:9"),
    ]

    assert [code for code, _, _ in results] == [2, 2, 2, 2]
    db = tmp_path / "home" / "serenity.db"
    assert all(
        f"no database at {db}; create it with `serenity db upgrade`" in e for *_, e in results
    )
    assert not db.exists()
