"""Run outputs, statistics and reports, for the algo engine and the investment backtester.

A run writes its orders, fills, positions, equity curve, marks and capture channels with
:class:`RunWriter` as it goes (Parquet, flat memory, readable while running and after a
crash); :class:`RunOutputs` reads them back as pandas.
"""

from __future__ import annotations

from serenity.analytics.reader import SUMMARY_FILE, RunOutputs
from serenity.analytics.schema import TABLES, Column, TableSpec
from serenity.analytics.writer import CAPTURE_DIR, CONFIG_FILE, RunWriter, seal_run

__all__ = [
    "CAPTURE_DIR",
    "CONFIG_FILE",
    "SUMMARY_FILE",
    "TABLES",
    "Column",
    "RunOutputs",
    "RunWriter",
    "TableSpec",
    "seal_run",
]
