"""``serenity tax import`` and ``serenity tax report`` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from serenity.cli import main
from serenity.db import create_engine_from_url
from serenity.model import RunKind, Side
from tests.tax.booked import book_fills
from tests.tax.ledger import at

DATA = Path(__file__).resolve().parents[1] / "tax" / "data"
FORMATS = ("8949", "txf", "turbotax", "summary")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--log-level=WARNING", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _reports(
    capsys: pytest.CaptureFixture[str], folder: Path, db_url: str, *flags: str
) -> dict[str, str]:
    texts = {}
    for fmt in FORMATS:
        out = folder / f"2024.{fmt}"
        code, printed, err = _run(
            capsys,
            "tax",
            "report",
            "--year",
            "2024",
            "--format",
            fmt,
            "--out",
            str(out),
            "--db-url",
            db_url,
            *flags,
        )
        assert (code, err) == (0, ""), err
        assert printed.startswith(f"wrote {fmt} for 2024 to {out}:")
        texts[fmt] = out.read_text()
    return texts


def test_the_samples_imported_give_all_four_outputs(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "db", "upgrade", "--db-url", db_url)[0] == 0
    imports = [
        _run(capsys, "tax", "import", "--source", src, str(DATA / name), "--db-url", db_url)
        for src, name in [
            ("coinbase", "coinbase_transactions.csv"),
            ("coinbase", "coinbase_transactions.csv"),
            ("coinbase-exchange", "coinbase_exchange_fills.csv"),
            ("binance", "binance_trades.csv"),
        ]
    ]

    texts = _reports(
        capsys, tmp_path, db_url, "--pools", "wallet", "--prices", str(DATA / "prices.csv")
    )

    assert [i[0] for i in imports] == [0, 0, 0, 0]
    assert imports[0][1].startswith("coinbase: 7 transactions read, 7 added, 0 already")
    assert imports[1][1].startswith("coinbase: 7 transactions read, 0 added, 7 already")
    rows = list(csv.DictReader(texts["8949"].splitlines()))
    # coinbase (FIFO in its own wallet):
    #   Convert 0.5 ETH: proceeds 1,450 - 14.50 = 1,435.50; basis 3,722.20 x 0.5/2 = 930.55
    #   Sell 0.1 BTC: 6,200 - 37.20 = 6,162.80; basis (4,600 + 27.60) x 0.1/0.2 = 2,313.80
    #   Sell 1 ETH on 31 December 23:30 UTC: 3,400 - 20.40 = 3,379.60; basis 3,722.20/2 = 1,861.10
    # coinbase-exchange: 0.6 BTC for 42,000 - 105 = 41,895 relieves 0.5 of trade 1001
    #   (basis 22,000 + 110 = 22,110; proceeds 41,895 x 5/6 = 34,912.50) and 0.1 of 1002
    #   (10,803.75 x 0.4 = 4,321.50; 6,982.50)
    # binance: 0.1 BTC bought with a 0.0001 BTC fee is a 0.0999 BTC lot costing 4,200.
    #   Each ETHBTC buy (twice) gives 0.0275 BTC for 0.5 ETH x 3,600 (price file) = 1,800,
    #   less a 0.0005 BNB x 420 = 0.21 fee: proceeds 1,799.79, basis 4,200 x 0.0275/0.0999
    #   = 1,156.16; the fee disposes of 0.0005 BNB (basis 300 x 0.0005/0.999 = 0.15) at 0.21.
    #   Selling 0.01 BTC: 600 - 0.60 = 599.40; basis 4,200 x 0.01/0.0999 = 420.42.
    assert [
        (r["Description of property"], r["Proceeds"], r["Cost or other basis"], r["Box"])
        for r in rows
    ] == [
        ("0.5 ETH", "1435.50", "930.55", "C"),
        ("0.1 BTC", "6162.80", "2313.80", "F"),
        ("0.0275 BTC", "1799.79", "1156.16", "C"),
        ("0.0005 BNB", "0.21", "0.15", "C"),
        ("0.0275 BTC", "1799.79", "1156.16", "C"),
        ("0.0005 BNB", "0.21", "0.15", "C"),
        ("0.5 BTC", "34912.50", "22110.00", "C"),
        ("0.1 BTC", "6982.50", "4321.50", "C"),
        ("0.01 BTC", "599.40", "420.42", "C"),
        ("1 ETH", "3379.60", "1861.10", "F"),
    ]
    assert rows[-1]["Date sold or disposed of"] == "12/31/2024"
    txf = texts["txf"].splitlines()
    assert txf[0] == "V042" and txf.count("TD") == 10
    assert (txf.count("N712"), txf.count("N714")) == (8, 2)
    assert len(texts["turbotax"].splitlines()) == 11
    summary = texts["summary"].splitlines()
    # short: proceeds 1,435.50 + 2 x 1,799.79 + 2 x 0.21 + 34,912.50 + 6,982.50 + 599.40
    #   = 47,529.90; basis 930.55 + 2 x 1,156.16 + 2 x 0.15 + 22,110 + 4,321.50 + 420.42
    #   = 30,095.09; long: 6,162.80 + 3,379.60 = 9,542.40 against 2,313.80 + 1,861.10 = 4,174.90
    assert summary[0] == "Serenity tax summary 2024: method fifo, pools wallet, dates in UTC"
    assert summary[4].split()[-3:] == ["47529.90", "30095.09", "17434.81"]
    assert summary[5].split()[-3:] == ["9542.40", "4174.90", "5367.50"]
    assert "Income received as assets (their cost basis): 22.50" in summary
    assert any("coinbase:65a1f0c2d3e4f5a6b7c8d907: 0.05 BTC left coinbase" in s for s in summary)


def test_a_backtests_fills_give_all_four_outputs(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "db", "upgrade", "--db-url", db_url)[0] == 0
    engine = create_engine_from_url(db_url)
    try:
        book_fills(engine, [(at("2024-01-02"), Side.BUY, "9", "100", "0")])  # live, not the run
        run_id = book_fills(
            engine,
            [
                (at("2023-11-01"), Side.BUY, "1", "35000", "35"),
                (at("2024-02-01"), Side.BUY, "1", "43000", "43"),
                (at("2024-12-01"), Side.SELL, "1.5", "96000", "144"),
            ],
            run=RunKind.BACKTEST,
        )
    finally:
        engine.dispose()

    texts = _reports(capsys, tmp_path, db_url, "--run", str(run_id))

    # 1.5 BTC for 1.5 x 96,000 = 144,000 less 144 fee = 143,856, split 95,904 + 47,952.
    # Lot 1: 35,000 + 35 = 35,035 (2023-11-01 -> 2024-12-01, long-term);
    # lot 2: half of 43,000 + 43 = 21,521.50 (short-term).
    assert texts["turbotax"].splitlines() == [
        "Currency Name,Purchase Date,Cost Basis,Date Sold,Proceeds",
        "BTC,11/01/2023,35035.00,12/01/2024,95904.00",
        "BTC,02/01/2024,21521.50,12/01/2024,47952.00",
    ]
    assert ["N714", "N712"] == [line for line in texts["txf"].splitlines() if line.startswith("N")]
    first = next(csv.reader(texts["8949"].splitlines()[1:]))
    assert first == [
        "1 BTC",
        "11/01/2023",
        "12/01/2024",
        "95904.00",
        "35035.00",
        "60869.00",
        "long",
        "F",
        "simulator:acct-1",
        "fill:2",
        "fill:4",
    ]
    assert texts["summary"].splitlines()[6].split()[-3:] == ["143856.00", "56556.50", "87299.50"]


def test_report_flags_are_checked_and_errors_are_one_line(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "db", "upgrade", "--db-url", db_url)[0] == 0
    base = ["tax", "report", "--db-url", db_url, "--year"]

    no_lots = _run(capsys, *base, "2024", "--method", "specific")
    bad_format = _run(capsys, *base, "2024", "--format", "pdf")
    bad_year = _run(capsys, *base, "twenty")
    bad_tz = _run(capsys, *base, "2024", "--tz", "Mars/Olympus")
    empty = _run(capsys, *base, "2024")

    assert no_lots[0] == 2 and no_lots[2] == (
        "serenity: --method specific needs --lots FILE naming the lots to relieve\n"
    )
    assert (
        bad_format[2]
        == "serenity: --format must be one of 8949, txf, turbotax, summary, was 'pdf'\n"
    )
    assert bad_year[2] == "serenity: --year must be a whole number, was 'twenty'\n"
    assert bad_tz[2].startswith("serenity: --tz 'Mars/Olympus' is not a time zone")
    assert empty[0] == 0 and "(no disposals)" in empty[1]


def test_a_missing_mark_fails_the_report_naming_asset_and_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'tax.db'}"
    assert _run(capsys, "db", "upgrade", "--db-url", db_url)[0] == 0
    _run(
        capsys,
        "tax",
        "import",
        "--source",
        "binance",
        str(DATA / "binance_trades.csv"),
        "--db-url",
        db_url,
    )

    code, out, err = _run(capsys, "tax", "report", "--year", "2024", "--db-url", db_url)

    assert (code, out) == (2, "")
    assert err.startswith("serenity: no USD mark for ETH or BTC at 2024-03-04T16:20:00+00:00")
    assert err.count("\n") == 1


def test_importing_into_an_unmigrated_database_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'fresh.db'}"

    code, _, err = _run(
        capsys,
        "tax",
        "import",
        str(DATA / "binance_trades.csv"),
        "--source",
        "binance",
        "--db-url",
        db_url,
    )

    assert code == 2 and "run `serenity db upgrade" in err
