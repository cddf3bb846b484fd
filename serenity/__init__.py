"""Serenity: record, store, backtest and trade crypto markets from one library and one CLI.

Subpackages
-----------
``serenity.tau``
    The reactive core: a glitch-free dependency graph of signals driven by a historic or a
    realtime scheduler.
"""

from __future__ import annotations

from serenity._version import __version__
from serenity.errors import (
    AuthError,
    BookingError,
    ConfigError,
    DataError,
    InvalidValueError,
    NodeError,
    SequenceGapError,
    SerenityError,
    StoreError,
    UnknownSymbolError,
    VenueError,
)
from serenity.secret import Secret

__all__ = [
    "AuthError",
    "BookingError",
    "ConfigError",
    "DataError",
    "InvalidValueError",
    "NodeError",
    "Secret",
    "SequenceGapError",
    "SerenityError",
    "StoreError",
    "UnknownSymbolError",
    "VenueError",
    "__version__",
]
