"""Validation of the tick store's arguments: tables, symbols, UTC days and instants.

The CLI and batch jobs use these too, so every entry point refuses the same inputs with the
same messages.
"""

from __future__ import annotations

import datetime as dt
import difflib
import numbers
import re
from collections.abc import Iterable
from typing import Final, TypeGuard

import pandas as pd

from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.tau import to_instant_ns

__all__ = [
    "NS_PER_DAY",
    "Instant",
    "check_symbol",
    "check_table",
    "day_of",
    "day_start_ns",
    "days_overlapping",
    "is_table",
    "to_day",
    "to_ns",
    "unknown_symbol",
    "unknown_table",
]

NS_PER_DAY: Final = 86_400 * 1_000_000_000
_EPOCH_DAY: Final = dt.date(1970, 1, 1)
_TABLE: Final = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:TRADES|BOOKS)")
_SYMBOL: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DAY_DASHED: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_COMPACT: Final = re.compile(r"\d{8}")

Instant = dt.datetime | dt.date | int | str
"""An instant as an aware datetime, int ns since the epoch, an ISO string with ``Z`` or an
offset, or a UTC day (a :class:`datetime.date` or ``YYYY-MM-DD``) meaning its midnight."""


def check_table(table: object) -> str:
    """Return ``table`` if it names a tick store table such as ``PHEMEX_TRADES``.

    Raises
    ------
    InvalidValueError
        When the name is not upper case ``VENUE_TRADES`` or ``VENUE_BOOKS``.
    """
    if not is_table(table):
        raise InvalidValueError(
            f"table must look like PHEMEX_TRADES or BINANCE_BOOKS (upper case, ending in "
            f"_TRADES or _BOOKS), was {table!r}"
        )
    return table


def is_table(name: object) -> TypeGuard[str]:
    """Return whether ``name`` has the form of a table name."""
    return isinstance(name, str) and _TABLE.fullmatch(name) is not None


def check_symbol(symbol: object) -> str:
    """Return ``symbol`` if it can name a stored partition (letters, digits, ``.``, ``_``, ``-``).

    Raises
    ------
    InvalidValueError
        For an empty, too long or path-like symbol, or a non-string.
    """
    if isinstance(symbol, int) and not isinstance(symbol, bool):
        symbol = str(symbol)  # Fire turns a symbol such as 1000 into an int
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise InvalidValueError(
            f"symbol must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or "
            f"digit, was {symbol!r}"
        )
    return symbol


def _hint(name: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    if close:
        return "did you mean " + " or ".join(close) + "?"
    if known:
        return f"stored {what}: {', '.join(known[:10])}" + (" ..." if len(known) > 10 else "")
    return f"no {what} are stored"


def unknown_symbol(symbol: str, table: str, known: Iterable[str]) -> UnknownSymbolError:
    """Return the error for a symbol with no stored data, suggesting close matches."""
    return UnknownSymbolError(
        f"unknown symbol {symbol!r} in {table}; {_hint(symbol, sorted(known), 'symbols')}"
    )


def unknown_table(table: str, url: str, known: Iterable[str]) -> UnknownSymbolError:
    """Return the error for a table with no stored data, suggesting close matches."""
    return UnknownSymbolError(
        f"unknown table {table!r} in {url}; {_hint(table, sorted(known), 'tables')}"
    )


def to_day(value: object, *, what: str = "date") -> dt.date:
    """Return ``value`` as a UTC calendar day.

    Parameters
    ----------
    value
        A :class:`datetime.date` (not a datetime), ``YYYY-MM-DD``, ``YYYYMMDD``, or the int
        ``20240105`` (which is how Fire passes ``--date=20240105``).
    what
        How the caller names the argument, for the error message.

    Raises
    ------
    InvalidValueError
        For anything else, including datetimes and impossible days.
    """
    if isinstance(value, dt.datetime):
        raise InvalidValueError(f"{what} must be a UTC day, not a datetime, was {value!r}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DAY_DASHED.fullmatch(text):
                return dt.date.fromisoformat(text)
            if _DAY_COMPACT.fullmatch(text):
                return dt.datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            pass
    raise InvalidValueError(f"{what} must be a UTC day as YYYY-MM-DD, was {value!r}")


def day_start_ns(day: dt.date) -> int:
    """Return the first nanosecond of UTC ``day``."""
    return (day - _EPOCH_DAY).days * NS_PER_DAY


def day_of(t_ns: int) -> dt.date:
    """Return the UTC day that contains ``t_ns``."""
    return _EPOCH_DAY + dt.timedelta(days=t_ns // NS_PER_DAY)


def days_overlapping(start_ns: int, end_ns: int) -> list[dt.date]:
    """Return the UTC days that intersect ``[start_ns, end_ns)``, in order."""
    if end_ns <= start_ns:
        return []
    first, last = day_of(start_ns), day_of(end_ns - 1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def to_ns(value: object, *, what: str = "time") -> int:
    """Return ``value`` as integer nanoseconds since the Unix epoch, UTC.

    Parameters
    ----------
    value
        A timezone-aware datetime (or :class:`pandas.Timestamp`), int nanoseconds, an ISO-8601
        string with ``Z`` or an offset (nanoseconds allowed), or a UTC day as a
        :class:`datetime.date` or ``YYYY-MM-DD`` string, which means its midnight.
    what
        How the caller names the argument, for the error message.

    Raises
    ------
    InvalidValueError
        For naive datetimes or strings, floats, bools and anything else.
    """
    if isinstance(value, dt.datetime):
        return to_instant_ns(value, what=what)
    if isinstance(value, dt.date):
        return day_start_ns(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _DAY_DASHED.fullmatch(text):
            return day_start_ns(to_day(text, what=what))
        try:
            stamp: pd.Timestamp | None = pd.Timestamp(text)
        except ValueError:
            stamp = None
        if stamp is None or pd.isna(stamp):
            raise InvalidValueError(
                f"{what} must be an ISO-8601 time such as 2024-01-05T10:00:00Z, was {value!r}"
            )
        if stamp.tzinfo is None:
            raise InvalidValueError(
                f"{what} must carry a timezone (Z or +00:00), was naive {value!r}"
            )
        return int(stamp.as_unit("ns").value)
    raise InvalidValueError(
        f"{what} must be an aware datetime, int ns since the epoch or an ISO string with a "
        f"timezone, was {value!r}"
    )
