"""Read a run folder: its tables as pandas DataFrames, its summary and its config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from serenity.analytics._table import JOURNAL_DIR, JOURNAL_SUFFIX, read_journal
from serenity.analytics.schema import TABLES
from serenity.analytics.writer import CAPTURE_DIR, CONFIG_FILE
from serenity.errors import DataError

__all__ = ["SUMMARY_FILE", "RunOutputs"]

SUMMARY_FILE: Final = "summary.json"
"""The run's statistics, written by :func:`~serenity.analytics.summarize_run`."""


class RunOutputs:
    """The outputs of one run, finished or still being written.

    Each table is read when asked for, from its Parquet file or, for a run that is still
    running or crashed (see :func:`~serenity.analytics.seal_run`), from its journal up to the
    last flush. ``ts`` columns stay int64 nanoseconds since the epoch, UTC
    (``pd.to_datetime(df.ts, utc=True)`` turns them into times).

    Parameters
    ----------
    folder
        The run folder a :class:`~serenity.analytics.RunWriter` wrote.

    Raises
    ------
    DataError
        When ``folder`` is not a folder.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataError(f"run folder {self.folder} does not exist")

    def __repr__(self) -> str:
        return f"RunOutputs({str(self.folder)!r})"

    @property
    def orders(self) -> pd.DataFrame:
        """Return ``orders.parquet``: one row per order event."""
        return self.table("orders")

    @property
    def fills(self) -> pd.DataFrame:
        """Return ``fills.parquet``: one row per fill."""
        return self.table("fills")

    @property
    def positions(self) -> pd.DataFrame:
        """Return ``positions.parquet``: position snapshots."""
        return self.table("positions")

    @property
    def pnl(self) -> pd.DataFrame:
        """Return ``pnl.parquet``: the equity curve."""
        return self.table("pnl")

    @property
    def marks(self) -> pd.DataFrame:
        """Return ``marks.parquet``: the sampled prices."""
        return self.table("marks")

    @property
    def channels(self) -> list[str]:
        """Return the capture channels' names, sorted."""
        names = {p.stem for p in (self.folder / CAPTURE_DIR).glob("*.parquet")}
        journal = self.folder / JOURNAL_DIR / CAPTURE_DIR
        names |= {p.name.removesuffix(JOURNAL_SUFFIX) for p in journal.glob(f"*{JOURNAL_SUFFIX}")}
        return sorted(names)

    def capture(self, channel: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return the capture channel ``channel``: ``ts`` and its fields.

        Raises
        ------
        DataError
            When the run has no such channel.
        """
        if channel not in self.channels:
            raise DataError(
                f"run {self.folder} has no capture channel {channel!r}; it has {self.channels}"
            )
        return self._read(f"{CAPTURE_DIR}/{channel}", columns)

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return the table ``name`` (``orders``, ``fills``, ``positions``, ``pnl``, ``marks``).

        Parameters
        ----------
        name
            The table.
        columns
            Only these columns; all when omitted.

        Raises
        ------
        DataError
            For an unknown table, or a folder without it.
        """
        if name not in TABLES:
            raise DataError(f"unknown run table {name!r}; expected one of {sorted(TABLES)}")
        return self._read(name, columns)

    def arrow(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Return a table (or ``capture/<channel>``) as an Arrow table."""
        final = self.folder / f"{name}.parquet"
        if final.is_file():
            return pq.read_table(final, columns=columns)
        journal = self.folder / JOURNAL_DIR / f"{name}{JOURNAL_SUFFIX}"
        table = read_journal(journal) if journal.is_file() else None
        if table is None:
            spec = TABLES.get(name)
            if spec is None or not self.is_running_or_crashed:
                raise DataError(f"run {self.folder} has no {name} table ({final.name} is missing)")
            table = spec.schema.empty_table()
        return table.select(columns) if columns is not None else table

    @property
    def is_sealed(self) -> bool:
        """Return True when the writer closed (or :func:`seal_run` ran): no journal is left."""
        return not (self.folder / JOURNAL_DIR).exists()

    @property
    def is_running_or_crashed(self) -> bool:
        """Return True while journals remain: the run is being written or stopped abruptly."""
        return not self.is_sealed

    @property
    def has_summary(self) -> bool:
        """Return True when ``summary.json`` exists."""
        return (self.folder / SUMMARY_FILE).is_file()

    @property
    def summary(self) -> dict[str, Any]:
        """Return ``summary.json``: the run's statistics.

        Raises
        ------
        DataError
            When the run has no summary yet.
        """
        path = self.folder / SUMMARY_FILE
        if not path.is_file():
            raise DataError(f"run {self.folder} has no {SUMMARY_FILE}; run summarize_run first")
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded

    @property
    def config_text(self) -> str | None:
        """Return ``config.yaml`` as written, or None when the run has none."""
        path = self.folder / CONFIG_FILE
        return path.read_text() if path.is_file() else None

    @property
    def config(self) -> Any:
        """Return ``config.yaml`` parsed, or None when the run has none."""
        text = self.config_text
        return None if text is None else yaml.safe_load(text)

    def _read(self, name: str, columns: list[str] | None) -> pd.DataFrame:
        frame: pd.DataFrame = self.arrow(name, columns).to_pandas()
        return frame
