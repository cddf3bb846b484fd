"""Write a run's outputs as it goes: orders, fills, positions, P&L, marks and capture channels.

:class:`RunWriter` takes plain values (ints, floats, strings; callers convert ``Decimal``)
and keeps memory flat: each table buffers at most ``flush_rows`` rows, which are flushed as
one Arrow batch to the table's journal, and written to Parquet in row groups of
``row_group_rows``. A flush also happens ``flush_interval_s`` wall seconds after the last one
(checked when a row arrives, or by calling :meth:`RunWriter.flush` from a timer), so a live
run's outputs are readable with :class:`~serenity.analytics.RunOutputs` while it runs. After a
crash, everything flushed is still there: :func:`seal_run` turns the journals into the
Parquet files.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NoReturn, Self

import numpy as np
import pyarrow as pa
import yaml

from serenity.analytics._table import JOURNAL_DIR, JOURNAL_SUFFIX, TableWriter, seal_journal
from serenity.analytics.schema import FILLS, MARKS, ORDERS, PNL, POSITIONS, TABLES
from serenity.errors import ConfigError, DataError, InvalidValueError

__all__ = ["CAPTURE_DIR", "CONFIG_FILE", "RunWriter", "seal_run"]

log = logging.getLogger(__name__)

CAPTURE_DIR: Final = "capture"
"""The folder of the capture channels' Parquet files, inside a run folder."""
CONFIG_FILE: Final = "config.yaml"
"""The run's configuration as given."""

_now: Final = time.monotonic
_CHANNEL: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_OUR_FILES: Final = (
    *(f"{name}.parquet" for name in TABLES),
    "summary.json",
    "report.html",
    CONFIG_FILE,
)


