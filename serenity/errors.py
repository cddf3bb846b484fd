"""The one small hierarchy of errors Serenity raises on purpose.

Each class also subclasses the matching built-in, so ``except ValueError`` in user code
still catches a bad argument.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BookingError",
    "ConfigError",
    "DataError",
    "InvalidValueError",
    "NodeError",
    "SequenceGapError",
    "SerenityError",
    "StoreError",
    "UnknownSymbolError",
    "VenueError",
]


class SerenityError(Exception):
    """Base of every error Serenity raises on purpose."""


class InvalidValueError(SerenityError, ValueError):
    """An argument outside its domain (a naive datetime, a negative window, ...)."""


class ConfigError(InvalidValueError):
    """A bad setting, config file or environment variable."""


class UnknownSymbolError(SerenityError, LookupError):
    """A symbol that is not on the venue or not in the reference data."""


class DataError(SerenityError):
    """A malformed frame, row or file."""


class SequenceGapError(DataError):
    """A venue sequence number skipped ahead or went backwards."""


class VenueError(SerenityError):
    """The venue refused a request; keeps the venue's code and text.

    Parameters
    ----------
    message
        What happened, naming the venue.
    code
        The venue's error code, when it gave one.
    """

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code


class AuthError(VenueError):
    """The venue rejected our credentials or signature."""


class StoreError(SerenityError):
    """Tick store, journal or blob I/O failed."""


class BookingError(SerenityError):
    """Orders, fills or snapshots could not be booked to the database (the records are kept)."""


class NodeError(SerenityError, RuntimeError):
    """A node of a tau network raised while it was evaluated.

    The message names the node and, when a scheduler ran it, the virtual time. The original
    exception is chained as ``__cause__``.
    """

    def __init__(self, message: str, *, node: object = None, time_ns: int | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.time_ns = time_ns
