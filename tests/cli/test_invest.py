"""``serenity invest run``: the three examples from the command line, each with a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serenity.cli import main
from tests.strategy.conftest import crypto_store

SAMPLE = (
    Path(__file__).resolve().parents[2] / "serenity" / "examples" / "invest" / "sample_prices.csv"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def summary(folder: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((folder / "summary.json").read_text())
    return loaded


@pytest.mark.parametrize(
    ("example", "extra"),
    [
        ("buy_and_hold", ["--benchmark", "DDD"]),
        ("equal_weight", ["--prices", str(SAMPLE)]),
    ],
)
def test_the_equity_examples_run_with_reports(
    example: str, extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / example
    code, printed, err = run(
        capsys,
        "invest",
        "run",
        example,
        "--start",
        "2024-01-01",
        "--end",
        "2025-01-01",
        "--out",
        str(out),
        "--db-url",
        f"sqlite:///{tmp_path / 'none.db'}",
        *extra,
    )
    assert code == 0, err
    assert f"run       {out}" in printed and "sessions  252" in printed
    assert "benchmark buy and hold" in printed
    stats = summary(out)
    assert stats["periods_per_year"] == 252.0 and stats["fills"]
    assert (out / "report.html").stat().st_size > 100_000


def test_the_crypto_example_runs_on_the_tick_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = crypto_store(tmp_path)
    out = tmp_path / "crypto"
    code, printed, err = run(
        capsys,
        "invest",
        "run",
        "crypto_60_40",
        "--start=2024-01-01",
        "--end=2024-01-04",
        f"--store={url}",
        f"--out={out}",
        f"--db-url=sqlite:///{tmp_path / 'none.db'}",
    )
    assert code == 0, err
    assert "sessions  3" in printed
    stats = summary(out)
    assert stats["periods_per_year"] == 365.0
    assert (out / "report.html").is_file()


def test_an_unknown_example_lists_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "invest", "run", "equal_wait", "--start=2024-01-01", "--end=2024-02-01"
    )
    assert code == 2
    assert "examples: buy_and_hold, crypto_60_40, equal_weight" in err
