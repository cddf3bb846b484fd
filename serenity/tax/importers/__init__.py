"""Importers of venues' CSV exports into tax-ledger transactions.

:func:`read_export` reads one file of a named source (:data:`SOURCES`): ``coinbase`` (the
coinbase.com transaction history), ``coinbase-exchange`` (Coinbase Exchange fills) or
``binance`` (the spot trade history).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Final

from serenity.errors import InvalidValueError
from serenity.tax._csv import Parsed
from serenity.tax.importers.binance import BINANCE, read_binance
from serenity.tax.importers.coinbase import (
    COINBASE,
    COINBASE_EXCHANGE,
    read_coinbase,
    read_coinbase_exchange,
)

__all__ = [
    "BINANCE",
    "COINBASE",
    "COINBASE_EXCHANGE",
    "SOURCES",
    "Parsed",
    "read_binance",
    "read_coinbase",
    "read_coinbase_exchange",
    "read_export",
]

SOURCES: Final[dict[str, Callable[..., Parsed]]] = {
    COINBASE: read_coinbase,
    COINBASE_EXCHANGE: read_coinbase_exchange,
    BINANCE: read_binance,
}


def read_export(source: str, path: str | Path, *, wallet: str | None = None) -> Parsed:
    """Return the transactions in one export file of ``source``.

    Raises
    ------
    InvalidValueError
        When ``source`` is not one of :data:`SOURCES`.
    DataError
        When the file is not that source's export or a row does not parse.
    """
    reader = SOURCES.get(source)
    if reader is None:
        close = difflib.get_close_matches(source, SOURCES, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InvalidValueError(
            f"unknown source {source!r}; expected one of {', '.join(SOURCES)}{hint}"
        )
    return reader(path, wallet=wallet)
