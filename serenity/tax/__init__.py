"""Tax lots and forms for crypto: a calculation aid, not tax advice.

Build a ledger of acquisitions and disposals per asset from the database (fills, transfers)
and from venues' exports (:mod:`serenity.tax.importers`, stored by :func:`import_export`);
relieve lots FIFO, LIFO, HIFO or by specific identification, per wallet or in one pool
(:func:`compute`); and write a tax year as Form 8949 CSV, TXF, a TurboTax CSV or a summary
(:mod:`serenity.tax.forms`). Money is :class:`~decimal.Decimal` throughout.
"""

from __future__ import annotations

from serenity.tax.engine import (
    ELSEWHERE,
    PoolMode,
    Realized,
    TaxReport,
    TaxSettings,
    Totals,
    compute,
    default_pools,
)
from serenity.tax.forms import (
    FORMATS,
    write_form_8949,
    write_summary,
    write_turbotax,
    write_txf,
)
from serenity.tax.importers import SOURCES, read_export
from serenity.tax.lots import Lot, LotPool, Piece, ReliefMethod, Term, holding_term, read_lots_file
from serenity.tax.prices import DatabaseMarks, PriceFile, PriceSource, UsdPrices
from serenity.tax.records import USD, Transaction
from serenity.tax.store import ImportReport, Ledger, import_export, load_ledger

__all__ = [
    "ELSEWHERE",
    "FORMATS",
    "SOURCES",
    "USD",
    "DatabaseMarks",
    "ImportReport",
    "Ledger",
    "Lot",
    "LotPool",
    "Piece",
    "PoolMode",
    "PriceFile",
    "PriceSource",
    "Realized",
    "ReliefMethod",
    "TaxReport",
    "TaxSettings",
    "Term",
    "Totals",
    "Transaction",
    "UsdPrices",
    "compute",
    "default_pools",
    "holding_term",
    "import_export",
    "load_ledger",
    "read_export",
    "read_lots_file",
    "write_form_8949",
    "write_summary",
    "write_turbotax",
    "write_txf",
]
