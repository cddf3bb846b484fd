"""Form 8949 CSV, TXF V042, the TurboTax CSV and the summary, checked line by line."""

from __future__ import annotations

import csv
import datetime as dt
import io

from serenity import __version__
from serenity.tax import TaxReport, write_form_8949, write_summary, write_turbotax, write_txf
from tests.tax.ledger import at, buy, compute, sell

# One sale of 1.5 BTC for 105,000 (70,000 per BTC) relieves two lots, FIFO:
#   a 2023-01-10 1 BTC for 17,000 -> held over a year: long-term, box F, TXF 714
#   b 2024-02-10 1 BTC for 45,000 -> 0.5 of it (basis 22,500): short-term, box C, TXF 712
# plus a loss: c 2024-05-01 1 ETH for 3,000 sold 2024-06-01 for 2,500.


def _report() -> TaxReport:
    return compute(
        [
            buy("a", at("2023-01-10"), "1", "17000"),
            buy("b", at("2024-02-10"), "1", "45000"),
            sell("s", at("2024-04-10"), "1.5", "105000"),
            buy("c", at("2024-05-01"), "1", "3000", asset="ETH"),
            sell("e", at("2024-06-01"), "1", "2500", asset="ETH"),
        ]
    )


def test_txf_v042_has_one_record_per_lot_relieved() -> None:
    out = io.StringIO()

    write_txf(_report(), out, exported=dt.date(2025, 2, 14))

    lines = out.getvalue().split("\n")
    assert lines[-1] == ""  # the file ends with a newline
    assert lines[:-1] == [
        # header: version, program, export date, end of header
        "V042",
        f"ASerenity {__version__}",
        "D02/14/2025",
        "^",
        # record format 4: detail, refnum, copy, line, description, date acquired, date sold,
        # cost basis, sales proceeds, end of record
        "TD",
        "N714",  # long-term, Form 8949 box F
        "C1",
        "L1",
        "P1 BTC",
        "D01/10/2023",
        "D04/10/2024",
        "$17000.00",
        "$70000.00",
        "^",
        "TD",
        "N712",  # short-term, Form 8949 box C: the same sale's second lot
        "C1",
        "L1",
        "P0.5 BTC",
        "D02/10/2024",
        "D04/10/2024",
        "$22500.00",
        "$35000.00",
        "^",
        "TD",
        "N712",
        "C1",
        "L1",
        "P1 ETH",
        "D05/01/2024",
        "D06/01/2024",
        "$3000.00",
        "$2500.00",
        "^",
    ]


def test_txf_records_follow_the_layout_for_every_row() -> None:
    report = _report()
    out = io.StringIO()

    write_txf(report, out, exported=dt.date(2025, 2, 14))

    body = out.getvalue().split("\n")[4:-1]
    records = [body[i : i + 10] for i in range(0, len(body), 10)]
    assert len(records) == len(report.rows) and all(len(r) == 10 for r in records)
    for record, row in zip(records, report.rows, strict=True):
        td, n, c, line, p, d_acq, d_sold, basis, proceeds, end = record
        assert (td, c, line, end) == ("TD", "C1", "L1", "^")
        assert n == ("N712" if row.box == "C" else "N714")
        assert p == f"P{row.description}"
        acquired = dt.datetime.strptime(d_acq[1:], "%m/%d/%Y").date()
        sold = dt.datetime.strptime(d_sold[1:], "%m/%d/%Y").date()
        assert acquired <= sold and (acquired, sold) == (row.acquired, row.sold)
        assert (basis, proceeds) == (f"${row.basis:.2f}", f"${row.proceeds:.2f}")


def test_form_8949_csv_has_one_row_per_lot_with_term_and_box() -> None:
    out = io.StringIO()

    write_form_8949(_report(), out)

    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert table == [
        [
            "Description of property",
            "Date acquired",
            "Date sold or disposed of",
            "Proceeds",
            "Cost or other basis",
            "Gain or (loss)",
            "Term",
            "Box",
            "Wallet",
            "Lot",
            "Disposal",
        ],
        [
            "1 BTC",
            "01/10/2023",
            "04/10/2024",
            "70000.00",
            "17000.00",
            "53000.00",
            "long",
            "F",
            "w",
            "t:a",
            "t:s",
        ],
        [
            "0.5 BTC",
            "02/10/2024",
            "04/10/2024",
            "35000.00",
            "22500.00",
            "12500.00",
            "short",
            "C",
            "w",
            "t:b",
            "t:s",
        ],
        [
            "1 ETH",
            "05/01/2024",
            "06/01/2024",
            "2500.00",
            "3000.00",
            "-500.00",
            "short",
            "C",
            "w",
            "t:c",
            "t:e",
        ],
    ]


def test_turbotax_csv_has_one_row_per_lot() -> None:
    out = io.StringIO()

    write_turbotax(_report(), out)

    assert out.getvalue().splitlines() == [
        "Currency Name,Purchase Date,Cost Basis,Date Sold,Proceeds",
        "BTC,01/10/2023,17000.00,04/10/2024,70000.00",
        "BTC,02/10/2024,22500.00,04/10/2024,35000.00",
        "ETH,05/01/2024,3000.00,06/01/2024,2500.00",
    ]


def test_summary_totals_short_and_long_and_by_asset() -> None:
    out = io.StringIO()

    write_summary(_report(), out)

    # short: 35,000 + 2,500 = 37,500 proceeds, 22,500 + 3,000 = 25,500 basis, 12,000 gain;
    # long: 70,000 - 17,000 = 53,000.
    lines = out.getvalue().splitlines()
    assert lines[0] == "Serenity tax summary 2024: method fifo, pools universal, dates in UTC"
    assert lines[1].startswith("A calculation aid, not tax advice")
    assert [line.split() for line in lines[3:7]] == [
        ["lots", "proceeds", "cost", "basis", "gain", "or", "(loss)"],
        ["short-term", "(box", "C)", "2", "37500.00", "25500.00", "12000.00"],
        ["long-term", "(box", "F)", "1", "70000.00", "17000.00", "53000.00"],
        ["total", "3", "107500.00", "42500.00", "65000.00"],
    ]
    by_asset = lines[lines.index("By asset") + 1 : lines.index("By asset") + 5]
    assert [line.split() for line in by_asset] == [
        ["asset", "term", "proceeds", "cost", "basis", "gain", "or", "(loss)"],
        ["BTC", "short", "35000.00", "22500.00", "12500.00"],
        ["BTC", "long", "70000.00", "17000.00", "53000.00"],
        ["ETH", "short", "2500.00", "3000.00", "-500.00"],
    ]