class RunWriter:
    """Write the outputs of one run into ``folder``.

    Parameters
    ----------
    folder
        The run folder; created when missing. Refused when it already holds run outputs,
        unless ``overwrite``.
    starting_capital
        Equity before the first trade, in ``currency``; ``equity = starting_capital + net``.
        Use 0 for a run without capital (return-based statistics are then undefined).
    currency
        Currency of the P&L rows when :meth:`pnl` is not told otherwise.
    config
        The run's configuration, written to ``config.yaml``: YAML text as given, a mapping
        (dumped as YAML), or the path of the config file (copied).
    flush_rows
        Rows a table buffers before it is flushed.
    flush_interval_s
        Wall seconds after which every table is flushed when the next row arrives.
    row_group_rows
        Rows per Parquet row group (and at most that many Arrow rows held per table).
    overwrite
        Replace the outputs of an earlier run in ``folder``.

    Raises
    ------
    ConfigError
        When ``folder`` already holds run outputs and ``overwrite`` is False.
    InvalidValueError
        For a non-positive buffer size or interval.

    Notes
    -----
    Not thread-safe: call it from the thread that runs the engine. Fixed tables are checked
    when flushed: a value of the wrong type, a missing required value or an unknown side or
    liquidity raises :class:`~serenity.errors.DataError` naming the table, column, value and
    row ``ts``, and the rows of that flush from the bad one on are dropped. Capture rows are
    checked as they arrive.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        starting_capital: float,
        currency: str = "USD",
        config: str | Path | Mapping[str, Any] | None = None,
        flush_rows: int = 8192,
        flush_interval_s: float = 1.0,
        row_group_rows: int = 65_536,
        overwrite: bool = False,
    ) -> None:
        for name, value in (("flush_rows", flush_rows), ("row_group_rows", row_group_rows)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidValueError(f"{name} must be a positive integer, was {value!r}")
        if not flush_interval_s > 0:
            raise InvalidValueError(f"flush_interval_s must be > 0, was {flush_interval_s!r}")
        self.folder = Path(folder)
        self.starting_capital = float(starting_capital)
        self.currency = str(currency)
        self._flush_rows = flush_rows
        self._interval_s = float(flush_interval_s)
        self._row_group_rows = row_group_rows
        self._prepare(overwrite)
        if config is not None:
            _write_config(self.folder / CONFIG_FILE, config)
        self._tables: dict[str, TableWriter] = {}
        self._channels: dict[str, _Channel] = {}
        for spec in (ORDERS, FILLS, POSITIONS, PNL, MARKS):
            self._tables[spec.name] = TableWriter(
                self.folder,
                spec.name,
                columns=spec.columns,
                label=f"{spec.name}.parquet",
                row_group_rows=row_group_rows,
            )
        # The tables' row lists, bound once: the hot path appends to them directly.
        self._orders = self._tables["orders"].rows
        self._fills = self._tables["fills"].rows
        self._positions = self._tables["positions"].rows
        self._pnl = self._tables["pnl"].rows
        self._marks = self._tables["marks"].rows
        self._deadline = time.monotonic() + self._interval_s
        self._closed = False
        log.info("run.outputs.open", extra={"folder": str(self.folder)})

    # --- the tables ---------------------------------------------------------------------

    def order(
        self,
        ts: int,
        order_id: int,
        *,
        cl_ord_id: str,
        account: str,
        instrument: str,
        side: str,
        order_type: str,
        tif: str,
        qty: float,
        price: float | None = None,
        stop_price: float | None = None,
        exec_type: str,
        status: str,
        cum_qty: float,
        leaves_qty: float,
        reason: str | None = None,
    ) -> None:
        """Add one order event (an execution report) to ``orders.parquet``."""
        rows = self._orders
        rows.append(
            (
                ts,
                order_id,
                cl_ord_id,
                account,
                instrument,
                side,
                order_type,
                tif,
                qty,
                price,
                stop_price,
                exec_type,
                status,
                cum_qty,
                leaves_qty,
                reason,
            )
        )
        if len(rows) >= self._flush_rows or _now() >= self._deadline:
            self._due("orders")

    def fill(
        self,
        ts: int,
        order_id: int,
        *,
        cl_ord_id: str,
        exec_id: str,
        account: str,
        instrument: str,
        side: str,
        qty: float,
        price: float,
        fee: float,
        fee_currency: str,
        liquidity: str,
    ) -> None:
        """Add one fill to ``fills.parquet``."""
        rows = self._fills
        rows.append(
            (
                ts,
                order_id,
                cl_ord_id,
                exec_id,
                account,
                instrument,
                side,
                qty,
                price,
                fee,
                fee_currency,
                liquidity,
            )
        )
        if len(rows) >= self._flush_rows or _now() >= self._deadline:
            self._due("fills")

    def position(
        self,
        ts: int,
        *,
        account: str,
        instrument: str,
        qty: float,
        avg_price: float | None,
        realised_pnl: float,
        unrealised_pnl: float,
        fees: float,
        currency: str,
    ) -> None:
        """Add one position snapshot to ``positions.parquet`` (on a change or a sample)."""
        rows = self._positions
        rows.append(
            (ts, account, instrument, qty, avg_price, realised_pnl, unrealised_pnl, fees, currency)
        )
        if len(rows) >= self._flush_rows or _now() >= self._deadline:
            self._due("positions")

    def pnl(
        self,
        ts: int,
        *,
        realised: float,
        unrealised: float,
        fees: float,
        currency: str | None = None,
    ) -> None:
        """Add one point of the equity curve to ``pnl.parquet``.

        ``net = realised + unrealised - fees`` and ``equity = starting_capital + net`` are
        computed here. Write one at every fill and at least every minute of run time.
        """
        net = realised + unrealised - fees
        rows = self._pnl
        rows.append(
            (
                ts,
                realised,
                unrealised,
                fees,
                net,
                self.starting_capital + net,
                self.currency if currency is None else currency,
            )
        )
        if len(rows) >= self._flush_rows or _now() >= self._deadline:
            self._due("pnl")

    def mark(self, ts: int, instrument: str, *, price: float) -> None:
        """Add one price of ``instrument`` to ``marks.parquet`` (e.g. one per minute)."""
        rows = self._marks
        rows.append((ts, instrument, price))
        if len(rows) >= self._flush_rows or _now() >= self._deadline:
            self._due("marks")

    def capture(self, channel: str, ts: int, **fields: Any) -> None:
        """Add one row to the capture channel ``channel`` (``capture/<channel>.parquet``).

        The first row names the channel's fields; every later row has the same names (in any
        order). A field's type is set by its first value that is not None: int, float, bool,
        text or anything Arrow can store; a float field also takes ints, and any field takes
        None. A field that is None in every row of the first flush is a float field.

        Raises
        ------
        InvalidValueError
            For a channel name that cannot be a file name, or a row without fields.
        DataError
            For a row whose fields differ from the first row's, or a value of another type.
        """
        found = self._channels.get(channel)
        if found is None:
            found = self._open_channel(channel, fields)
        names = tuple(fields)
        if names == found.names:
            values = tuple(fields.values())
        else:
            values = found.reorder(fields)
        accepted = found.accepted
        undecided: list[int] = []
        for i, value in enumerate(values):
            if value is not None:
                kinds = accepted[i]
                if kinds is None:
                    undecided.append(i)
                elif not isinstance(value, kinds):
                    found.refuse(i, value, ts)
        for i in undecided:  # only a row that is kept sets types
            found.decide(i, values[i])
        rows = found.table.rows
        rows.append((ts, *values))
        if len(rows) >= self._flush_rows:
            found.table.flush()
        if _now() >= self._deadline:
            self.flush()

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def buffered_rows(self) -> int:
        """Return the rows held in memory across tables, waiting for a flush or a row group."""
        return sum(t.buffered_rows for t in self._all_tables())

    @property
    def is_closed(self) -> bool:
        """Return True once :meth:`close` has run."""
        return self._closed

    def flush(self) -> None:
        """Flush every table's buffered rows to its journal, readable by other processes."""
        self._check_open()
        self._deadline = time.monotonic() + self._interval_s
        for table in self._all_tables():
            table.flush()

    def close(self) -> None:
        """Write everything, finish the Parquet files and remove the journals.

        A second call does nothing. When a table's last rows do not fit
        (:class:`~serenity.errors.DataError`), the other tables are still finished and the
        error is raised at the end.
        """
        if self._closed:
            return
        self._closed = True
        error: DataError | None = None
        for table in self._all_tables():
            try:
                table.close()
            except DataError as exc:
                error = error or exc
                try:
                    table.close()  # the rows before the bad one were kept; finish the file
                except DataError:
                    table.abandon()
            table.rows = _ClosedRows(self.folder)
        self._orders = self._fills = self._positions = self._pnl = self._marks = _ClosedRows(
            self.folder
        )
        _remove_empty(self.folder / JOURNAL_DIR / CAPTURE_DIR)
        _remove_empty(self.folder / JOURNAL_DIR)
        log.info(
            "run.outputs.closed",
            extra={
                "folder": str(self.folder),
                "fills": self._tables["fills"].rows_written,
                "orders": self._tables["orders"].rows_written,
            },
        )
        if error is not None:
            raise error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the outputs, also when the run failed, so what it wrote stays readable."""
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except DataError:
            log.exception("run.outputs.close_failed", extra={"folder": str(self.folder)})

    # --- internals ----------------------------------------------------------------------

    def _due(self, name: str) -> None:
        """Flush a full table, or every table once the interval has passed."""
        if len(self._tables[name].rows) >= self._flush_rows:
            self._check_open()
            self._tables[name].flush()
        if _now() >= self._deadline:
            self.flush()

    def _all_tables(self) -> list[TableWriter]:
        return [*self._tables.values(), *(c.table for c in self._channels.values())]

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidValueError(f"the outputs of {self.folder} were closed; open a new writer")

    def _prepare(self, overwrite: bool) -> None:
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"run folder {folder} is a file; give a folder")
        taken = [name for name in _OUR_FILES if (folder / name).exists()]
        taken += [name for name in (CAPTURE_DIR, JOURNAL_DIR) if (folder / name).exists()]
        if taken and not overwrite:
            raise ConfigError(
                f"run folder {folder} already holds run outputs ({', '.join(sorted(taken))}); "
                "choose another folder or pass overwrite=True"
            )
        for name in taken:
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        folder.mkdir(parents=True, exist_ok=True)

    def _open_channel(self, channel: str, fields: Mapping[str, Any]) -> _Channel:
        self._check_open()
        if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
            raise InvalidValueError(
                f"capture channel name {channel!r} must be 1-128 letters, digits, '_', '-' or "
                "'.', starting with a letter or digit"
            )
        if not fields:
            raise InvalidValueError(f"capture channel {channel!r}: a row needs at least one field")
        created = _Channel(channel, tuple(fields))
        created.table = TableWriter(
            self.folder,
            f"{CAPTURE_DIR}/{channel}",
            infer=created.schema,
            label=f"capture channel {channel!r}",
            row_group_rows=self._row_group_rows,
        )
        self._channels[channel] = created
        return created


class _Channel:
    """A capture channel's field names and, per field, the Python types it accepts."""

    table: TableWriter

    def __init__(self, name: str, names: tuple[str, ...]) -> None:
        self.name = name
        self.names = names
        self.accepted: list[tuple[type, ...] | None] = [None] * len(names)
        self.arrow: list[pa.DataType | None] = [None] * len(names)

    def reorder(self, fields: Mapping[str, Any]) -> tuple[Any, ...]:
        """Return ``fields``' values in the first row's order, or raise naming the difference."""
        if set(fields) != set(self.names):
            missing = sorted(set(self.names) - set(fields))
            extra = sorted(set(fields) - set(self.names))
            raise DataError(
                f"capture channel {self.name!r}: fields differ from the first row's "
                f"({', '.join(self.names)}): missing {missing}, unexpected {extra}"
            )
        return tuple(fields[name] for name in self.names)

    def decide(self, index: int, value: Any) -> None:
        """Set a field's type from its first value that is not None."""
        if isinstance(value, bool | np.bool_):
            self.accepted[index], self.arrow[index] = (bool, np.bool_), pa.bool_()
        elif isinstance(value, int | np.integer):
            self.accepted[index], self.arrow[index] = (int, np.integer), pa.int64()
        elif isinstance(value, float | np.floating):
            self.accepted[index], self.arrow[index] = _FLOATS, pa.float64()
        elif isinstance(value, str):
            self.accepted[index], self.arrow[index] = (str,), pa.string()
        else:
            self.accepted[index] = (type(value),)  # Arrow infers the column type

    def refuse(self, index: int, value: Any, ts: int) -> NoReturn:
        """Raise for a value whose type does not fit its field."""
        kinds = self.accepted[index]
        expected = self.arrow[index] or (kinds[0].__name__ if kinds else "?")
        raise DataError(
            f"capture channel {self.name!r} field {self.names[index]!r} holds {expected} "
            f"(set by its first value), was {value!r} of type {type(value).__name__} "
            f"(row ts={ts!r})"
        )

    def schema(self, columns: list[tuple[Any, ...]]) -> pa.Schema:
        """Return the channel's schema at its first flush; undecided fields become floats."""
        fields = [pa.field("ts", pa.int64(), nullable=False)]
        for index, name in enumerate(self.names):
            kind = self.arrow[index]
            if kind is None and self.accepted[index] is None:
                self.accepted[index], kind = _FLOATS, pa.float64()
                self.arrow[index] = kind
            if kind is None:
                try:
                    kind = pa.array(columns[index + 1]).type
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise DataError(
                        f"capture channel {self.name!r} field {name!r}: its values do not fit "
                        f"one column type ({exc})"
                    ) from None
                self.arrow[index] = kind
            fields.append(pa.field(name, kind))
        return pa.schema(fields)


