"""Reading venues' CSV exports: the header row, amounts such as ``-$1,234.56``, times."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from serenity.errors import DataError
from serenity.tax.records import Transaction

__all__ = ["Parsed", "Row", "parse_amount", "parse_time", "read_rows", "row_ids"]

_NOT_NUMBER = re.compile(r"[^0-9.\-]")


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of a CSV export: its line number, its cells by column name, its text."""

    line: int
    cells: dict[str, str]
    raw: tuple[str, ...]

    def get(self, column: str) -> str:
        """Return the cell of ``column``, stripped; empty when the column is absent."""
        return (self.cells.get(column) or "").strip()


def read_rows(path: str | Path, *, required: Sequence[str], what: str) -> list[Row]:
    """Return the data rows after the first line holding every ``required`` column name.

    Lines before the header (a report title, the account holder) are skipped, as Coinbase's
    transaction history needs. Blank lines are skipped.

    Raises
    ------
    DataError
        When the file cannot be read or has no such header line.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{what} file {path} is not UTF-8 text: {exc}") from exc
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[Row] = []
    for cells in reader:
        if header is None:
            names = [c.strip().strip("\ufeff") for c in cells]
            if all(name in names for name in required):
                header = names
            continue
        if not any(c.strip() for c in cells):
            continue
        by_name = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)}
        rows.append(Row(reader.line_num, by_name, tuple(cells)))
    if header is None:
        raise DataError(
            f"{path} is not a {what} export: no header line with the columns " + ", ".join(required)
        )
    return rows


def parse_amount(text: str, *, where: str, what: str) -> Decimal | None:
    """Return an amount such as ``-$1,234.56`` or ``0.5`` as a Decimal; None when empty.

    Raises
    ------
    DataError
        When ``text`` holds no number.
    """
    cleaned = _NOT_NUMBER.sub("", text.replace(",", ""))
    if not text.strip():
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise DataError(f"{where}: {what} {text!r} is not a number") from None
    if not value.is_finite():
        raise DataError(f"{where}: {what} {text!r} is not a finite number")
    return value


def parse_time(text: str, *, where: str) -> dt.datetime:
    """Return an ISO date or date-time (``2024-03-01 10:00:00 UTC``, ``...Z``) as aware UTC.

    A time without an offset is UTC.

    Raises
    ------
    DataError
        When ``text`` is not an ISO date or date-time.
    """
    raw = text.strip()
    if raw.endswith(" UTC"):
        raw = raw[:-4]
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{where}: time {text!r} is not an ISO date or date-time") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def row_ids(rows: Iterable[Row]) -> list[str]:
    """Return a stable id per row for exports without one: a hash of the row's cells.

    Identical rows in one file (two equal trades in the same second) get ``#2``, ``#3``, ...
    so each is kept, and importing the file again yields the same ids.
    """
    seen: dict[str, int] = {}
    ids = []
    for row in rows:
        digest = hashlib.sha256("\x1f".join(c.strip() for c in row.raw).encode()).hexdigest()[:24]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(digest if seen[digest] == 1 else f"{digest}#{seen[digest]}")
    return ids


@dataclass(frozen=True, slots=True)
class Parsed:
    """What an importer read from one file: its transactions and the rows it passed over."""

    source: str
    transactions: list[Transaction]
    skipped: dict[str, int]
    """Rows not taken, by what they were (``{"Deposit USD": 2}``)."""
