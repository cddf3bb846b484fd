"""``serenity tickstore ls|versions|show|sync|publish`` on both backends, validated arguments.

``migrate`` has its own tests in test_tickstore_migrate.py.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest
from tickstore_data import DAY, StoreSpec, trades_frame

from serenity.cli import main
from serenity.cli import tickstore as cli_tickstore
from serenity.marketdata.tickstore import BlobTickstore, open_tickstore

NEXT = DAY + dt.timedelta(days=1)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--log-level=WARNING", "tickstore", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def filled(spec: StoreSpec) -> BlobTickstore:
    store = open_tickstore(spec.url, "PHEMEX_TRADES")
    store.insert("BTCUSD", DAY, trades_frame(n=30), metadata={"digest": "d1", "gaps": 0})
    store.insert("BTCUSD", DAY, trades_frame(n=40, seed=1), metadata={"digest": "d2"})
    store.insert("BTCUSD", NEXT, trades_frame(NEXT))
    store.delete("BTCUSD", NEXT)
    store.insert("ETHUSD", DAY, trades_frame(seed=2))
    return store


def test_ls_lists_tables_symbols_and_days(
    filled: BlobTickstore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "ls", filled.url)
    assert code == 0 and out.split("\n")[1].split() == ["PHEMEX_TRADES", "2", "3"]
    code, out, _ = _run(capsys, "ls", filled.url, "--table", "PHEMEX_TRADES")
    assert "BTCUSD  2     2024-01-05  2024-01-06" in out and "ETHUSD" in out
    code, out, _ = _run(capsys, "ls", filled.url, "--table=PHEMEX_TRADES", "--symbol=BTCUSD")
    lines = out.strip().split("\n")
    assert lines[1].split()[:2] == ["2024-01-05", "2"] and "40" in lines[1]
    assert "deleted" in lines[2]


def test_versions_lists_validity_rows_and_metadata(
    filled: BlobTickstore, capsys: pytest.CaptureFixture[str]
) -> None:
    for date in ("2024-01-05", "20240105"):  # Fire passes --date=20240105 as an int
        code, out, _ = _run(capsys, "versions", filled.url, "PHEMEX_TRADES", "BTCUSD", date)
        assert code == 0
        lines = out.strip().split("\n")
        assert len(lines) == 3
        assert lines[1].startswith("1") and '{"digest": "d1", "gaps": 0}' in lines[1]
        assert lines[2].startswith("2") and "40" in lines[2]


def test_show_prints_bounded_rows_and_the_versions_read(
    filled: BlobTickstore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        "show",
        filled.url,
        "PHEMEX_TRADES",
        "BTCUSD",
        "--start=2024-01-05",
        "--end=2024-01-07T00:00:00Z",
        "--limit=6",
    )
    assert code == 0
    assert "newest versions" in out and '{"digest": "d2"}' in out and "40 rows" in out
    assert "2024-01-06" not in out.split("40 rows")[0]  # the deleted day is not read
    table = out.split("40 rows\n")[1].strip().split("\n")
    assert len(table) == 1 + 6 + 1 and table[4].startswith("..")  # header, 3 + 3 rows, gap
    first = filled.versions("BTCUSD", DAY)[0].valid_from_ns
    code, out, _ = _run(
        capsys,
        "show",
        filled.url,
        "PHEMEX_TRADES",
        "BTCUSD",
        "--start",
        "2024-01-05",
        "--end",
        "2024-01-06",
        "--as-of",
        str(first),
    )
    assert code == 0 and "30 rows" in out and '"d1"' in out and "as of" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ls", "s3://x"], "store URL must be"),
        (["ls", "URL", "--symbol=BTCUSD"], "--symbol needs --table"),
        (["versions", "URL", "PHEMEX", "BTCUSD", "2024-01-05"], "table must look like"),
        (["versions", "URL", "PHEMEX_TRADES", "BTCUSD", "2024-1-5"], "DATE must be a UTC day"),
        (
            ["show", "URL", "PHEMEX_TRADES", "BTCUSD", "--start=2024-01-05T00:00", "--end=1"],
            "--start must carry a timezone",
        ),
        (
            [
                "show",
                "URL",
                "PHEMEX_TRADES",
                "BTCUSD",
                "--start=2024-01-05",
                "--end=2024-01-06",
                "--limit=0",
            ],
            "--limit must be a positive integer",
        ),
        (
            ["show", "URL", "PHEMEX_TRADES", "BTCUSX", "--start=2024-01-05", "--end=2024-01-06"],
            "unknown symbol 'BTCUSX' in PHEMEX_TRADES; did you mean BTCUSD?",
        ),
        (["sync", "--from=URL"], "sync needs --from URL and --to URL"),
        (["sync", "--from=URL", "--to=URL", "--dry-run"], "sync takes --from, --to"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    filled: BlobTickstore, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args = [filled.url if a == "URL" else a.replace("=URL", "=" + filled.url) for a in args]
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert err.strip().startswith("serenity: ") and message in err
    assert "Traceback" not in err


def test_sync_copies_once_and_reports(
    filled: BlobTickstore,
    other_spec: StoreSpec,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dst = other_spec.url
    code, out, err = _run(capsys, "sync", f"--from={filled.url}", f"--to={dst}")
    assert code == 0 and "PHEMEX_TRADES: copied 5 versions" in out
    assert "created the Delta log at version 0: +2 files, -0 files" in out
    assert "it/s" not in err and "B/s" not in err  # no progress bar when stderr is not a TTY
    code, out, _ = _run(capsys, "sync", "--from", filled.url, "--to", dst, "--table=PHEMEX_TRADES")
    assert code == 0 and "copied 0 versions (0 bytes), 5 already present" in out
    assert "Delta log up to date (version 0)" in out
    copy = open_tickstore(dst, "PHEMEX_TRADES")
    assert copy.versions("BTCUSD", DAY) == filled.versions("BTCUSD", DAY)


@pytest.mark.parametrize(
    ("quiet", "tty", "hidden"),
    [([], True, False), (["--quiet"], True, True), (["PRE--quiet"], True, True), ([], False, True)],
)
def test_sync_shows_progress_on_a_terminal_unless_quiet(
    filled: BlobTickstore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    quiet: list[str],
    tty: bool,
    hidden: bool,
) -> None:
    bars: list[dict[str, Any]] = []

    def recording_tqdm(*args: Any, **kwargs: Any) -> Any:
        bars.append(kwargs)
        return real_tqdm(*args, **kwargs)

    real_tqdm = cli_tickstore.tqdm
    monkeypatch.setattr(cli_tickstore, "tqdm", recording_tqdm)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    root = ["--quiet=True"] if quiet == ["PRE--quiet"] else []
    flags = quiet if quiet == ["--quiet"] else []
    dst = tmp_path.as_uri()
    code = main([*root, "tickstore", "sync", f"--from={filled.url}", f"--to={dst}", *flags])
    capsys.readouterr()
    assert code == 0 and len(bars) == 1
    assert bars[0]["file"] is sys.stderr and bars[0]["unit"] == "B"
    stored = [v for sym, day in filled.partitions() for v in filled.versions(sym, day)]
    assert bars[0]["total"] == sum(v.size_bytes for v in stored) > 0
    # Hidden by --quiet or without a terminal; else left to tqdm, which honours TQDM_DISABLE.
    assert bars[0].get("disable") is (True if hidden else None)


def test_sync_of_diverged_stores_exits_2(
    filled: BlobTickstore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = open_tickstore((tmp_path / "other").as_uri(), "PHEMEX_TRADES")
    other.insert("ETHUSD", DAY, trades_frame(seed=7))
    code, out, err = _run(capsys, "sync", f"--from={filled.url}", f"--to={other.url}")
    assert code == 2 and "1 diverged" in out
    assert "serenity: 1 partitions have diverged" in err


def test_an_empty_store_lists_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "ls", tmp_path.as_uri())
    assert code == 0 and out.strip() == "no tables"
    code, out, _ = _run(capsys, "sync", f"--from={tmp_path.as_uri()}", f"--to={tmp_path.as_uri()}")
    assert code == 0 and "no tables" in out


def test_sync_help_names_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "sync", "--help")
    assert code == 0 and "--from URL --to URL" in out and "--table" in out


def test_publish_repairs_the_log_and_otherwise_commits_nothing(
    filled: BlobTickstore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "publish", filled.url)
    assert code == 0 and out.strip() == "PHEMEX_TRADES: Delta log up to date (version 4)"
    for key in list(filled.blobs.list_keys("PHEMEX_TRADES/_delta_log/")):
        filled.blobs.remove(key)
    code, out, _ = _run(capsys, "publish", filled.url, "--table", "PHEMEX_TRADES")
    assert code == 0
    assert out.strip() == "PHEMEX_TRADES: created the Delta log at version 0: +2 files, -0 files"
    code, _, err = _run(capsys, "publish", filled.url, "--table", "PHEMEX_BOOKS")
    assert code == 2 and "unknown table 'PHEMEX_BOOKS'" in err and "PHEMEX_TRADES" in err


@pytest.mark.parametrize("command", ["publish", "migrate"])
def test_publish_and_migrate_help_name_their_arguments(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, command, "--help")
    assert code == 0 and f"usage: serenity tickstore {command} URL [--table TABLE]" in out
    assert f"example:\n  serenity tickstore {command} file:///data/ticks" in out
