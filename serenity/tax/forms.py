"""Tax-year outputs: Form 8949 CSV, TXF (V042), a TurboTax gains CSV and a text summary.

Each writer takes a :class:`~serenity.tax.engine.TaxReport` and a text stream. Every output
has one row (or record) per lot relieved, so a sale that consumed three lots shows three
acquisition dates. Amounts are USD with two decimals; dates are ``MM/DD/YYYY``.

These files are a calculation aid for you and your accountant, not tax advice.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final, TextIO

from serenity._version import __version__
from serenity.tax.engine import TaxReport
from serenity.tax.lots import Term

__all__ = [
    "FORMATS",
    "FORM_8949_HEADER",
    "TURBOTAX_HEADER",
    "TXF_LONG_TERM",
    "TXF_SHORT_TERM",
    "write_form_8949",
    "write_summary",
    "write_turbotax",
    "write_txf",
]

FORM_8949_HEADER: Final = (
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
)
TURBOTAX_HEADER: Final = ("Currency Name", "Purchase Date", "Cost Basis", "Date Sold", "Proceeds")
TXF_SHORT_TERM: Final = 712
"""TXF refnum: short-term gain or loss, Form 8949 box C (no Form 1099-B)."""
TXF_LONG_TERM: Final = 714
"""TXF refnum: long-term gain or loss, Form 8949 box F (no Form 1099-B)."""
NOT_ADVICE: Final = "A calculation aid, not tax advice: check it with your tax adviser."


def _date(day: dt.date) -> str:
    return f"{day:%m/%d/%Y}"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def write_form_8949(report: TaxReport, out: TextIO) -> None:
    """Write one CSV row per lot relieved, with Form 8949's columns, term, box and ids.

    The last three columns (wallet, lot id, disposal id) are not on the form; they tie each
    row to the ledger and are what a ``--lots`` file for specific identification names.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FORM_8949_HEADER)
    for row in report.rows:
        writer.writerow(
            (
                row.description,
                _date(row.acquired),
                _date(row.sold),
                _money(row.proceeds),
                _money(row.basis),
                _money(row.gain),
                str(row.term),
                row.box,
                row.wallet,
                row.lot_id,
                row.disposal_id,
            )
        )


def write_txf(report: TaxReport, out: TextIO, *, exported: dt.date | None = None) -> None:
    """Write a TXF (Tax Exchange Format) V042 file: one detail record per lot relieved.

    The header is ``V042``, ``A`` with the program and ``D`` with the export date. Each
    record is format 4: ``TD``, ``N712`` (short-term, box C) or ``N714`` (long-term, box F),
    ``C1``, ``L1``, ``P`` description, ``D`` date acquired, ``D`` date sold, ``$`` cost basis,
    ``$`` sales proceeds, and ``^`` to end it.

    Parameters
    ----------
    report
        The tax year.
    out
        Where to write.
    exported
        The export date in the header; today (UTC) when None.
    """
    day = exported or dt.datetime.now(dt.UTC).date()
    lines = ["V042", f"ASerenity {__version__}", f"D{_date(day)}", "^"]
    for row in report.rows:
        refnum = TXF_SHORT_TERM if row.term is Term.SHORT else TXF_LONG_TERM
        lines += [
            "TD",
            f"N{refnum}",
            "C1",
            "L1",
            f"P{row.description}",
            f"D{_date(row.acquired)}",
            f"D{_date(row.sold)}",
            f"${_money(row.basis)}",
            f"${_money(row.proceeds)}",
            "^",
        ]
    out.write("\n".join(lines) + "\n")


def write_turbotax(report: TaxReport, out: TextIO) -> None:
    """Write TurboTax's crypto gains CSV: currency, purchase date, cost basis, date sold,
    proceeds; one row per lot relieved."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TURBOTAX_HEADER)
    for row in report.rows:
        writer.writerow(
            (
                row.asset,
                _date(row.acquired),
                _money(row.basis),
                _date(row.sold),
                _money(row.proceeds),
            )
        )


def write_summary(report: TaxReport, out: TextIO) -> None:
    """Write short- and long-term totals, totals by asset, income and the notes."""
    s = report.settings
    tz = getattr(s.tz, "key", None) or str(s.tz)
    lines = [
        f"Serenity tax summary {s.year}: method {s.method}, pools {s.pool_mode}, dates in {tz}",
        NOT_ADVICE,
        "",
    ]
    table = [("", "lots", "proceeds", "cost basis", "gain or (loss)")]
    totals = report.totals()
    count = {t: sum(1 for r in report.rows if r.term is t) for t in Term}
    for term in Term:
        t = totals[term]
        label = f"{term}-term (box {'C' if term is Term.SHORT else 'F'})"
        table.append((label, str(count[term]), _money(t.proceeds), _money(t.basis), _money(t.gain)))
    proceeds = sum((t.proceeds for t in totals.values()), Decimal(0))
    basis = sum((t.basis for t in totals.values()), Decimal(0))
    table.append(
        ("total", str(len(report.rows)), _money(proceeds), _money(basis), _money(proceeds - basis))
    )
    lines += _aligned(table) + ["", "By asset"]
    by_asset = [("asset", "term", "proceeds", "cost basis", "gain or (loss)")]
    for (asset, term), t in report.by_asset().items():
        by_asset.append((asset, str(term), _money(t.proceeds), _money(t.basis), _money(t.gain)))
    lines += _aligned(by_asset, left=2) if len(by_asset) > 1 else ["(no disposals)"]
    lines += ["", f"Income received as assets (their cost basis): {_money(report.income)}"]
    if report.notes:
        lines += ["", "Notes"] + [f"- {note}" for note in report.notes]
    out.write("\n".join(lines) + "\n")


def _aligned(rows: Sequence[Sequence[str]], *, left: int = 1) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


FORMATS: Final[dict[str, Callable[[TaxReport, TextIO], None]]] = {
    "8949": write_form_8949,
    "txf": write_txf,
    "turbotax": write_turbotax,
    "summary": write_summary,
}
"""The output formats by the name ``--format`` takes."""