_FLOATS: Final = (float, np.floating, int, np.integer)


class _ClosedRows(list[tuple[Any, ...]]):
    """The row buffer of a closed writer: adding a row is an error, not a silent loss."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self._folder = folder

    def append(self, row: tuple[Any, ...]) -> None:
        raise InvalidValueError(f"the outputs of {self._folder} were closed; open a new writer")


def _write_config(path: Path, config: str | Path | Mapping[str, Any]) -> None:
    if isinstance(config, Path):
        text = config.read_text()
    elif isinstance(config, str):
        text = config
    elif isinstance(config, Mapping):
        text = yaml.safe_dump(dict(config), sort_keys=False)
    else:
        raise InvalidValueError(
            f"config must be YAML text, a mapping or a file path, was {type(config).__name__}"
        )
    path.write_text(text if text.endswith("\n") or not text else text + "\n")


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # missing, or not empty (a table that could not be finished keeps its journal)


def seal_run(folder: str | Path) -> list[str]:
    """Finish the outputs of a run that stopped without closing its writer (a crash).

    Every journal in ``folder/journal`` becomes its table's Parquet file, holding every batch
    that was flushed; half-written Parquet files are discarded.

    Returns
    -------
    list[str]
        The tables sealed, e.g. ``["fills", "capture/bands"]``; empty when there was nothing
        to seal.
    """
    root = Path(folder)
    journal = root / JOURNAL_DIR
    sealed: list[str] = []
    if not journal.is_dir():
        return sealed
    for path in sorted(journal.rglob(f"*{JOURNAL_SUFFIX}")):
        name = path.relative_to(journal).with_suffix("").as_posix()
        final = root / f"{name}.parquet"
        final.parent.mkdir(parents=True, exist_ok=True)
        rows = seal_journal(path, final)
        log.info("run.outputs.sealed", extra={"table": name, "rows": rows})
        sealed.append(name)
    for path in journal.rglob("*.parquet"):
        path.unlink()
    _remove_empty(journal / CAPTURE_DIR)
    _remove_empty(journal)
    return sealed
